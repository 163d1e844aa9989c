"""Properties: which sync (P-01..P-06), their fields (P-07), and merging (G-05)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import RulesetErrors, load_ruleset
from engine.sync.plan import Plan
from tests.rulesets.alto import DEFAULT, RULESET_PATH, ops, plan, prop, skipped, world


def property_plan(*properties: dict[str, object], **settings: object) -> Plan:
    ruleset = load_ruleset(RULESET_PATH, settings=settings) if settings else None
    records = world(alto_inventory=list(properties))
    return plan(records, ruleset) if ruleset else plan(records)


@pytest.mark.req("P-01")
def test_only_properties_to_rent_sync() -> None:
    made = property_plan(
        prop("P1"), prop("P2", recordType="Sale"), prop("P3", recordType="Unspecified")
    )
    assert set(ops(made, "property", "create")) == {"P1"}
    assert skipped(made, "property") == {"P2": ("P-01",), "P3": ("P-01",)}
    (skip,) = [s for s in made.skips if s.source_id == "P2"]
    assert str(skip.because[0]) == "P-01: recordType = 'Sale', not = 'Rent'"


@pytest.mark.req("P-02")
@pytest.mark.parametrize(
    ("management", "synced"),
    [
        ("Managed", True),
        ("FullyManaged", True),
        ("PartManaged", True),
        ("LetOnly", False),
        ("NotManaged", False),
        ("RentCollectionService", False),
        ("Unspecified", False),
    ],
)
def test_only_managed_or_part_managed_sync(management: str, synced: bool) -> None:
    made = property_plan(prop("P1", managementType=management))
    assert ("P1" in ops(made, "property", "create")) is synced
    if not synced:
        assert skipped(made, "property") == {"P1": ("P-02",)}


@pytest.mark.req("P-03")
def test_only_maintenance_handled_by_us_syncs() -> None:
    made = property_plan(prop("P1"), prop("P2", maintenanceType="MaintainedByLandlord"))
    assert set(ops(made, "property", "create")) == {"P1"}
    assert skipped(made, "property") == {"P2": ("P-03",)}


@pytest.mark.req("P-04")
def test_properties_sync_whatever_their_tenancies() -> None:
    records = world(
        alto_inventory=[prop("P1"), prop("P2"), prop("P3")],
        alto_tenancies=[
            {"id": "T1", "propertyId": "P1", "status": "Active"},
            {"id": "T2", "propertyId": "P2", "status": "Vacated"},
        ],
    )
    assert set(ops(plan(records), "property", "create")) == {"P1", "P2", "P3"}


@pytest.mark.req("P-05")
def test_property_categories_are_a_setting() -> None:
    residential, commercial = prop("P1"), prop("P2", categoryType="Commercial")
    default = property_plan(residential, commercial)
    assert set(ops(default, "property", "create")) == {"P1"}
    assert skipped(default, "property") == {"P2": ("P-05",)}
    both = property_plan(residential, commercial, property_categories=["Residential", "Commercial"])
    assert set(ops(both, "property", "create")) == {"P1", "P2"}
    only = property_plan(residential, commercial, property_categories=["Commercial"])
    assert set(ops(only, "property", "create")) == {"P2"}


@pytest.mark.req("P-06")
def test_property_statuses_are_a_setting() -> None:
    let, withdrawn = prop("P1"), prop("P2", status="Withdrawn")
    assert skipped(property_plan(let, withdrawn), "property") == {"P2": ("P-06",)}
    chosen = property_plan(let, withdrawn, property_statuses=["Withdrawn"])
    assert set(ops(chosen, "property", "create")) == {"P2"}


@pytest.mark.req("P-06")
def test_a_status_outside_the_contract_enum_is_a_validation_error(tmp_path: Path) -> None:
    settings = tmp_path / "agency.yaml"
    settings.write_text(
        yaml.safe_dump(
            {"settings_for": "alto-fixflo", "settings": {"property_statuses": ["Let", "Leased"]}}
        )
    )
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(RULESET_PATH, settings=settings)
    (error,) = caught.value.errors
    assert error.code == "bad-setting"
    assert "'Leased' is not allowed" in error.message
    declared = load_ruleset(RULESET_PATH).settings_declared["property_statuses"]
    # The guide's eighteen statuses, plus Appraisal: Alto's InventoryStatus enum has 19.
    assert list(declared.allowed or ()) == INVENTORY_STATUSES


@pytest.mark.req("P-06")
def test_appraisal_is_a_status_an_agency_may_choose() -> None:
    made = property_plan(prop("P1", status="Appraisal"), property_statuses=["Appraisal"])
    assert set(ops(made, "property", "create")) == {"P1"}


INVENTORY_STATUSES = [
    "Unspecified",
    "Appraisal",
    "Available",
    "UnderOffer",
    "Completed",
    "Let",
    "LetAgreed",
    "LetMarketing",
    "Archived",
    "Suspended",
    "Withdrawn",
    "Instructed",
    "NotInstructed",
    "ExternallyLet",
    "UnderOfferMarketing",
    "UnderOfferAvailable",
    "Exchanged",
    "ExternallySold",
    "Reserved",
]

ADDRESS: dict[str, str] = {
    "AddressLine1": "Flat 2 10 High Street",
    "AddressLine2": "Headingley",
    "Town": "Leeds",
    "County": "West Yorkshire",
    "PostCode": "LS6 1AA",
    "Country": "GB",
}


@pytest.mark.req("P-07", "G-02")
def test_property_fields_and_external_reference() -> None:
    made = property_plan(prop("P1"))
    assert ops(made, "property", "create")["P1"].fields == {
        "ExternalPropertyRef": "P1",
        "Address": ADDRESS,
    }
    assert ops(made, "property")["P1"].target_ref == "P1"
    # No OID in Alto's contract: the ruleset says so (gap.oid) and reads the inventoryId.
    (gap,) = [gap for gap in DEFAULT.gaps if gap.id == "gap.oid"]
    assert {"G-02", "P-07"} <= set(gap.rules)
    assert gap.uses == ("field", "alto.inventory.inventoryId")


FIXFLO_EXACT: dict[str, Any] = {
    "id": 71,
    "ExternalPropertyRef": None,
    "IsDeleted": False,
    "Address": ADDRESS,
}


@pytest.mark.req("G-05")
def test_a_property_with_exactly_the_same_address_merges() -> None:
    made = plan(world(alto_inventory=[prop("P1")], fixflo_properties=[FIXFLO_EXACT]))
    assert not ops(made, "property", "create")
    update = ops(made, "property", "update")["P1"]
    assert update.target_id == 71
    assert update.fields == {"ExternalPropertyRef": "P1"}
    (merge,) = made.merges
    assert (merge.source_id, merge.target_id, merge.rule) == ("P1", 71, "G-05.address")


@pytest.mark.req("G-05")
def test_a_property_bearing_the_alto_reference_merges_whatever_its_address() -> None:
    moved = {
        **FIXFLO_EXACT,
        "ExternalPropertyRef": "P1",
        "Address": {**FIXFLO_EXACT["Address"], "AddressLine1": "Old line"},
    }
    made = plan(world(alto_inventory=[prop("P1")], fixflo_properties=[moved]))
    # Only the address differs; it is sent whole, as Fixflo replaces a nested object whole.
    assert ops(made, "property", "update")["P1"].fields == {"Address": FIXFLO_EXACT["Address"]}
    assert not made.merges


@pytest.mark.req("G-05")
def test_near_duplicates_are_listed_for_a_manual_merge() -> None:
    near = {
        **FIXFLO_EXACT,
        "id": 72,
        "Address": {**FIXFLO_EXACT["Address"], "AddressLine1": "Flat 2, 10 High St."},
    }
    made = plan(world(alto_inventory=[prop("P1")], fixflo_properties=[near]))
    assert "P1" in ops(made, "property", "create")
    (manual,) = made.manual
    assert (manual.action, manual.rule, manual.target_id, manual.source_id) == (
        "merge_by_hand",
        "G-05.near",
        72,
        "P1",
    )
