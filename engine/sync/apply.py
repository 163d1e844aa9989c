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

- the target refused the record (`RecordRefused`: a 4xx other than 401/403/429, or an
  answer of 200 whose envelope lists Errors): a dead letter with the reason; the run goes on;
- the target answered with a failure but applied nothing (`Retryable`: 5xx, 429, after the
  adapter's retries): ``mark_failed``; the next apply calls it again; the run goes on;
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

Example::

    run = store.start_run("alto-fixflo", "1", plan.ruleset["content_hash"])
    result = await apply_plan(plan, fixflo, store, run=run)
    result.applied, result.dead_lettered  # (57, 1)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from engine._failures import Refusal, Verdict, sort_failure
from engine._outcomes import Outcomes
from engine.canonical import content_hash
from engine.errors import RulebridgeError
from engine.ports import Record, RecordTarget
from engine.store import EffectResult, IdMapEntry, Run, Store, StoreError
from engine.sync.plan import JOIN_OPS, Operation, Plan
from engine.sync.saved_plan import (
    PlanFileError,
    StalePlanError,
    check_fresh,
    read_plan,
    stamp_plan,
)

__all__ = [
    "ApplyResult",
    "PlanFileError",
    "RecordLookup",
    "StalePlanError",
    "apply_plan",
    "check_fresh",
    "read_plan",
    "stamp_plan",
]

# The field a target record is known by, per collection (Fixflo's: a tenant's fields also
# carry the ExternalPropertyRef of its property, which names no tenant).
_REF_KEY = {"properties": "ExternalPropertyRef"}
_DEFAULT_REF_KEY = "ExternalRef"


@runtime_checkable
class RecordLookup(Protocol):
    """A target that can find one record by a field (Fixflo: ``ExternalRef``, ``Id``)."""

    async def find(self, collection: str, **query: str) -> Record | None:
        """The record whose field equals the value given, or None."""
        ...


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

    Example:
        >>> ApplyResult().applied
        0
    """

    @property
    def applied(self) -> int:
        """Operations whose effect this apply recorded."""
        return self.total("create", "update", "archive", "link", "unlink", "verified")

    @property
    def incomplete(self) -> int:
        """Operations left to a later apply (failed or outcome unknown)."""
        return self.total("failed", "unknown")


async def apply_plan(
    plan: Plan,
    target: RecordTarget,
    store: Store,
    *,
    run: Run,
    reapply_done: bool = False,
    look_first: Collection[str] = (),
    checkpoint: Callable[[], None] | None = None,
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
        op.kind for op in plan.operations if op.op == "create" and _collection(op) in look_first
    }
    unmapped = {kind for kind in kinds if not store.mapped(kind)}
    store.record_plan(plan.operations)
    for op in plan.operations:
        if checkpoint is not None:
            checkpoint()
        fresh = op.kind in unmapped and not store.attempted(op.idempotency_key)
        await _apply_one(op, target, store, result, reapply_done=reapply_done, look=fresh)
    return result


async def _apply_one(
    op: Operation,
    target: RecordTarget,
    store: Store,
    result: ApplyResult,
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
        return
    if intent.action == "verify":
        result.retries += 1
        found = await _find_existing(op, target, result)
        if found is not None:
            _record(store, op, found)
            result.count(op.kind, "verified")
            return
    try:
        written = await _call(op, target, result)
    except RulebridgeError as exc:
        _failed(op, store, result, exc)
        return
    _record(store, op, written)
    result.count(op.kind, op.op)


async def _named_if_found(op: Operation, target: RecordTarget, result: ApplyResult) -> Operation:
    """The create, naming the record the target already holds under its reference (so the
    upsert updates that record); unchanged when there is none, or no lookup to tell."""
    found = await _find_existing(op, target, result)
    key = _key(op)
    found_id = None if found is None else found.get(key)
    if found_id is None:
        return op
    result.count(op.kind, "merged")
    return dataclasses.replace(op, fields={**op.fields, key: found_id}, target_id=str(found_id))


async def _find_existing(op: Operation, target: RecordTarget, result: ApplyResult) -> Record | None:
    """The record a cut-off create left behind, when the target can look it up."""
    if op.op != "create" or not isinstance(target, RecordLookup):
        return None  # updates, archives and (un)links are upserts: re-sending them is safe
    collection = _collection(op)
    key = _REF_KEY.get(collection, _DEFAULT_REF_KEY)
    value = op.fields.get(key)
    if not value:
        return None
    result.calls["find"] += 1
    try:
        return await target.find(collection, **{key: str(value)})
    except (KeyError, RulebridgeError):  # no lookup for this collection, or it failed:
        return None  # fall back to the upsert, which is safe to repeat


async def _call(op: Operation, target: RecordTarget, result: ApplyResult) -> Record | None:
    collection, fields = _collection(op), _payload(op)
    if op.op in ("create", "update"):
        result.calls["upsert"] += 1
        return await target.upsert(collection, fields)
    if op.op == "archive":
        result.calls["archive"] += 1
        return await target.archive(collection, fields)
    if op.op == "link":
        result.calls["link"] += 1
        await target.link(collection, fields)
        return None
    if op.op == "unlink":
        result.calls["unlink"] += 1
        await target.unlink(collection, fields)
        return None
    raise ValueError(f"cannot apply a {op.op!r} operation ({op.idempotency_key})")


def _collection(op: Operation) -> str:
    """``fixflo.tenants`` -> ``tenants``."""
    return op.target.split(".", 1)[-1]


def _key(op: Operation) -> str:
    """The target's key field (``Id``; Fixflo properties ``id``), as the plan recorded it."""
    return op.key or "Id"


def _payload(op: Operation) -> dict[str, Any]:
    """The fields to send: an update or archive names its record by the target's key."""
    fields = dict(op.fields)
    key = _key(op)
    if op.op in ("update", "archive") and op.target_id is not None and key not in fields:
        fields[key] = op.target_id
    return fields


def _record(store: Store, op: Operation, record: Record | None) -> None:
    """The effect and the id-map entry, all or nothing."""
    record = record or {}
    target_id = record.get(_key(op), op.target_id)
    effect = EffectResult(
        target_id=None if target_id is None else str(target_id), target_ref=op.target_ref
    )
    with store.transaction():
        store.record_effect(op, effect)
        if op.op not in JOIN_OPS and op.source_id is not None:
            store.map_id(
                IdMapEntry(
                    op.kind,
                    op.source_id,
                    effect.target_id,
                    op.target_ref,
                    content_hash(op.fields),
                )
            )


def _failed(op: Operation, store: Store, result: ApplyResult, exc: RulebridgeError) -> None:
    match sort_failure(exc):
        case Verdict.STOP:
            raise exc
        case Refusal() as refusal:
            what = f"{op.op} {op.kind} {op.source_id or op.target_ref or op.target_id}"
            reason = f"{what}: the target {refusal.answer('refused the record')}: {refusal.message}"
            letter = store.dead_letter(op, reason, error=str(exc), retryable=refusal.retryable)
            result.dead_letters.append(letter.id)
            result.count(op.kind, "dead")
        case Verdict.FAILED:
            store.mark_failed(op, str(exc))  # answered, applied nothing: call again next time
            result.count(op.kind, "failed")
        case Verdict.UNKNOWN:
            result.count(op.kind, "unknown")  # no answer: stays in flight, verified next time
