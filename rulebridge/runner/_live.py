"""The server's reconcile thread: queued issues reconciled into Alto, as the nightly run does.

`Reconciler` is a thread with its own event loop, its own connections to the agency's store
(the ledger, `engine.store.Store`, and the queue, `engine.store.LiveQueue`) and its own
Fixflo and Alto adapters (`rulebridge.runner.wiring`, the agency's shared limiter). Its
``workers`` tasks each `take` the oldest due issue from the queue and reconcile it with
the nightly run's own per-issue code (`rulebridge.runner.issues.reconcile_issue`), under
the per-issue lease the nightly run respects:

- reconciled -> `LiveQueue.done` with the issue's revision (the nightly report counts the
  issue as handled live when it finds the ledger agreeing with that revision);
- busy (the nightly run holds the issue) -> released, tried again in 30 s;
- held (a read or a write failed), or an error -> retried after 5 s, 10 s, 20 s...; after
  ``attempts`` the issue is dead: left to the nightly run, which clears the dead row
  once it reconciled it.

Everything is recorded as a ``live`` run of the store (``rulebridge history``), rolled over
every 24 hours and at shutdown. Warnings (W-06: the invoice can never reach Alto) are logged
the moment they arise and kept in the live run's report, once per issue and message.

Example::

    reconciler = Reconciler(setup, log)
    reconciler.start()
    reconciler.wake()            # a delivery was queued
    reconciler.stop(grace=20)    # SIGTERM
    reconciler.join()
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from adapters.alto import AltoAdapter
from adapters.fixflo import FixfloDocuments
from engine.errors import RulebridgeError
from engine.language.ruleset import CompiledRuleset
from engine.store import LiveItem, LiveQueue, Store, StoreError
from engine.store.records import RunStatus
from rulebridge._config import WebhookConfig
from rulebridge._exits import outcome_code
from rulebridge.runner._night import Night, RunOptions
from rulebridge.runner._subscribe import Subscriber, subscriptions_of
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.issues import (
    ISSUE_LEASE,
    IssueWork,
    holder_of,
    issue_work,
    reconcile_issue,
)
from rulebridge.runner.log import RunLog, redact_personal
from rulebridge.runner.publish import publish
from rulebridge.runner.report import iso_time
from rulebridge.runner.wiring import alto_writer, fixflo_ports

__all__ = [
    "RENEW_EVERY",
    "LiveNight",
    "LiveStats",
    "Reconciler",
    "ServeSetup",
    "hold_while_running",
    "live_report",
]

ROLLOVER: Final = timedelta(hours=24)
BUSY_DELAY: Final = timedelta(seconds=30)
POLL_SECONDS: Final = 2.0
RENEW_EVERY: float = ISSUE_LEASE.total_seconds() / 3
"""Seconds between renewals of a running reconcile's hold on its issue."""
_LATENCIES: Final = 10_000  # the latest reconcile latencies kept for /status


@dataclass(frozen=True, slots=True)
class ServeSetup:
    """What the reconcile thread needs: the run options, the ruleset and the secret."""

    options: RunOptions
    ruleset: CompiledRuleset
    secret: str
    subscribe: bool = True

    @property
    def store_path(self) -> Path:
        """The agency's store."""
        return self.options.store_path

    @property
    def webhook(self) -> WebhookConfig:
        """The config's ``webhook:`` section (the server refuses a config without one)."""
        webhook = self.options.config.webhook
        if webhook is None:
            raise ValueError(f"{self.options.config.path}: no 'webhook:' section")
        return webhook


class LiveNight(Night):
    """A live run: each warning is logged the moment it arises, once per message."""

    def warn(self, rule: str, message: str) -> None:
        """Log and keep a warning, unless this live run already has it."""
        if any(w["rule"] == rule and w["message"] == message for w in self.warnings):
            return
        super().warn(rule, message)
        self.log.event("warning", rule=rule, message=message)


