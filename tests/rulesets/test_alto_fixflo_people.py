"""Occupiers (T-01..T-05), landlords (L-01..L-04), contractors (C-01..C-04), and the rules
for people: emails (G-03), merging (G-04), no welcome emails (G-06)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.rulesets.alto import (
    DEFAULT,
    applied,
    contact,
    ops,
    owner,
    plan,
    prop,
    skipped,
    supplier,
    tenancy,
    world,
)


def occupier_world(
    *tenancies: dict[str, Any],
    contacts: list[dict[str, Any]] | None = None,
    fixflo: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return world(
        alto_inventory=[prop("P1"), prop("P2", recordType="Sale")],
        alto_contacts=contacts or [contact("C1")],
        alto_tenancies=list(tenancies),
        fixflo_tenants=fixflo or [],
        **extra,
    )


@pytest.mark.req("T-01")
@pytest.mark.parametrize(
    ("status", "synced"),
    [
        ("Active", True),
        ("Periodic", True),
        ("Vacated", False),
        ("Proposed", False),
        ("Cancelled", False),
    ],
)
def test_occupier_needs_a_live_tenancy(status: str, synced: bool) -> None:
    made = plan(occupier_world(tenancy("T1", "P1", "C1", status=status)))
    assert ("C1" in ops(made, "occupier", "create")) is synced
    if not synced:
        assert skipped(made, "occupier")["C1"] == ("T-01",)


@pytest.mark.req("T-01")
def test_occupier_needs_the_tenancy_at_a_property_that_syncs() -> None:
    made = plan(occupier_world(tenancy("T1", "P2", "C1")))
    assert skipped(made, "occupier")["C1"] == ("T-01",)
    made = plan(occupier_world(tenancy("T1", "P2", "C1"), tenancy("T2", "P1", "C1")))
    assert ops(made, "occupier", "create")["C1"].fields["ExternalPropertyRef"] == "P1"


@pytest.mark.req("T-01")
def test_occupier_is_joined_to_tenancies_through_their_tenant_ids() -> None:
    # The tenancy lists tenant ids (places on it); tenantIds says which contact holds each.
    held = tenancy("T1", "P1", "C1")
    records = occupier_world(held)
    records["alto.tenancy_tenants"] = [
        {**place, "contactId": "C2"} for place in records["alto.tenancy_tenants"]
    ]
    assert skipped(plan(records), "occupier")["C1"] == ("T-01",)


@pytest.mark.req("T-01")
def test_a_contact_without_the_tenant_persona_is_no_occupier() -> None:
    made = plan(occupier_world(tenancy("T1", "P1", "C1"), contacts=[contact("C1", "Vendor")]))
    assert skipped(made, "occupier")["C1"] == ("T-01",)


@pytest.mark.req("T-02")
@pytest.mark.parametrize(
    "flag", [{"isActive": False}, {"archived": True}, {"detailed": False}], ids=str
)
def test_occupier_must_be_active(flag: dict[str, Any]) -> None:
    # isActive on the listed contact, archived on its full record (GET /contacts?id=); a
    # contact whose full record was not read is not known to be active.
    made = plan(occupier_world(tenancy("T1", "P1", "C1"), contacts=[contact("C1", **flag)]))
    assert skipped(made, "occupier")["C1"] == ("T-02",)


@pytest.mark.req("T-03", "G-02")
def test_occupier_fields() -> None:
    made = plan(occupier_world(tenancy("T1", "P1", "C1")))
    assert ops(made, "occupier", "create")["C1"].fields == {
        "ExternalRef": "C1",
        "Title": "Ms",
        "FirstName": "FC1",
        "Surname": "SC1",
        "CompanyName": None,
        "EmailAddress": "c1@example.com",
        "ContactNumber": "07700 900001",
        "ContactNumberAlt": "0113 496 0001",
        "Address": {
            "AddressLine1": "3 Park Lane",
            "AddressLine2": None,
            "Town": "Leeds",
            "County": None,
            "PostCode": "LS1 2AB",
            "Country": "GB",
        },
        "ExternalPropertyRef": "P1",
    }


IN_FIXFLO = {"id": 9, "ExternalRef": "C1", "EmailAddress": "c1@example.com", "IsDeleted": False}


@pytest.mark.req("T-04")
def test_occupier_archived_in_alto_is_archived_in_fixflo() -> None:
    made = plan(
        occupier_world(
            tenancy("T1", "P1", "C1"), contacts=[contact("C1", archived=True)], fixflo=[IN_FIXFLO]
        )
    )
    archive = ops(made, "occupier", "archive")["C1"]
    assert (archive.target_id, archive.fields) == (9, {"IsDeleted": True})
    assert "T-04" in {item.rule for item in archive.because}


@pytest.mark.req("T-05")
def test_occupier_whose_tenancy_becomes_inactive_is_archived() -> None:
    made = plan(occupier_world(tenancy("T1", "P1", "C1", status="Vacated"), fixflo=[IN_FIXFLO]))
    archive = ops(made, "occupier", "archive")["C1"]
    assert archive.because[0].rule == "T-05"


@pytest.mark.req("T-05")
def test_an_occupier_already_archived_is_not_archived_again() -> None:
    made = plan(
        occupier_world(
            tenancy("T1", "P1", "C1", status="Vacated"), fixflo=[{**IN_FIXFLO, "IsDeleted": True}]
        )
    )
    assert not ops(made, "occupier")
    assert not [m for m in made.manual if m.kind == "occupier"]


LANDLORDS = [contact("L1", "Landlord"), contact("L2", None, potentialLandlord=True)]


@pytest.mark.req("L-01")
def test_client_landlords_sync_potential_landlords_do_not() -> None:
    made = plan(world(alto_contacts=LANDLORDS))
    assert set(ops(made, "landlord", "create")) == {"L1"}
    assert skipped(made, "landlord")["L2"] == ("L-01",)


@pytest.mark.req("L-01")
@pytest.mark.parametrize(
    ("category", "persona"), [("Supplier", "Landlord"), ("PreviousClient", "Landlord")]
)
def test_a_landlord_is_a_client(category: str, persona: str) -> None:
    made = plan(world(alto_contacts=[contact("L1", persona, category=category)]))
    assert skipped(made, "landlord")["L1"] == ("L-01",)


@pytest.mark.req("L-02")
def test_landlord_is_not_archived_when_their_property_stops_syncing() -> None:
    records = world(
        alto_inventory=[prop("P1", recordType="Sale")],
        alto_contacts=LANDLORDS[:1],
        fixflo_landlords=[
            {"id": "4", "ExternalRef": "L1", "IsDeleted": False, "EmailAddress": "l1@example.com"}
        ],
    )
    made = plan(records)
    assert not ops(made, "landlord", "archive")
    assert "L1" not in skipped(made, "landlord")


@pytest.mark.req("L-03")
@pytest.mark.parametrize("flag", [{"isActive": False}, {"archived": True}], ids=str)
def test_landlord_archived_in_alto_is_archived_in_fixflo(flag: dict[str, Any]) -> None:
    records = world(
        alto_contacts=[contact("L1", "Landlord", **flag)],
        fixflo_landlords=[{"id": "4", "ExternalRef": "L1", "IsDeleted": False}],
    )
    archive = ops(plan(records), "landlord", "archive")["L1"]
    assert archive.fields == {"IsDeleted": True}
    assert archive.because[0].rule == "L-03"


@pytest.mark.req("L-04", "G-02")
def test_landlord_fields_and_link_to_their_property() -> None:
    made = plan(
        world(
            alto_inventory=[prop("P1"), prop("P2")],
            alto_contacts=LANDLORDS[:1],
            alto_owners=[owner("P1", "L1"), owner("P2", "L1", owner_type="Vendor")],
        )
    )
    fields = ops(made, "landlord", "create")["L1"].fields
    assert (
        fields["ExternalRef"],
        fields["FirstName"],
        fields["Surname"],
        fields["EmailAddress"],
        fields["ContactNumber"],
        fields["Address"]["PostCode"],
    ) == ("L1", "FL1", "SL1", "l1@example.com", "07700 900001", "LS1 2AB")
    assert "CompanyName" in fields
    (link,) = [op for op in made.operations if op.op == "link"]
    assert link.fields == {
        "ExternalLandlordRef": "L1",
        "ExternalPropertyRef": "P1",
        "IsPrimaryLandlord": True,
    }


@pytest.mark.req("C-01")
@pytest.mark.parametrize("active", [False, None], ids=["inactive", "no-supplier-contact"])
def test_contractor_must_be_active(active: bool | None) -> None:
    # Alto's Supplier has no active flag: the Supplier contact of the same id says
    # (gap.supplier-active); a supplier with none is not synced and listed among the skips.
    made = plan(world(alto_suppliers=[supplier("S1", active=active)]))
    assert skipped(made, "contractor")["S1"] == ("C-01",)
    (gap,) = [gap for gap in DEFAULT.gaps if gap.id == "gap.supplier-active"]
    assert gap.uses == ("field", "alto.contacts.isActive")


@pytest.mark.req("C-01")
def test_a_client_contact_of_the_same_id_does_not_make_a_supplier_active() -> None:
    records = world(alto_suppliers=[supplier("S1", active=None)], alto_contacts=[contact("S1")])
    assert skipped(plan(records), "contractor")["S1"] == ("C-01",)


@pytest.mark.req("C-02")
@pytest.mark.parametrize(
    ("services", "synced"),
    [
        (["Plumbing"], True),
        (["Bulk LPG"], True),
        (["rent indemnity insurance"], True),
        (["Cleaning", "Electrician"], True),
        (["Cleaning"], False),
        (["Locksmith", "Photography"], False),
    ],
)
def test_contractor_trades(services: list[str], synced: bool) -> None:
    made = plan(world(alto_suppliers=[supplier("S1", *services)]))
    assert ("S1" in ops(made, "contractor", "create")) is synced
    if not synced:
        assert skipped(made, "contractor")["S1"] == ("C-02",)


@pytest.mark.req("C-03", "G-02")
def test_contractor_fields() -> None:
    fields = ops(plan(world(alto_suppliers=[supplier("S1")])), "contractor", "create")["S1"].fields
    assert fields == {
        "ExternalRef": "S1",
        "Title": "Mr",
        "FirstName": "FS1",
        "Surname": "SS1",
        "CompanyName": "S1 Ltd",
        "EmailAddress": "s1@trades.example",
        "ContactNumber": "0113 496 0999",
        "ContactNumberAlt": None,
    }


@pytest.mark.req("C-04")
@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"active": False}, "C-01"),
        ({"providedServices": ["Cleaning"]}, "C-02"),
        ({"active": None}, "C-01"),
    ],
)
def test_contractor_archived_when_it_stops_meeting_the_criteria(
    change: dict[str, Any], rule: str
) -> None:
    records = world(
        alto_suppliers=[supplier("S1", **change)],
        fixflo_contractors=[{"Id": "3", "ExternalRef": "S1", "IsDeleted": False}],
    )
    archive = ops(plan(records), "contractor", "archive")["S1"]
    assert archive.because[0].rule == "C-04"
    assert rule in {item.rule for item in archive.because}


@pytest.mark.req("G-03")
def test_people_without_an_email_are_reported_never_dropped() -> None:
    records = world(
        alto_inventory=[prop("P1")],
        alto_tenancies=[tenancy("T1", "P1", "C1")],
        alto_contacts=[contact("C1", email=None), contact("L1", "Landlord", email=None)],
        alto_suppliers=[supplier("S1", people=[{"forename": "FS1", "emailAddresses": []}])],
    )
    made = plan(records)
    assert not [op for op in made.operations if op.op == "create" and op.kind != "property"]
    assert skipped(made, "occupier")["C1"] == ("G-03.occupier",)
    assert skipped(made, "landlord")["L1"] == ("G-03.landlord",)
    assert skipped(made, "contractor")["S1"] == ("G-03.contractor",)
    (skip,) = [s for s in made.skips if s.kind == "occupier" and s.source_id == "C1"]
    assert str(skip.because[-1]) == (
        "G-03.occupier: details = ['C1'], "
        "not any related matching: people[0].emailAddresses[0].address present"
    )


@pytest.mark.req("G-04")
def test_person_with_the_same_email_is_updated_in_place() -> None:
    hand_made = {
        "id": 50,
        "ExternalRef": None,
        "EmailAddress": "C1@Example.com",
        "FirstName": "Old",
        "IsDeleted": False,
    }
    made = plan(occupier_world(tenancy("T1", "P1", "C1"), fixflo=[hand_made]))
    assert not ops(made, "occupier", "create")
    update = ops(made, "occupier", "update")["C1"]
    assert update.target_id == 50
    assert update.fields["ExternalRef"] == "C1"
    (merge,) = made.merges
    assert merge.rule == "G-04.email-occupier"


@pytest.mark.req("G-04")
def test_person_bearing_the_alto_reference_is_updated_not_duplicated() -> None:
    made = plan(
        occupier_world(
            tenancy("T1", "P1", "C1"), fixflo=[{**IN_FIXFLO, "EmailAddress": "changed@example.com"}]
        )
    )
    assert set(ops(made, "occupier")) == {"C1"}
    assert ops(made, "occupier", "update")["C1"].fields["EmailAddress"] == "c1@example.com"


@pytest.mark.req("G-04")
def test_person_matching_nothing_is_listed_for_manual_archiving() -> None:
    stranger = {
        "id": 77,
        "ExternalRef": None,
        "EmailAddress": "who@example.com",
        "IsDeleted": False,
    }
    made = plan(occupier_world(tenancy("T1", "P1", "C1"), fixflo=[stranger]))
    assert not ops(made, "occupier", "archive")
    (manual,) = [m for m in made.manual if m.kind == "occupier"]
    assert (manual.action, manual.target_id, manual.rule) == (
        "archive_by_hand",
        77,
        "G-04.unmatched-occupier",
    )


@pytest.mark.req("G-06")
def test_no_welcome_email_is_ever_sent() -> None:
    # Fixflo's contract has no welcome-email switch: nothing is sent, and the gap says so.
    records = world(
        alto_inventory=[prop("P1")],
        alto_tenancies=[tenancy("T1", "P1", "C1")],
        alto_contacts=[contact("C1"), contact("L1", "Landlord")],
        alto_suppliers=[supplier("S1")],
    )
    created = [op for op in plan(records).operations if op.op == "create" and op.kind != "property"]
    assert {op.kind for op in created} == {"occupier", "landlord", "contractor"}
    for op in created:
        assert set(op.fields) <= set(DEFAULT.targets[op.target].fields) | {"Address"}
        assert not any("welcome" in name.lower() for name in op.fields)
    (gap,) = [gap for gap in DEFAULT.gaps if "G-06" in gap.rules]
    assert gap.uses == ("none", "")


@pytest.mark.req("G-01")
def test_a_record_added_in_alto_appears_in_fixflo_after_the_next_run() -> None:
    records = world(alto_inventory=[prop("P1")], fixflo_properties=[])
    first = applied(plan(records), records)
    records["alto.inventory"].append(
        prop(
            "P9",
            address={"nameNo": "9", "street": "Low Road", "town": "Leeds", "postcode": "LS2 9ZZ"},
        )
    )
    second = plan(first)
    assert set(ops(second, "property")) == {"P9"}
    after = applied(second, first)
    assert {row["ExternalPropertyRef"] for row in after["fixflo.properties"]} == {"P1", "P9"}
    assert not plan(after).has_changes
