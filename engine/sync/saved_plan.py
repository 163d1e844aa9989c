"""Saved plans: stamp a plan with the id map it was made against, read it back, and
refuse it when its inputs changed (see `engine.sync.apply`).

A saved plan is the plan's JSON (docs/plans.md) whose ``inputs`` also carry
``id_map``: `engine.store._store.Store.id_map_fingerprint` when the plan was made, leaving out
the entries the plan writes itself (so a half-applied plan can be applied again).

Example::

    data = stamp_plan(plan.to_json(), store)
    saved = read_plan(json.loads(path.read_text()))
    check_fresh(saved, ruleset_hash=ruleset.content_hash, store=store)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from engine.errors import RulebridgeError
from engine.explain import Because
from engine.store import Store
from engine.sync.plan import PLAN_FORMAT, Operation, Plan

__all__ = [
    "EMPTY_ID_MAP",
    "PlanFileError",
    "StalePlanError",
    "check_fresh",
    "own_entries",
    "read_plan",
    "stamp_plan",
]

EMPTY_ID_MAP = "sha256:" + hashlib.sha256(b"").hexdigest()
_OP_KEYS = ("op", "kind", "target", "fields", "idempotency_key")


class PlanFileError(RulebridgeError):
    """The file is not a rulebridge plan, or one of a format this version cannot apply."""


class StalePlanError(RulebridgeError):
    """A saved plan's inputs changed since it was made: `what` changed, `fix` says what to do."""

    def __init__(self, what: str, fix: str) -> None:
        self.what, self.fix = what, fix
        super().__init__(f"the plan is stale: {what}; {fix}")


def stamp_plan(data: Mapping[str, Any], store: Store) -> dict[str, Any]:
    """The plan JSON `data` with ``inputs.id_map`` set from `store`, ready to save.

    The fingerprint leaves out the records the plan itself writes, so applying part of it
    (a failure, a crash) does not make the rest stale.

    Example::

        saved = stamp_plan(plan.to_json(), store)
        saved["inputs"]["id_map"]  # 'sha256:e3b0c442...' (an empty id map's)
    """
    plan = read_plan(data)
    inputs = dict(data.get("inputs") or {})
    inputs["id_map"] = store.id_map_fingerprint(exclude=own_entries(plan))
    return {**data, "inputs": inputs}


def own_entries(plan: Plan) -> set[tuple[str, str]]:
    """The id-map entries (entity, source id) the plan's operations write."""
    return {(op.kind, op.source_id) for op in plan.operations if op.source_id is not None}


def read_plan(data: Any) -> Plan:
    """The `Plan` in plan JSON `data` (its operations, ruleset and inputs).

    Skips, merges and the rest are for people and are not read back.

    Raises:
        PlanFileError: not a plan, another format version, or a malformed operation.

    Example:
        >>> read_plan({"format": "rulebridge.plan/1", "ruleset": {}, "operations": []}).operations
        ()
    """
    if not isinstance(data, Mapping) or "format" not in data or "operations" not in data:
        raise PlanFileError("this is not a rulebridge plan (no 'format' and 'operations')")
    if data["format"] != PLAN_FORMAT:
        raise PlanFileError(
            f"the plan's format is {data['format']!r}; this rulebridge applies {PLAN_FORMAT!r}: "
            "make the plan again with this version"
        )
    ruleset, inputs, ops = data.get("ruleset"), data.get("inputs") or {}, data["operations"]
    if not isinstance(ruleset, Mapping) or not isinstance(inputs, Mapping):
        raise PlanFileError("the plan's 'ruleset' and 'inputs' must be objects")
    if not isinstance(ops, list):
        raise PlanFileError("the plan's 'operations' must be a list")
    return Plan(
        ruleset=dict(ruleset),
        inputs={str(key): str(value) for key, value in inputs.items()},
        as_of=data.get("as_of"),
        operations=tuple(_operation(index, item) for index, item in enumerate(ops)),
        skips=(),
        merges=(),
        manual=(),
        warnings=(),
        unchanged={},
    )


def _operation(index: int, item: Any) -> Operation:
    if not isinstance(item, Mapping) or any(key not in item for key in _OP_KEYS):
        raise PlanFileError(
            f"operations[{index}] is not an operation (needs {', '.join(_OP_KEYS)})"
        )
    if not isinstance(item["fields"], Mapping):
        raise PlanFileError(f"operations[{index}].fields must be an object")
    try:
        because = tuple(Because(**reason) for reason in item.get("because") or ())
    except TypeError as exc:
        raise PlanFileError(f"operations[{index}].because is malformed") from exc
    ref = item.get("target_ref")
    return Operation(
        op=str(item["op"]),
        kind=str(item["kind"]),
        target=str(item["target"]),
        source_id=None if item.get("source_id") is None else str(item["source_id"]),
        target_id=item.get("target_id"),
        target_ref=None if ref is None else str(ref),
        fields=dict(item["fields"]),
        idempotency_key=str(item["idempotency_key"]),
        because=because,
        link=item.get("link"),
    )


def check_fresh(plan: Plan, *, ruleset_hash: str, store: Store) -> None:
    """Refuse `plan` if the ruleset or the id map changed since it was made.

    A plan without ``inputs.id_map`` was made without a state store; it is accepted only
    while the store's id map is empty (a first apply).

    Raises:
        StalePlanError: which input changed and what to do.
    """
    made_with = str(plan.ruleset.get("content_hash", ""))
    if made_with != ruleset_hash:
        raise StalePlanError(
            f"the ruleset changed since the plan was made (plan {made_with[:12] or 'none'}, "
            f"now {ruleset_hash[:12]})",
            "make the plan again with the current ruleset",
        )
    now = store.id_map_fingerprint(exclude=own_entries(plan))
    expected = plan.inputs.get("id_map", EMPTY_ID_MAP)
    if expected != now:
        why = (
            "the plan was made without the state store and the id map is not empty"
            if "id_map" not in plan.inputs
            else "the id map changed since the plan was made (another run or apply wrote to it)"
        )
        raise StalePlanError(why, "make the plan again against the current state store")