@dataclass
class LiveStats:
    """What the reconcile thread has done since it started (for ``GET /status``)."""

    fates: Counter[str] = field(default_factory=Counter)
    run_base: Counter[str] = field(default_factory=Counter)  # `fates` when the run began
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=_LATENCIES))
    last_reconcile: str | None = None
    in_flight: int = 0

    def to_json(self) -> dict[str, Any]:
        """Counts by fate, the last reconcile's time, latency p50/p99 in seconds."""
        ordered = sorted(self.latencies)
        return {
            "fates": dict(self.fates),
            "in_flight": self.in_flight,
            "last_reconcile": self.last_reconcile,
            "latency_seconds": {
                "count": len(ordered),
                "p50": _quantile(ordered, 0.50),
                "p99": _quantile(ordered, 0.99),
            },
        }


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    if len(ordered) == 1:
        return round(ordered[0], 3)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return round(cuts[max(0, min(98, round(q * 100) - 1))], 3)


class Reconciler(threading.Thread):
    """The reconcile thread (see the module docstring); `start`, `wake`, `stop`, `join`."""

    def __init__(self, setup: ServeSetup, log: RunLog, *, target_url: str) -> None:
        super().__init__(name="rulebridge-reconcile", daemon=True)
        self.setup, self.log, self.target_url = setup, log, target_url
        self.stats = LiveStats()
        self.ready = threading.Event()  # the run started and (if asked) subscribed
        self.failed: str | None = None  # why the thread ended early
        self.subscription: str | None = None
        self.run_id: int | None = None
        self.interrupted = False
        self.on_end: Callable[[], None] | None = None  # called when it ends unasked
        self.asked_to_stop = False
        self._work: IssueWork | None = None  # the current live run's
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._grace = 0.0
        self._holder = ""

    # From other threads ------------------------------------------------------------

    def wake(self) -> None:
        """Look at the queue now (a delivery was queued); safe from any thread."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed
                loop.call_soon_threadsafe(wake.set)

    def stop(self, grace: float) -> None:
        """Take nothing more; in-flight reconciles get `grace` seconds, then are cancelled."""
        self._grace, self.asked_to_stop = grace, True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)

    # The thread ----------------------------------------------------------------------

    def run(self) -> None:
        """The thread's body: the event loop, until stopped."""
        try:
            asyncio.run(self._main())
        except Exception as exc:  # the server reports it (readyz, exit code), never a traceback
            self.failed = redact_personal(f"{type(exc).__name__}: {exc}")
            self.log.event("error", message=f"the reconcile thread stopped: {self.failed}")
        finally:
            self.ready.set()  # nobody waits for a thread that has ended
            if self.on_end is not None and not self.asked_to_stop:  # it ended by itself
                self.on_end()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake, self._stopping = asyncio.Event(), asyncio.Event()
        if self.asked_to_stop:  # stopped before the loop ran
            self._stopping.set()
        path = self.setup.store_path
        with Store.open(path) as store, LiveQueue.open(path) as queue:
            # Under serve.lock no other server runs: "live:" leases are a killed one's.
            released, leases = queue.release_holder("live:"), store.release_leases("live:")
            if released or leases:
                self.log.event("live", released=released, leases_released=leases)
            while not self._stopping.is_set():
                await self._one_run(store, queue)

    async def _one_run(self, store: Store, queue: LiveQueue) -> None:
        """One live run: started, served for up to `ROLLOVER`, finished with its report."""
        ruleset = self.setup.ruleset
        run = store.start_run(ruleset.name, str(ruleset.version), ruleset.content_hash, kind="live")
        self.run_id = self.log.run_id = run.id
        night = LiveNight(self.setup.options, ruleset, store, run, self.log, calls=ApiCalls())
        self._holder = holder_of(night)
        started, error = time.monotonic(), None
        self.log.event("run", state="started", kind="live", agency=night.config.agency)
        status: RunStatus = "succeeded"
        try:
            async with (
                fixflo_ports(night, drained=False, ruleset=ruleset) as fixflo,
                alto_writer(night, drained=False) as alto,
            ):
                if self.setup.subscribe and self.subscription is None:
                    subscriber = Subscriber(self.setup.webhook, self.setup.secret, self.log, queue)
                    subscriptions = subscriptions_of(fixflo.target, self.setup.webhook)
                    self.subscription = await subscriber.ensure(subscriptions, self.target_url)
                self.ready.set()
                work = issue_work(night, fixflo.issues, fixflo.documents, alto)
                self._work, self.stats.run_base = work, Counter(self.stats.fates)
                await self._serve(night, work, queue, started)
        except RulebridgeError as exc:
            error = self.failed = redact_personal(str(exc))
            self.log.event("error", message=error)
            self._stopping_set()
            status = "failed"
        except BaseException:
            report = live_report(night, self.stats, started, None, self._work)
            store.finish_run("interrupted", report=report)
            raise
        if self.interrupted and status == "succeeded":
            status = "interrupted"
        report = live_report(night, self.stats, started, error, self._work)
        store.finish_run(status, report=report)
        self.log.event("run", state="finished", kind="live", status=status)
        # Metrics and the alert of the day's live run, as a night's (never raises; at most
        # the alert's timeout, once a day or at shutdown, with deliveries still received).
        publish(night.config, store, run.id, report, self.log)

    def _stopping_set(self) -> None:
        if self._stopping is not None:
            self._stopping.set()

    async def _serve(self, night: Night, work: IssueWork, queue: LiveQueue, began: float) -> None:
        """Run the workers until stopped or the run is `ROLLOVER` old; when stopped, the
        in-flight reconciles get the grace, then are cancelled."""
        assert self._stopping is not None
        ends = began + ROLLOVER.total_seconds()
        tasks = {
            asyncio.create_task(self._worker(night, work, queue, ends))
            for _ in range(self.setup.webhook.workers)
        }
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({stopping, *tasks}, return_when=asyncio.FIRST_COMPLETED)
        if self._stopping.is_set():
            pending = {task for task in tasks if not task.done()}
            if pending and self._grace > 0:
                _, pending = await asyncio.wait(pending, timeout=self._grace)
            for task in pending:
                task.cancel()
            if pending:
                self.interrupted = True
                self.log.event("live", cancelled=len(pending), grace_seconds=self._grace)
        else:  # the run is ROLLOVER old: the workers end by themselves
            await asyncio.wait(tasks)
        stopping.cancel()
        await asyncio.gather(*tasks, stopping, return_exceptions=True)

    async def _worker(self, night: Night, work: IssueWork, queue: LiveQueue, ends: float) -> None:
        """Take, reconcile, settle; until stopped or the run's end."""
        assert self._stopping is not None
        assert self._wake is not None
        while not self._stopping.is_set() and time.monotonic() < ends:
            item = queue.take(self._holder, lease=ISSUE_LEASE)
            if item is None:
                await self._idle()
                continue
            self.stats.in_flight += 1
            try:
                await self._reconcile(night, work, queue, item)
            except asyncio.CancelledError:  # SIGTERM past the grace: left for next time
                with contextlib.suppress(StoreError):
                    queue.release(item)
                raise
            finally:
                self.stats.in_flight -= 1

    async def _idle(self) -> None:
        """Until woken, stopped or `POLL_SECONDS` (another process's enqueue, due retries)."""
        assert self._wake is not None
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def _reconcile(
        self, night: Night, work: IssueWork, queue: LiveQueue, item: LiveItem
    ) -> None:
        issue_id, attempts = item.issue_id, self.setup.webhook.attempts
        fate: str
        _forget(work, issue_id)
        holding = asyncio.create_task(
            hold_while_running(queue, night.store, item, self._holder, self.log)
        )
        try:
            fate = await reconcile_issue(night, work, issue_id, stamped=False)
        except RulebridgeError as exc:
            fate, error = "error", redact_personal(str(exc))
        except Exception as exc:  # a defect: this issue is retried, the server goes on
            fate, error = "error", f"{type(exc).__name__} (a defect: report it)"
            self.log.event("error", issue=issue_id, message=error)
        else:
            error = f"issue {issue_id}: {fate}"
        finally:
            holding.cancel()  # no await since the reconcile released the issue's lease
        self.stats.fates[fate] += 1
        self.stats.last_reconcile = datetime.now(UTC).isoformat(timespec="seconds")
        if fate in ("reconciled", "parked"):
            revision = work.revisions.get(issue_id) if fate == "reconciled" else None
            queue.done(item, revision)
            self.stats.latencies.append(_since(item.received_at))
            self.log.event("live", issue=issue_id, fate=fate, attempt=item.attempts)
        elif fate == "busy":
            queue.release(item, delay=BUSY_DELAY)
            self.log.event("live", issue=issue_id, fate=fate, note="the nightly run holds it")
        else:
            delay = timedelta(seconds=5 * 2 ** max(0, item.attempts - 1))
            if queue.retry(item, error, delay=delay, attempts=attempts):
                self.log.event("live", issue=issue_id, fate=fate, retry_in=delay.seconds)
            else:
                self.stats.fates["dead"] += 1
                night.warn(
                    "live",
                    f"issue {issue_id}: not reconciled after {attempts} attempts ({error}); "
                    "left to the nightly run",
                )


