"""The nightly job for one agency: snapshot, plan, apply, reconcile issues, report.

1. **Lock** the agency (`rulebridge.runner.lock.AgencyLock`, keyed by the agency whatever
   the store file): a second run at the same time exits. **Trust** the store only if it is
   this agency's, not behind, and the one its last run used; a new store only if the
   targets hold no history (`rulebridge.runner.trust`).
2. **Snapshot** Alto and Fixflo through the adapters into the run's folder (preflight: a
   refused credential stops the run here, before anything is written), within the
   config's ``limits.snapshot_seconds``. Records the readers cannot use, in an API's
   listing or in a snapshot file, are kept in the report, never silently dropped.
3. **Plan** with the ruleset (G-07 settings checks become warnings), stamped with the id
   map's fingerprint; ``--plan-out`` saves it for ``rulebridge apply``.
4. **Apply** the plan to Fixflo with exactly-once effects (`engine.sync.apply.apply_plan`).
5. **Issues**: read the Fixflo issues changed since the cursor, reconcile each into Alto
   (works orders, documents, charges; `engine.issues.apply`), then advance the cursor, only
   past issues whose effects are all recorded.
6. **Report** into the store (``rulebridge report RUN``) and back to the caller.

Killed at any point, the next run resumes: effects are recorded after they happen and
intents before, so nothing is done twice and nothing is lost (docs/runner.md).

The phases take the engine's ports; `rulebridge.runner.wiring` makes the real ones.

Example::

    outcome = run_nightly(RunOptions(config, Path("state/acme.db")), RunLog())
    outcome.exit_code
    # 2
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.fixflo import FixfloAdapter
from adapters.http import Deadline
from engine import RulebridgeError, load_ruleset
from engine.errors import CredentialsRefused, PortError, RecordError
from engine.language.ruleset import CompiledRuleset
from engine.ports import Record, RecordTarget, WorksOrderLookup
from engine.snapshot import SnapshotError, iter_records
from engine.store import AgencyIdentity, Store, StoreBehindError
from engine.store.records import RunStatus
from engine.sync.apply import ApplyResult, RecordLookup, apply_plan, planned_keys, stamp_plan
from engine.sync.plan import Plan
from engine.sync.planner import make_plan
from rulebridge._config import AgencyConfig
from rulebridge._snapshot_io import take_snapshot
from rulebridge._snapshots import LoadedSnapshots, load_snapshots
from rulebridge.runner._night import Night, RunOptions
from rulebridge.runner._subscribe import (
    SUBSCRIPTION_KEY,
    activity_warning,
    failure_statuses,
    subscriptions_of,
)
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.check import preflight
from rulebridge.runner.exits import ExitCode, outcome_code, signal_code
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
    snapshot_reader,
)

__all__ = [
    "AgencyRun",
    "RunFailedError",
    "RunOutcome",
    "load_agency_ruleset",
    "plan_night",
    "record_run",
    "run_nightly",
    "take_snapshots",
]


class RunFailedError(RulebridgeError):
    """The run could not go on (the message says why and what to do)."""


@dataclass
class RunOutcome:
    """The run's report (JSON, as stored) and its exit code (`rulebridge.runner.exits`):
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
        report = _report(night, started, None, signum=signum)
        store.finish_run("interrupted", report=report)
        log.event("run", state="interrupted", signal=signal_name(signum),
                  exit_code=report["run"]["exit_code"])  # fmt: skip
        return RunOutcome(report, report["run"]["exit_code"])
    except BaseException as exc:  # a defect: recorded, then raised
        report = _report(night, started, f"stopped by a defect ({type(exc).__name__})")
        store.finish_run("failed", report=report)
        raise
    report = _report(night, started, error)
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


# Snapshot ------------------------------------------------------------------------------


def take_snapshots(night: Night) -> LoadedSnapshots:
    """Read Alto and Fixflo into the run's folder, within the snapshot phase's deadline; a
    refused credential stops the run. The listings' unusable items come first among the
    records the readers rejected."""
    for folder in (night.folder.parent, night.folder):  # owner-only: personal data
        folder.mkdir(mode=0o700, exist_ok=True)
    taken_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    seconds = night.config.snapshot_seconds
    deadline = Deadline.after(seconds, "the snapshot phase", "limits.snapshot_seconds")
    rejected: list[RecordError] = []
    paths = {}
    for system in ("alto", "fixflo"):
        api = night.config.api(system)
        # A missing secret fails here, naming it.
        places = _previous_places(night) if system == "alto" else []
        reader = snapshot_reader(night, system, deadline=deadline, rejected=rejected, places=places)
        before = len(rejected)
        path = night.folder / f"{system}.json"
        with night.log.phase(f"read {system}") as advance:
            try:
                counts = take_snapshot(
                    path,
                    system,
                    reader,
                    taken_at=taken_at,
                    agency_ref=api.agency_ref,
                    on_record=lambda _name: _checked(advance),
                )
            except CredentialsRefused as exc:
                raise RunFailedError(
                    f"preflight: {system} refused the credentials ({exc.status}); check the "
                    f"variables named under '{system}:' in {night.config.path}"
                ) from None
        night.log.event("snapshot", system=system, records=counts, rejected=len(rejected) - before)
        paths[system] = path
    loaded = load_snapshots(paths["alto"], paths["fixflo"])
    loaded.rejected[:0] = rejected
    return loaded


