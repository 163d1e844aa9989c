"""The nightly run as resumable steps, for a durable engine that may run them in different
processes (the fleet), and for `rulebridge.runner.nightly.run_nightly` in one.

`STEPS` are ``check``, ``snapshot``, ``plan``, ``apply`` (in batches of the options'
``batch_size`` operations: ``apply:0``, ``apply:1``...), ``issues`` and ``report``. Each step
of `NightSteps` holds the agency lock while it runs, opens the trusted store, attaches to
the night's run (`engine.store.Store.continue_run`), does its work, records its result
(JSON) in the store's ``run_steps`` table, writes the agency's witness and returns the
result. Called again for a step already recorded, it returns the recorded result and does
nothing: an engine that re-runs a step after a crash duplicates nothing (the ledger keeps
each effect exactly-once within a step that was cut short).

- After a step recorded ``{"error": ...}``, the later steps but ``report`` return
  ``{"skipped": "<step> failed"}`` at once; ``report`` makes the failed report (exit 1).
- The report is rebuilt from the steps' recorded results (`rulebridge.runner._night_record`),
  so a night whose steps ran in three processes reports what one process would have.
- A signal (`rulebridge.runner.stop`) inside a step raises `Interrupted` out of it and the
  step records nothing: it is run again later, and takes up where the ledger says.

The snapshot step leaves ``alto.json`` and ``fixflo.json`` in the run's folder, the plan
step the stamped ``plan.json`` (and ``--plan-out``'s copy); later steps read them from there
when this object has not kept them from an earlier step.

Example::

    steps = NightSteps(options, RunLog(), night="acme:2026-12-07")
    run_id = steps.check()["run_id"]
    steps.snapshot(run_id)
    batches = steps.plan(run_id).get("batches", 0)
    for batch in range(batches):
        steps.apply(run_id, batch)
    steps.issues(run_id)
    steps.report(run_id)["run"]["exit_code"]  # 2
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

from engine import RulebridgeError
from engine.language.ruleset import CompiledRuleset
from engine.store import Store, StoreBehindError, StoreMismatchError
from engine.sync.plan import Plan
from rulebridge._snapshots import LoadedSnapshots
from rulebridge.runner._night import Night, RunFailedError, RunOptions
from rulebridge.runner._night_phases import (
    AgencyRun,
    apply_batch,
    behind_error,
    history_probe,
    issues_phase,
    load_agency_ruleset,
    load_run_snapshots,
    plan_night,
    preflight_step,
    prune,
    read_saved_plan,
    rejected_json,
    save_plan,
    signum_of,
    unmapped_kinds,
)
from rulebridge.runner._night_record import rebuild, step_record, step_seconds
from rulebridge.runner._run_report import night_report
from rulebridge.runner._snapshot_phase import read_snapshots
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.lock import AgencyLock
from rulebridge.runner.log import RunLog, redact_personal
from rulebridge.runner.publish import publish
from rulebridge.runner.stop import Interrupted
from rulebridge.runner.trust import open_trusted
from rulebridge.runner.wiring import check_issue_parts

__all__ = ["STEPS", "NightSteps"]

STEPS: Final = ("check", "snapshot", "plan", "apply", "issues", "report")
PLAN_FILE: Final = "plan.json"


class NightSteps:
    """One agency-night as steps that a durable engine may run in different processes
    (see the module docstring).

    Args:
        options: the agency, its store and how to run (``batch_size``: operations per
            apply batch).
        log: the run's log.
        night: the engine's id of this agency-night, e.g. ``acme:2026-12-07``: ``check``
            finds the unfinished run already started for it. None: ``check`` starts a run
            of its own (`rulebridge.runner.nightly.run_nightly`).
        ruleset: the agency's ruleset when the caller loaded it already (default: loaded
            from the config at the first step).

    Raises:
        RunFailedError: ``batch_size`` is below 1.
    """

    def __init__(
        self,
        options: RunOptions,
        log: RunLog,
        *,
        night: str | None,
        ruleset: CompiledRuleset | None = None,
    ) -> None:
        if options.batch_size < 1:
            raise RunFailedError(
                f"{options.config.path}: batch_size is {options.batch_size}; "
                "an apply batch holds at least 1 operation"
            )
        self.options, self.log, self.night = options, log, night
        self.agency = AgencyRun.of(options)
        self.run_id: int | None = None  # the run, once `check` started or found it
        self._ruleset = ruleset
        self._loaded: tuple[int, LoadedSnapshots] | None = None
        self._plan: tuple[int, Plan] | None = None
        self._held: AgencyLock | None = None

    # The lock -------------------------------------------------------------------------

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        """Hold the agency's lock across the steps run inside the block (one process
        running the whole night: no other run can start between two of its steps).

        Raises:
            rulebridge.runner.lock.LockedError: another run holds it.
        """
        with AgencyLock(self.agency.home, self.options.store_path) as lock:
            self._held = lock
            try:
                yield
            finally:
                self._held = None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._held is not None:
            yield
            return
        with AgencyLock(self.agency.home, self.options.store_path):
            yield

    # The steps ------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """Start the night's run (or find the unfinished one started for `night`), check
        the ruleset's issue parts and the store's trust, and reach both APIs (preflight).
        Returns ``{"run_id": ...}``, with ``"error"`` when a check failed once the run
        existed (the report then fails it).

        Raises:
            rulebridge.runner.lock.LockedError: another run for the agency is in progress.
            RunFailedError: a check failed before there was a run to record it in (the
                ruleset, the store's trust, the credentials of the history probe); the
                original error is its ``__cause__``.
        """
        try:
            ruleset = self.ruleset()
            if "fixflo" in self.options.config.apis:
                check_issue_parts(ruleset)
        except (RulebridgeError, ValueError) as exc:
            if isinstance(exc, RunFailedError):
                raise
            raise RunFailedError(str(exc)) from exc
        calls = ApiCalls()
        with self._locked():
            probe = history_probe(self.options, ruleset, calls)
            try:
                store = open_trusted(
                    self.options.store_path,
                    self.agency.identity,
                    self.agency.home,
                    self.agency.hint,
                    probe,
                )
            except RunFailedError:
                raise
            except (RulebridgeError, ValueError) as exc:
                raise RunFailedError(str(exc)) from exc
            with store:
                run_id = self._night_run(store, ruleset)
                return self._step(store, run_id, "check", calls, self._check)

    def snapshot(self, run_id: int) -> dict[str, Any]:
        """Read Alto and Fixflo into the run's folder (``alto.json``, ``fixflo.json``)."""
        return self._attached(run_id, "snapshot", self._snapshot)

    def plan(self, run_id: int) -> dict[str, Any]:
        """Plan against the snapshots; the stamped plan is saved as the run folder's
        ``plan.json`` (and at ``plan_out`` when asked). Returns ``{"operations": n,
        "batches": k}`` with what the night learnt (k is at least 1: the first batch also
        settles what an earlier run left in flight)."""
        return self._attached(run_id, "plan", self._plan_step)

    def apply(self, run_id: int, batch: int) -> dict[str, Any]:
        """Apply batch `batch` (from 0) of the saved plan to Fixflo: its ``batch_size``
        operations; batch 0 first settles what an earlier run left in flight.

        Raises:
            IndexError: `batch` is not a batch of the plan (nothing is recorded).
        """
        return self._attached(run_id, f"apply:{batch}", lambda night: self._apply(night, batch))

    def issues(self, run_id: int) -> dict[str, Any]:
        """Reconcile Fixflo's issues changed since the cursor into Alto."""
        return self._attached(run_id, "issues", self._issues)

    def report(self, run_id: int) -> dict[str, Any]:
        """Finish the run: its report rebuilt from the recorded steps (the run's
        ``seconds`` is the sum of its steps' seconds), stored with the run, the witness
        written, the metrics and alert published, old snapshots pruned. Returns the
        report as stored, with ``report["run"]["exit_code"]`` (1 when a step failed)."""
        ruleset = self.ruleset()
        with self._locked(), self._store(trusted=False) as store:
            recorded = store.step_results(run_id)
            run = store.run(run_id)
            if "report" in recorded or run.status in ("succeeded", "failed"):
                return dict(run.report or recorded.get("report") or {})
            night, started = self._rebuilt(store, run_id, ruleset, recorded)
            error = _first_error(recorded)
            report = night_report(night, started, error)
            with store.transaction():  # finished and recorded together
                store.finish_run(report["run"]["status"], report=report)
                store.record_step(run_id, "report", report)
            self.log.event(
                "run",
                state="finished",
                status=report["run"]["status"],
                exit_code=report["run"]["exit_code"],
            )
            prune(night)
            self._witness(store)
            publish(self.options.config, store, run_id, report, self.log)
            return report

    def stopped(self, run_id: int, exc: BaseException) -> dict[str, Any]:
        """Finish the run as `exc` ended it in this process, as `run_nightly` records
        it: a signal (`Interrupted`, `KeyboardInterrupt`) makes it ``interrupted`` (exit
        130/143), anything else ``failed`` by a defect. Returns the report."""
        ruleset = self.ruleset()
        with self._locked(), self._store(trusted=False) as store:
            if store.run(run_id).status in ("succeeded", "failed"):  # its report was made
                return dict(store.run(run_id).report or {})
            night, started = self._rebuilt(store, run_id, ruleset, store.step_results(run_id))
            if isinstance(exc, (Interrupted, KeyboardInterrupt)):
                signum = signum_of(exc)
                report = night_report(night, started, None, signum=signum)
                store.finish_run("interrupted", report=report)
                self.log.event("run", state="interrupted", signal=report["run"]["signal"],
                               exit_code=report["run"]["exit_code"])  # fmt: skip
            else:
                defect = f"stopped by a defect ({type(exc).__name__})"
                report = night_report(night, started, defect)
                store.finish_run("failed", report=report)
            self._witness(store)
            publish(self.options.config, store, run_id, report, self.log)
            return report

    def _rebuilt(
        self, store: Store, run_id: int, ruleset: CompiledRuleset, recorded: dict[str, Any]
    ) -> tuple[Night, float]:
        """The run's night rebuilt from its `recorded` steps, and when it began (as
        `time.monotonic` counts: its steps' seconds ago)."""
        run = store.continue_run(run_id)
        self.log.run_id = run_id
        night = Night(self.options, ruleset, store, run, self.log, calls=ApiCalls())
        rebuild(night, recorded)
        return night, time.monotonic() - step_seconds(recorded)

    def ruleset(self) -> CompiledRuleset:
        """The agency's ruleset, loaded once."""
        if self._ruleset is None:
            self._ruleset = load_agency_ruleset(self.options.config)
        return self._ruleset

    # How a step runs ------------------------------------------------------------------

    def _night_run(self, store: Store, ruleset: CompiledRuleset) -> int:
        """The run of this night: found (unfinished, or with its check recorded), or new."""
        found = self.run_id
        if found is None and self.night is not None:
            run = store.run_of_night(self.night)
            if run is not None and (
                run.status not in ("succeeded", "failed") or "check" in store.step_results(run.id)
            ):
                found = run.id
        if found is None:
            options = self.options
            run = store.start_run(
                ruleset.name,
                str(ruleset.version),
                ruleset.content_hash,
                dry_run=options.dry_run,
                night=self.night,
            )
            self.log.run_id = run.id
            self.log.event("run", state="started", agency=options.config.agency,
                           dry_run=options.dry_run)  # fmt: skip
            found = run.id
        self.run_id = self.log.run_id = found
        return found

    def _attached(
        self, run_id: int, name: str, step: Callable[[Night], dict[str, Any]]
    ) -> dict[str, Any]:
        self.ruleset()
        with self._locked():
            with self._store(trusted=False) as store:  # recorded, or after a failed step
                done = _recorded_or_skipped(store.step_results(run_id), name)
            if done is not None:
                return done
            with self._store() as store:
                return self._step(store, run_id, name, ApiCalls(), step)

    @contextlib.contextmanager
    def _store(self, *, trusted: bool = True) -> Iterator[Store]:
        """The agency's store, trusted (`rulebridge.runner.trust.open_trusted`); or, not
        `trusted`, only checked to be the agency's: to read what a step recorded, and to
        report a night whose store a step found behind (refused from then on)."""
        path = self.options.store_path
        if trusted or not path.exists():
            with open_trusted(
                path, self.agency.identity, self.agency.home, self.agency.hint, None
            ) as store:
                yield store
            return
        with Store.open(path) as store:
            binding = store.binding()
            if binding is not None and binding.identity.differences(self.agency.identity):
                raise StoreMismatchError(
                    str(path),
                    f"belongs to agency {binding.identity.describe()}, not to "
                    f"{self.agency.identity.describe()}",
                    "point the agency's config at its own store",
                )
            yield store

    def _step(
        self,
        store: Store,
        run_id: int,
        name: str,
        calls: ApiCalls,
        step: Callable[[Night], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run `step` as step `name` of run `run_id` (see the module docstring)."""
        done = _recorded_or_skipped(store.step_results(run_id), name)
        if done is not None:
            return done
        ruleset = self.ruleset()
        run = store.continue_run(run_id)
        self.run_id = self.log.run_id = run_id
        night = Night(self.options, ruleset, store, run, self.log, calls=calls)
        started = time.monotonic()
        try:
            result: dict[str, Any] = {}
            if run.ruleset_hash != ruleset.content_hash:
                raise RunFailedError(
                    f"{self.options.config.path}: the ruleset changed since run {run_id} "
                    f"began ({run.ruleset_hash[:19]}, now {ruleset.content_hash[:19]}); "
                    "this night cannot go on with another ruleset: the next night runs it"
                )
            result = step(night)
        except StoreBehindError as exc:  # Alto holds what the store never sent: stop, note it
            store.mark_behind(exc.problem)
            result = {"error": behind_error(exc, self.agency.hint)}
        except (RulebridgeError, ValueError) as exc:
            result = {"error": redact_personal(str(exc))}
        finally:
            self._witness(store)
        if "error" in result:
            self.log.event("error", message=result["error"])
        if name == "check":
            result["run_id"] = run_id
        result = {**result, **step_record(night, seconds=time.monotonic() - started)}
        store.record_step(run_id, name, result)
        return result

    def _witness(self, store: Store) -> None:
        binding = store.binding()
        if binding is not None:
            self.agency.home.write_witness(binding, store.progress(), self.options.store_path)

    # The work of each step ------------------------------------------------------------

    def _check(self, night: Night) -> dict[str, Any]:
        preflight_step(night)
        return {}

    def _snapshot(self, night: Night) -> dict[str, Any]:
        loaded, rejected = night.timed("snapshot", lambda: read_snapshots(night))
        self._loaded = (night.run.id, loaded)
        return {"rejected": [rejected_json(error) for error in rejected]}

    def _snapshots(self, night: Night) -> LoadedSnapshots:
        if self._loaded is not None and self._loaded[0] == night.run.id:
            return self._loaded[1]
        read = night.store.step_results(night.run.id).get("snapshot", {}).get("rejected", [])
        return load_run_snapshots(night, read)

    def _plan_step(self, night: Night) -> dict[str, Any]:
        loaded = self._snapshots(night)
        plan = night.timed("plan", lambda: plan_night(night, loaded))
        self._loaded = None  # the plan is made: the snapshots are not needed again
        night.timed("plan", lambda: save_plan(night, plan, night.folder / PLAN_FILE))
        # Kept for this object's apply batches (one process: the plan as made, its large
        # sections still spilled to disk); another process reads plan.json back.
        self._plan = (night.run.id, plan)
        count = len(plan.operations)
        return {
            "operations": count,
            "batch_size": self.options.batch_size,  # the batches' size, whoever applies them
            "batches": max(1, math.ceil(count / self.options.batch_size)),
            "unmapped": unmapped_kinds(plan, night.store),
        }

    def _saved_plan(self, night: Night) -> Plan:
        if self._plan is None or self._plan[0] != night.run.id:
            self._plan = (night.run.id, read_saved_plan(night.folder / PLAN_FILE))
        return self._plan[1]

    def _apply(self, night: Night, batch: int) -> dict[str, Any]:
        planned = night.store.step_results(night.run.id)["plan"]
        batches, size = int(planned["batches"]), int(planned["batch_size"])
        if not 0 <= batch < batches:  # the caller's mistake: nothing is recorded
            raise IndexError(f"run {night.run.id}: its plan has no apply batch {batch} "
                             f"(batches 0 to {batches - 1})")  # fmt: skip
        plan = self._saved_plan(night)
        operations = plan.operations[batch * size : (batch + 1) * size]
        part = dataclasses.replace(plan, operations=operations)
        settle = plan if batch == 0 else None
        unmapped = frozenset(planned.get("unmapped", []))
        asyncio.run(apply_batch(night, part, settle=settle, unmapped=unmapped))
        return {"operations": len(part.operations)}

    def _issues(self, night: Night) -> dict[str, Any]:
        asyncio.run(issues_phase(night))
        return {}


def _recorded_or_skipped(recorded: dict[str, dict[str, Any]], name: str) -> dict[str, Any] | None:
    """Step `name`'s recorded result; ``skipped`` after a failed step; None: to be run."""
    if name in recorded:
        return recorded[name]
    failed = next((key for key, value in recorded.items() if "error" in value), None)
    return None if failed is None else {"skipped": f"{failed} failed"}


def _first_error(results: dict[str, dict[str, Any]]) -> str | None:
    return next((str(value["error"]) for value in results.values() if "error" in value), None)