async def hold_while_running(
    queue: LiveQueue, store: Store, item: LiveItem, holder: str, log: RunLog
) -> None:
    """Every `RENEW_EVERY` seconds until cancelled (the reconcile of `item` ended), extend
    the queue's hold on the issue and its per-issue lease by `ISSUE_LEASE`, so a reconcile
    slowed by the rate limit or retries never loses them to another worker or the night.
    A hold found lost is logged once and not taken back."""
    while True:
        await asyncio.sleep(RENEW_EVERY)
        try:
            held = queue.renew(item, lease=ISSUE_LEASE) and store.lease_issue(
                item.issue_id, holder, ttl=ISSUE_LEASE
            )
        except StoreError as exc:  # locked for a moment: the lease still has time left
            log.event("live", issue=item.issue_id, note=f"lease not renewed: {exc}")
            continue
        if not held:
            log.event("live", issue=item.issue_id, note="the issue's lease ran out mid-reconcile")
            return


def _forget(work: IssueWork, issue_id: str) -> None:
    """Drop what the adapters remember for one run: a live run lasts all day, and each
    reconcile must see Fixflo's documents and Alto's tenancies as they are now."""
    if isinstance(work.documents, FixfloDocuments):
        work.documents.forget(issue_id)
    if isinstance(work.alto, AltoAdapter):
        work.alto.forget_places()


