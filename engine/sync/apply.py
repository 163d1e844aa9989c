"""Apply a plan to a target with exactly-once effects (DESIGN.md section 6, issue 7).

For each operation, in the plan's order:

1. ``store.record_intent(op)`` *before* the call. ``skip`` (already done) and ``dead``
   (dead-lettered, waiting for ``rulebridge deadletters --retry``) make no call.
2. ``verify`` means an earlier attempt was cut off (a crash, a lost answer): the call may
   have landed. A create first looks the record up by its external reference when the
   target offers a lookup (`RecordLookup`); found, it is recorded without a write.
   Otherwise the call is simply made again: **Fixflo writes are upserts by external
   reference (or by Id), so re-sending one lands it once**; links are a set.
3. The call: create and update are ``upsert``, archive is ``archive``, link is ``link``,
   unlink is ``unlink`` (links are a set both ways: re-sending either is safe).
4. ``record_effect`` and the id-map entry in one ``store.transaction()``.

Failures are sorted by their type (`engine.errors`, through `engine._failures`), so the
engine imports no adapter:

- the target refused the record (`RecordRefused`: a 4xx other than 401/403/408/423/425/
  429, or an answer of 200 whose envelope lists Errors): a dead letter with the reason; the
  run goes on;
- the target answered with a failure but applied nothing (`Retryable`: 5xx, 429, after the
  adapter's retries; or any answer of 408, 423, 425, 429 or 5xx): ``mark_failed``; the
  next apply calls it again; the run goes on;
- no answer at all (`OutcomeUnknown`: timeout, dropped connection, unreadable answer): the
  outcome is unknown, so the operation stays ``in_flight`` and the next apply verifies it;
- credentials refused (`CredentialsRefused`: 401/403) or anything that is not a
  `RulebridgeError`: raised, the run stops (every other record would fail the same way).

An operation already ``done`` in an earlier run is not applied again (a saved plan is
applied once); pass ``reapply_done=True`` to let updates, archives and links recur.

``look_first`` names the target collections whose records the target documents a lookup
for by external reference (Fixflo: properties and tenants). A create into one of them that
the store never attempted, while the store has recorded no record of its entity (a store
new to the agency), looks its record up first: found (the snapshot missed it), the create
names it by its ``Id`` (so the upsert updates that record; counted ``merged`` as well as
``create``) rather than making a second one.

``repair_drift`` (the nightly run: its plan was made from tonight's snapshot of the
target) treats a create of a record the id map names a target id for as **drift**: the
target lost the record. It is created again under its own key (`engine.sync._drift`),
after a lookup by reference (found: the snapshot missed it, it is named, not created);
the plan's links to it then go through, and links dead-lettered while it was missing are
queued again. A link refused while an end it joins failed tonight waits for that end (it
fails, called again) instead of becoming a dead letter. `ApplyResult.drift_report` is the
run report's ``drift`` section.

Example::

    run = store.start_run("alto-fixflo", "1", plan.ruleset["content_hash"])
    result = await apply_plan(plan, fixflo, store, run=run)
    result.applied, result.dead_lettered  # (57, 1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any

from engine._outcomes import Outcomes
from engine.errors import RulebridgeError
from engine.ports import Record, RecordTarget
from engine.store import Run, Store, StoreError
from engine.sync._drift import DriftItem, DriftOutcome, LinkRepairs, lost_target_id, repair_key
from engine.sync._effects import (
    RecordLookup,
    call,
    collection_of,
    failed,
    find_existing,
    key_of,
    naming,
    record,
)
from engine.sync.plan import Operation, Plan
from engine.sync.saved_plan import (
    PlanFileError,
    StalePlanError,
    check_fresh,
    read_plan,
    stamp_plan,
)

__all__ = [
    "ApplyResult",
    "DriftItem",
    "PlanFileError",
    "RecordLookup",
    "StalePlanError",
    "apply_plan",
    "check_fresh",
    "planned_keys",
    "read_plan",
    "stamp_plan",
]


@dataclass
class ApplyResult(Outcomes):
    """What an apply did.

    Attributes:
        counts: per entity (the operation's kind), per outcome: ``create``, ``update``,
            ``archive``, ``link`` (applied), ``skipped`` (already done), ``dead``,
            ``failed`` (applied nothing, called again next time), ``unknown`` (no answer,
            verified next time), ``verified`` (found already applied, no write),
            ``merged`` (a create found in the target first, sent as an update of it).
        calls: calls made to the target, by method (``upsert``, ``archive``, ``link``,
            ``find``).
        retries: operations attempted again after an earlier attempt (``verify``).
        dead_letters: ids of the dead letters this apply wrote.
        drift: the records found lost in the target and what was done about each
            (``repair_drift``).
        links_repaired: links made to records that came back tonight.
        requeued: dead letters of links queued again because their end came back.

    Example:
        >>> ApplyResult().applied
        0
    """

    drift: list[DriftItem] = field(default_factory=list)
    links_repaired: int = 0
    requeued: list[int] = field(default_factory=list)

    @property
    def applied(self) -> int:
        """Operations whose effect this apply recorded."""
        return self.total("create", "update", "archive", "link", "unlink", "verified")

    @property
    def incomplete(self) -> int:
        """Operations left to a later apply (failed or outcome unknown)."""
        return self.total("failed", "unknown")

    def drift_report(self) -> dict[str, Any]:
        """The report's ``drift`` section; empty when nothing drifted.

        Example:
            >>> ApplyResult().drift_report()
            {}
        """
        if not self.drift and not self.links_repaired:
            return {}
        recreated: Counter[str] = Counter(
            item.entity for item in self.drift if item.outcome == "recreated"
        )
        return {
            "recreated": dict(sorted(recreated.items())),
            "links_repaired": self.links_repaired,
            "items": [item.to_json() for item in self.drift],
        }


async def apply_plan(
    plan: Plan,
    target: RecordTarget,
    store: Store,
    *,
    run: Run,
    reapply_done: bool = False,
    look_first: Collection[str] = (),
    checkpoint: Callable[[], None] | None = None,
    repair_drift: bool = False,
    unmapped: Collection[str] | None = None,
) -> ApplyResult:
    """Apply every operation of `plan` to `target`, each effect recorded exactly once.

    Args:
        plan: the plan (made now, or read back with `read_plan`).
        target: the system written to, e.g. `adapters.fixflo.FixfloAdapter`.
        store: the agency's state store, with `run` started on it.
        run: the run this apply belongs to (`Store.start_run`); the caller finishes it.
        reapply_done: apply updates, archives and links again even when the same
            operation was done by an earlier run.
        look_first: collections whose creates are looked up by reference before they are
            made, when the store has recorded no record of their entity and never
            attempted them.
        checkpoint: called before each operation; it stops the apply by raising (e.g.
            the runner's stop after a SIGTERM), so the operation in
            progress is finished and no new one is started.
        repair_drift: the plan was made from a snapshot of the target taken for this
            apply (the nightly run's), so a create of a record the id map names a target
            id for is drift: the record was lost in the target and is created again
            (once, under its own key; see `engine.sync._drift`). Off for a plan applied
            again as it is, whose creates the store has done since.
        unmapped: the entities the store had recorded no record of when the apply began
            (default: those it has none of now). A plan applied in batches passes what
            it found before its first batch, so the creates of later batches are looked
            up first as well (`look_first`).

    Raises:
        StoreError: `run` is not the store's current run.
        CredentialsRefused: the target refused the credentials (401/403); nothing more is
            tried. Effects recorded so far stay recorded.

    Example::

        result = await apply_plan(plan, fixflo, store, run=run)
    """
    current = store.current_run_id()
    if current != run.id:
        raise StoreError(
            str(store.path), f"run {run.id} is not the run in progress", "start_run() first"
        )
    result = ApplyResult()
    kinds = {
        op.kind for op in plan.operations if op.op == "create" and collection_of(op) in look_first
    }
    if unmapped is None:
        unmapped = {kind for kind in kinds if not store.mapped(kind)}
    store.record_plan(plan.operations)
    links = LinkRepairs()
    for op in plan.operations:
        if checkpoint is not None:
            checkpoint()
        lost = lost_target_id(store, op) if repair_drift else None
        if lost is not None:
            await _repair(op, lost, target, store, result, links)
            continue
        fresh = op.kind in unmapped and not store.attempted(op.idempotency_key)
        await _apply_one(op, target, store, result, links, reapply_done=reapply_done, look=fresh)
    result.requeued = list(links.requeued)
    return result


def planned_keys(plan: Plan, store: Store) -> set[str]:
    """The idempotency keys an apply of `plan` with ``repair_drift`` may use: the plan's
    own and, for each create of a record the target lost, its re-create's. An operation
    in flight under any of them is verified by that apply, so it is not to be settled
    (`Store.settle_in_flight`).

    Example::

        store.settle_in_flight(planned_keys(plan, store), kinds)
    """
    keys = {op.idempotency_key for op in plan.operations}
    for op in plan.operations:
        lost = lost_target_id(store, op)
        if lost is not None:
            keys.add(repair_key(store, op, lost))
    return keys


async def _apply_one(
    op: Operation,
    target: RecordTarget,
    store: Store,
    result: ApplyResult,
    links: LinkRepairs,
    *,
    reapply_done: bool,
    look: bool,
) -> None:
    if not reapply_done and store.operation_status(op.idempotency_key) == "done":
        result.count(op.kind, "skipped")
        return
    if look and op.op == "create":
        op = await _named_if_found(op, target, result)
    intent = store.record_intent(op)
    if intent.action in ("skip", "dead"):
        result.count(op.kind, "skipped" if intent.action == "skip" else "dead")
        if intent.action == "dead" and op.op == "create":
            links.not_landed(op, "dead")
        return
    if intent.action == "verify":
        result.retries += 1
        found = await find_existing(op, target, result)
        if found is not None:
            record(store, op, found)
            result.count(op.kind, "verified")
            _landed(op, store, result, links, drifted=False)
            return
    try:
        written = await call(op, target, result)
    except RulebridgeError as exc:
        outcome = failed(op, store, result, exc, waits_for=links.end_missing(op))
        if op.op == "create":
            links.not_landed(op, outcome)
        return
    record(store, op, written)
    result.count(op.kind, op.op)
    _landed(op, store, result, links, drifted=False)


async def _repair(
    op: Operation,
    lost: str,
    target: RecordTarget,
    store: Store,
    result: ApplyResult,
    links: LinkRepairs,
) -> None:
    """Create again the record of `op` the target lost (its target id was `lost`), under
    the re-create's own key; a record the lookup finds is named instead (the snapshot
    missed it: nothing is created)."""
    recreate = replace(op, idempotency_key=repair_key(store, op, lost))
    cut_off = store.operation_status(recreate.idempotency_key) == "in_flight"
    found = await find_existing(recreate, target, result)
    found_id = None if found is None else found.get(key_of(op))
    drifted: DriftOutcome = "recreated"
    if found_id is not None and not cut_off:  # the snapshot missed it: update it, by its id
        recreate = naming(recreate, found_id)
        drifted = "found"
    intent = store.record_intent(recreate)
    if intent.action in ("skip", "dead"):  # a re-create dead-lettered on an earlier night
        result.count(op.kind, "dead")
        links.not_landed(op, "dead")
        result.drift.append(DriftItem(op.kind, op.source_id, lost, None, "dead"))
        return
    if intent.action == "verify":
        result.retries += 1
    if found is not None and found_id is not None and cut_off:  # our own re-create landed
        written: Record | None = found
        result.count(op.kind, "verified")
    else:
        try:
            written = await call(recreate, target, result)
        except RulebridgeError as exc:
            outcome = failed(recreate, store, result, exc)
            links.not_landed(op, outcome)
            gone: DriftOutcome = "dead" if outcome == "dead" else "failed"
            result.drift.append(DriftItem(op.kind, op.source_id, lost, None, gone))
            return
        result.count(op.kind, op.op)
        if drifted == "found":
            result.count(op.kind, "merged")
    target_id = record(store, recreate, written)
    result.drift.append(DriftItem(op.kind, op.source_id, lost, target_id, drifted))
    _landed(op, store, result, links, drifted=True)


def _landed(
    op: Operation, store: Store, result: ApplyResult, links: LinkRepairs, *, drifted: bool
) -> None:
    """Note what a landed operation means for the links: a create lets links to its
    record go (and queues their dead letters again); a link to a record that came back
    tonight is a repaired link."""
    if op.op == "create":
        links.landed(store, op, drifted=drifted)
    elif op.op == "link" and links.repairs(op):
        result.links_repaired += 1


async def _named_if_found(op: Operation, target: RecordTarget, result: ApplyResult) -> Operation:
    """The create, naming the record the target already holds under its reference (so the
    upsert updates that record); unchanged when there is none, or no lookup to tell."""
    found = await find_existing(op, target, result)
    found_id = None if found is None else found.get(key_of(op))
    if found_id is None:
        return op
    result.count(op.kind, "merged")
    return naming(op, found_id)
