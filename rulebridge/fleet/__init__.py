"""Many agencies on DBOS durable queues: the nights side by side, one per agency at a time.

- `rulebridge.fleet.config`: the fleet's folder, ``fleet.yaml`` and the queues' database;
- `rulebridge.fleet._app`: the workflows (an agency-night: the runner's steps through
  `rulebridge.runner.steps.NightSteps`; the nightly schedule's kick);
- `rulebridge.fleet.worker`: a worker process: queues, schedules, leases, take-over, drain;
- `rulebridge.fleet.leases`: who is alive, who takes over a dead worker's nights;
- `rulebridge.fleet.status`: what ``rulebridge fleet status`` shows.

DBOS (and SQLAlchemy) load on first use of a name that needs them, so the config can be
read without them. docs/fleet.md says how to run one machine or several.

Example::

    fleet = load_fleet(Path("fleet"))
    with running(Worker(fleet, RunLog(), schedules=False)) as worker:
        ids = worker.enqueue(date(2026, 12, 7))
        worker.wait(lambda: all_done(ids))
"""

import importlib
from typing import TYPE_CHECKING, Any

from rulebridge.fleet.config import FleetAgency, FleetConfig, FleetConfigError, load_fleet

if TYPE_CHECKING:
    from rulebridge.fleet._app import enqueue_night, night_id, night_of
    from rulebridge.fleet._serve import FleetServer
    from rulebridge.fleet.leases import LeaseError, Leases
    from rulebridge.fleet.status import fleet_status
    from rulebridge.fleet.worker import TERMINAL, Worker, running

__all__ = [
    "TERMINAL",
    "FleetAgency",
    "FleetConfig",
    "FleetConfigError",
    "FleetServer",
    "LeaseError",
    "Leases",
    "Worker",
    "enqueue_night",
    "fleet_status",
    "load_fleet",
    "night_id",
    "night_of",
    "running",
]

_HOMES = {
    "enqueue_night": "rulebridge.fleet._app",
    "night_id": "rulebridge.fleet._app",
    "night_of": "rulebridge.fleet._app",
    "FleetServer": "rulebridge.fleet._serve",
    "LeaseError": "rulebridge.fleet.leases",
    "Leases": "rulebridge.fleet.leases",
    "fleet_status": "rulebridge.fleet.status",
    "TERMINAL": "rulebridge.fleet.worker",
    "Worker": "rulebridge.fleet.worker",
    "running": "rulebridge.fleet.worker",
}


def __getattr__(name: str) -> Any:
    """The names that need DBOS, imported on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
