"""The departed policy (a record that stops meeting its include rules while in the target),
link removal (plan op ``unlink``), setting conditions, and applying both with the
target's declared key."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine import load_ruleset
from engine.ports import Record, RecordTarget
from engine.store import Store
from engine.sync.apply import apply_plan
from engine.sync.saved_plan import read_plan
from tests.engine.rulesets import ruleset_data, write
from tests.engine.test_ruleset_errors import errors_of
from tests.rulesets.alto import RULESET_PATH, contact, ops, plan, prop, tenancy, world

IN_FIXFLO = {"id": 5, "ExternalPropertyRef": "P1", "IsDeleted": False}


def departed(**settings: Any) -> list[Any]:
    """What the plan does with property P1, in Fixflo, once it is for sale."""
    ruleset = load_ruleset(RULESET_PATH, settings=settings) if settings else None
    records = world(alto_inventory=[prop("P1", recordType="Sale")], fixflo_properties=[IN_FIXFLO])
    made = plan(records, ruleset) if ruleset else plan(records)
    return [*made.operations, *[m for m in made.manual if m.kind == "property"]]


@pytest.mark.req("P-01")
def test_a_property_that_stops_syncing_is_listed_as_no_longer_synced_by_default() -> None:
    (manual,) = departed()
    assert (manual.action, manual.rule, manual.target_id, manual.source_id) == (
        "no_longer_synced",
        "P-departed",
        5,
        "P1",
    )
    assert "P-01: recordType = 'Sale', not = 'Rent'" in manual.reason
    assert "setting departed_properties = list" in manual.reason


@pytest.mark.req("P-01")
def test_the_agency_may_archive_such_properties_instead() -> None:
    (archive,) = departed(departed_properties="archive")
    assert (archive.op, archive.target_id, archive.fields, archive.key) == (
        "archive",
        5,
        {"IsDeleted": True},
        "id",
    )
    assert [item.rule for item in archive.because] == ["P-01", "P-departed"]


def test_a_property_already_archived_or_still_synced_is_not_departed() -> None:
    archived = {**IN_FIXFLO, "IsDeleted": True}
    records = world(alto_inventory=[prop("P1", recordType="Sale")], fixflo_properties=[archived])
    assert not plan(records).manual
    synced = world(alto_inventory=[prop("P1")], fixflo_properties=[IN_FIXFLO])
    assert not [m for m in plan(synced).manual if m.action == "no_longer_synced"]


def test_an_archive_rule_that_holds_wins_over_the_departed_policy() -> None:
    # Occupiers have no departed policy but T-05; the landlord entity has neither: a
    # landlord no longer a landlord stays (L-02), listed by nobody.
    records = world(
        alto_inventory=[prop("P1")],
        alto_contacts=[contact("C1")],
        alto_tenancies=[tenancy("T1", "P1", "C1", status="Vacated")],
        fixflo_tenants=[{"id": "9", "ExternalRef": "C1", "IsDeleted": False}],
    )
    made = plan(records)
    assert ops(made, "occupier", "archive")["C1"].because[0].rule == "T-05"
    assert not [m for m in made.manual if m.action == "no_longer_synced"]


def departed_ruleset(action: Any, **settings: Any) -> dict[str, Any]:
    data = ruleset_data([{"id": "R1", "when": {"field": "kind", "eq": "A"}}], settings=settings)
    data["entities"]["thing"]["departed"] = {"id": "D1", "action": action}
    return data


@pytest.mark.parametrize(
    ("action", "settings", "expected"),
    [
        ({"setting": "gone"}, {}, "unknown-setting: no setting 'gone'"),
        (
            {"setting": "gone"},
            {"gone": {"type": "string", "default": "delete"}},
            "bad-setting: setting 'gone' is 'delete', but a departed action must be list or "
            "archive",
        ),
        ("forget", {}, "wrong-type: expected list, archive or {setting: NAME}"),
    ],
)
def test_a_bad_departed_action_is_located(
    tmp_path: Path, action: Any, settings: dict[str, Any], expected: str
) -> None:
    errors = errors_of(write(tmp_path, departed_ruleset(action, **settings)))
    assert any(expected in error for error in errors), errors


def test_a_setting_condition_is_decided_by_the_agency_settings(tmp_path: Path) -> None:
    data = ruleset_data(
        [{"id": "R1", "when": {"setting": "on", "eq": True}}],
        settings={"on": {"type": "boolean", "default": False}},
    )
    path = write(tmp_path, data)
    off = load_ruleset(path).evaluate("thing", {"id": "1"})
    assert not off.included
    assert str(off.because[0]) == "R1: setting on = False, not = True"
    assert load_ruleset(path, settings={"on": True}).evaluate("thing", {"id": "1"}).included
    data["entities"]["thing"]["include"][0]["when"] = {"setting": "of", "eq": True}
    errors = errors_of(write(tmp_path, data))
    assert any("no setting 'of' (did you mean 'on'?)" in error for error in errors)


# Unlink --------------------------------------------------------------------------------


def tenant_links(*rows: tuple[str, str | None]) -> list[dict[str, Any]]:
    return [
        {
            "Id": f"J{n}",
            "TenantExternalRef": who,
            "PropertyExternalRef": where,
            "LinkType": "Tenant",
        }
        for n, (who, where) in enumerate(rows, 1)
    ]


def unlink_world(status: str, *links: tuple[str, str | None]) -> dict[str, list[dict[str, Any]]]:
    return world(
        alto_inventory=[prop("P1"), prop("P2")],
        alto_contacts=[contact("C1")],
        alto_tenancies=[tenancy("T1", "P1", "C1", status=status)],
        fixflo_tenants=[{"id": "9", "ExternalRef": "C1", "IsDeleted": False}],
        fixflo_tenant_properties=tenant_links(*links),
    )


@pytest.mark.req("T-05")
def test_an_occupier_whose_tenancy_ended_is_unlinked_from_the_property() -> None:
    made = plan(unlink_world("Vacated", ("C1", "P1")))
    (unlink,) = [op for op in made.operations if op.op == "unlink"]
    assert (unlink.kind, unlink.target, unlink.source_id, unlink.target_id) == (
        "occupier",
        "fixflo.tenant_properties",
        "C1",
        "J1",
    )
    assert unlink.fields == {"TenantExternalRef": "C1", "PropertyExternalRef": "P1"}
    assert unlink.because[0].rule == "T-05.unlink"
    assert made.summary()["occupier"]["unlink"] == 1


@pytest.mark.req("T-05")
def test_a_live_link_stays_and_a_stale_one_to_another_property_goes() -> None:
    made = plan(unlink_world("Active", ("C1", "P1"), ("C1", "P2")))
    joins = [op for op in made.operations if op.target == "fixflo.tenant_properties"]
    assert [(op.op, op.fields["PropertyExternalRef"]) for op in joins] == [("unlink", "P2")]


def test_links_to_records_alto_does_not_hold_are_never_removed() -> None:
    made = plan(unlink_world("Vacated", ("C1", "P-other"), ("someone", "P1"), ("C1", None)))
    assert not [op for op in made.operations if op.op == "unlink"]


def test_the_unlink_key_is_stable_and_differs_from_the_link_key() -> None:
    first = plan(unlink_world("Vacated", ("C1", "P1")))
    again = plan(unlink_world("Vacated", ("C1", "P1")))
    (one,), (two,) = ([op for op in p.operations if op.op == "unlink"] for p in (first, again))
    assert one.idempotency_key == two.idempotency_key
    linked = plan(unlink_world("Active"))
    (link,) = [op for op in linked.operations if op.op == "link"]
    assert link.idempotency_key != one.idempotency_key


def test_a_saved_plan_reads_back_its_unlinks_and_keys() -> None:
    made = plan(unlink_world("Vacated", ("C1", "P1")))
    again = read_plan(made.to_json())
    assert again.operations == made.operations


# Apply ---------------------------------------------------------------------------------


@dataclass
class Recording:
    """A `RecordTarget` that records each call and answers as Fixflo would."""

    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    async def upsert(self, collection: str, fields: Mapping[str, Any]) -> Record:
        self.calls.append(("upsert", collection, dict(fields)))
        return {"id": 77, **fields} if collection != "contractors" else {"Id": "77", **fields}

    async def archive(self, collection: str, fields: Mapping[str, Any]) -> Record:
        self.calls.append(("archive", collection, dict(fields)))
        return dict(fields)

    async def link(self, collection: str, fields: Mapping[str, Any]) -> None:
        self.calls.append(("link", collection, dict(fields)))

    async def unlink(self, collection: str, fields: Mapping[str, Any]) -> None:
        self.calls.append(("unlink", collection, dict(fields)))


def applied_calls(tmp_path: Path, records: dict[str, list[dict[str, Any]]]) -> Recording:
    target = Recording()
    assert isinstance(target, RecordTarget)
    store = Store.open(tmp_path / "s.db")
    try:
        made = plan(records)
        run = store.start_run("alto-fixflo", "2", made.ruleset["content_hash"])
        result = asyncio.run(apply_plan(made, target, store, run=run))
        assert result.total("unlink") == sum(op.op == "unlink" for op in made.operations)
        assert not store.id_map("occupier") or all(
            entry.target_id != "J1" for entry in store.id_map("occupier").values()
        )
    finally:
        store.close()
    return target


@pytest.mark.req("T-05")
def test_apply_calls_unlink_with_the_two_references(tmp_path: Path) -> None:
    target = applied_calls(tmp_path, unlink_world("Vacated", ("C1", "P1")))
    assert (
        "unlink",
        "tenant_properties",
        {"TenantExternalRef": "C1", "PropertyExternalRef": "P1"},
    ) in target.calls


def test_apply_names_a_record_by_the_targets_declared_key(tmp_path: Path) -> None:
    records = world(
        alto_inventory=[prop("P1")],
        fixflo_properties=[{**IN_FIXFLO, "Address": {"Town": "Old"}}],
    )
    target = applied_calls(tmp_path, records)
    ((call, collection, fields),) = target.calls
    assert (call, collection, fields["id"]) == ("upsert", "properties", 5)
    assert "Id" not in fields
