"""Saved plans: stamped with the id map they were decided from, refused when any of it
changed (the plan's own records included), accepted when only the plan's own effects did."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import load_ruleset
from engine.canonical import content_hash
from engine.explain import Because
from engine.language.ruleset import CompiledRuleset
from engine.store import IdMapEntry, Store
from engine.sync.apply import ApplyResult, apply_plan
from engine.sync.plan import Operation, Plan
from engine.sync.planner import make_plan
from engine.sync.saved_plan import (
    PlanFileError,
    StalePlanError,
    check_fresh,
    read_plan,
    stamp_plan,
)
from rulebridge._snapshots import load_snapshots
from simulator.agency import apply_in_memory
from tests.engine.apply_world import RULESET, World, fixflo, make_world

Records = dict[str, list[dict[str, Any]]]


def _apply(world: World, store: Store, plan: Plan) -> ApplyResult:
    async def go() -> ApplyResult:
        run = store.start_run("alto-fixflo", "1", world.ruleset_hash)
        async with fixflo(world.fake) as target:
            result = await apply_plan(plan, target, store, run=run)
        store.finish_run("succeeded")
        return result

    return asyncio.run(go())


def _saved(plan: Plan, store: Store) -> Plan:
    """The plan as `rulebridge apply` reads it back from a file saved by the runner."""
    return read_plan(stamp_plan(plan.to_json(), store))


class Agency:
    """The generated agency of `make_world`, replanned after Alto changes one property."""

    def __init__(self, tmp: Path, world: World) -> None:
        loaded = load_snapshots(tmp / "agency" / "alto.json", tmp / "agency" / "fixflo.json")
        self.ruleset: CompiledRuleset = load_ruleset(RULESET)
        self.records: Records = loaded.records
        self.as_of = date.fromisoformat(loaded.headers["alto"].taken_at[:10])
        self.fixflo = {k: v for k, v in self.records.items() if k.startswith("fixflo.")}
        self.world = world

    def applied(self, plan: Plan) -> None:
        """Fixflo now holds what `plan` wrote (the fake holds it; plans read this copy)."""
        self.fixflo = apply_in_memory(self.ruleset, plan, self.fixflo)

    def plan_with_street(self, source_id: str, street: str) -> Plan:
        inventory = copy.deepcopy(self.records["alto.inventory"])
        record = next(r for r in inventory if r["inventoryId"] == source_id)
        record["address"]["street"] = street
        records = {**self.records, **self.fixflo, "alto.inventory": inventory}
        return make_plan(self.ruleset, records, as_of=self.as_of)


@pytest.fixture
def agency(tmp_path: Path) -> Agency:
    return Agency(tmp_path, make_world(tmp_path))


def _created_property(plan: Plan) -> str:
    return next(str(op.source_id) for op in plan.operations if op.kind == "property")


def _street(world: World, source_id: str) -> str:
    (record,) = [
        r
        for r in world.fake.store.collections["properties"].values()
        if str(r.get("ExternalPropertyRef", "")) == source_id
    ]
    return str(record["Address"]["AddressLine1"])


# The scenario -------------------------------------------------------------------


def test_a_run_that_changed_only_the_plans_own_record_makes_it_stale(
    agency: Agency, tmp_path: Path
) -> None:
    world = agency.world
    with Store.open(tmp_path / "state" / "agency.db") as store:
        _apply(world, store, world.plan)  # the first night
        agency.applied(world.plan)
        house = _created_property(world.plan)
        older = _saved(agency.plan_with_street(house, "Old Street"), store)  # saved, not applied
        assert {(op.kind, op.source_id) for op in older.operations} == {("property", house)}
        newer = agency.plan_with_street(house, "New Street")
        _apply(world, store, newer)  # a later run writes only the plan's own record
        assert "New Street" in _street(world, house)
        with pytest.raises(StalePlanError) as refused:
            check_fresh(older, ruleset_hash=world.ruleset_hash, store=store)
    message = str(refused.value)
    assert f"property {house} (content " in message
    assert "written by run 2" in message
    assert "runs since: 2)" in message
    assert "make the plan again" in message
    assert "New Street" in _street(world, house)  # nothing was reverted


def test_an_unchanged_world_applies_and_a_plan_applied_in_part_applies_again(
    agency: Agency, tmp_path: Path
) -> None:
    world = agency.world
    with Store.open(tmp_path / "state" / "agency.db") as store:
        saved = _saved(world.plan, store)
        check_fresh(saved, ruleset_hash=world.ruleset_hash, store=store)
        ops = saved.operations
        half = dataclasses.replace(saved, operations=ops[: len(ops) // 2])
        assert _apply(world, store, half).applied == len(ops) // 2  # then it stopped
        check_fresh(saved, ruleset_hash=world.ruleset_hash, store=store)  # own effects only
        rest = _apply(world, store, saved)
        assert rest.applied == len(ops) - len(ops) // 2
        assert rest.total("skipped") == len(ops) // 2
        check_fresh(saved, ruleset_hash=world.ruleset_hash, store=store)


def test_a_record_the_plan_does_not_name_makes_it_stale(agency: Agency, tmp_path: Path) -> None:
    world = agency.world
    with Store.open(tmp_path / "state" / "agency.db") as store:
        saved = _saved(world.plan, store)
        store.start_run("alto-fixflo", "1", world.ruleset_hash)
        store.map_id(IdMapEntry("landlord", "not-in-the-plan", "42"))
        store.finish_run("succeeded")
        with pytest.raises(StalePlanError, match=r"records it does not name .*runs since: 1\)"):
            check_fresh(saved, ruleset_hash=world.ruleset_hash, store=store)


def test_a_plan_made_without_the_store_stands_for_an_empty_id_map(
    agency: Agency, tmp_path: Path
) -> None:
    world = agency.world
    unstamped = read_plan(world.plan.to_json())
    own = next(op for op in unstamped.operations if op.op == "create")
    with Store.open(tmp_path / "state" / "agency.db") as store:
        check_fresh(unstamped, ruleset_hash=world.ruleset_hash, store=store)
        store.start_run("alto-fixflo", "1", world.ruleset_hash)
        written = IdMapEntry(own.kind, str(own.source_id), "9", own.target_ref)
        store.map_id(dataclasses.replace(written, content_hash=content_hash(own.fields)))
        check_fresh(unstamped, ruleset_hash=world.ruleset_hash, store=store)  # its own
        store.map_id(dataclasses.replace(written, content_hash="someone else's"))
        with pytest.raises(StalePlanError, match="without the state store") as refused:
            check_fresh(unstamped, ruleset_hash=world.ruleset_hash, store=store)
    assert (
        f"{own.kind} {own.source_id} (not in the id map then, now target 9, written by run 1)"
        in str(refused.value)
    )


def test_a_plan_stamped_by_an_earlier_version_is_refused(agency: Agency, tmp_path: Path) -> None:
    data = agency.world.plan.to_json()
    old = read_plan({**data, "inputs": {**data["inputs"], "id_map": "sha256:00"}})
    store = Store.open(tmp_path / "state" / "agency.db")
    with store, pytest.raises(StalePlanError, match="earlier rulebridge"):
        check_fresh(old, ruleset_hash=agency.world.ruleset_hash, store=store)


def test_the_stamp_reads_back_and_a_bad_one_is_a_clear_error(
    agency: Agency, tmp_path: Path
) -> None:
    with Store.open(tmp_path / "state" / "agency.db") as store:
        data = stamp_plan(agency.world.plan.to_json(), store)
    saved = read_plan(data)
    assert saved.stamp is not None
    assert saved.to_json()["stamp"] == data["stamp"]
    assert "id_map" not in data["inputs"]
    named = {(op.kind, op.source_id) for op in saved.operations if op.source_id}
    assert set(saved.stamp.entries) == named
    assert set(saved.stamp.entries.values()) == {None}  # an empty store: all absent
    entry = data["stamp"]["entries"][0]
    bad: Any
    for bad in (
        [],
        {"id_map": 1, "entries": []},
        {**data["stamp"], "last_run": "x"},
        {**data["stamp"], "entries": [{"entity": 1}]},
        {**data["stamp"], "entries": [{**entry, "absent": False, "target_id": 7}]},
    ):
        with pytest.raises(PlanFileError, match="stamp"):
            read_plan({**data, "stamp": bad})
    short = {**data["stamp"], "entries": data["stamp"]["entries"][1:]}
    store = Store.open(tmp_path / "state" / "agency.db")
    with store, pytest.raises(PlanFileError, match="does not cover"):
        check_fresh(
            read_plan({**data, "stamp": short}),
            ruleset_hash=saved.ruleset["content_hash"],
            store=store,
        )


# Any history of writes ------------------------------------------------------------------

KEYS = [("property", str(n)) for n in range(4)] + [("landlord", str(n)) for n in range(3)]
Entry = tuple[str | None, str | None, str | None]
entries = st.tuples(
    st.sampled_from(["1", "2", None]),
    st.sampled_from(["r1", "r2", None]),
    st.sampled_from(["h1", "h2"]),
)


def _op(kind: str, source_id: str, op: str, value: int) -> Operation:
    because = (Because("P-01", "recordType", "Rent", "= 'Rent'", True),)
    return Operation(
        op, kind, f"fixflo.{kind}", source_id, None, f"ref-{source_id}", {"Name": value},
        f"key-{kind}-{source_id}-{op}-{value}", because,
    )  # fmt: skip


operations = st.lists(
    st.builds(
        lambda key, op, value: _op(key[0], key[1], op, value),
        st.sampled_from(KEYS[:5]),
        st.sampled_from(["create", "update", "archive", "link"]),
        st.integers(0, 2),
    ),
    max_size=6,
)
writes = st.lists(
    st.one_of(
        st.tuples(st.just("own"), st.integers(0, 5)),
        st.tuples(st.just("write"), st.sampled_from(KEYS), entries),
        st.tuples(st.just("restore"), st.sampled_from(KEYS)),
    ),
    max_size=6,
)


@given(
    before=st.dictionaries(st.sampled_from(KEYS), entries, max_size=len(KEYS)),
    ops=operations,
    history=writes,
)
def test_a_plan_is_fresh_exactly_when_only_its_own_effects_changed_the_id_map(
    before: dict[tuple[str, str], Entry], ops: list[Operation], history: list[Any]
) -> None:
    plan = Plan({"content_hash": "h"}, {}, None, tuple(ops), (), (), (), (), {})
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "a.db") as store:
        store.start_run("alto-fixflo", "1", "h")
        for key, held in before.items():
            store.map_id(IdMapEntry(*key, *held))
        saved = _saved(plan, store)
        after = dict(before)
        for event in history:
            changed, written = _event(event, ops, before)
            if changed is not None and written is not None:
                store.map_id(IdMapEntry(*changed, *written))
                after[changed] = written
        fresh = _fresh_by_model(ops, before, after)
        if fresh:
            check_fresh(saved, ruleset_hash="h", store=store)
        else:
            with pytest.raises(StalePlanError):
                check_fresh(saved, ruleset_hash="h", store=store)


def _event(
    event: Any, ops: list[Operation], before: Mapping[tuple[str, str], Entry]
) -> tuple[tuple[str, str] | None, Entry | None]:
    """The id-map write an event makes: a plan operation's own effect as `apply` records
    it, any write, or a key put back as it was (None: nothing to write)."""
    match event:
        case ("own", index) if index < len(ops) and ops[index].op != "link":
            op = ops[index]
            return (op.kind, str(op.source_id)), ("7", op.target_ref, content_hash(op.fields))
        case ("write", key, held):
            return key, held
        case ("restore", key) if key in before:
            return key, before[key]
    return None, None


def _fresh_by_model(
    ops: list[Operation],
    before: Mapping[tuple[str, str], Entry],
    after: Mapping[tuple[str, str], Entry],
) -> bool:
    named = {(op.kind, str(op.source_id)) for op in ops}
    own = {
        ((op.kind, str(op.source_id)), (op.target_ref, content_hash(op.fields)))
        for op in ops
        if op.op != "link"
    }
    for key in set(before) | set(after):
        if before.get(key) == after.get(key):
            continue
        if key not in named or (key, after[key][1:]) not in own:
            return False
    return True
