"""Saved plans: stamp a plan with the state it was decided from, read it back, and refuse
it when any of that changed (see `engine.sync.apply`).

A saved plan is the plan's JSON (docs/plans.md) with a ``stamp`` taken from the agency's
state store when the plan was made::

    "stamp": {"last_run": 12,                       # the newest run then (None: no runs)
              "id_map": "sha256:...",               # every entry the plan does not name
              "entries": [{"entity": "property", "source_id": "100001",
                           "target_id": "42", "target_ref": "100001/OID-1",
                           "content_hash": "..."},  # or "absent": true
                          ...]}                     # each entry an operation names

`check_fresh` re-reads the id map and refuses the plan, naming what changed, when:

- an entry an operation names (it writes it, or a link reads it) differs from its stamp,
  unless it now holds exactly what one of the plan's own operations writes (a plan applied
  in part, then again); so a later run that changed *only the records the plan writes*
  makes it stale, and applying it cannot revert the newer values;
- any other entry was added, removed or changed (another run wrote to the target, which
  the plan's merges and skips were decided against);
- the ruleset changed.

A plan without a stamp was made without a state store (``rulebridge plan``): it stands for
"made against an empty id map", so it is accepted while the id map holds nothing but its
own effects. A plan stamped by an earlier rulebridge (``inputs.id_map`` only) did not record
its own entries and is refused: make it again.

Snapshots themselves are not re-read: the plan carries their hashes (``inputs``) for people,
and every write rulebridge makes after them lands in the id map, which is what is checked.
A change made by hand in Fixflo, or in Alto without a run since, is not seen.

    Example::

    data = stamp_plan(plan.to_json(), store)
    saved = read_plan(json.loads(path.read_text()))
    check_fresh(saved, ruleset_hash=ruleset.content_hash, store=store)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from engine.canonical import content_hash
from engine.errors import RulebridgeError
from engine.explain import Because
from engine.store import IdMapEntry, Store
from engine.sync.plan import JOIN_OPS, PLAN_FORMAT, EntryKey, Held, Operation, Plan, PlanStamp

__all__ = [
    "EMPTY_ID_MAP",
    "PlanFileError",
    "StalePlanError",
    "check_fresh",
    "own_entries",
    "read_plan",
    "stamp_of",
    "stamp_plan",
]

EMPTY_ID_MAP = "sha256:" + hashlib.sha256(b"").hexdigest()
_OP_KEYS = ("op", "kind", "target", "fields", "idempotency_key")
_SHOWN = 5  # changed entries named in the message; the rest are counted


class PlanFileError(RulebridgeError):
    """The file is not a rulebridge plan, or one of a format this version cannot apply."""


class StalePlanError(RulebridgeError):
    """A saved plan's inputs changed since it was made: `what` changed, `fix` says what to do."""

    def __init__(self, what: str, fix: str) -> None:
        self.what, self.fix = what, fix
        super().__init__(f"the plan is stale: {what}; {fix}")


def stamp_plan(data: Mapping[str, Any], store: Store) -> dict[str, Any]:
    """The plan JSON `data` with its ``stamp`` taken from `store`, ready to save.

    Read-only on the store. The stamp holds each id-map entry the plan's operations name
    (or that it is absent), a fingerprint of all the others, and the newest run.

    Example::

        saved = stamp_plan(plan.to_json(), store)
        saved["stamp"]["entries"][0]["entity"]  # 'property'
    """
    stamp = stamp_of(read_plan(data), store)
    inputs = {key: value for key, value in (data.get("inputs") or {}).items() if key != "id_map"}
    return {**data, "inputs": inputs, "stamp": stamp.to_json()}


def stamp_of(plan: Plan, store: Store) -> PlanStamp:
    """The stamp `stamp_plan` gives `plan` (read-only on the store), for a plan held as a
    `Plan` (its JSON written item by item: `engine.sync.plan_writer.write_plan`)."""
    named = own_entries(plan)
    held = _held(store, named)
    runs = store.runs()
    return PlanStamp(
        last_run=runs[0].id if runs else None,
        id_map=store.id_map_fingerprint(exclude=named),
        entries={key: held.get(key) for key in named},
    )


def own_entries(plan: Plan) -> set[EntryKey]:
    """The id-map entries (entity, source id) the plan's operations name: those its
    creates, updates and archives write, and those its links read."""
    return {(op.kind, op.source_id) for op in plan.operations if op.source_id is not None}


def _held(store: Store, keys: Iterable[EntryKey]) -> dict[EntryKey, Held]:
    """What the id map holds now for `keys` (absent keys are left out)."""
    wanted: dict[str, set[str]] = {}
    for entity, source_id in keys:
        wanted.setdefault(entity, set()).add(source_id)
    held: dict[EntryKey, Held] = {}
    for entity, ids in wanted.items():
        for source_id, entry in store.id_map(entity).items():
            if source_id in ids:
                held[(entity, source_id)] = _holding(entry)
    return held


def _holding(entry: IdMapEntry) -> Held:
    return (entry.target_id, entry.target_ref, entry.content_hash)


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
        stamp=None if data.get("stamp") is None else _stamp(data["stamp"]),
    )


def _stamp(data: Any) -> PlanStamp:
    """The ``stamp`` of a saved plan (`stamp_plan`)."""
    entries, last_run = (
        (data.get("entries"), data.get("last_run")) if isinstance(data, Mapping) else (None, None)
    )
    if (
        not isinstance(entries, list)
        or not isinstance(data.get("id_map"), str)
        or not (last_run is None or isinstance(last_run, int))
    ):
        raise PlanFileError("the plan's 'stamp' is malformed: make the plan again")
    held = dict(_stamped(index, item) for index, item in enumerate(entries))
    return PlanStamp(last_run=last_run, id_map=data["id_map"], entries=held)