def _since(received_at: str) -> float:
    """Seconds from `received_at` (ISO UTC) to now."""
    try:
        then = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - then).total_seconds())


def live_report(
    night: Night,
    stats: LiveStats,
    started: float,
    error: str | None,
    work: IssueWork | None = None,
) -> dict[str, Any]:
    """The live run's report, in the nightly report's shape (``rulebridge report RUN``):
    the issues read and their fates since the run began, effects per kind, latency."""
    issues: dict[str, Any] = {
        "since": iso_time(night.run.started, timespec="auto"),
        "live": stats.to_json(),
    }
    if work is not None:
        issues |= {
            "read": len(work.read),
            **{
                fate: (stats.fates - stats.run_base)[fate]
                for fate in ("reconciled", "parked", "held")
            },
            "outcomes": {kind: dict(counter) for kind, counter in work.outcomes.items()},
        }
    dead_letters = night.dead_letter_items()
    code = outcome_code(
        failed=error is not None, attention=bool(dead_letters), changes=night.changes
    )
    return {
        "run": {
            "id": night.run.id,
            "kind": "live",
            "agency": night.config.agency,
            "ruleset": {
                "name": night.ruleset.name,
                "version": str(night.ruleset.version),
                "hash": night.ruleset.content_hash,
            },
            "dry_run": False,
            "started": iso_time(night.run.started, timespec="auto"),
            "finished": datetime.now(UTC).isoformat(),
            "seconds": round(time.monotonic() - started, 3),
            "status": "failed" if error else "succeeded",
            "exit_code": int(code),
            "error": error,
            "incomplete": night.incomplete,
            "changes": night.changes,
            "attention": len(dead_letters),
            "phases": night.phases,
        },
        "issues": issues,
        "warnings": night.warnings,
        "dead_letters": dead_letters,
        "api": night.calls.to_json(),
    }
