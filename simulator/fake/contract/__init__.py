"""The vendors' published contracts, and a recorder that holds the fakes to them.

`load_contract` reads facts.json (a byte copy of ../shared/contracts/facts.json) into
`Operation`s; `check_exchange` judges one request and its answer; `recorded` wraps a fake's
ASGI app so every exchange is judged and its `Violation`s logged (``.violations``), pending
`served_operations` lists an app's routes to compare with
the contract.

Example::

    from simulator.fake.contract import recorded
    app = recorded(Starlette(routes=[Mount("/api/v2", routes=...)]), "fixflo", prefix="/api/v2")
    ...
    assert not list(app.violations)
"""

from __future__ import annotations

from simulator.fake.contract._check import Exchange, Violation, check_exchange
from simulator.fake.contract._facts import FACTS, Contract, Operation, load_contract
from simulator.fake.contract._recorder import (
    ContractLog,
    Recorder,
    journal_position,
    recorded,
    violations_since,
)
from simulator.fake.contract._routes import served_operations
from simulator.fake.contract._shapes import FactsError

__all__ = [
    "FACTS",
    "Contract",
    "ContractLog",
    "Exchange",
    "FactsError",
    "Operation",
    "Recorder",
    "Violation",
    "check_exchange",
    "journal_position",
    "load_contract",
    "recorded",
    "served_operations",
    "violations_since",
]
