"""The nightly run's apply phase: tonight's plan to Fixflo, each effect once, drift repaired.

`apply_phase` settles what an earlier, killed run left in flight (closing what tonight's
plan no longer holds), then applies the plan with `engine.sync.apply.apply_plan`: updates
done on an earlier night and undone in Fixflo since are made again, a record Fixflo lost is
created again once (drift), a create into a store new to the agency is looked up first,
and a signal stops it between two operations (`rulebridge.runner.stop.checkpoint`). The
outcomes, dead letters and drift go to the run (`rulebridge.runner._night.Night`).

Example::

    await apply_phase(night, plan, fixflo.target, fixflo.lookups)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from typing import Any

from engine.ports import Record, RecordTarget
from engine.sync.apply import ApplyResult, RecordLookup, apply_plan, planned_keys
from engine.sync.plan import Plan
from rulebridge.runner._night import Night
from rulebridge.runner.stop import checkpoint

__all__ = ["ProgressTarget", "apply_phase"]


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


async def apply_phase(
    night: Night,
    plan: Plan,
    fixflo: RecordTarget,
    lookups: frozenset[str] = frozenset(),
    *,
    settle: Plan | None = None,
    unmapped: Collection[str] | None = None,
) -> None:
    """Apply `plan` (the night's whole plan, or one batch of it) to Fixflo.

    Args:
        night: the run; the outcomes go to it.
        plan: the operations to apply now.
        fixflo: the target.
        lookups: the collections whose creates the target can look up first.
        settle: the night's whole plan, when what an earlier run left in flight is to be
            settled against it first (`Store.settle_in_flight`): once a night, before its
            first batch. Default: `plan` itself, unless `unmapped` is given (a later batch).
        unmapped: the entities the store held no record of before the first batch
            (`engine.sync.apply.apply_plan`); default: found now.
    """
    if night.options.dry_run:
        night.changes += len(plan.operations)
        return
    whole = settle if settle is not None else (plan if unmapped is None else None)
    if whole is not None:
        settled = night.store.settle_in_flight(
            planned_keys(whole, night.store), set(night.ruleset.entities)
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
            unmapped=unmapped,
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
