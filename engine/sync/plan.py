"""A plan: the operations that make the target agree with the source, each explained.

Like Terraform's plan, it is made without touching either system and can be saved, read by
a person, and applied later. Its JSON form (``format: rulebridge.plan/1``)::

    {"format", "ruleset": {name, version, content_hash, settings}, "inputs": {...}, "as_of",
     "summary": {kind: {action: count}},
     "operations": [{op, kind, target, source_id, target_id, target_ref, fields,
                     idempotency_key, because: [{rule, field, value, expected, held}]}],
     "skips": [...], "merges": [...], "manual": [...], "warnings": [...],
     "rejected": [{where, record_id, message}],   # source records that could not be read
     "stamp": {...}}   # a saved plan only: the state it was decided from (engine.sync.saved_plan)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

from engine.canonical import content_hash
from engine.explain import Because

__all__ = [
    "ITEM_SECTIONS",
    "JOIN_OPS",
    "PLAN_FORMAT",
    "ManualAction",
    "MergeDecision",
    "Operation",
    "Plan",
    "PlanHead",
    "PlanItem",
    "PlanSink",
    "PlanStamp",
    "PlanWarning",
    "Skip",
    "Tally",
]

PLAN_FORMAT = "rulebridge.plan/1"
ACTIONS = (
    "create",
    "update",
    "archive",
    "link",
    "unlink",
    "unchanged",
    "skip",
    "merge",
    "manual",
)
JOIN_OPS = frozenset({"link", "unlink"})  # operations on joins: they write no id-map entry


def _because(items: tuple[Because, ...]) -> list[dict[str, Any]]:
    return [item.to_json() for item in items]


def idempotency_key(*parts: Any) -> str:
    """A stable key for one intended effect: the same intent always gets the same key.

    Keys made only of text are remembered (a simulation asks for the same few again and
    again); any other part is hashed each time, as its canonical JSON may change.

    Example:
        >>> idempotency_key("works_order", "I1") == idempotency_key("works_order", "I1")
        True
    """
    if all(type(part) is str for part in parts):
        return _text_key(parts)
    return content_hash(parts, 24)


@lru_cache(maxsize=16_384)
def _text_key(parts: tuple[str, ...]) -> str:
    return content_hash(parts, 24)


@dataclass(frozen=True, slots=True)
class Operation:
    """One change to make in the target: create, update (changed fields only), archive,
    link or unlink. `key` names the target's key field (``Id``, Fixflo properties ``id``)
    that `target_id` is the value of; None in plans saved before it was recorded (``Id``)."""

    op: str
    kind: str
    target: str
    source_id: str | None
    target_id: Any
    target_ref: str | None
    fields: Mapping[str, Any]
    idempotency_key: str
    because: tuple[Because, ...]
    link: str | None = None
    key: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The operation as plan JSON."""
        data = {
            "op": self.op,
            "kind": self.kind,
            "target": self.target,
            "source_id": self.source_id,
            "target_id": self.target_id,
            "target_ref": self.target_ref,
            "fields": self.fields,
            "idempotency_key": self.idempotency_key,
            "because": _because(self.because),
        }
        if self.link:
            data["link"] = self.link
        if self.key:
            data["key"] = self.key
        return data


@dataclass(frozen=True, slots=True)
class Skip:
    """A source record not synced, with the rule that decided and what it read."""

    kind: str
    source_id: str | None
    rules: tuple[str, ...]
    because: tuple[Because, ...]

    def to_json(self) -> dict[str, Any]:
        """The skip as plan JSON."""
        return {
            "kind": self.kind,
            "source_id": self.source_id,
            "rules": list(self.rules),
            "because": _because(self.because),
        }


@dataclass(frozen=True, slots=True)
class MergeDecision:
    """A source record matched to an existing target record by a merge rule."""

    kind: str
    source_id: str | None
    target_id: Any
    rule: str
    matched_on: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The merge as plan JSON."""
        return {
            "kind": self.kind,
            "source_id": self.source_id,
            "target_id": self.target_id,
            "rule": self.rule,
            "matched_on": self.matched_on,
        }


@dataclass(frozen=True, slots=True)
class ManualAction:
    """Something the plan will not do by itself and a person should."""

    kind: str
    action: str
    rule: str
    target_id: Any
    source_id: str | None
    reason: str
    record: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The manual action as plan JSON."""
        return {
            "kind": self.kind,
            "action": self.action,
            "rule": self.rule,
            "target_id": self.target_id,
            "source_id": self.source_id,
            "reason": self.reason,
            "record": self.record,
        }


@dataclass(frozen=True, slots=True)
class PlanWarning:
    """A check of the target's settings that failed (the run goes on)."""

    rule: str
    summary: str
    because: tuple[Because, ...]

    def to_json(self) -> dict[str, Any]:
        """The warning as plan JSON."""
        return {"rule": self.rule, "summary": self.summary, "because": _because(self.because)}


PlanItem = Operation | Skip | MergeDecision | ManualAction | PlanWarning


class PlanSink(Protocol):
    """Where a planner sends each item as it decides it (`engine.sync.planner.plan_into`):
    operations in the order they must be applied, then the rest in the order decided."""

    def add(self, item: PlanItem) -> None:
        """Take one item of the plan."""
        ...


def action_of(item: PlanItem) -> str:
    """The summary column an item counts in (``create``, ``skip``, ``merge``...)."""
    if isinstance(item, Operation):
        return item.op
    if isinstance(item, Skip):
        return "skip"
    if isinstance(item, MergeDecision):
        return "merge"
    return "manual" if isinstance(item, ManualAction) else "warning"


