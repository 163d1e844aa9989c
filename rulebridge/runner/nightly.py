"""The nightly job for one agency: check, snapshot, plan, apply, reconcile issues, report.

1. **Lock** the agency (`rulebridge.runner.lock.AgencyLock`, keyed by the agency whatever
   the store file): a second run at the same time exits. **Trust** the store only if it is
   this agency's, not behind, and the one its last run used; a new store only if the
   targets hold no history (`rulebridge.runner.trust`).
2. **Preflight**: both APIs reached and their credentials accepted, one cheap contract
   request each (`rulebridge.runner.check.preflight`), before anything is read.
3. **Snapshot** Alto and Fixflo through the adapters into the run's folder
   (`rulebridge.runner._snapshot_phase`), within the config's ``limits.snapshot_seconds``.
   Records the readers cannot use, in an API's listing or in a snapshot file, are kept in
   the report, never silently dropped.
4. **Plan** with the ruleset (G-07 settings checks become warnings), stamped with the id
   map's fingerprint; ``--plan-out`` saves it for ``rulebridge apply``.
5. **Apply** the plan to Fixflo with exactly-once effects, records Fixflo lost created
   again once (`rulebridge.runner._apply_phase`).
6. **Issues**: read the Fixflo issues changed since the cursor, reconcile each into Alto
   (works orders, documents, charges; `engine.issues.apply`), then advance the cursor, only
   past issues whose effects are all recorded.
7. **Report** into the store (`rulebridge.runner._run_report`; ``rulebridge report RUN``)
   and back to the caller, with its exit code (`rulebridge._exits`); then the metrics and
   the alert (`rulebridge.runner.publish`).

SIGTERM or SIGINT stops the run between two effects (`rulebridge.runner.stop`), recorded as
interrupted. Killed at any point, the next run resumes: effects are recorded after they
happen and intents before, so nothing is done twice and nothing is lost (docs/runner.md).

The run is the steps of `rulebridge.runner.steps.NightSteps` (check, snapshot, plan, apply
in batches, issues, report) in one process, holding the agency lock from the first to the
last: a durable engine runs the same steps, possibly in several processes. The phases take
the engine's ports; `rulebridge.runner.wiring` makes the real ones.

Example::

    outcome = run_nightly(RunOptions(config, Path("state/acme.db")), RunLog())
    outcome.exit_code
    # 2
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine import RulebridgeError
from engine.language.ruleset import CompiledRuleset
from engine.store import Store, StoreBehindError
from engine.store.records import RunStatus
from rulebridge.runner._night import Night, RunFailedError, RunOptions
from rulebridge.runner._night_phases import (
    AgencyRun,
    behind_error,
    load_agency_ruleset,
    plan_night,
    prune,
    signum_of,
)
from rulebridge.runner._run_report import night_report
from rulebridge.runner.log import RunLog, redact_personal
from rulebridge.runner.publish import publish
from rulebridge.runner.steps import NightSteps
from rulebridge.runner.stop import Interrupted, signal_name
from rulebridge.runner.wiring import check_issue_parts

__all__ = [
    "AgencyRun",
    "RunFailedError",
    "RunOutcome",
    "load_agency_ruleset",
    "plan_night",
    "record_run",
    "run_nightly",
]


@dataclass
class RunOutcome:
    """The run's report (JSON, as stored) and its exit code (`rulebridge._exits`):
    0 no change, 2 changes, 3 left work for a person, 1 failure, 130/143 interrupted."""

    report: dict[str, Any]
    exit_code: int


def run_nightly(options: RunOptions, log: RunLog) -> RunOutcome:
    """Run the nightly job once; see the module docstring.

    Raises:
        rulebridge.runner.lock.LockedError: another run for the agency is in progress
            (nothing done).
        engine.store.StoreRefusedError: the store is not this agency's up-to-date store
            (`rulebridge.runner.trust`; nothing done, the message names the fix).
        engine.RulesetErrors: the ruleset or its settings do not validate (nothing done).
        adapters.errors.ConfigError: the ruleset declares an issue part the Fixflo adapter
            does not read as it says (`rulebridge.runner.wiring.check_issue_parts`; nothing
            done).
        engine.store.StoreError: the state store cannot be opened.
    """
    ruleset = load_agency_ruleset(options.config)
    if "fixflo" in options.config.apis:
        check_issue_parts(ruleset)  # before anything is locked, opened or read
    steps = NightSteps(options, log, night=None, ruleset=ruleset)
    with steps.holding():
        try:
            report = _run_steps(steps)
        except (Interrupted, KeyboardInterrupt) as exc:  # a signal: stopped between effects
            if steps.run_id is None:
                raise
            report = steps.stopped(steps.run_id, exc)
        except RunFailedError as exc:  # refused before the run began: as it was raised
            cause = exc.__cause__
            if steps.run_id is None and isinstance(cause, RulebridgeError):
                raise cause from None
            raise
        except BaseException as exc:  # a defect: recorded, then raised
            if steps.run_id is not None:
                steps.stopped(steps.run_id, exc)
            raise
    return RunOutcome(report, report["run"]["exit_code"])


def _run_steps(steps: NightSteps) -> dict[str, Any]:
    run_id = int(steps.check()["run_id"])
    steps.snapshot(run_id)
    for batch in range(int(steps.plan(run_id).get("batches", 0))):
        steps.apply(run_id, batch)
    steps.issues(run_id)
    return steps.report(run_id)


def record_run(
    agency: AgencyRun,
    ruleset: CompiledRuleset,
    store: Store,
    log: RunLog,
    phases: Callable[[Night], None],
) -> RunOutcome:
    """Run `phases` as one recorded run of `store` (in one step: ``rulebridge store
    adopt``): started, reported, finished, and the agency's witness written after it
    (`rulebridge.runner.home`)."""
    options = agency.options
    run_id: int | None = None
    outcome: RunOutcome | None = None
    try:
        run = store.start_run(
            ruleset.name, str(ruleset.version), ruleset.content_hash, dry_run=options.dry_run
        )
        log.run_id = run_id = run.id
        night = Night(options, ruleset, store, run, log, calls=agency.calls)
        outcome = _recorded(night, agency.hint, phases)
        return outcome
    finally:
        binding = store.binding()
        if binding is not None:
            agency.home.write_witness(binding, store.progress(), options.store_path)
        # Metrics and alert, once the run is finished however it ended (never raises).
        if run_id is not None:
            publish(options.config, store, run_id, outcome.report if outcome else None, log)


def _recorded(night: Night, hint: str, phases: Callable[[Night], None]) -> RunOutcome:
    options, store, log = night.options, night.store, night.log
    log.event("run", state="started", agency=options.config.agency, dry_run=options.dry_run)
    started = time.monotonic()
    error: str | None = None
    try:
        phases(night)
    except StoreBehindError as exc:  # Alto holds what the store never sent: stop, note it
        store.mark_behind(exc.problem)
        error = behind_error(exc, hint)
        log.event("error", message=error)
    except (RulebridgeError, ValueError) as exc:
        error = redact_personal(str(exc))
        log.event("error", message=error)
    except (Interrupted, KeyboardInterrupt) as exc:  # a signal: stopped between effects
        signum = signum_of(exc)
        report = night_report(night, started, None, signum=signum)
        store.finish_run("interrupted", report=report)
        log.event("run", state="interrupted", signal=signal_name(signum),
                  exit_code=report["run"]["exit_code"])  # fmt: skip
        return RunOutcome(report, report["run"]["exit_code"])
    except BaseException as exc:  # a defect: recorded, then raised
        report = night_report(night, started, f"stopped by a defect ({type(exc).__name__})")
        store.finish_run("failed", report=report)
        raise
    report = night_report(night, started, error)
    status: RunStatus = report["run"]["status"]
    store.finish_run(status, report=report)
    log.event("run", state="finished", status=status, exit_code=report["run"]["exit_code"])
    prune(night)
    return RunOutcome(report, report["run"]["exit_code"])
