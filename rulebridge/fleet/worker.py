"""A fleet worker: a DBOS process that runs agency-nights from the shared queues.

`Worker.start` takes a lease (`rulebridge.fleet.leases`), launches DBOS on the fleet's
database with a unique executor id, declares the queues, and keeps each agency's nightly
schedule (``rulebridge-nightly:<agency>``: cron at the fleet's ``nightly.at`` in its time
zone; `rulebridge.fleet._app.nightly_kick`). A watchdog thread renews the lease and, when
another worker's lease has run out (or a PENDING workflow's worker holds none), claims that
worker once for the whole fleet and resumes its unfinished workflows on their queues: they
go on from the first step not recorded. A worker that finds its own lease claimed (it
stalled longer than the lease) drains itself at once, so no night runs in two places.

Queues (DBOS 3.x, declared in the database so every worker agrees):

- ``rulebridge-nights``: partitioned by agency, one night per agency at a time
  (``partition_concurrency=1``), ``concurrency.global`` across workers,
  ``concurrency.per_worker`` in each process;
- ``rulebridge-issues``: live reconciles partitioned by ``{agency}:{issue}``, one per issue
  at a time, ``concurrency.issues_per_worker`` in each process.

Draining (SIGTERM or Ctrl-C, `Worker.wait`): the lease is marked draining, every step in
progress finishes its effect in progress and parks (records nothing), no new step starts;
then the lease is released and the process exits at once, so another worker resumes those
nights at its next check. A second signal exits at once (as a kill would: the ledger makes
that safe too).

Example::

    worker = Worker(load_fleet(Path("fleet")), RunLog())
    worker.start()
    code = worker.wait()          # until SIGTERM: drains, exits
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, Final

from dbos import DBOS, DBOSConfig, DBOSPortableJSONSerializer
from dbos._error import DBOSException
from filelock import FileLock, Timeout

from rulebridge.fleet import _app, _process
from rulebridge.fleet import live as _live  # noqa: F401 - registers the live reconciles
from rulebridge.fleet.config import FleetConfig, FleetConfigError
from rulebridge.fleet.leases import Leases
from rulebridge.runner import RunLog
from rulebridge.runner.ratelimit import redact_url
from rulebridge.runner.stop import requested, stopping

__all__ = [
    "APP_NAME",
    "SCHEDULE_PREFIX",
    "TERMINAL",
    "WORKFLOWS_VERSION",
    "FleetBusyError",
    "Worker",
    "dbos_config",
    "running",
]

APP_NAME: Final = "rulebridge-fleet"
SCHEDULE_PREFIX: Final = "rulebridge-nightly:"
WORKFLOWS_VERSION: Final = "rulebridge-fleet-1"
"""The version of the fleet's workflows as DBOS knows it. DBOS runs a workflow only on
workers of the version that enqueued it; by default that version is a hash of the code, so
every upgrade of rulebridge would strand the nights queued before it. The workflows' steps
(their names and order) are what a version must keep: bump this when `agency_night` or
`issue_reconcile` changes them, and drain the old workers before starting the new."""
TERMINAL: Final = frozenset({"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"})


def dbos_config(fleet: FleetConfig, executor_id: str) -> DBOSConfig:
    """DBOS's config for a worker of `fleet`: JSON arguments and results, no admin server."""
    return {
        "name": APP_NAME,
        "system_database_url": fleet.database_url,
        "executor_id": executor_id,
        "application_version": WORKFLOWS_VERSION,
        "serializer": DBOSPortableJSONSerializer(),
        "log_level": "WARNING",
        "scheduler_polling_interval_sec": 5.0,
    }