class Tally:
    """Counts per kind and action, as `Plan.summary` gives them, kept as items go by.

    Example:
        >>> tally = Tally()
        >>> tally.count("property", "skip")
        >>> tally.summary({"property": 4})["property"]["unchanged"]
        4
    """

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def add(self, item: PlanItem) -> None:
        """Count one item (warnings have no kind and are not counted)."""
        if not isinstance(item, PlanWarning):
            self.count(item.kind, action_of(item))

    def count(self, kind: str, action: str, n: int = 1) -> None:
        """Count `n` of `action` for `kind`."""
        self.counts[(kind, action)] += n

    def summary(self, unchanged: Mapping[str, int]) -> dict[str, dict[str, int]]:
        """Counts per kind and action, every action present (zeros included); kinds in the
        order of `unchanged`, then as first counted."""
        counts = self.counts.copy()
        for kind, n in unchanged.items():
            counts[(kind, "unchanged")] += n
        kinds = dict.fromkeys([*unchanged, *(kind for kind, _ in counts)])
        return {kind: {action: counts[(kind, action)] for action in ACTIONS} for kind in kinds}


@dataclass(frozen=True)
class PlanHead:
    """Everything a plan says besides its items: what it was made from and what it left
    alone (`engine.sync.planner.plan_into` returns it once every item is sent)."""

    ruleset: Mapping[str, Any]
    inputs: Mapping[str, str]
    as_of: str | None
    unchanged: Mapping[str, int]
    rejected: tuple[Mapping[str, Any], ...] = ()

    def json_head(self) -> dict[str, Any]:
        """The plan JSON's keys before the summary: format, ruleset, inputs, as_of."""
        return {
            "format": PLAN_FORMAT,
            "ruleset": dict(self.ruleset),
            "inputs": dict(self.inputs),
            "as_of": self.as_of,
        }


EntryKey = tuple[str, str]  # (entity, source id)
Held = tuple[str | None, str | None, str | None]  # target id, target ref, content hash


@dataclass(frozen=True, slots=True)
class PlanStamp:
    """The id map a saved plan was decided from (`engine.sync.saved_plan`).

    Attributes:
        last_run: the newest run in the store when the plan was made (None: no run yet).
        id_map: the fingerprint of every id-map entry the plan's operations do not name.
        entries: each entry the operations name, as it was (target id, target reference,
            content hash), or None when it was absent.
    """

    last_run: int | None
    id_map: str
    entries: Mapping[EntryKey, Held | None]

    def to_json(self) -> dict[str, Any]:
        """The stamp as plan JSON."""
        return {
            "last_run": self.last_run,
            "id_map": self.id_map,
            "entries": [_entry_json(key, self.entries[key]) for key in sorted(self.entries)],
        }


def _entry_json(key: EntryKey, held: Held | None) -> dict[str, Any]:
    entity, source_id = key
    if held is None:
        return {"entity": entity, "source_id": source_id, "absent": True}
    target_id, target_ref, digest = held
    return {
        "entity": entity,
        "source_id": source_id,
        "target_id": target_id,
        "target_ref": target_ref,
        "content_hash": digest,
    }


ITEM_SECTIONS = frozenset({"operations", "skips", "merges", "manual", "warnings"})
"""The plan JSON's lists of items (each item's ``to_json``)."""


@dataclass(frozen=True)
class Plan:
    """Everything a plan decided. `has_changes` is what the exit code reports.

    `operations`, `skips`, `merges` and `manual` are immutable sequences: tuples, or, for
    a large plan from `engine.sync.planner.make_plan`, sequences read back from a temporary
    file (`engine.sync.spill.SpilledItems`) that equal the tuples of the same items,
    index, slice (to tuples) and iterate as often as needed.
    """

    ruleset: Mapping[str, Any]
    inputs: Mapping[str, str]
    as_of: str | None
    operations: Sequence[Operation]
    skips: Sequence[Skip]
    merges: Sequence[MergeDecision]
    manual: Sequence[ManualAction]
    warnings: tuple[PlanWarning, ...]
    unchanged: Mapping[str, int]
    rejected: tuple[Mapping[str, Any], ...] = ()
    stamp: PlanStamp | None = None

    @property
    def has_changes(self) -> bool:
        """True when applying the plan would change the target."""
        return bool(self.operations)

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts per kind and action, every action present (zeros included)."""
        tally = Tally()
        for item in self.items():
            tally.add(item)
        return tally.summary(self.unchanged)

    def items(self) -> Iterable[PlanItem]:
        """Operations, skips, merges, manual actions and warnings, in that order."""
        yield from self.operations
        yield from self.skips
        yield from self.merges
        yield from self.manual
        yield from self.warnings

    def to_json(self) -> dict[str, Any]:
        """The whole plan as JSON-ready data."""
        return {
            key: [item.to_json() for item in value] if key in ITEM_SECTIONS else value
            for key, value in self.json_parts().items()
        }

    def json_parts(self) -> dict[str, Any]:
        """`to_json`'s keys in order, each section of items (`ITEM_SECTIONS`) still the
        plan's sequence of items, so a writer can stream it (`engine.sync.plan_writer`)."""
        return {
            "format": PLAN_FORMAT,
            "ruleset": dict(self.ruleset),
            "inputs": dict(self.inputs),
            "as_of": self.as_of,
            "summary": self.summary(),
            "operations": self.operations,
            "skips": self.skips,
            "merges": self.merges,
            "manual": self.manual,
            "warnings": self.warnings,
            "rejected": [dict(item) for item in self.rejected],
        } | ({} if self.stamp is None else {"stamp": self.stamp.to_json()})
