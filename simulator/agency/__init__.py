"""A seeded, believable letting agency in Alto, and what Fixflo already holds of it.

`AgencyGenerator` streams each collection from a seed (see `simulator.agency.generate`);
`write_agency` writes them as snapshot files; `apply_in_memory` applies a plan to target
records held in memory, as the target system would.
"""

from simulator.agency.generate import (
    MAX_SIZE,
    TAKEN_AT,
    AgencyGenerator,
    WrittenSnapshot,
    write_agency,
)
from simulator.agency.memory import apply_in_memory

__all__ = [
    "MAX_SIZE",
    "TAKEN_AT",
    "AgencyGenerator",
    "WrittenSnapshot",
    "apply_in_memory",
    "write_agency",
]