class Worker:
    """One worker process of `fleet` (see the module docstring).

    Args:
        fleet: the fleet (every worker of a fleet is started on the same agencies).
        log: where the runs' events go.
        schedules: keep the agencies' nightly schedules (off: ``fleet run``, which enqueues
            tonight itself).
    """

    def __init__(self, fleet: FleetConfig, log: RunLog, *, schedules: bool = True) -> None:
        self.fleet, self.log, self.schedules = fleet, log, schedules
        self.executor_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.leases = Leases(fleet.database_url)
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._sole: FileLock | None = None  # a SQLite fleet's one worker holds it

    def start(self) -> None:
        """Take the lease, launch DBOS, declare the queues and schedules, start the
        watchdog.

        Raises:
            FleetBusyError: the fleet is on SQLite and another worker runs it.
        """
        if not self.fleet.on_postgres:
            self._sole = _sole_worker(self.fleet)
        self.leases.beat(self.executor_id)
        rate_url = self.fleet.database_url if self.fleet.on_postgres else None
        _process.use_fleet(self.fleet, self.log, rate_url=rate_url)
        DBOS(config=dbos_config(self.fleet, self.executor_id))
        DBOS.launch()
        fleet = self.fleet
        DBOS.register_queue(
            _app.NIGHTS_QUEUE,
            partition_concurrency=1,
            global_concurrency=fleet.global_concurrency,
            worker_concurrency=fleet.per_worker,
            polling_interval_sec=0.5,
            on_conflict="always_update",
        )
        DBOS.register_queue(
            _app.ISSUES_QUEUE,
            partition_concurrency=1,
            worker_concurrency=fleet.issues_per_worker,
            polling_interval_sec=0.5,
            on_conflict="always_update",
        )
        if self.schedules:
            self._keep_schedules()
        self.log.event(
            "fleet",
            state="worker started",
            executor=self.executor_id,
            database=redact_url(fleet.database_url),
            agencies=len(fleet.agencies),
        )
        self._watchdog = threading.Thread(target=self._watch, name="fleet-watchdog", daemon=True)
        self._watchdog.start()

    def enqueue(self, night: date, agencies: list[str] | None = None) -> list[str]:
        """Enqueue `night` for `agencies` (default: all); the workflow ids."""
        names = agencies or [agency.name for agency in self.fleet.agencies]
        return [_app.enqueue_night(name, night) for name in names]

    def wait(self, done: Callable[[], bool] | None = None) -> int:
        """Work until `done` says so (then 0), or until SIGTERM/SIGINT (then drain, exit).

        Returns:
            0 when `done`; a drain never returns (the process exits with 0).
        """
        with stopping():
            while requested() is None:
                if done is not None and done():
                    return 0
                time.sleep(0.2)
            self._drain()
        return 0  # pragma: no cover - _drain exits the process

    def stop(self) -> None:
        """Stop the watchdog, release the lease and shut DBOS down (work still running
        in this process stays PENDING; other workers resume it)."""
        self._stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=5)
        with contextlib.suppress(Exception):
            self.leases.release(self.executor_id)
        DBOS.destroy(workflow_completion_timeout_sec=0)
        self.leases.close()
        if self._sole is not None:
            self._sole.release()

    def idle(self) -> bool:
        """Whether the fleet's queues hold nothing waiting or running (``fleet run`` ends
        only then: on SQLite it is the one worker, and a night another command enqueued
        would otherwise wait for the next worker)."""
        busy = DBOS.list_workflows(
            status=["ENQUEUED", "PENDING"],
            queue_name=[_app.NIGHTS_QUEUE, _app.ISSUES_QUEUE],
            load_input=False,
            load_output=False,
            limit=1,
        )
        return not busy

    def status_of(self, workflow_ids: list[str]) -> dict[str, Any]:
        """The DBOS status of each workflow id (as DBOS names it)."""
        found = DBOS.list_workflows(workflow_ids=workflow_ids)
        return {status.workflow_id: status for status in found}

    # Draining and the watchdog ---------------------------------------------------------

    def _drain(self) -> None:
        """Park every step at its next checkpoint, release the lease, exit the process."""
        self.log.event("fleet", state="draining", executor=self.executor_id)
        with contextlib.suppress(Exception):
            self.leases.beat(self.executor_id, draining=True)
        # Still inside `wait`'s `stopping`: a second signal raises here and exits at once.
        with contextlib.suppress(BaseException):
            while True:
                active, parked = _process.parked()
                if active == parked:
                    break
                time.sleep(0.05)
        self._stop.set()
        with contextlib.suppress(Exception):
            self.leases.release(self.executor_id)
        active, parked = _process.parked()
        self.log.event("fleet", state="drained", executor=self.executor_id, left=parked)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)  # parked steps record nothing: their workflows stay PENDING

    def _watch(self) -> None:
        every = max(0.2, self.fleet.lease_seconds / 3)
        while True:  # at once, then every third of the lease: a new worker resumes at once
            try:
                if not self.leases.renew(self.executor_id, draining=requested() is not None):
                    self._fenced()
                    return
                if requested() is None:
                    self._take_over()
            except Exception as exc:  # the database away for a moment: say so, go on
                self.log.event("fleet", state="watchdog error", message=str(exc)[:300])
            if self._stop.wait(every):
                return

    def _fenced(self) -> None:
        """Our lease is gone: another worker found us silent (a stall longer than the
        lease) and resumed our nights. Stop as a drain does, so no night runs twice."""
        self.log.event(
            "fleet",
            state="lease lost",
            executor=self.executor_id,
            message="another worker took this worker's nights over; draining",
        )
        os.kill(os.getpid(), signal.SIGTERM)  # `wait` drains, as for systemd's stop

    def _take_over(self) -> None:
        """Resume the PENDING workflows of workers that are gone (each claimed once)."""
        # A SQLite fleet's worker holds its lock: any other worker that held a lease is gone.
        alive = {self.executor_id}
        if self._sole is None:
            alive |= self.leases.alive(self.fleet.lease_seconds)
        pending = DBOS.list_workflows(status="PENDING", load_input=False, load_output=False)
        gone = {wf.executor_id for wf in pending if wf.executor_id and wf.executor_id not in alive}
        for leases in self.leases.leases():
            if leases.executor_id not in alive:
                gone.add(leases.executor_id)
        for dead in sorted(gone):
            if not self.leases.claim(dead, by=self.executor_id):
                continue
            resumed = [wf for wf in pending if wf.executor_id == dead]
            for wf in resumed:
                DBOS.resume_workflow(wf.workflow_id, queue_name=wf.queue_name)
            self.log.event(
                "fleet",
                state="took over",
                dead=dead,
                resumed=[wf.workflow_id for wf in resumed],
                executor=self.executor_id,
            )

    # Schedules ------------------------------------------------------------------------

    def _keep_schedules(self) -> None:
        """One nightly schedule per agency, as the fleet says; stale ones replaced."""
        hour, minute = self.fleet.nightly_at.split(":")
        cron = f"0 {int(minute)} {int(hour)} * * *"
        zone = self.fleet.time_zone
        wanted = {SCHEDULE_PREFIX + agency.name: agency.name for agency in self.fleet.agencies}
        existing = DBOS.list_schedules(schedule_name_prefix=SCHEDULE_PREFIX)
        kept = set()
        for schedule in existing:
            name = schedule["schedule_name"]
            same = schedule["schedule"] == cron and schedule.get("cron_timezone") == zone
            if name in wanted and same:
                kept.add(name)
            else:
                DBOS.delete_schedule(name)
        for name, agency in wanted.items():
            if name in kept:
                continue
            with contextlib.suppress(DBOSException):  # another worker made it a moment ago
                DBOS.create_schedule(
                    schedule_name=name,
                    workflow_fn=_app.nightly_kick,
                    schedule=cron,
                    context=agency,
                    cron_timezone=zone,
                )


class FleetBusyError(FleetConfigError):
    """A SQLite fleet already has its worker (the message names the fix)."""


def _sole_worker(fleet: FleetConfig) -> FileLock:
    """The lock a SQLite fleet's one worker holds while it runs.

    DBOS's queues keep their limits (one night per agency, the caps) exactly only when one
    process dequeues from a SQLite database: its claims there are not serialised between
    processes (Postgres serialises them). One worker runs many nights at once
    (``concurrency.per_worker``); several workers need Postgres.

    Raises:
        FleetBusyError: another worker holds it.
    """
    path = Path(fleet.database_url.removeprefix("sqlite:///") + ".worker.lock")
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FleetBusyError(
            f"another worker already runs this fleet ({path} is held). A fleet on SQLite "
            "has one worker, which runs concurrency.per_worker nights at once; for several "
            "workers, give every worker a Postgres database (RULEBRIDGE_FLEET_DATABASE_URL)"
        ) from None
    return lock


@contextlib.contextmanager
def running(worker: Worker) -> Iterator[Worker]:
    """`worker` started for the block, stopped after it (tests, ``fleet run``)."""
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
