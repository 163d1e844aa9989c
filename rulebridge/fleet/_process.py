"""What a worker process shares with the workflows it runs, and how a step takes part in a
drain.

The workflows (`rulebridge.fleet._app`: nights; `rulebridge.fleet.live`: live reconciles)
are registered with DBOS at import and called by DBOS's threads; they find the fleet, the
log and the rate limit's database here (`use_fleet`, before ``DBOS.launch``).

`step_slot` wraps every step: it counts the step while it runs, starts none once a drain
began, and *parks* a step that a drain stopped at its next checkpoint (`rulebridge.runner
.stop`): the step records nothing and its thread waits until the process exits, so DBOS
keeps the workflow PENDING and another worker resumes it from that step
(`rulebridge.fleet.worker`).

Example::

    with step_slot() as (fleet, log):
        result = steps.apply(run_id, batch)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rulebridge.fleet.config import FleetConfig
from rulebridge.runner import RunLog
from rulebridge.runner.stop import Interrupted, checkpoint

if TYPE_CHECKING:
    from rulebridge.runner.steps import NightSteps

__all__ = ["PROCESS", "Process", "parked", "step_slot", "use_fleet"]


class Process:
    """The worker process's state (one per process: `PROCESS`)."""

    def __init__(self) -> None:
        self.fleet: FleetConfig | None = None
        self.log: RunLog | None = None
        self.rate_url: str | None = None
        self.lock = threading.Lock()
        self.active = 0  # steps running now
        self.parked = 0  # steps stopped by a drain, waiting for the process to exit
        self.never = threading.Event()  # parked steps wait on it until the process exits
        # The nights this process has run a step of: one NightSteps each, so the ruleset,
        # the snapshots and the plan are loaded once, as in a single `rulebridge run`.
        self.nights: dict[str, NightSteps] = {}
        self.trusted: set[str] = set()  # agencies whose store a live reconcile checked


PROCESS = Process()


def use_fleet(fleet: FleetConfig, log: RunLog, *, rate_url: str | None = None) -> None:
    """Set the fleet and log this process's workflows use (before ``DBOS.launch``)."""
    PROCESS.fleet, PROCESS.log, PROCESS.rate_url = fleet, log, rate_url


def parked() -> tuple[int, int]:
    """(steps running, steps parked by a drain) in this process."""
    with PROCESS.lock:
        return PROCESS.active, PROCESS.parked


@contextlib.contextmanager
def step_slot() -> Iterator[tuple[FleetConfig, RunLog]]:
    """Count the step for the block; start it only if no drain began; park it when a
    drain stops it (see the module docstring). Yields the fleet and the process's log.

    Raises:
        RuntimeError: the process is no fleet worker (`use_fleet` was not called).
    """
    fleet, log = PROCESS.fleet, PROCESS.log
    if fleet is None or log is None:
        raise RuntimeError("the fleet's workflows run only in a fleet worker")
    with PROCESS.lock:
        PROCESS.active += 1
    try:
        checkpoint()  # a draining worker starts no step
        yield fleet, log
    except Interrupted:
        with PROCESS.lock:
            PROCESS.parked += 1
        PROCESS.never.wait()  # record nothing: the workflow stays PENDING for another worker
        raise
    finally:
        with PROCESS.lock:
            PROCESS.active -= 1
