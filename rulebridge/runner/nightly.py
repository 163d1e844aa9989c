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

The phases take the engine's ports; `rulebridge.runner.wiring` makes the real ones.

Example::

    outcome = run_nightly(RunOptions(config, Path("state/acme.db")), RunLog())
    outcome.exit_code
    # 2
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import RulebridgeError, load_ruleset
from engine.errors import PortError
from engine.language.ruleset import CompiledRuleset
from engine.ports import WorksOrderLookup
from engine.store import AgencyIdentity, Store, StoreBehindError
from engine.store.records import RunStatus
from engine.sync.plan import Plan
from engine.sync.plan_writer import write_plan
from engine.sync.planner import make_plan
from engine.sync.saved_plan import stamp_of
from rulebridge._config import AgencyConfig
from rulebridge._snapshots import LoadedSnapshots
from rulebridge.runner._apply_phase import apply_phase
from rulebridge.runner._night import Night, RunFailedError, RunOptions
from rulebridge.runner._run_report import night_report
from rulebridge.runner._snapshot_phase import take_snapshots
from rulebridge.runner._subscribe import night_activity
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.check import preflight
from rulebridge.runner.home import AgencyHome, state_home
from rulebridge.runner.issues import reconcile_issues
from rulebridge.runner.lock import AgencyLock
from rulebridge.runner.log import RunLog, redact_personal
from rulebridge.runner.publish import publish
from rulebridge.runner.report import manual_item
from rulebridge.runner.stop import Interrupted, checkpoint, signal_name
from rulebridge.runner.trust import (
    Probe,
    RefusedBy,
    adopt_hint,
    find_history,
    identity_of,
    open_trusted,
)
from rulebridge.runner.wiring import (
    Wire,
    alto_writer,
    check_issue_parts,
    fixflo_ports,
)

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
    agency = AgencyRun.of(options)
    with AgencyLock(agency.home, options.store_path):
        probe = _probe(options, ruleset, agency.calls)
        store = open_trusted(options.store_path, agency.identity, agency.home, agency.hint, probe)
        with store:
            return record_run(agency, ruleset, store, log, _run_phases)


def load_agency_ruleset(config: AgencyConfig) -> CompiledRuleset:
    """The ruleset the config names, loaded and checked."""
    if config.ruleset is None:
        raise RunFailedError(f"{config.path}: no 'ruleset:'; name the ruleset the agency runs")
    return load_ruleset(config.ruleset, settings=config.settings)


@dataclass(frozen=True, slots=True)
class AgencyRun:
    """The agency a run is for: its options, identity, folder in the state home, the
    command that adopts its store, and the run's API call counters."""

    options: RunOptions
    identity: AgencyIdentity
    home: AgencyHome
    hint: str
    calls: ApiCalls

    @classmethod
    def of(cls, options: RunOptions) -> AgencyRun:
        """The agency of `options`."""
        identity = identity_of(options.config)
        home = AgencyHome(options.state_home or state_home(), identity)
        hint = adopt_hint(options.config.path, options.store_path)
        return cls(options, identity, home, hint, ApiCalls())


def record_run(
    agency: AgencyRun,
    ruleset: CompiledRuleset,
    store: Store,
    log: RunLog,
    phases: Callable[[Night], None],
) -> RunOutcome:
    """Run `phases` as one recorded run of `store`: started, reported, finished, and the
    agency's witness written after it (`rulebridge.runner.home`)."""
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
        error = redact_personal(
            f"{exc.path}: {exc.problem}. Nothing more was sent; the store was restored from "
            "an older backup, emptied, or another store ran for this agency, and is refused "
            f"until it is rebuilt from the targets: {hint}"
        )
        log.event("error", message=error)
    except (RulebridgeError, ValueError) as exc:
        error = redact_personal(str(exc))
        log.event("error", message=error)
    except (Interrupted, KeyboardInterrupt) as exc:  # a signal: stopped between effects
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
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
    _prune(night)
    return RunOutcome(report, report["run"]["exit_code"])


def _probe(options: RunOptions, ruleset: CompiledRuleset, calls: ApiCalls) -> Probe | None:
    """How a run looks for the agency's history in the targets before it creates a store
    (`rulebridge.runner.trust.find_history`); None when the run writes nothing to Alto."""
    config = options.config
    if ruleset.lifecycle is None or not {"alto", "fixflo"} <= set(config.apis):
        return None

    def probe() -> str | None:
        return asyncio.run(_find_history(Wire(config, calls), ruleset))

    return probe


