"""Apply a plan to target records held in memory, as the target system would.

Creates get the next free key, updates and archives change the fields given (nested
mappings are merged, not replaced), links are appended and unlinks remove every row that
joins the same two references. Used to check that planning again
after applying converges to no operations, and by the simulator's worlds.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping
from typing import Any

from engine.language.ruleset import CompiledRuleset
from engine.sync.plan import Operation, Plan
from engine.sync.planner import Records

__all__ = ["apply_in_memory"]


def apply_in_memory(
    ruleset: CompiledRuleset, plan: Plan, records: Records
) -> dict[str, list[dict[str, Any]]]:
    """The target collections after `plan` is applied to `records` (which are not changed).

    Example::

        after = apply_in_memory(ruleset, plan, {"fixflo.tenants": []})
        make_plan(ruleset, {**records, **after}).has_changes
        # False
    """
    result = {name: [copy.deepcopy(dict(row)) for row in rows] for name, rows in records.items()}
    for operation in plan.operations:
        rows = result.setdefault(operation.target, [])
        target = ruleset.targets.get(operation.target)
        if operation.op == "unlink":
            rows[:] = [row for row in rows if not _joins(row, operation.fields)]
        elif operation.op in ("create", "link") or target is None:
            rows.append(_created(operation, rows, target.key if target else None))
        else:
            _merge(_find(rows, target.key, operation), operation.fields)
    return result


def _created(operation: Operation, rows: list[dict[str, Any]], key: str | None) -> dict[str, Any]:
    record = copy.deepcopy(dict(operation.fields))
    if key is not None and operation.op == "create":
        record[key] = 1 + max(
            (row.get(key, 0) for row in rows if isinstance(row.get(key), int)), default=0
        )
    return record


def _joins(row: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    return all(str(row.get(name)) == str(value) for name, value in fields.items())


def _find(rows: list[dict[str, Any]], key: str, operation: Operation) -> dict[str, Any]:
    for row in rows:
        if row.get(key) == operation.target_id:
            return row
    raise LookupError(f"{operation.target} has no record {operation.target_id!r} to {operation.op}")


def _merge(row: MutableMapping[str, Any], fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        current = row.get(name)
        if isinstance(value, Mapping) and isinstance(current, MutableMapping):
            _merge(current, value)
        else:
            row[name] = copy.deepcopy(value)
