"""Drift: a record the store believes created that the night's snapshot of the target lacks.

The planner compares the source with the snapshot, so a record lost in the target (deleted
by a person, dropped by the vendor) comes back as a ``create``. The store's ledger still
holds the first create as done (creates happen once per key, ever), so applying the plan
as it is would skip it, night after night. `engine.sync.apply` asks `lost_target_id` of
every planned create; a target id means drift, and the create is made again under its own
key (`repair_key`):

- the key is derived from the original create's key and the lost target id, so a run cut
  off between the re-create's intent and its effect verifies it the next night rather than
  making a second record, and a second loss of the re-created record (a new target id) is a
  new drift with a new key;
- a key already done for the same lost id (the target gave the re-created record the lost
  id again, or the lookup found it there) is followed by the next key in its chain.

`LinkRepairs` follows what each create tonight did, so that the plan's links to a record
that came back go through (counted as repaired), links whose end could not be made wait
for it instead of becoming dead letters, and dead letters earlier nights wrote for links
to the record are queued again.

Example::

    lost = lost_target_id(store, op)   # '10042': the store says it made it as 10042
    key = repair_key(store, op, lost)  # the re-create's own idempotency key
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.store import Store
from engine.sync.plan import Operation, idempotency_key

__all__ = ["DriftItem", "DriftOutcome", "LinkRepairs", "lost_target_id", "repair_key"]

DriftOutcome = Literal["recreated", "found", "dead", "failed"]
_CHAIN_LIMIT = 1000  # a record lost again and again under one id: far beyond any real case


@dataclass(frozen=True, slots=True)
class DriftItem:
    """One record found lost in the target, and what the apply did about it.

    Attributes:
        entity: the record's entity (``property``).
        source_id: its id in the source.
        lost_target_id: the target id the store held for it.
        target_id: its target id now (None when it could not be made).
        outcome: ``recreated``; ``found`` (the lookup by reference found it: the snapshot
            missed it, nothing was created); ``dead`` (the target refused the re-create:
            a dead letter); ``failed`` (called again by the next apply).
    """

    entity: str
    source_id: str | None
    lost_target_id: str
    target_id: str | None
    outcome: DriftOutcome

    def to_json(self) -> dict[str, Any]:
        """The item as the report's ``drift.items`` lists it."""
        return {
            "entity": self.entity,
            "source_id": self.source_id,
            "lost_target_id": self.lost_target_id,
            "target_id": self.target_id,
            "outcome": self.outcome,
        }


def lost_target_id(store: Store, op: Operation) -> str | None:
    """The target id the store holds for the record `op` creates, or None.

    A create the plan holds, made from a snapshot of the target, for a record the id map
    names a target id for, is drift: the record was lost in the target since.
    """
    if op.op != "create" or op.source_id is None:
        return None
    entry = store.lookup(op.kind, str(op.source_id))
    if entry is None or entry.target_id in (None, ""):
        return None
    return str(entry.target_id)


def repair_key(store: Store, op: Operation, lost: str) -> str:
    """The idempotency key of the re-create of `op`'s record, lost as target id `lost`:
    the first key of its chain the store does not hold as done.

    Example::

        repair_key(store, op, "10042")  # 'c2a9...' (24 hex digits)
    """
    key = idempotency_key("drift", op.idempotency_key, lost)
    for _ in range(_CHAIN_LIMIT):
        if store.operation_status(key) != "done":
            return key
        key = idempotency_key("drift", key, lost)
    return key


RecordKey = tuple[str, str]  # (entity, reference)


@dataclass
class LinkRepairs:
    """What tonight's creates mean for the plan's links: which ends came back, which could
    not be made, and the dead letters of links waiting for an end.

    Attributes:
        repaired: records re-created (or found) tonight after a drift.
        missing: records whose create tonight did not land, with the outcome.
        requeued: dead letters queued again because their link's end came back.
    """

    repaired: set[RecordKey] = field(default_factory=set)
    missing: dict[RecordKey, str] = field(default_factory=dict)
    requeued: list[int] = field(default_factory=list)
    _letters: dict[str, list[tuple[int, Mapping[str, Any]]]] | None = None

    def landed(self, store: Store, op: Operation, *, drifted: bool) -> None:
        """`op` (a create) landed: its links may go, and links dead-lettered while the
        record was missing are queued again."""
        if op.target_ref is None:
            return
        record = (op.kind, op.target_ref)
        self.missing.pop(record, None)
        if drifted:
            self.repaired.add(record)
        for letter_id, operation in self._waiting(store).get(op.target_ref, []):
            if letter_id not in self.requeued and _names(operation, op.kind, op.target_ref):
                store.retry_dead_letter(letter_id)
                self.requeued.append(letter_id)

    def not_landed(self, op: Operation, outcome: str) -> None:
        """`op` (a create) did not land tonight (`outcome`: dead, failed, unknown)."""
        if op.target_ref is not None:
            self.missing[(op.kind, op.target_ref)] = outcome

    def repairs(self, op: Operation) -> bool:
        """Whether link `op` joins a record that came back tonight."""
        return any(_names(op.to_json(), kind, ref) for kind, ref in self.repaired)

    def end_missing(self, op: Operation) -> str | None:
        """The outcome of a create tonight that left an end of link `op` missing and may
        yet land (failed or unknown), or None."""
        for (kind, ref), outcome in self.missing.items():
            if outcome != "dead" and _names(op.to_json(), kind, ref):
                return f"{kind} {ref}"
        return None

    def _waiting(self, store: Store) -> dict[str, list[tuple[int, Mapping[str, Any]]]]:
        """Open dead letters of links, by each reference their fields carry (read once)."""
        if self._letters is None:
            self._letters = {}
            for letter in store.dead_letters():
                operation = letter.operation
                if operation.get("op") != "link":
                    continue
                for value in _refs(operation):
                    self._letters.setdefault(value, []).append((letter.id, operation))
        return self._letters


def _refs(operation: Mapping[str, Any]) -> set[str]:
    fields = operation.get("fields") or {}
    return {
        str(value)
        for value in fields.values()
        if isinstance(value, str | int) and not isinstance(value, bool)
    }


def _names(operation: Mapping[str, Any], kind: str, ref: str) -> bool:
    """Whether link `operation` joins record (`kind`, `ref`): its start (a link's kind is
    its first entity, its reference the start's) or its other end."""
    if operation.get("op") != "link":
        return False
    start = operation.get("target_ref")
    if operation.get("kind") == kind:
        return start == ref
    return ref in _refs(operation) - {str(start)}
