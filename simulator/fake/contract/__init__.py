"""The vendors' published contracts, and a recorder that holds the fakes to them.

`load_contract` reads facts.json (a committed copy of ../shared/contracts/facts.json).
"""

from __future__ import annotations

from simulator.fake.contract._facts import FACTS, Contract, Operation, load_contract
from simulator.fake.contract._shapes import FactsError

__all__ = ["FACTS", "Contract", "FactsError", "Operation", "load_contract"]
