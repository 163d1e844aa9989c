"""Applying a plan: exactly-once effects against the fake Fixflo through the real adapter."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from adapters.fixflo import REFERENCE_LOOKUPS
from engine.canonical import content_hash
from engine.store import IdMapEntry, Store
from engine.sync.apply import (
    ApplyResult,
    PlanFileError,
    StalePlanError,
    apply_plan,
    check_fresh,
    read_plan,
    stamp_plan,
)
from engine.sync.plan import Plan
from tests.engine.apply_world import World, fixflo, holders, make_world, writes

REF_KEYS = {"properties": "ExternalPropertyRef"}


def _apply(world: World, path: Path, plan: Plan | None = None) -> ApplyResult:
    async def go() -> ApplyResult:
        with Store.open(path) as store:
            run = store.start_run("alto-fixflo", "1", world.ruleset_hash)
            async with fixflo(world.fake) as target:
                result = await apply_plan(plan or world.plan, target, store, run=run)
            store.finish_run("succeeded")
        return result

    return asyncio.run(go())


def _landed_once(world: World) -> None:
    """Every create is held by exactly one record; every update's fields are held; every
    link is made once and every unlinked pair is gone."""
    fake = world.fake
    for op in world.plan.operations:
        collection = op.target.split(".", 1)[1]
        if op.op == "create":
            key = REF_KEYS.get(collection, "ExternalRef")
            assert holders(fake, collection, key, str(op.fields[key])) == 1, op
        elif op.op in ("update", "archive"):
            record = fake.store.collections[collection][int(op.target_id)]
            for name, value in op.fields.items():
                if not isinstance(value, dict):
                    assert record.get(name) == value, (op, name)
        else:
            landlords, tenants = fake.store.join_records()
            table = landlords if collection == "landlord_properties" else tenants
            wanted = 0 if op.op == "unlink" else 1
            assert sum(1 for link in table if _has(link, op.fields)) == wanted, op


def _has(link: dict[str, object], fields: object) -> bool:
    """Whether `link` joins the two ends `fields` name (their references; Fixflo documents
    IsPrimaryLandlord as ignored, so it is not compared)."""
    assert isinstance(fields, dict)
    return all(link.get(key) == value for key, value in fields.items() if key.endswith("Ref"))


def test_faulty_fixflo_gets_every_operation_exactly_once(tmp_path: Path) -> None:
    world = make_world(tmp_path, faults="all=0.1")
    path = tmp_path / "state" / "agency.db"
    assert len(world.plan.operations) > 40
    first = _apply(world, path)
    assert {"lost", "errors", "drop", "500"} <= set(world.fake.log.faults())
    with Store.open(path) as store:  # injected "errors" envelopes are dead letters: retry them
        for letter in store.dead_letters():
            store.retry_dead_letter(letter.id)
    world.fake.faults = dataclasses.replace(world.fake.faults, rules=())
    world.fake.app.faults = world.fake.faults
    second = _apply(world, path)
    assert first.applied + second.applied == len(world.plan.operations)
    assert second.dead_lettered == 0
    _landed_once(world)
    before = writes(world.fake)
    third = _apply(world, path)
    assert writes(world.fake) == before  # nothing left to write
    assert third.total("skipped") == len(world.plan.operations)
    assert third.calls == {}


def test_a_second_apply_makes_no_write_calls(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    path = tmp_path / "state" / "agency.db"
    first = _apply(world, path)
    assert first.applied == len(world.plan.operations)
    calls = ("upsert", "archive", "link", "unlink")
    assert sum(first.calls[name] for name in calls) == first.applied
    assert first.to_json()["counts"]["occupier"]["archive"] > 0
    before = writes(world.fake)
    _apply(world, path)
    assert writes(world.fake) == before
    _landed_once(world)
    with Store.open(path) as store:
        created = next(op for op in world.plan.operations if op.op == "create")
        entry = store.lookup(created.kind, str(created.source_id))
        assert entry is not None
        assert entry.target_id is not None
        assert entry.target_ref == created.target_ref


def test_a_crash_between_intent_and_effect_is_verified_not_duplicated(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    path = tmp_path / "state" / "agency.db"
    created = next(op for op in world.plan.operations if op.op == "create")
    collection = created.target.split(".", 1)[1]
    key = REF_KEYS.get(collection, "ExternalRef")

    async def crash() -> None:
        store = Store.open(path)
        store.start_run("alto-fixflo", "1", world.ruleset_hash)
        assert store.record_intent(created).action == "call"
        async with fixflo(world.fake) as target:
            await target.upsert(collection, dict(created.fields))  # lands...
        store.close()  # ...and the process dies before record_effect

    asyncio.run(crash())
    assert holders(world.fake, collection, key, str(created.fields[key])) == 1
    result = _apply(world, path)
    assert result.total("verified") == 1
    assert result.retries == 1
    assert result.calls["find"] == 1
    _landed_once(world)
    with Store.open(path) as store:
        assert store.in_flight() == []
        assert (
            len([row for row in store.audit() if row["idempotency_key"] == created.idempotency_key])
            == 1
        )


def test_a_refused_record_is_dead_lettered_and_the_rest_land(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    path = tmp_path / "state" / "agency.db"
    ops = list(world.plan.operations)
    index = next(
        i for i, op in enumerate(ops) if op.op == "create" and op.target.endswith("landlords")
    )
    taken = next(iter(world.fake.store.collections["landlords"].values()))["EmailAddress"]
    bad = dataclasses.replace(ops[index], fields={**ops[index].fields, "EmailAddress": taken})
    ops[index] = bad
    plan = dataclasses.replace(world.plan, operations=tuple(ops))
    # Fixflo refuses a join to a landlord it does not hold, so the refused landlord's links
    # are dead letters too (each says why); nothing else is held back.
    ref = bad.fields["ExternalRef"]
    joins = [op for op in ops if op.op == "link" and op.fields.get("ExternalLandlordRef") == ref]
    result = _apply(world, path, plan)
    assert result.dead_lettered == 1 + len(joins)
    assert result.applied == len(ops) - 1 - len(joins)
    assert holders(world.fake, "landlords", "ExternalRef", str(ref)) == 0
    with Store.open(path) as store:
        letters = store.dead_letters()
        assert {letter.idempotency_key for letter in letters} == {
            op.idempotency_key for op in [bad, *joins]
        }
        (letter,) = [one for one in letters if one.idempotency_key == bad.idempotency_key]
        assert "refused the record" in letter.reason
        assert not letter.retryable
        assert "already in use" in (letter.last_error or "")
        assert taken not in (letter.last_error or "") + letter.reason
        assert store.operation_status(bad.idempotency_key) == "dead"
    again = _apply(world, path, plan)  # still dead until retried: not called
    assert again.total("dead") == 1 + len(joins)
    assert again.calls == {}


def test_a_stale_plan_is_refused(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    with Store.open(tmp_path / "state" / "agency.db") as store:
        saved = read_plan(stamp_plan(world.plan.to_json(), store))
        check_fresh(saved, ruleset_hash=world.ruleset_hash, store=store)
        check_fresh(read_plan(world.plan.to_json()), ruleset_hash=world.ruleset_hash, store=store)
        with pytest.raises(StalePlanError, match="ruleset changed"):
            check_fresh(saved, ruleset_hash="sha256:other", store=store)
        store.start_run("alto-fixflo", "1", world.ruleset_hash)
        own = next(op for op in saved.operations if op.source_id and op.op != "link")
        effect = IdMapEntry(own.kind, str(own.source_id), "7", own.target_ref)
        store.map_id(dataclasses.replace(effect, content_hash=content_hash(own.fields)))
        check_fresh(saved, ruleset_hash=world.ruleset_hash, store=store)
        store.map_id(IdMapEntry("property", "not-in-the-plan", "42"))  # someone else's
        with pytest.raises(StalePlanError, match="id map changed"):
            check_fresh(saved, ruleset_hash=world.ruleset_hash, store=store)
        with pytest.raises(StalePlanError, match="without the state store"):
            check_fresh(
                read_plan(world.plan.to_json()), ruleset_hash=world.ruleset_hash, store=store
            )


def test_a_saved_plan_reads_back_to_the_same_operations(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    back = read_plan(world.plan.to_json())
    assert back.operations == world.plan.operations
    assert back.ruleset == world.plan.ruleset


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a rulebridge plan"),
        ({"format": "rulebridge.snapshot/1"}, "not a rulebridge plan"),
        ({"format": "rulebridge.plan/9", "operations": []}, "plan/9"),
        (
            {"format": "rulebridge.plan/1", "ruleset": {}, "operations": [{"op": "x"}]},
            "operations\\[0\\]",
        ),
        ({"format": "rulebridge.plan/1", "ruleset": [], "operations": []}, "must be objects"),
    ],
)
def test_what_is_not_a_plan_is_a_clear_error(data: object, message: str) -> None:
    with pytest.raises(PlanFileError, match=message):
        read_plan(data)


def test_id_map_fingerprint_follows_the_id_map(tmp_path: Path) -> None:
    with Store.open(tmp_path / "state" / "agency.db") as store:
        empty = store.id_map_fingerprint()
        assert empty.startswith("sha256:")
        assert store.id_map_fingerprint() == empty
        store.start_run("alto-fixflo", "1", "h")
        store.map_id(IdMapEntry("property", "1", "42"))
        one = store.id_map_fingerprint()
        store.map_id(IdMapEntry("property", "1", "42", content_hash="x"))
        assert len({empty, one, store.id_map_fingerprint()}) == 3
        assert store.current_run_id() is not None
        assert store.id_map_fingerprint(exclude=[("property", "1")]) == empty


def test_apply_needs_the_run_in_progress(tmp_path: Path) -> None:
    world = make_world(tmp_path)

    async def go() -> None:
        with Store.open(tmp_path / "state" / "agency.db") as store:
            run = store.start_run("alto-fixflo", "1", world.ruleset_hash)
            store.finish_run("succeeded")
            async with fixflo(world.fake) as target:
                await apply_plan(world.plan, target, store, run=run)

    with pytest.raises(Exception, match="not the run in progress"):
        asyncio.run(go())


def test_a_link_to_a_missing_tenant_is_a_retryable_dead_letter(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    ops = list(world.plan.operations)
    index = next(i for i, op in enumerate(ops) if op.target == "fixflo.tenant_properties")
    ops[index] = dataclasses.replace(
        ops[index], fields={**ops[index].fields, "TenantExternalRef": "no-such-tenant"}
    )
    plan = dataclasses.replace(world.plan, operations=tuple(ops))
    result = _apply(world, tmp_path / "state" / "agency.db", plan)
    assert result.dead_lettered == 1
    with Store.open(tmp_path / "state" / "agency.db") as store:
        (letter,) = store.dead_letters()
        assert letter.retryable
        assert "404" in letter.reason


def _apply_looking_first(world: World, path: Path, plan: Plan) -> ApplyResult:
    async def go() -> ApplyResult:
        with Store.open(path) as store:
            run = store.start_run("alto-fixflo", "1", world.ruleset_hash)
            async with fixflo(world.fake) as target:
                result = await apply_plan(
                    plan, target, store, run=run, look_first=REFERENCE_LOOKUPS
                )
            store.finish_run("succeeded")
        return result

    return asyncio.run(go())


def test_a_new_store_looks_a_create_up_by_its_own_reference_first(tmp_path: Path) -> None:
    """A create the snapshot missed names the record Fixflo holds; a tenant is looked up by
    its ExternalRef, never by the ExternalPropertyRef it shares with its neighbours."""
    world = make_world(tmp_path)
    path = tmp_path / "state" / "agency.db"
    creates = [op for op in world.plan.operations if op.op == "create"]
    prop = next(op for op in creates if op.target == "fixflo.properties")
    tenant = next(
        op
        for op in creates
        if op.target == "fixflo.tenants" and op.fields.get("ExternalPropertyRef")
    )
    neighbour = {  # another occupier of the same property, already in Fixflo
        "ExternalRef": "NEIGHBOUR-1",
        "ExternalPropertyRef": tenant.fields["ExternalPropertyRef"],
        "Surname": "Nextdoor",
        "EmailAddress": "neighbour@example.invalid",
    }

    async def before() -> str:
        async with fixflo(world.fake) as target:
            await target.upsert("tenants", neighbour)
            missed = await target.upsert(
                "properties", dict(prop.fields)
            )  # not in the plan's snapshot
        return str(missed["id"])

    existing = asyncio.run(before())
    result = _apply_looking_first(world, path, world.plan)
    assert result.counts["property"]["merged"] == 1
    assert "merged" not in result.counts["occupier"]
    key = str(prop.fields["ExternalPropertyRef"])
    assert holders(world.fake, "properties", "ExternalPropertyRef", key) == 1
    assert holders(world.fake, "tenants", "ExternalRef", "NEIGHBOUR-1") == 1
    assert holders(world.fake, "tenants", "ExternalRef", str(tenant.fields["ExternalRef"])) == 1
    with Store.open(path) as store:
        entry = store.lookup(prop.kind, str(prop.source_id))
    assert entry is not None
    assert entry.target_id == existing
    again = _apply_looking_first(world, path, world.plan)  # the store knows them now
    assert again.calls["find"] == 0