def _stamped(index: int, item: Any) -> tuple[EntryKey, Held | None]:
    if not isinstance(item, Mapping) or not all(
        isinstance(item.get(name), str) for name in ("entity", "source_id")
    ):
        raise PlanFileError(f"the plan's stamp.entries[{index}] is malformed: make the plan again")
    key = (item["entity"], item["source_id"])
    if item.get("absent") is True:
        return key, None
    held = tuple(item.get(name) for name in ("target_id", "target_ref", "content_hash"))
    if not all(value is None or isinstance(value, str) for value in held):
        raise PlanFileError(f"the plan's stamp.entries[{index}] is malformed: make the plan again")
    return key, (held[0], held[1], held[2])


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
        key=None if item.get("key") is None else str(item["key"]),
    )


def check_fresh(plan: Plan, *, ruleset_hash: str, store: Store) -> None:
    """Refuse `plan` if the ruleset or what it was decided from changed since it was made.

    Re-reads the id map (read-only); see the module docstring for what counts as a change.
    A plan without a stamp is judged as made against an empty id map.

    Raises:
        StalePlanError: what changed (the entries by entity and source id, up to five, and
            the runs since), and what to do.

    Example::

        saved = read_plan(json.loads(path.read_text()))
        check_fresh(saved, ruleset_hash=ruleset.content_hash, store=store)
    """
    made_with = str(plan.ruleset.get("content_hash", ""))
    if made_with != ruleset_hash:
        raise StalePlanError(
            f"the ruleset changed since the plan was made (plan {made_with[:12] or 'none'}, "
            f"now {ruleset_hash[:12]})",
            "make the plan again with the current ruleset",
        )
    if plan.stamp is None and "id_map" in plan.inputs:
        raise StalePlanError(
            "the plan was stamped by an earlier rulebridge, which did not record the entries "
            "it writes, so a later change to them cannot be seen",
            "make the plan again",
        )
    named = own_entries(plan)
    stamp = plan.stamp or PlanStamp(None, EMPTY_ID_MAP, dict.fromkeys(named))
    changed = _changed_entries(plan, stamp, named, _held(store, named))
    others = store.id_map_fingerprint(exclude=named) != stamp.id_map
    if changed or others:
        raise StalePlanError(
            _what_changed(plan, stamp, changed, others, store),
            "make the plan again against the current state store",
        )


def _changed_entries(
    plan: Plan, stamp: PlanStamp, named: set[EntryKey], held: Mapping[EntryKey, Held]
) -> list[tuple[EntryKey, Held | None]]:
    """The named entries that hold neither what was stamped nor the plan's own effect."""
    effects = _own_effects(plan.operations)
    changed = []
    for key in sorted(named):
        if key not in stamp.entries:
            raise PlanFileError(
                f"the plan's stamp does not cover {key[0]} {key[1]}: make the plan again"
            )
        now = held.get(key)
        if now == stamp.entries[key]:
            continue
        if now is not None and (now[1], now[2]) in effects.get(key, ()):
            continue  # written by this plan's own operation (applied in part before)
        changed.append((key, now))
    return changed


def _own_effects(operations: Iterable[Operation]) -> dict[EntryKey, set[tuple[str | None, str]]]:
    """What each operation writes to the id map: (target ref, content hash), as
    `engine.sync.apply` records it; links and unlinks write nothing."""
    effects: dict[EntryKey, set[tuple[str | None, str]]] = {}
    for op in operations:
        if op.op not in JOIN_OPS and op.source_id is not None:
            written = (op.target_ref, content_hash(op.fields))
            effects.setdefault((op.kind, op.source_id), set()).add(written)
    return effects


def _what_changed(
    plan: Plan,
    stamp: PlanStamp,
    changed: list[tuple[EntryKey, Held | None]],
    others: bool,
    store: Store,
) -> str:
    parts = [_entry_change(key, stamp.entries[key], now, store) for key, now in changed[:_SHOWN]]
    if len(changed) > _SHOWN:
        parts.append(f"{len(changed) - _SHOWN} more of its records")
    if others:
        parts.append("records it does not name (its merges and skips may no longer hold)")
    what = "; ".join(parts) + _runs_since(stamp.last_run, store)
    if plan.stamp is None:
        return f"the plan was made without the state store and the id map is not empty: {what}"
    return f"the id map changed since the plan was made, for {what}"


def _runs_since(last_run: int | None, store: Store) -> str:
    since = sorted(run.id for run in store.runs() if last_run is None or run.id > last_run)
    if len(since) > _SHOWN:
        return f" ({len(since)} runs since, the latest {since[-1]})"
    return f" (runs since: {', '.join(map(str, since))})" if since else ""


def _entry_change(key: EntryKey, was: Held | None, now: Held | None, store: Store) -> str:
    entity, source_id = key
    if now is None:
        return f"{entity} {source_id} (its entry was removed)"
    entry = store.lookup(entity, source_id)
    by = f", written by run {entry.last_run}" if entry and entry.last_run is not None else ""
    if was is None:
        return f"{entity} {source_id} (not in the id map then, now target {now[0]}{by})"
    return f"{entity} {source_id} (content {_short(was[2])} -> {_short(now[2])}{by})"


def _short(digest: str | None) -> str:
    return "none" if digest is None else digest[:12]
