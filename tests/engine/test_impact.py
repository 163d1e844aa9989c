"""The impact diff (`engine.sync.impact`): which records change, grouped by the rule that
causes it, checked against sets computed from the snapshot's records directly."""

from __future__ import annotations

import io
import json
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import CompiledRuleset, load_ruleset
from engine.sync.impact import impact_of, write_json, write_markdown
from simulator.agency import AgencyGenerator
from tests.rulesets.alto import AS_OF, DEFAULT, RULESET_PATH

SHIPPED = yaml.safe_load(RULESET_PATH.read_text("utf-8"))
MANAGED = {"Managed", "FullyManaged", "PartManaged"}


def agency(size: int = 150, seed: int = 11, fixflo: bool = False) -> dict[str, list[Any]]:
    """A generated agency's records by source name, in memory."""
    made = AgencyGenerator(size, seed)
    records = {f"alto.{name}": list(rows) for name, rows in made.alto_collections().items()}
    if fixflo:
        records |= {f"fixflo.{n}": list(rows) for n, rows in made.fixflo_collections().items()}
    return records


RECORDS = agency()


def copy_with(tmp_path: Path, change: Any, name: str = "new.yaml") -> CompiledRuleset:
    """The shipped ruleset's data changed by `change`, written to tmp and loaded."""
    data = yaml.safe_load(RULESET_PATH.read_text("utf-8"))
    change(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return load_ruleset(path)


def syncs_commercial(data: dict[str, Any]) -> None:
    data["settings"]["property_categories"]["default"] = ["Residential", "Commercial"]


def p05_lists_both(data: dict[str, Any]) -> None:
    rule = data["entities"]["property"]["include"][3]
    assert rule["id"] == "P-05"
    rule["when"] = {"field": "categoryType", "in": ["Residential", "Commercial"]}


def commercial_that_pass_the_other_rules(inventory: list[dict[str, Any]]) -> set[str]:
    """Straight from the records and the shipped defaults, not the engine's decisions."""
    statuses = set(SHIPPED["settings"]["property_statuses"]["default"])
    return {
        str(item["inventoryId"])
        for item in inventory
        if item.get("recordType") == "Rent"
        and item.get("managementType") in MANAGED
        and item.get("maintenanceType") == "MaintainedByUs"
        and item.get("categoryType") == "Commercial"
        and item.get("status") in statuses
    }


@pytest.mark.req("P-05")
@pytest.mark.parametrize("change", [syncs_commercial, p05_lists_both])
def test_syncing_commercial_lists_exactly_the_commercial_properties_under_p05(
    tmp_path: Path, change: Any
) -> None:
    """The done-when: v2 against a copy that also syncs Commercial (by the setting's default
    or by P-05's condition) creates exactly the commercial properties that P-01..P-03 and
    P-06 let through, all attributed to P-05; nothing else about properties changes."""
    expected = commercial_that_pass_the_other_rules(RECORDS["alto.inventory"])
    assert expected, "the generated agency has commercial properties to sync"
    found = impact_of(DEFAULT, copy_with(tmp_path, change), RECORDS, as_of=AS_OF)
    groups = found.entity("property").sorted_groups()
    assert [(group.kind, group.rule) for group in groups] == [("created", "P-05")]
    assert {change.key for change in groups[0].records()} == expected
    assert groups[0].count == len(expected)
    assert all("category type is Commercial" in c.in_words[0] for c in groups[0].records())


def test_the_same_ruleset_changes_nothing_and_reports_so() -> None:
    found = impact_of(DEFAULT, DEFAULT, RECORDS, as_of=AS_OF)
    assert found.changes == 0
    assert [entity.read for entity in found.entities] == [
        len(RECORDS["alto.inventory"]),
        len(RECORDS["alto.contacts"]),
        len(RECORDS["alto.contacts"]),
        len(RECORDS["alto.suppliers"]),
    ]


_SETTINGS = SHIPPED["settings"]
_LISTS = ("property_categories", "property_statuses", "live_tenancy_statuses")


@st.composite
def agency_settings(draw: st.DrawFn) -> dict[str, Any]:
    """Any valid choice of the list settings and departed_properties."""
    chosen: dict[str, Any] = {
        name: draw(st.lists(st.sampled_from(_SETTINGS[name]["allowed"]), unique=True))
        for name in _LISTS
    }
    chosen["departed_properties"] = draw(st.sampled_from(["list", "archive"]))
    return chosen


_COMPILED: dict[str, CompiledRuleset] = {}


def compiled(chosen: dict[str, Any]) -> CompiledRuleset:
    key = json.dumps(chosen, sort_keys=True)
    if key not in _COMPILED:
        _COMPILED[key] = load_ruleset(RULESET_PATH, settings=chosen)
    return _COMPILED[key]


SMALL = agency(size=60, seed=4)


@settings(max_examples=15)
@given(agency_settings())
def test_a_ruleset_against_itself_changes_nothing(chosen: dict[str, Any]) -> None:
    ruleset = compiled(chosen)
    assert impact_of(ruleset, ruleset, SMALL, as_of=AS_OF).changes == 0


def included(ruleset: CompiledRuleset, entity: str) -> set[str | None]:
    """The keys the entity includes, by `CompiledRuleset.evaluate` one record at a time."""
    context = ruleset.context(
        {n: rows for n, rows in SMALL.items() if n in ruleset.sources}, as_of=AS_OF
    )
    source = ruleset.entities[entity].source
    return {
        decision.key
        for decision in (ruleset.evaluate(entity, row, context) for row in SMALL[source])
        if decision.included
    }


@settings(max_examples=15)
@given(agency_settings(), agency_settings())
def test_created_and_removed_are_the_set_differences_of_included_keys(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    old, new = compiled(first), compiled(second)
    found = impact_of(old, new, SMALL, as_of=AS_OF)
    for entity in old.entities:
        before, after = included(old, entity), included(new, entity)
        groups = found.entity(entity).sorted_groups()
        created = {c.key for g in groups if g.kind == "created" for c in g.records()}
        removed = {c.key for g in groups if g.kind == "no_longer_synced" for c in g.records()}
        assert created == after - before, entity
        assert removed == before - after, entity


def test_a_field_that_maps_differently_is_listed_by_its_target_path(tmp_path: Path) -> None:
    def upper_town(data: dict[str, Any]) -> None:
        data["entities"]["property"]["map"]["Address.Town"] = {"upper": "address.town"}

    found = impact_of(DEFAULT, copy_with(tmp_path, upper_town), RECORDS, as_of=AS_OF)
    synced = included_in(DEFAULT, RECORDS)
    towns = {
        str(item["inventoryId"]): item["address"]["town"]
        for item in RECORDS["alto.inventory"]
        if str(item["inventoryId"]) in synced
        and item["address"]["town"] != item["address"]["town"].upper()
    }
    groups = found.entity("property").sorted_groups()
    assert [(group.kind, group.rule) for group in groups] == [("fields", "map:Address.Town")]
    changes = {c.key: c.field for c in groups[0].records()}
    assert set(changes) == set(towns)
    some = next(iter(towns))
    field = changes[some]
    assert field is not None
    assert (field.old, field.new) == (towns[some], towns[some].upper())


def included_in(ruleset: CompiledRuleset, records: dict[str, list[Any]]) -> set[str]:
    """Property keys passing every include rule, straight from the records."""
    statuses = set(SHIPPED["settings"]["property_statuses"]["default"])
    return {
        str(item["inventoryId"])
        for item in records["alto.inventory"]
        if item.get("recordType") == "Rent"
        and item.get("managementType") in MANAGED
        and item.get("maintenanceType") == "MaintainedByUs"
        and item.get("categoryType") == "Residential"
        and item.get("status") in statuses
    }


def test_a_new_archive_rule_lists_the_skipped_records_it_now_archives(tmp_path: Path) -> None:
    def archive_archived(data: dict[str, Any]) -> None:
        data["entities"]["property"]["archive"] = [
            {
                "id": "P-09",
                "summary": "Archived in Alto.",
                "when": {"field": "archived", "eq": True},
            }
        ]

    found = impact_of(DEFAULT, copy_with(tmp_path, archive_archived), RECORDS, as_of=AS_OF)
    synced = included_in(DEFAULT, RECORDS)
    expected = {
        str(item["inventoryId"])
        for item in RECORDS["alto.inventory"]
        if item.get("archived") is True and str(item["inventoryId"]) not in synced
    }
    assert expected
    groups = found.entity("property").sorted_groups()
    assert [(group.kind, group.rule) for group in groups] == [("archived", "P-09")]
    assert {c.key for c in groups[0].records()} == expected
    assert groups[0].summary == "Archived in Alto."


def test_an_entity_only_new_has_is_created_whole(tmp_path: Path) -> None:
    """OLD without contractors: every contractor NEW includes is created by entity:contractor."""

    def drop_contractors(data: dict[str, Any]) -> None:
        del data["entities"]["contractor"]
        data["gaps"] = [gap for gap in data["gaps"] if not {"C-01", "C-03"} & set(gap["rules"])]

    old = copy_with(tmp_path, drop_contractors, "old.yaml")
    found = impact_of(old, DEFAULT, RECORDS, as_of=AS_OF)
    groups = found.entity("contractor").sorted_groups()
    context = DEFAULT.context(RECORDS, as_of=AS_OF)
    expected = {
        d.key
        for d in (DEFAULT.evaluate("contractor", r, context) for r in RECORDS["alto.suppliers"])
        if d.included
    }
    archived = {
        str(r["id"])
        for r in RECORDS["alto.suppliers"]
        if str(r["id"]) not in expected and context.rule("C-04", r)
    }
    kinds = [(group.kind, group.rule) for group in groups]
    assert kinds == [("created", "entity:contractor")] + [("archived", "C-04")] * bool(archived)
    assert {c.key for c in groups[0].records()} == expected
    assert {c.key for g in groups[1:] for c in g.records()} == archived
    backwards = impact_of(DEFAULT, old, RECORDS, as_of=AS_OF).entity("contractor")
    assert [(g.kind, g.rule, g.count) for g in backwards.sorted_groups()] == [
        ("no_longer_synced", "entity:contractor", len(expected))
    ] + [("unarchived", "C-04", len(archived))] * bool(archived)


def test_with_a_target_created_and_merged_split_what_is_newly_included(tmp_path: Path) -> None:
    """With Fixflo's records, a newly included property is created unless the NEW plan
    merges it into a Fixflo property (by reference or address)."""
    records = agency(fixflo=True)
    new = copy_with(tmp_path, syncs_commercial)
    found = impact_of(DEFAULT, new, records, as_of=AS_OF, target_given=True)
    groups = {group.kind: group for group in found.entity("property").sorted_groups()}
    created = {c.key for c in groups["created"].records()} if "created" in groups else set()
    merged = {c.key for c in groups["merged"].records()} if "merged" in groups else set()
    expected = commercial_that_pass_the_other_rules(records["alto.inventory"])
    assert created | merged == expected
    assert not created & merged
    refs = {p.get("ExternalPropertyRef") for p in records["fixflo.properties"]}
    assert not created & refs
    assert merged, "the generated Fixflo holds some of the commercial properties"


def test_changed_records_spill_owner_only_and_the_json_lists_them_all(tmp_path: Path) -> None:
    new = copy_with(tmp_path, syncs_commercial)
    folder = tmp_path / "spill"
    folder.mkdir()
    found = impact_of(DEFAULT, new, RECORDS, as_of=AS_OF, folder=folder, limit=2)
    group = found.entity("property").sorted_groups()[0]
    assert len(group.samples) == 2
    assert group.count > 2
    spilled = list(folder.iterdir())
    assert spilled
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in spilled)
    out = io.StringIO()
    write_json(found, out)
    data = json.loads(out.getvalue())
    listed = data["entities"][0]["groups"][0]
    assert data["format"] == "rulebridge.impact/1"
    assert len(listed["records"]) == listed["count"] == group.count
    assert set(listed["records"][0]) == {"key", "because", "in_words"}  # never whole records
    markdown = io.StringIO()
    write_markdown(found, markdown)
    assert f"... and {group.count - 2} more" in markdown.getvalue()


def test_a_migration_ruleset_is_refused_with_a_clear_message() -> None:
    jupix = load_ruleset(RULESET_PATH.parents[1] / "jupix-alto" / "v1.yaml")
    with pytest.raises(Exception, match="not a sync ruleset"):
        impact_of(jupix, jupix, {}, as_of=date(2025, 6, 2))


def test_with_a_target_archived_are_the_archives_the_new_plan_adds() -> None:
    """departed_properties: archive. Every Fixflo property (not yet deleted) whose Alto
    property no include rule lets through is archived by NEW's plan under P-departed, and
    OLD's plan (list) archived none of them."""
    records = agency(fixflo=True)
    new = load_ruleset(RULESET_PATH, settings={"departed_properties": "archive"})
    found = impact_of(DEFAULT, new, records, as_of=AS_OF, target_given=True)
    synced = included_in(DEFAULT, records)
    alto_ids = {str(item["inventoryId"]) for item in records["alto.inventory"]}
    in_fixflo = {
        str(p["ExternalPropertyRef"])
        for p in records["fixflo.properties"]
        if p.get("ExternalPropertyRef") and p.get("IsDeleted") is not True
    }
    expected = (in_fixflo & alto_ids) - synced
    assert expected, "the generated Fixflo holds properties Alto no longer syncs"
    groups = found.entity("property").sorted_groups()
    assert [(group.kind, group.rule) for group in groups] == [("archived", "P-departed")]
    assert {c.key for c in groups[0].records()} == expected
