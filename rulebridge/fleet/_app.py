"""The fleet's durable workflows on DBOS: an agency-night, its steps, its schedule.

One workflow per agency-night, id ``{agency}:{night}`` (`night_id`), on the queue
``rulebridge-nights`` partitioned by agency: one night per agency at a time, whatever the
number of workers. Its steps are the runner's (`rulebridge.runner.steps.NightSteps`):
check, snapshot, plan, apply in batches, issues, report. DBOS records each step's result
when it returns, so a workflow resumed after its worker died runs only the steps not yet
recorded; the agency's store records them too (and stays the exactly-once authority for
every effect inside a step that was cut short).

The functions here are registered with DBOS when this module is imported, before
``DBOS.launch``; they find the fleet and the log the worker process set
(`rulebridge.fleet._process.use_fleet`).
Arguments and results are JSON (`DBOSPortableJSONSerializer`): nothing is pickled.

A draining worker's steps park (`rulebridge.fleet._process.step_slot`): another worker
resumes their nights from the step that was stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar
from zoneinfo import ZoneInfo

from dbos import DBOS, SetEnqueueOptions, SetWorkflowID

from rulebridge.fleet._process import PROCESS, step_slot
from rulebridge.fleet.config import FleetAgency, FleetConfig
from rulebridge.runner import RunLog, RunOptions

if TYPE_CHECKING:
    from rulebridge.runner.steps import NightSteps

__all__ = [
    "ISSUES_QUEUE",
    "NIGHTS_QUEUE",
    "NIGHT_WORKFLOW",
    "agency_night",
    "enqueue_night",
    "night_id",
    "night_of",
    "nightly_kick",
]

NIGHTS_QUEUE: Final = "rulebridge-nights"
ISSUES_QUEUE: Final = "rulebridge-issues"
NIGHT_WORKFLOW: Final = "rulebridge.agency_night"

T = TypeVar("T")


class _AgencyLog(RunLog):
    """The worker's log for one agency's night: the same stream, every line naming the
    agency, and a run id of its own (nights run side by side in one process)."""

    def __init__(self, log: RunLog, agency: str) -> None:
        super().__init__(log.stream, terminal=False, clock=log.clock)
        self.agency = agency

    def event(self, event: str, **fields: Any) -> None:
        """The event, with the agency."""
        super().event(event, **{"agency": self.agency, **fields})


def night_id(agency: str, night: date | str) -> str:
    """The workflow id of `agency`'s night `night`.

    Example:
        >>> night_id("acme", date(2026, 12, 7))
        'acme:2026-12-07'
    """
    return f"{agency}:{night if isinstance(night, str) else night.isoformat()}"


def night_of(moment: datetime, time_zone: str) -> date:
    """The night a run starting at `moment` belongs to: its date in `time_zone`.

    Example:
        >>> from datetime import UTC
        >>> night_of(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "Europe/London")
        datetime.date(2026, 7, 1)
    """
    return moment.astimezone(ZoneInfo(time_zone)).date()


def enqueue_night(agency: str, night: date) -> str:
    """Enqueue `agency`'s night (once: the same id enqueued again is the same workflow).

    Returns:
        the workflow id.
    """
    workflow = night_id(agency, night)
    queue = DBOS.retrieve_queue(NIGHTS_QUEUE)
    if queue is None:  # pragma: no cover - the worker registers it before launching
        raise RuntimeError(f"the queue {NIGHTS_QUEUE} is not registered")
    with SetWorkflowID(workflow), SetEnqueueOptions(queue_partition_key=agency):
        queue.enqueue(agency_night, agency, night.isoformat())
    return workflow


# The workflow ------------------------------------------------------------------------


@DBOS.workflow(name=NIGHT_WORKFLOW)
def agency_night(agency: str, night: str) -> dict[str, Any]:
    """`agency`'s night `night` (ISO date): the runner's steps, each recorded once.

    Returns:
        the run's summary: run id, status, exit code, changes.
    """
    checked = _check(agency, night)
    run_id = int(checked["run_id"])
    _snapshot(agency, night, run_id)
    planned = _plan(agency, night, run_id)
    for batch in range(int(planned.get("batches", 0))):
        _apply(agency, night, run_id, batch)
    _issues(agency, night, run_id)
    return _report(agency, night, run_id)


@DBOS.step(name="rulebridge.check")
def _check(agency: str, night: str) -> dict[str, Any]:
    return _step(agency, night, lambda steps: steps.check())


@DBOS.step(name="rulebridge.snapshot")
def _snapshot(agency: str, night: str, run_id: int) -> dict[str, Any]:
    return _step(agency, night, lambda steps: steps.snapshot(run_id))


@DBOS.step(name="rulebridge.plan")
def _plan(agency: str, night: str, run_id: int) -> dict[str, Any]:
    return _step(agency, night, lambda steps: steps.plan(run_id))


@DBOS.step(name="rulebridge.apply")
def _apply(agency: str, night: str, run_id: int, batch: int) -> dict[str, Any]:
    return _step(agency, night, lambda steps: steps.apply(run_id, batch))


@DBOS.step(name="rulebridge.issues")
def _issues(agency: str, night: str, run_id: int) -> dict[str, Any]:
    return _step(agency, night, lambda steps: steps.issues(run_id))


@DBOS.step(name="rulebridge.report")
def _report(agency: str, night: str, run_id: int) -> dict[str, Any]:
    report = _step(agency, night, lambda steps: steps.report(run_id))
    with PROCESS.lock:  # the night is over in this process: let its snapshots and plan go
        PROCESS.nights.pop(night_id(agency, night), None)
    run = report.get("run", {})
    return {
        "run_id": run.get("id", run_id),
        "status": run.get("status"),
        "exit_code": run.get("exit_code"),
        "changes": run.get("changes"),
        "error": run.get("error"),
    }


def _step(agency: str, night: str, work: Callable[[NightSteps], T]) -> T:
    """Run one of the runner's steps for `agency`'s `night` in this process, with the
    night's NightSteps (made at its first step here); a drain parks it (`step_slot`). A
    defect (an exception the runner does not record as the night's error) finishes the
    run as failed, "stopped by a defect", as `rulebridge run` does, and fails the
    workflow."""
    with step_slot() as (fleet, log):
        steps = _steps_of(fleet, log, agency, night)
        try:
            return work(steps)
        except Exception as exc:  # a defect: the run recorded as failed, then DBOS's error
            if steps.run_id is not None:
                with contextlib.suppress(Exception):
                    steps.stopped(steps.run_id, exc)
            with PROCESS.lock:
                PROCESS.nights.pop(night_id(agency, night), None)
            raise


def _steps_of(fleet: FleetConfig, log: RunLog, agency: str, night: str) -> NightSteps:
    from rulebridge.runner.steps import NightSteps  # the runner's, behind its small interface

    key = night_id(agency, night)
    with PROCESS.lock:
        steps = PROCESS.nights.get(key)
        if steps is None:  # the night's first step in this process (or after a take-over)
            options = _options(fleet, fleet.agency(agency), night)
            steps = NightSteps(options, _AgencyLog(log, agency), night=key)
            PROCESS.nights[key] = steps
    return steps


def _options(fleet: FleetConfig, member: FleetAgency, night: str) -> RunOptions:
    return RunOptions(
        member.config,
        member.store_path,
        as_of=date.fromisoformat(night),
        batch_size=fleet.batch_size,
        rate_url=PROCESS.rate_url,
    )


# The schedule ------------------------------------------------------------------------


@DBOS.workflow(name="rulebridge.nightly_kick")
def nightly_kick(scheduled_at: datetime, agency: Any) -> None:
    """The nightly schedule's workflow: enqueue `agency`'s night for the date the schedule
    fired in the fleet's time zone (a schedule firing twice, on two workers, enqueues the
    same workflow id: one night)."""
    fleet = PROCESS.fleet
    if fleet is None:  # pragma: no cover - use_fleet runs before launch
        raise RuntimeError("the fleet's schedule runs only in a fleet worker")
    enqueue_night(str(agency), night_of(_moment(scheduled_at), fleet.time_zone))


def _moment(value: object) -> datetime:
    """The schedule's time: a datetime, or its ISO text as the JSON serializer keeps it."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