async def _find_history(wire: Wire, ruleset: CompiledRuleset) -> str | None:
    try:
        async with (
            fixflo_ports(wire, drained=False, ruleset=ruleset) as fixflo,
            alto_writer(wire, drained=False) as alto,
        ):
            if not isinstance(alto, WorksOrderLookup):
                return None
            return await find_history(ruleset, fixflo.issues, alto)
    except RefusedBy as exc:
        raise RunFailedError(
            f"preflight: {exc.system} refused the credentials ({exc.status}); check the "
            f"variables named under '{exc.system}:' in {wire.config.path}. Nothing was "
            "created or sent"
        ) from None
    except PortError as exc:
        raise RunFailedError(
            "before a new state store is created, the run looks in Alto for works orders "
            f"this agency's earlier runs made; it could not ({exc}). Nothing was created or "
            "sent: run again"
        ) from exc


def _run_phases(night: Night) -> None:
    night.timed("preflight", lambda: preflight(night.config))
    checkpoint()  # a signal during the preflight stops the run before it reads anything
    loaded = night.timed("snapshot", lambda: take_snapshots(night))
    plan = night.timed("plan", lambda: plan_night(night, loaded))
    asyncio.run(_write_phases(night, plan))


# Plan ----------------------------------------------------------------------------------


def plan_night(night: Night, loaded: LoadedSnapshots) -> Plan:
    """The plan against the snapshots; saved when asked, stamped with the id map."""
    rejected = [
        {"where": error.where, "record_id": error.record_id, "message": error.message}
        for error in loaded.rejected
    ]
    as_of = night.options.as_of or datetime.now(UTC).date()
    plan = make_plan(
        night.ruleset, loaded.records, as_of=as_of, inputs=loaded.inputs(), rejected=rejected
    )
    if night.options.plan_out is not None:
        _write_plan(night.options.plan_out, plan, night.store)
    night.reference = {
        "planned": plan.summary(),
        "skips_by_rule": dict(Counter(skip.rules[0] for skip in plan.skips if skip.rules)),
        "rejected": len(plan.rejected),
        "manual": len(plan.manual),
        "manual_items": [manual_item(action) for action in plan.manual],
    }
    for warning in plan.warnings:
        detail = "; ".join(str(item) for item in warning.because)
        night.warn(warning.rule, f"{warning.summary} ({detail})")
    for item in rejected[:100]:
        night.warn("snapshot", f"{item['where']}: unreadable, left out of the plan")
    night.log.event("plan", operations=len(plan.operations), summary=_changes(plan))
    return plan


def _changes(plan: Plan) -> dict[str, int]:
    counts = Counter(f"{op.kind} {op.op}" for op in plan.operations)
    return dict(sorted(counts.items()))


def _write_plan(path: Path, plan: Plan, store: Store) -> None:
    """Save `plan` stamped from `store` (what `stamp_plan` gives), written item by item: a
    large plan's sections are read back from their spill files, never held as JSON."""
    inputs = {key: value for key, value in plan.inputs.items() if key != "id_map"}
    stamped = dataclasses.replace(plan, inputs=inputs, stamp=stamp_of(plan, store))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(handle, "w", encoding="utf-8") as out:
        write_plan(stamped, out, ensure_ascii=True)
        out.write("\n")
    os.chmod(partial, 0o600)
    partial.replace(path)


# Apply and issues ----------------------------------------------------------------------


async def _write_phases(night: Night, plan: Plan) -> None:
    """Apply the plan to Fixflo, then reconcile Fixflo's issues into Alto: one event loop,
    one limiter per system."""
    async with fixflo_ports(night, ruleset=night.ruleset) as fixflo:
        started = time.monotonic()
        await apply_phase(night, plan, fixflo.target, fixflo.lookups)
        night.add_time("apply", time.monotonic() - started)
        if night.ruleset.lifecycle is None or "alto" not in night.config.apis:
            return
        started = time.monotonic()
        async with alto_writer(night) as alto:
            await reconcile_issues(night, fixflo.issues, fixflo.documents, alto)
        night.add_time("issues", time.monotonic() - started)
        await night_activity(night, fixflo.target)


def _prune(night: Night) -> None:
    """Keep the snapshots of the latest `keep_runs` runs only (they hold personal data)."""
    parent = night.folder.parent
    if not parent.is_dir():
        return
    folders = sorted(path for path in parent.iterdir() if path.is_dir() and path.name.isdigit())
    for old in folders[: max(0, len(folders) - night.options.keep_runs)]:
        shutil.rmtree(old, ignore_errors=True)
