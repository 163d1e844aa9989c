"""The decision walk of an impact diff: each source record decided under OLD and NEW once.

Each entity's source is streamed once; a record is decided under both rulesets (the first
include rule that fails, the archive rules that hold for a skipped record, the mapped
payload of an included one), and each difference goes to the group of the rule that
causes it. Only keys, labels and the deciding rule's reasons are kept (`Change`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import EvaluationError
from engine.explain import Because, in_words
from engine.language.context import Context
from engine.language.paths import flatten
from engine.language.rule import Rule
from engine.language.ruleset import CompiledRuleset, Entity
from engine.sync._diff import same
from engine.sync._impact_model import Change, EntityImpact, FieldChange, Kind

__all__ = ["Planned", "Side", "Verdict", "WalkSink", "decide", "walk_entity"]

Planned = Mapping[str, Mapping[str, tuple[str, str]]]
"""Per entity, per source key: the (op, rule) of a create or archive a plan made."""

WalkSink = Callable[[EntityImpact, Kind, str, Change], None]
"""Where the walk sends each change: (entity, kind, rule id, change)."""


@dataclass(frozen=True, slots=True)
class Side:
    """One ruleset of the diff: its entity (None: the ruleset has no such entity), its
    context over the shared records, and the creates and archives its plan made (None:
    no target snapshot was given)."""

    ruleset: CompiledRuleset
    entity: Entity | None
    context: Context
    planned: Planned | None = None

    def planned_op(self, entity: str, key: str | None) -> tuple[str, str] | None:
        """The create or archive this side's plan made for the record `key`, if any."""
        if self.planned is None or key is None:
            return None
        return self.planned.get(entity, {}).get(key)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One record's decision: the include rule that failed (None: included), the archive
    rules that hold for a skipped record, the payload of an included one."""

    failing: Rule | None
    archive: tuple[Rule, ...] = ()
    payload: dict[str, Any] | None = None

    @property
    def included(self) -> bool:
        """Whether every include rule held."""
        return self.failing is None


_ABSENT = Verdict(None)


def decide(entity: Entity, record: Any, context: Context) -> Verdict:
    """`record`'s decision under `entity` (the planner's: first failing rule, then archive
    rules for a skipped record, the map for an included one)."""
    for rule in entity.include:
        if not rule.check.test(record, context):
            held = tuple(item for item in entity.archive if item.check.test(record, context))
            return Verdict(rule, held)
    return Verdict(None, (), entity.map(record, context))


def walk_entity(
    name: str, old: Side, new: Side, source: Any, found: EntityImpact, sink: WalkSink
) -> None:
    """Decide every record of `source` under both sides and send each difference to `sink`.

    A side without the entity counts as skipping every record by ``entity:<name>``.
    """
    for record in source:
        found.read += 1
        before = decide(old.entity, record, old.context) if old.entity else _ABSENT
        after = decide(new.entity, record, new.context) if new.entity else _ABSENT
        if old.entity is None or new.entity is None:
            _appeared(name, (old, before), (new, after), record, found, sink)
        elif before.included != after.included:
            _crossed(name, (old, before), (new, after), record, found, sink)
        elif before.included:
            _fields(new, record, before, after, found, sink)
        _archive(name, (old, before), (new, after), record, found, sink)


def _appeared(
    name: str,
    old: tuple[Side, Verdict],
    new: tuple[Side, Verdict],
    record: Any,
    found: EntityImpact,
    sink: WalkSink,
) -> None:
    """An entity only one side has: its included records are created or no longer synced."""
    side, verdict = new if new[0].entity is not None else old
    if side.entity is not None and verdict.included:
        kind: Kind = "created" if side is new[0] else "no_longer_synced"
        change = Change(side.entity.key_of(record), _label(side, record))
        sink(found, kind, f"entity:{name}", change)


def _crossed(
    name: str,
    old: tuple[Side, Verdict],
    new: tuple[Side, Verdict],
    record: Any,
    found: EntityImpact,
    sink: WalkSink,
) -> None:
    """Included under one side only: created (or merged) by OLD's skip, or no longer
    synced by NEW's."""
    (old_side, before), (new_side, after) = old, new
    skipped_side, rule = (old_side, before.failing) if after.included else (new_side, after.failing)
    assert skipped_side.entity is not None
    assert rule is not None
    key = skipped_side.entity.key_of(record)
    change = _change(skipped_side, rule, record)
    if not after.included:
        sink(found, "no_longer_synced", rule.id, change)
        return
    planned = new_side.planned_op(name, key)
    merged = new_side.planned is not None and (planned is None or planned[0] != "create")
    sink(found, "merged" if merged else "created", rule.id, change)


