"""The work of the nightly run's steps (`rulebridge.runner.steps.NightSteps`): the agency a
run is for, its history probe and preflight, the plan (saved stamped in the run's folder),
an apply batch, the issues phase, and pruning old runs' snapshots.

The steps call these with a `rulebridge.runner._night.Night` of their own; the phases take
the engine's ports, which `rulebridge.runner.wiring` makes.

Example::

    plan = plan_night(night, loaded)
    save_plan(night, plan, night.folder / "plan.json")
    await apply_batch(night, plan, settle=plan, unmapped=unmapped_kinds(plan, night.store))
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import signal
import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import load_ruleset
from engine.errors import PortError, RecordError
from engine.language.ruleset import CompiledRuleset
from engine.ports import WorksOrderLookup
from engine.store import AgencyIdentity, Store, StoreBehindError
from engine.sync.plan import Plan
from engine.sync.plan_writer import write_plan
from engine.sync.planner import make_plan
from engine.sync.saved_plan import PlanFileError, read_plan, stamp_of
from rulebridge._config import AgencyConfig
from rulebridge._snapshots import LoadedSnapshots, load_snapshots
from rulebridge.runner._apply_phase import apply_phase
from rulebridge.runner._night import Night, RunFailedError, RunOptions
from rulebridge.runner._subscribe import night_activity
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.check import preflight
from rulebridge.runner.home import AgencyHome, state_home
from rulebridge.runner.issues import reconcile_issues
from rulebridge.runner.log import redact_personal
from rulebridge.runner.report import manual_item
from rulebridge.runner.stop import Interrupted, checkpoint
from rulebridge.runner.trust import (
    Probe,
    RefusedBy,
    adopt_hint,
    find_history,
    identity_of,
)
from rulebridge.runner.wiring import Wire, alto_writer, fixflo_ports

__all__ = [
    "AgencyRun",
    "apply_batch",
    "behind_error",
    "history_probe",
    "issues_phase",
    "load_agency_ruleset",
    "load_run_snapshots",
    "plan_night",
    "preflight_step",
    "prune",
    "read_saved_plan",
    "rejected_json",
    "save_plan",
    "signum_of",
    "unmapped_kinds",
]


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


def history_probe(options: RunOptions, ruleset: CompiledRuleset, calls: ApiCalls) -> Probe | None:
    """How a run looks for the agency's history in the targets before it creates a store
    (`rulebridge.runner.trust.find_history`); None when the run writes nothing to Alto."""
    config = options.config
    if ruleset.lifecycle is None or not {"alto", "fixflo"} <= set(config.apis):
        return None

    # the agency's shared rate limit, as the run's own requests (a first night's probe
    # reads every Fixflo issue)
    home = AgencyHome(options.state_home or state_home(), identity_of(config))
    wire = Wire(config, calls, home, rate_url=options.rate_url)

    def probe() -> str | None:
        home.prepare()
        return asyncio.run(_find_history(wire, ruleset))

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


# Plan ----------------------------------------------------------------------------------


def plan_night(night: Night, loaded: LoadedSnapshots) -> Plan:
    """The plan against the snapshots, its counts, items for a person and warnings noted
    on the night (`save_plan` saves it)."""
    rejected = [
        {"where": error.where, "record_id": error.record_id, "message": error.message}
        for error in loaded.rejected
    ]
    as_of = night.options.as_of or datetime.now(UTC).date()
    plan = make_plan(
        night.ruleset, loaded.records, as_of=as_of, inputs=loaded.inputs(), rejected=rejected
    )
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


def save_plan(night: Night, plan: Plan, path: Path) -> None:
    """Save `plan` stamped from the night's store at `path` (the run's folder), and a copy
    at ``--plan-out`` when asked."""
    _write_plan(path, plan, night.store)
    if night.options.plan_out is not None:
        _copy_private(path, night.options.plan_out)


def _copy_private(source: Path, target: Path) -> None:
    """Copy `source` to `target`, owner-only, replacing it at once."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(handle, "wb") as out, source.open("rb") as data:
        shutil.copyfileobj(data, out)
    os.chmod(partial, 0o600)
    partial.replace(target)


