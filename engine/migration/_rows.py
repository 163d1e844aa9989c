"""One source row before an entity: the rule that leaves it out, its mapped fields with the
``case`` branches that decided them, the id it would have had, and de-duplication's merge.

Private to `engine.migration`: the migration runner (`engine.migration._migrate`) uses them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import RecordError
from engine.explain import Because
from engine.language.context import Context
from engine.language.operators.case import CaseValue
from engine.language.operators.transforms import is_empty
from engine.language.paths import set_path
from engine.language.ruleset import Entity

__all__ = ["fill", "first_failure", "map_explained", "members", "would_be_id"]


def would_be_id(entity: Entity, row: Any, context: Context) -> str | None:
    """The ``id`` `entity` would have written for `row` (only that field is evaluated)."""
    for path, value in entity.fields:
        if path == ("id",):
            found = value.get(row, context)
            return None if is_empty(found) else str(found)
    return None


def first_failure(entity: Entity, row: Any, context: Context) -> tuple[Because, ...]:
    """What failed in the first include rule of `entity` that `row` fails: each condition
    of it that did not hold, with what it read (every alternative of an ``any``); empty
    when `row` passes every rule."""
    for rule in entity.include:
        if not rule.check.test(row, context):
            _, because = rule.check.explain(row, context)
            failing = [item for item in because if not item.held]
            return tuple(failing or because or [Because(rule.id, rule.text, None, "holds", False)])
    return ()


def map_explained(
    entity: Entity, row: Any, context: Context
) -> tuple[dict[str, Any], list[Because]]:
    """`row` mapped by `entity`, and why each ``case`` branch with an id decided its value."""
    mapped: dict[str, Any] = {}
    reasons: list[Because] = []
    for path, value in entity.fields:
        if isinstance(value, CaseValue):
            found, because = value.explain(row, context)
            if because is not None:
                reasons.append(because)
        else:
            found = value.get(row, context)
        set_path(mapped, path, found)
    return mapped, reasons


def fill(fields: dict[str, Any], other: Mapping[str, Any]) -> None:
    """Fill the empty fields of a kept record from one merged into it."""
    for name, value in other.items():
        if is_empty(fields.get(name)) and not is_empty(value):
            fields[name] = value


def members(
    merged: Mapping[str, str], rows: Iterable[Any], entity: Entity, context: Context
) -> dict[str, list[dict[str, Any]]]:
    """For each kept record, the mapped fields of the records merged into it."""
    members: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = None if isinstance(row, RecordError) else entity.key_of(row)
        if key is not None and key in merged:
            members.setdefault(merged[key], []).append(entity.map(row, context))
    return members