def _fields(
    new: Side, record: Any, before: Verdict, after: Verdict, found: EntityImpact, sink: WalkSink
) -> None:
    """Included under both: each mapped target path whose value differs."""
    old_values = dict(flatten(before.payload or {}))
    new_values = dict(flatten(after.payload or {}))
    changed = [
        path
        for path in dict.fromkeys([*old_values, *new_values])
        if not same(old_values.get(path), new_values.get(path))
    ]
    if not changed:
        return
    assert new.entity is not None
    key, label = new.entity.key_of(record), _label(new, record)
    for path in changed:
        field = FieldChange(path, old_values.get(path), new_values.get(path))
        sink(found, "fields", f"map:{path}", Change(key, label, field=field))


def _archive(
    name: str,
    old: tuple[Side, Verdict],
    new: tuple[Side, Verdict],
    record: Any,
    found: EntityImpact,
    sink: WalkSink,
) -> None:
    """Archived now and not before, or the reverse for a record still skipped (one now
    included is created instead): by the plans' archive operations when a target snapshot
    was given, else by the archive rules that hold for a skipped record."""
    (old_side, before), (new_side, after) = old, new
    entity = new_side.entity or old_side.entity
    assert entity is not None
    key = entity.key_of(record)
    if new_side.planned is not None:
        was, now = old_side.planned_op(name, key), new_side.planned_op(name, key)
        was_rule = was[1] if was and was[0] == "archive" else None
        now_rule = now[1] if now and now[0] == "archive" else None
    else:
        was_rule = before.archive[0].id if before.archive and old_side.entity else None
        now_rule = after.archive[0].id if after.archive and new_side.entity else None
    if now_rule is not None and was_rule is None:
        sink(found, "archived", now_rule, _archive_change(new_side, now_rule, record))
    elif was_rule is not None and now_rule is None and not (new_side.entity and after.included):
        sink(found, "unarchived", was_rule, _archive_change(old_side, was_rule, record))


def _archive_change(side: Side, rule_id: str, record: Any) -> Change:
    rule = side.ruleset.rules.get(rule_id)
    if rule is None or side.entity is None:
        return Change(_key(side, record), _label(side, record))
    return _change(side, rule, record)


def _change(side: Side, rule: Rule, record: Any) -> Change:
    """The record named by key and label, with what `rule` read of it under `side`."""
    _, because = rule.check.explain(record, side.context)
    return Change(
        _key(side, record),
        _label(side, record),
        tuple(str(item) for item in because),
        tuple(_words(item) for item in because),
    )


def _key(side: Side, record: Any) -> str | None:
    return side.entity.key_of(record) if side.entity else None


def _words(because: Because) -> str:
    return f"{because.rule}: {in_words(because)}"


def _label(side: Side, record: Any) -> str | None:
    """The record's ``label:`` as its source declares it, or None."""
    if side.entity is None:
        return None
    declared = side.ruleset.sources[side.entity.source].label
    if declared is None:
        return None
    try:
        value = declared.get(record, side.context)
    except EvaluationError:
        return None
    return None if value in (None, "") else str(value)
