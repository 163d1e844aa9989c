"""``rulebridge store adopt``: rebuild an agency's state store from what its targets hold.

The explicit, recorded way to give an agency a store again when its own was deleted,
emptied, restored from an older backup, found behind, or is to be replaced by another file.
It sends nothing to Alto or Fixflo; it is one run of the store (``rulebridge history``
lists it) under the agency's lock:

1. **Bind** the store to the config's agency (origin ``adopted``), clearing any note that
   it was found behind. A store of another agency is refused: adopt a new file instead.
2. **Snapshot and plan** as a run does; every source record the plan matched to a Fixflo
   record (`engine.sync.plan.MergeDecision`) the id map lacks is mapped.
3. **Issues**: every Fixflo issue (whatever the cursor) is reconciled against what the
   store holds, and what that owes is looked up in Alto (`engine.issues.adoption`):
   found is recorded as done, missing is left for the next run, and what Alto cannot be
   asked about (a charge: Alto documents no lookup for charges) becomes a dead letter for
   a person, so nothing is ever posted twice on a guess. The cursor is not moved.
4. **Witness**: the agency's witness names this store from now on; a run with any other
   store of the agency is refused.

Example::

    outcome = adopt_store(RunOptions(config, Path("state/acme.db"), adopt=True), RunLog())

    outcome.report["issues"]["outcomes"]["works_order"]["adopted"]
    # 3
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from engine.store import IdMapEntry, Store, StoreMismatchError
from engine.sync.plan import Plan
from rulebridge.runner._night import Night, RunOptions
from rulebridge.runner._snapshot_phase import take_snapshots
from rulebridge.runner.issues import reconcile_issues
from rulebridge.runner.lock import AgencyLock
from rulebridge.runner.log import RunLog
from rulebridge.runner.nightly import (
    AgencyRun,
    RunOutcome,
    load_agency_ruleset,
    plan_night,
    record_run,
)
from rulebridge.runner.wiring import alto_writer, fixflo_ports

__all__ = ["adopt_store"]


def adopt_store(options: RunOptions, log: RunLog) -> RunOutcome:
    """Rebuild the store at ``options.store_path`` from the agency's targets; see the module
    docstring. Its report counts what was recorded: ``reference.adopted`` id-map entries,
    and ``adopted``, ``absent`` and ``dead`` per kind in ``issues.outcomes``.

    Raises:
        rulebridge.runner.lock.LockedError: a run of the agency is in progress.
        engine.store.StoreMismatchError: the store belongs to another agency.
        engine.RulesetErrors: the ruleset or its settings do not validate.
    """
    options = dataclasses.replace(options, adopt=True, dry_run=False)
    ruleset = load_agency_ruleset(options.config)
    agency = AgencyRun.of(options)
    with AgencyLock(agency.home, options.store_path), Store.open(options.store_path) as store:
        binding = store.binding()
        if binding is not None and binding.identity.differences(agency.identity):
            raise StoreMismatchError(
                str(store.path),
                f"belongs to agency {binding.identity.describe()}, not to "
                f"{agency.identity.describe()}. Nothing was done",
                "adopt into a new file (--store NEW.db): a store is never shared between agencies",
            )
        store.bind(agency.identity, origin="adopted")
        return record_run(agency, ruleset, store, log, _adopt_phases)


def _adopt_phases(night: Night) -> None:
    loaded = night.timed("snapshot", lambda: take_snapshots(night))
    plan = night.timed("plan", lambda: plan_night(night, loaded))
    mapped = _map_matches(night, plan)
    started = time.monotonic()
    asyncio.run(_adopt_issues(night))
    night.add_time("issues", time.monotonic() - started)
    night.reference["adopted"] = mapped


def _map_matches(night: Night, plan: Plan) -> int:
    """Map every source record the plan matched to a target record and the id map lacks."""
    store, mapped = night.store, 0
    with store.transaction():
        for merge in plan.merges:
            if merge.source_id is None or merge.target_id is None:
                continue
            if store.lookup(merge.kind, merge.source_id) is None:
                store.map_id(IdMapEntry(merge.kind, merge.source_id, str(merge.target_id)))
                mapped += 1
    night.changes += mapped
    return mapped


async def _adopt_issues(night: Night) -> None:
    if night.ruleset.lifecycle is None or "alto" not in night.config.apis:
        return
    async with fixflo_ports(night, ruleset=night.ruleset) as fixflo, alto_writer(night) as alto:
        await reconcile_issues(night, fixflo.issues, fixflo.documents, alto)
