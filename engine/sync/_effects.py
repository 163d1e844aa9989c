"""The calls `engine.sync.apply` makes for one operation, and how each is recorded.

A create, update or archive is an ``upsert``/``archive`` of the target; links are a set
both ways. `record` writes the effect and the id-map entry in one transaction; `failed`
sorts a failure (`engine._failures`) into a dead letter, a failure called again next time,
or an outcome left to verify.

Example::

    written = await call(op, target, result)
    record(store, op, written)  # '10042'
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, runtime_checkable

from engine._failures import Refusal, Verdict, sort_failure
from engine._outcomes import Outcomes
from engine.canonical import content_hash
from engine.errors import RulebridgeError
from engine.ports import Record, RecordTarget
from engine.store import EffectResult, IdMapEntry, Store
from engine.sync.plan import JOIN_OPS, Operation

__all__ = [
    "RecordLookup",
    "call",
    "collection_of",
    "failed",
    "find_existing",
    "key_of",
    "naming",
    "record",
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


def naming(op: Operation, found_id: Any) -> Operation:
    """The create sent as an upsert of the record the target holds as `found_id`."""
    return dataclasses.replace(
        op, fields={**op.fields, key_of(op): found_id}, target_id=str(found_id)
    )


async def find_existing(op: Operation, target: RecordTarget, result: Outcomes) -> Record | None:
    """The record a cut-off create left behind, when the target can look it up."""
    if op.op != "create" or not isinstance(target, RecordLookup):
        return None  # updates, archives and (un)links are upserts: re-sending them is safe
    collection = collection_of(op)
    key = _REF_KEY.get(collection, _DEFAULT_REF_KEY)
    value = op.fields.get(key)
    if not value:
        return None
    result.calls["find"] += 1
    try:
        return await target.find(collection, **{key: str(value)})
    except (KeyError, RulebridgeError):  # no lookup for this collection, or it failed:
        return None  # fall back to the upsert, which is safe to repeat


async def call(op: Operation, target: RecordTarget, result: Outcomes) -> Record | None:
    collection, fields = collection_of(op), payload(op)
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


def collection_of(op: Operation) -> str:
    """``fixflo.tenants`` -> ``tenants``."""
    return op.target.split(".", 1)[-1]


def key_of(op: Operation) -> str:
    """The target's key field (``Id``; Fixflo properties ``id``), as the plan recorded it."""
    return op.key or "Id"


def payload(op: Operation) -> dict[str, Any]:
    """The fields to send: an update or archive names its record by the target's key."""
    fields = dict(op.fields)
    key = key_of(op)
    if op.op in ("update", "archive") and op.target_id is not None and key not in fields:
        fields[key] = op.target_id
    return fields


def record(store: Store, op: Operation, record: Record | None) -> str | None:
    """The effect and the id-map entry, all or nothing; the record's target id."""
    record = record or {}
    target_id = record.get(key_of(op), op.target_id)
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
    return effect.target_id


def failed(
    op: Operation,
    store: Store,
    result: Outcomes,
    exc: RulebridgeError,
    *,
    waits_for: str | None = None,
) -> str:
    """Record a failed call as `sort_failure` says; the outcome counted (``dead``,
    ``failed``, ``unknown``). A link refused while an end it joins was not made tonight
    (`waits_for`: that create failed or its outcome is unknown) is not a refusal of the
    link: it fails, and the next apply calls it again after its end."""
    verdict, error = sort_failure(exc), str(exc)
    if isinstance(verdict, Refusal) and waits_for is not None:
        verdict, error = Verdict.FAILED, f"{waits_for} was not made tonight: {exc}"
    if verdict is Verdict.STOP:
        raise exc
    if isinstance(verdict, Refusal):
        what = f"{op.op} {op.kind} {op.source_id or op.target_ref or op.target_id}"
        reason = f"{what}: the target {verdict.answer('refused the record')}: {verdict.message}"
        letter = store.dead_letter(op, reason, error=error, retryable=verdict.retryable)
        result.dead_letters.append(letter.id)
        outcome = "dead"
    elif verdict is Verdict.FAILED:
        store.mark_failed(op, error)  # answered, applied nothing: call again next time
        outcome = "failed"
    else:
        outcome = "unknown"  # no answer: stays in flight, verified next time
    result.count(op.kind, outcome)
    return outcome