def _checked(advance: Callable[[int], None]) -> None:
    """At each record read: stop here if a signal asked to (`rulebridge.runner.stop`)."""
    checkpoint()
    advance(1)


def _previous_places(night: Night) -> list[dict[str, Any]]:
    """The Alto tenancy places (``tenancy_tenants``) of the latest earlier run's snapshot,
    so that tenancies whose places are all known cost no request tonight
    (`adapters.alto.AltoAdapter.remember_places`); none when there is no readable one."""
    runs = sorted(
        (p for p in night.folder.parent.iterdir() if p.is_dir() and p.name.isdigit()),
        key=lambda p: int(p.name),
    )
    earlier = [
        p for p in runs if int(p.name) < int(night.folder.name) and (p / "alto.json").is_file()
    ]
    if not earlier:
        return []
    places: list[dict[str, Any]] = []
    try:
        for item in iter_records(earlier[-1] / "alto.json", "tenancy_tenants"):
            if isinstance(item, dict):
                places.append(item)
    except (SnapshotError, OSError) as exc:
        night.log.event("snapshot", note=f"last night's tenancy places unread: {exc}")
        return []
    return places


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
        _write_plan(night.options.plan_out, stamp_plan(plan.to_json(), night.store))
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


def _write_plan(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, default=str) + "\n", "utf-8")
    os.chmod(partial, 0o600)
    partial.replace(path)


# Apply and issues ----------------------------------------------------------------------


async def _write_phases(night: Night, plan: Plan) -> None:
    """Apply the plan to Fixflo, then reconcile Fixflo's issues into Alto: one event loop,
    one limiter per system."""
    async with fixflo_ports(night, ruleset=night.ruleset) as fixflo:
        started = time.monotonic()
        await _apply(night, plan, fixflo.target, fixflo.lookups)
        night.add_time("apply", time.monotonic() - started)
        if night.ruleset.lifecycle is None or "alto" not in night.config.apis:
            return
        started = time.monotonic()
        async with alto_writer(night) as alto:
            await reconcile_issues(night, fixflo.issues, fixflo.documents, alto)
        night.add_time("issues", time.monotonic() - started)
        await _webhook_activity(night, fixflo.target)


async def _webhook_activity(night: Night, fixflo: RecordTarget) -> None:
    """With a ``webhook:`` section and a subscription the server made, Fixflo's failed
    deliveries since the last night began (`Subscriptions.activity`): the report's
    ``webhooks`` section and a warning. What Fixflo failed to deliver was read tonight
    anyway (the cursor), so this says only that the live server missed it."""
    subscription = night.store.meta(SUBSCRIPTION_KEY)
    if night.config.webhook is None or not subscription or not isinstance(fixflo, FixfloAdapter):
        return
    since = _last_night_start(night)
    try:
        hooks = subscriptions_of(fixflo, night.config.webhook)
        failures = await hooks.activity(subscription, failed_only=True, since=since)
    except RulebridgeError as exc:
        night.warn("webhook", f"Fixflo's webhook activity could not be read ({exc})")
        return
    statuses = failure_statuses(failures)
    night.webhooks = {
        "subscription": subscription,
        "since": since.isoformat(timespec="seconds"),
        "failed": len(failures),
        "statuses": dict(sorted(statuses.items())),
        "first": [
            {"send_time": str(f.send_time), "status": f.status, "event": f.event}
            for f in failures[:20]
        ],
    }
    night.log.event("webhooks", failed=len(failures), statuses=dict(statuses))
    if failures:
        night.warn("webhook", activity_warning(statuses))


def _last_night_start(night: Night) -> datetime:
    """When the latest earlier nightly run began (a day ago when there is none)."""
    for run in night.store.runs():
        if run.id != night.run.id and run.kind == "night":
            with contextlib.suppress(ValueError):
                started = datetime.fromisoformat(run.started.replace("Z", "+00:00"))
                return started if started.tzinfo else started.replace(tzinfo=UTC)
    return datetime.now(UTC) - timedelta(days=1)