def read_saved_plan(path: Path) -> Plan:
    """The plan a plan step saved at `path` (`engine.sync.saved_plan.read_plan`).

    Raises:
        RunFailedError: it cannot be read (the message names the file and the fix).
    """
    try:
        with path.open(encoding="utf-8") as handle:
            return read_plan(json.load(handle))
    except (OSError, ValueError, PlanFileError) as exc:
        raise RunFailedError(
            f"{path}: the night's plan could not be read ({exc}); its plan step saves it: "
            "start a new night (this one cannot go on without it)"
        ) from None


def load_run_snapshots(night: Night, rejected: list[dict[str, Any]]) -> LoadedSnapshots:
    """The snapshots a snapshot step left in the night's folder, with the listings' items
    its readers `rejected` (as that step recorded them, `rejected_json`) first."""
    folder = night.folder
    loaded = load_snapshots(folder / "alto.json", folder / "fixflo.json")
    loaded.rejected[:0] = [RecordError(**item) for item in rejected]
    return loaded


def unmapped_kinds(plan: Plan, store: Store) -> list[str]:
    """The entities `plan` creates that the store holds no record of yet (their creates
    are looked up first, in every batch: `engine.sync.apply.apply_plan`)."""
    kinds = {op.kind for op in plan.operations if op.op == "create"}
    return sorted(kind for kind in kinds if not store.mapped(kind))


# Preflight, apply and issues -----------------------------------------------------------


def preflight_step(night: Night) -> None:
    """Both APIs reached and their credentials accepted, before anything is read."""
    night.timed("preflight", lambda: preflight(night.config, limited=night))
    checkpoint()  # a signal during the preflight stops the run before it reads anything


async def apply_batch(
    night: Night, plan: Plan, *, settle: Plan | None, unmapped: Collection[str]
) -> None:
    """Apply `plan` (one batch of the night's plan) to Fixflo; with `settle` (the whole
    plan; the first batch), settle what an earlier run left in flight first."""
    async with fixflo_ports(night, ruleset=night.ruleset) as fixflo:
        started = time.monotonic()
        await apply_phase(
            night, plan, fixflo.target, fixflo.lookups, settle=settle, unmapped=unmapped
        )
        night.add_time("apply", time.monotonic() - started)


async def issues_phase(night: Night) -> None:
    """Reconcile Fixflo's issues into Alto, then read Fixflo's failed webhook deliveries;
    nothing when the ruleset has no lifecycle or the agency no Alto."""
    if night.ruleset.lifecycle is None or "alto" not in night.config.apis:
        return
    async with fixflo_ports(night, ruleset=night.ruleset) as fixflo:
        started = time.monotonic()
        async with alto_writer(night) as alto:
            await reconcile_issues(night, fixflo.issues, fixflo.documents, alto)
        night.add_time("issues", time.monotonic() - started)
        await night_activity(night, fixflo.target)


# Errors and records ----------------------------------------------------------------------


def behind_error(exc: StoreBehindError, hint: str) -> str:
    """The report's error for a store Alto showed to be behind (personal data masked)."""
    return redact_personal(
        f"{exc.path}: {exc.problem}. Nothing more was sent; the store was restored from "
        "an older backup, emptied, or another store ran for this agency, and is refused "
        f"until it is rebuilt from the targets: {hint}"
    )


def signum_of(exc: BaseException) -> int:
    """The signal that stopped a run: an `Interrupted`'s, SIGINT for a KeyboardInterrupt."""
    return exc.signum if isinstance(exc, Interrupted) else signal.SIGINT


def rejected_json(error: RecordError) -> dict[str, Any]:
    """A record a reader rejected, as a step records it (`RecordError`'s fields)."""
    return {"where": error.where, "record_id": error.record_id, "message": error.message}


def prune(night: Night) -> None:
    """Keep the snapshots of the latest `keep_runs` runs only (they hold personal data)."""
    parent = night.folder.parent
    if not parent.is_dir():
        return
    folders = sorted(path for path in parent.iterdir() if path.is_dir() and path.name.isdigit())
    for old in folders[: max(0, len(folders) - night.options.keep_runs)]:
        shutil.rmtree(old, ignore_errors=True)