class ProgressTarget:
    """A record target that moves the progress bar on at each write it forwards."""

    def __init__(self, target: RecordTarget, advance: Callable[[int], None]) -> None:
        self.target, self.advance = target, advance

    async def upsert(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Forward, then advance."""
        record = await self.target.upsert(collection, fields)
        self.advance(1)
        return record

    async def archive(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Forward, then advance."""
        record = await self.target.archive(collection, fields)
        self.advance(1)
        return record

    async def link(self, collection: str, fields: Mapping[str, Any]) -> None:
        """Forward, then advance."""
        await self.target.link(collection, fields)
        self.advance(1)

    async def unlink(self, collection: str, fields: Mapping[str, Any]) -> None:
        """Forward, then advance."""
        await self.target.unlink(collection, fields)
        self.advance(1)

    async def find(self, collection: str, **query: str) -> Record | None:
        """Forward (a lookup before re-creating after a crash); None when the target
        offers no lookup."""
        if not isinstance(self.target, RecordLookup):
            return None
        return await self.target.find(collection, **query)


async def _apply(
    night: Night, plan: Plan, fixflo: RecordTarget, lookups: frozenset[str] = frozenset()
) -> None:
    if night.options.dry_run:
        night.changes += len(plan.operations)
        return
    settled = night.store.settle_in_flight(
        planned_keys(plan, night.store), set(night.ruleset.entities)
    )
    if settled:
        night.log.event("settled", operations=settled)
    with night.log.phase("apply", total=len(plan.operations)) as advance:
        # A plan made tonight from Fixflo as it is holds only what is needed now: an update
        # done on an earlier night (and undone in Fixflo since) is made again, and so is a
        # create of a record Fixflo lost (drift). A store that never recorded a record of an
        # entity looks its creates up first.
        target = ProgressTarget(fixflo, advance)
        result = await apply_plan(
            plan,
            target,
            night.store,
            run=night.run,
            reapply_done=True,
            look_first=lookups,
            checkpoint=checkpoint,
            repair_drift=True,
        )
    _note_apply(night, result)


def _note_apply(night: Night, result: ApplyResult) -> None:
    night.reference["applied"] = {kind: dict(c) for kind, c in result.counts.items()}
    night.reference["calls"] = dict(result.calls)
    night.changes += result.total("create", "update", "archive", "link", "unlink")
    night.incomplete += result.incomplete
    night.dead_letters.extend(result.dead_letters)
    night.log.event("apply", outcomes=night.reference["applied"], dead=result.dead_lettered)
    night.drift = result.drift_report()
    if night.drift:
        outcomes = Counter(item["outcome"] for item in night.drift["items"])
        night.log.event(
            "drift",
            records=len(night.drift["items"]),
            outcomes=dict(sorted(outcomes.items())),
            recreated=night.drift["recreated"],
            links_repaired=night.drift["links_repaired"],
            requeued=len(result.requeued),
        )


# Report --------------------------------------------------------------------------------


def _report(
    night: Night, started: float, error: str | None, *, signum: int | None = None
) -> dict[str, Any]:
    """The run's report; its ``run`` section says how it ended and with which exit code
    (`rulebridge.runner.exits`): interrupted by `signum`, failed, left work for a person
    (``attention``: items for a person and dead letters written), changed something."""
    failed = error is not None or night.incomplete > 0
    dead_letters = night.dead_letter_items()
    attention = _for_a_person(night.reference) + len(dead_letters)
    code: ExitCode
    if signum is not None:  # stopped inside a phase: count the effects it recorded
        status, code = "interrupted", signal_code(signum)
        night.changes = max(night.changes, _recorded_effects(night))
    else:
        code = outcome_code(failed=failed, attention=attention > 0, changes=night.changes)
        status = "failed" if failed else "succeeded"
    return {
        "run": {
            "id": night.run.id,
            "agency": night.config.agency,
            "ruleset": {
                "name": night.ruleset.name,
                "version": str(night.ruleset.version),
                "hash": night.ruleset.content_hash,
            },
            "dry_run": night.options.dry_run,
            "adopt": night.options.adopt,
            "kind": "adopt" if night.options.adopt else night.run.kind,
            "started": _with_offset(night.run.started),
            "finished": datetime.now(UTC).isoformat(),
            "seconds": round(time.monotonic() - started, 3),
            "status": status,
            "exit_code": int(code),
            "error": error,
            "incomplete": night.incomplete,
            "changes": night.changes,
            "attention": attention,
            **({"signal": signal_name(signum)} if signum is not None else {}),
            "phases": night.phases,
        },
        "reference": night.reference,
        "issues": night.issues,
        "warnings": night.warnings,
        "dead_letters": dead_letters,
        "api": night.calls.to_json(),
        **({"drift": night.drift} if night.drift else {}),
        **({"webhooks": night.webhooks} if night.webhooks else {}),
    }


def _recorded_effects(night: Night) -> int:
    """The effects the store recorded for this run so far (every phase's)."""
    counts = night.store.run(night.run.id).counts
    return sum(n for per_op in counts.values() for n in per_op.values())


def _for_a_person(reference: Mapping[str, Any]) -> int:
    """The plan's items for a person (``manual_items`` listed, else ``manual`` counted)."""
    items = reference.get("manual_items")
    if isinstance(items, list):
        return len(items)
    counted = reference.get("manual", 0)
    return counted if isinstance(counted, int) else 0


def _with_offset(stamp: str) -> str:
    """An ISO 8601 time with its offset (a stamp without one is UTC)."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _prune(night: Night) -> None:
    """Keep the snapshots of the latest `keep_runs` runs only (they hold personal data)."""
    parent = night.folder.parent
    if not parent.is_dir():
        return
    folders = sorted(path for path in parent.iterdir() if path.is_dir() and path.name.isdigit())
    for old in folders[: max(0, len(folders) - night.options.keep_runs)]:
        shutil.rmtree(old, ignore_errors=True)
