"""J-01 .. J-17 through the jupix-alto ruleset: small exports in, Alto records and reports out."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_ruleset
from tests.rulesets.jupix import AS_OF, RULESET_PATH, by_id, differences, outcome, run

pytestmark = pytest.mark.filterwarnings("error")


def landlord(contact_id: str = "C1", **extra: object) -> dict[str, object]:
    return {"contactID": contact_id, "surname": "Owner", "roles": ["landlord"], **extra}


def test_the_ruleset_validates_and_names_every_rule_by_requirement() -> None:
    ruleset = load_ruleset(RULESET_PATH)
    assert ruleset.name == "jupix-alto"
    assert {
        "J-01",
        "J-03.renewed",
        "J-04.tenancy",
        "J-05.remarket",
        "J-07",
        "J-10",
        "J-13",
        "J-14.chain-notes",
        "J-14.milestones",
    } <= set(ruleset.rules)
    assert ruleset.settings["note_restriction_cutoff"] == "2019-01-01"


@pytest.mark.req("J-01")
def test_only_unexpired_applicants_migrate_as_searching(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        contacts=[{"contactID": f"C{n}"} for n in (1, 2, 3)],
        applicants=[
            {"applicantID": "A1", "contactID": "C1", "profileExpiryDate": "2025-12-31"},
            {"applicantID": "A2", "contactID": "C2"},
            {"applicantID": "A3", "contactID": "C3", "profileExpiryDate": "2025-06-01"},
        ],
    )
    applicants = by_id(result, "alto.applicants")
    assert set(applicants) == {"A1", "A2"}
    assert applicants["A1"]["status"] == "Searching"
    assert outcome(result, "jupix.applicants", "A3").outcome == "not migrated"
    assert differences(result, "J-01") == {"A3": "not migrated"}
    assert "C3" in by_id(result, "alto.contacts")  # the contact itself still migrates
    # the reason says every alternative of the rule that failed, in words
    (why,) = [d.words for d in result.reconciliation.differences if d.rule == "J-01"]
    assert why == (
        "profile expiry date is 2025-06-01, not empty; "
        "profile expiry date 2025-06-01 is not after the migration date (2025-06-02)"
    )


@pytest.mark.req("J-02")
def test_matching_applicants_merge_into_the_first(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        contacts=[{"contactID": f"C{n}"} for n in (1, 2, 3, 4)],
        applicants=[
            {
                "applicantID": "A1",
                "contactID": "C1",
                "email": "ann@example.com",
                "surname": "Lee",
                "phone": "07700 900001",
            },
            {"applicantID": "A2", "contactID": "C2", "email": " ANN@Example.com", "bedrooms": 3},
            {"applicantID": "A3", "contactID": "C3", "surname": "lee", "phone": "(07700) 900-001"},
            {"applicantID": "A4", "contactID": "C4", "surname": "Lee", "phone": "07700 900002"},
        ],
    )
    applicants = by_id(result, "alto.applicants")
    assert set(applicants) == {"A1", "A4"}
    assert applicants["A1"]["minBedrooms"] == 3  # filled from the merged record
    assert differences(result, "J-02") == {"A2": "merged", "A3": "merged"}
    assert outcome(result, "jupix.applicants", "A3").outcome == "merged"


@pytest.mark.req("J-03")
def test_tenancy_statuses_and_renewals(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        properties=[{"propertyID": "P1"}],
        contacts=[{"contactID": "C1"}],
        tenancies=[
            {
                "tenancyID": "T1",
                "propertyID": "P1",
                "tenantContactIDs": ["C1"],
                "status": "Renewed",
                "startDate": "2023-07-01",
                "endDate": "2024-06-30",
            },
            {
                "tenancyID": "T2",
                "propertyID": "P1",
                "tenantContactIDs": ["C1"],
                "status": "Active",
                "renewedFromTenancyID": "T1",
                "startDate": "2024-07-01",
                "endDate": "2025-06-30",
            },
            {
                "tenancyID": "T3",
                "propertyID": "P1",
                "tenantContactIDs": ["C1"],
                "status": "Moved Out",
                "startDate": "2020-01-01",
                "endDate": "2020-12-31",
            },
            {
                "tenancyID": "T4",
                "propertyID": "P1",
                "tenantContactIDs": ["C1"],
                "status": "Active - Periodic",
                "endDate": None,
            },
        ],
    )
    tenancies = by_id(result, "alto.tenancies")
    assert set(tenancies) == {"T2", "T3", "T4"}
    assert (tenancies["T2"]["status"], tenancies["T2"]["startDate"]) == ("Active", "2024-07-01")
    assert tenancies["T2"]["renewedFromTenancyId"] == "T1"
    assert tenancies["T3"]["status"] == "Vacated"
    assert tenancies["T4"]["status"] == "Periodic"
    assert differences(result, "J-03.renewed") == {"T1": "not migrated"}


@pytest.mark.req("J-04")
def test_offer_pending_applications_become_a_note_and_an_offer(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        properties=[{"propertyID": "P1"}],
        contacts=[{"contactID": "C1"}, {"contactID": "C2"}],
        tenancy_applications=[
            {
                "applicationID": "TA1",
                "propertyID": "P1",
                "applicantContactID": "C1",
                "status": "Offer Pending",
                "offerAmount": 900.0,
            },
            {
                "applicationID": "TA2",
                "propertyID": "P1",
                "applicantContactID": "C2",
                "status": "Proposed Tenancy",
                "offerAmount": 950.0,
            },
            {
                "applicationID": "TA3",
                "propertyID": "P1",
                "applicantContactID": "C2",
                "status": "Rejected",
            },
        ],
    )
    note = by_id(result, "alto.timeline")["application-note/TA1"]
    assert (note["linkedType"], note["linkedId"], note["category"]) == (
        "property",
        "P1",
        "File note",
    )
    assert by_id(result, "alto.offers")["application/TA1"]["status"] == "Pending"
    tenancies = by_id(result, "alto.tenancies")
    assert set(tenancies) == {"application/TA2"}
    assert tenancies["application/TA2"]["status"] == "Active"
    assert outcome(result, "jupix.tenancy_applications", "TA3").outcome == "not migrated"


@pytest.mark.req("J-05")
def test_on_market_with_an_active_tenancy_migrates_as_let_and_is_remarketed(
    tmp_path: Path,
) -> None:
    result = run(
        tmp_path,
        properties=[
            {"propertyID": "P1", "crmStatus": "Instructed - On Market", "availability": 2},
            {"propertyID": "P2", "crmStatus": "Instructed - On Market", "availability": 2},
        ],
        contacts=[{"contactID": "C1"}],
        tenancies=[
            {"tenancyID": "T1", "propertyID": "P1", "tenantContactIDs": ["C1"]},
            {
                "tenancyID": "T2",
                "propertyID": "P2",
                "tenantContactIDs": ["C1"],
                "status": "Moved Out",
            },
        ],
    )
    inventory = by_id(result, "alto.inventory")
    assert inventory["P1"]["inventoryStatus"] == "Let"
    assert inventory["P2"]["inventoryStatus"] == "Available"
    assert differences(result, "J-05") == {"P1": "changed"}
    remarket = [(item["rule"], item["recordId"], item["address"]) for item in result.manual]
    assert remarket == [("J-05.remarket", "P1", "Mill Lane")]
    assert result.manual[0]["detail"] == (
        "Instructed - On Market in Jupix, migrated as Let because tenancy T1 is Active; "
        "remarket it in Alto when it is to be let again"
    )


@pytest.mark.req("J-06")
def test_sold_stc_without_live_offers_or_sale_migrates_as_archived(tmp_path: Path) -> None:
    sales = {"department": "Sales", "availability": 4}
    result = run(
        tmp_path,
        properties=[
            {"propertyID": "P1", "crmStatus": "Sold STC", **sales},
            {"propertyID": "P2", "crmStatus": "Under Offer", **sales},
            {"propertyID": "P3", "crmStatus": "Exchanged", **sales},
            {"propertyID": "P4", "crmStatus": "Under Offer", **sales},
        ],
        contacts=[{"contactID": "C1"}],
        offers=[
            {"offerID": "O1", "propertyID": "P1", "applicantContactID": "C1", "status": "Rejected"},
            {"offerID": "O2", "propertyID": "P2", "applicantContactID": "C1", "status": "Pending"},
        ],
        sales=[{"saleID": "S1", "propertyID": "P3", "buyerContactID": "C1"}],
    )
    statuses = {
        key: item["inventoryStatus"] for key, item in by_id(result, "alto.inventory").items()
    }
    assert statuses == {"P1": "Archived", "P2": "UnderOffer", "P3": "Exchanged", "P4": "Archived"}
    assert differences(result, "J-06") == {"P1": "changed", "P4": "changed"}


@pytest.mark.req("J-07")
def test_media_migrate_only_for_active_properties(tmp_path: Path) -> None:
    media = {
        "images": ["https://media.example.com/1.jpg"],
        "brochures": ["https://media.example.com/1.pdf"],
    }
    result = run(
        tmp_path,
        properties=[
            {"propertyID": "P1", **media},
            {
                "propertyID": "P2",
                "archived": True,
                "crmStatus": "Archived",
                "availability": 6,
                **media,
            },
        ],
    )
    manifests = by_id(result, "alto.media")
    assert set(manifests) == {"media/P1"}
    assert manifests["media/P1"]["photos"] == ["https://media.example.com/1.jpg"]
    assert differences(result, "J-07") == {"P2": "not migrated"}
    assert outcome(result, "jupix.properties", "P2").outcome == "migrated"  # the property does


@pytest.mark.req("J-08")
def test_old_property_notes_are_restricted_unless_priority(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        properties=[{"propertyID": "P1"}],
        property_notes=[
            {"noteID": "N1", "propertyID": "P1", "date": "2018-12-31"},
            {"noteID": "N2", "propertyID": "P1", "date": "2018-12-31", "priority": True},
            {"noteID": "N3", "propertyID": "P1", "date": "2019-01-01"},
        ],
    )
    notes = by_id(result, "alto.timeline")
    restricted = {key.split("/")[1]: note["restricted"] for key, note in notes.items()}
    assert restricted == {"N1": True, "N2": False, "N3": False}
    assert notes["property-note/N1"]["linkedId"] == "P1"
    assert differences(result, "J-08") == {"N1": "changed"}
    assert differences(result, "J-08.priority") == {"N2": "changed"}


@pytest.mark.req("J-08")
def test_the_note_cut_off_is_an_agency_setting(tmp_path: Path) -> None:
    from adapters.jupix.records import export_records
    from engine.migration import migrate
    from tests.rulesets.jupix import write_export

    export = write_export(
        tmp_path,
        properties=[{"propertyID": "P1"}],
        property_notes=[{"noteID": "N1", "propertyID": "P1", "date": "2020-06-01"}],
    )
    ruleset = load_ruleset(RULESET_PATH, settings={"note_restriction_cutoff": "2021-01-01"})
    result = migrate(ruleset, export_records(export, ruleset.sources), as_of=AS_OF)
    assert by_id(result, "alto.timeline")["property-note/N1"]["restricted"] is True


@pytest.mark.req("J-09")
def test_maintenance_notes_go_to_their_owners_timeline_dated_with_the_migration(
    tmp_path: Path,
) -> None:
    result = run(
        tmp_path,
        properties=[{"propertyID": "P1"}],
        contacts=[landlord()],
        maintenance_notes=[
            {"noteID": "M1", "ownerType": "property", "ownerID": "P1", "date": "2021-03-04"},
            {"noteID": "M2", "ownerType": "landlord", "ownerID": "C1", "date": "2022-05-06"},
        ],
    )
    notes = by_id(result, "alto.timeline")
    assert (
        notes["maintenance-note/M1"]["linkedType"],
        notes["maintenance-note/M1"]["linkedId"],
        notes["maintenance-note/M1"]["date"],
    ) == ("property", "P1", AS_OF.isoformat())
    assert (
        notes["maintenance-note/M2"]["linkedType"],
        notes["maintenance-note/M2"]["linkedId"],
        notes["maintenance-note/M2"]["date"],
    ) == ("contact", "C1", AS_OF.isoformat())
    assert notes["maintenance-note/M2"]["originalDate"] == "2022-05-06"


@pytest.mark.req("J-10")
def test_personal_to_do_notes_do_not_migrate(tmp_path: Path) -> None:
    result = run(tmp_path, todo_notes=[{"noteID": "TD1", "dueDate": "2025-07-01"}])
    assert not any(
        "TD1" in str(record) for records in result.records.values() for record in records
    )
    assert outcome(result, "jupix.todo_notes", "TD1").outcome == "manual"
    assert [(item["rule"], item["recordId"]) for item in result.manual] == [("J-10", "TD1")]


@pytest.mark.req("J-11")
def test_an_estate_agent_who_owns_a_property_is_a_client(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        properties=[{"propertyID": "P1", "ownerContactIDs": ["C1"]}],
        contacts=[
            {"contactID": "C1", "roles": ["estate agent"]},
            {"contactID": "C2", "roles": ["estate agent"]},
        ],
    )
    contacts = by_id(result, "alto.contacts")
    assert contacts["C1"]["contactType"] == "Client"
    assert contacts["C1"]["clientType"] == "Landlord"
    assert contacts["C2"]["contactType"] == "Other"
    assert differences(result, "J-11") == {"C1": "changed"}


@pytest.mark.req("J-12")
def test_suppliers_who_own_or_apply_are_clients(tmp_path: Path) -> None:
    supplier = ["third-party supplier"]
    result = run(
        tmp_path,
        properties=[
            {
                "propertyID": "P1",
                "department": "Sales",
                "availability": 2,
                "ownerContactIDs": ["C1"],
            }
        ],
        contacts=[
            {"contactID": "C1", "roles": supplier},
            {"contactID": "C2", "roles": [*supplier, "applicant"]},
            {"contactID": "C3", "roles": supplier},
            {"contactID": "C4", "roles": [*supplier, "applicant"]},
        ],
        applicants=[
            {"applicantID": "A2", "contactID": "C2"},
            {"applicantID": "A4", "contactID": "C4", "profileExpiryDate": "2024-01-01"},
        ],
    )
    contacts = by_id(result, "alto.contacts")
    assert (contacts["C1"]["contactType"], contacts["C1"]["clientType"]) == ("Client", "Vendor")
    assert (contacts["C2"]["contactType"], contacts["C2"]["clientType"]) == ("Client", "Applicant")
    assert contacts["C3"]["contactType"] == "Supplier"
    # J-12.applicant needs a searching profile: C4's expired, so C4 stays a supplier (J-01)
    assert (contacts["C4"]["contactType"], contacts["C4"]["clientType"]) == ("Supplier", None)
    assert differences(result, "J-12.owner") == {"C1": "changed"}
    assert differences(result, "J-12.applicant") == {"C2": "changed"}


@pytest.mark.req("J-13")
def test_tenancy_history_goes_to_the_property_timeline(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        properties=[{"propertyID": "P1"}],
        contacts=[{"contactID": "C1"}],
        tenancies=[
            {
                "tenancyID": "T1",
                "propertyID": "P1",
                "tenantContactIDs": ["C1"],
                "status": "Moved Out",
                "endDate": "2021-01-31",
                "startDate": "2020-02-01",
            }
        ],
    )
    entry = by_id(result, "alto.timeline")["tenancy-history/T1"]
    assert (entry["linkedType"], entry["linkedId"], entry["date"]) == (
        "property",
        "P1",
        "2021-01-31",
    )
    assert all(item.get("linkedType") != "tenancy" for item in result.records["alto.timeline"])


@pytest.mark.req("J-14")
def test_chain_notes_and_milestones_are_listed_for_manual_entry(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        properties=[
            {"propertyID": "P1", "department": "Sales", "availability": 4, "crmStatus": "Sold STC"}
        ],
        contacts=[{"contactID": "C1"}],
        sales=[{"saleID": "S1", "propertyID": "P1", "buyerContactID": "C1"}],
        sale_chain_notes=[{"noteID": "SC1", "saleID": "S1"}],
        progression_milestones=[{"milestoneID": "M1", "saleID": "S1"}],
    )
    listed = {
        (item["rule"], item["recordId"], item["propertyId"], item["saleId"], item["address"])
        for item in result.manual
    }
    assert listed == {
        ("J-14.chain-notes", "SC1", "P1", "S1", "Mill Lane"),
        ("J-14.milestones", "M1", "P1", "S1", "Mill Lane"),
    }
    details = {item["recordId"]: item["detail"] for item in result.manual}
    assert details == {
        "SC1": "Chain note of 2025-05-01 on sale S1: Chain note",
        "M1": "Searches Ordered: outstanding",
    }
    assert outcome(result, "jupix.sale_chain_notes", "SC1").outcome == "manual"
    assert "alto.sales" in result.records
    assert "SC1" not in str(result.records)


@pytest.mark.req("J-15")
def test_the_migration_reads_only_the_snapshot(tmp_path: Path) -> None:
    first = run(tmp_path / "a", properties=[{"propertyID": "P1"}])
    again = run(tmp_path / "b", properties=[{"propertyID": "P1"}])
    assert first.records == again.records  # nothing but the export (and as_of) goes in
    later = run(tmp_path / "c", properties=[{"propertyID": "P1"}, {"propertyID": "P2"}])
    assert set(by_id(later, "alto.inventory")) == {"P1", "P2"}
    assert set(by_id(first, "alto.inventory")) == {"P1"}  # P2 came after the snapshot


@pytest.mark.req("J-16")
def test_the_reconciliation_explains_every_count_difference(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        contacts=[{"contactID": "C1"}, {"contactID": "C2"}],
        applicants=[
            {"applicantID": "A1", "contactID": "C1", "email": "x@example.com"},
            {"applicantID": "A2", "contactID": "C2", "email": "X@example.com"},
            {"applicantID": "A3", "contactID": "C2", "profileExpiryDate": "2020-01-01"},
        ],
    )
    report = result.reconciliation
    count = next(item for item in report.entities if item.entity == "applicant")
    assert (count.source_count, count.target_count) == (3, 1)
    explained = [item for item in report.differences if item.entity == "applicant"]
    assert {(item.rule, item.record) for item in explained} == {("J-02", "A2"), ("J-01", "A3")}
    assert len(explained) == count.source_count - count.target_count
    markdown = report.to_markdown()
    assert "J-02" in markdown
    assert "`A2`" in markdown
    assert "merged into A1" in markdown
    assert report.to_json()["sources"]["jupix.applicants"]["merged"] == 1


@pytest.mark.req("J-17")
def test_housekeeping_lists_what_to_tidy_before_go_live(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        check=True,
        properties=[
            {
                "propertyID": "P1",
                "archived": True,
                "crmStatus": "Archived",
                "availability": 6,
                "images": ["https://media.example.com/1.jpg"],
            },
            {"propertyID": "P2", "archived": True, "crmStatus": "Archived", "availability": 6},
        ],
        contacts=[{"contactID": "C1"}],
        applicants=[
            {"applicantID": "A1", "contactID": "C1", "profileExpiryDate": "2025-01-01"},
            {"applicantID": "A2", "contactID": "C1"},
        ],
        tenancies=[
            {
                "tenancyID": "T1",
                "propertyID": "P1",
                "tenantContactIDs": ["C1"],
                "endDate": "2025-01-31",
            },
            {"tenancyID": "T2", "propertyID": "P1", "tenantContactIDs": ["C1"]},
        ],
    )
    found = {(item["entity"], item["recordId"]) for item in result.checks}
    assert found == {
        ("expired_applicant", "A1"),
        ("stale_tenancy", "T1"),
        ("archived_media", "P1"),
        ("tenancy_status_check", "P1"),  # archived, but T2 is Active
    }
    assert result.records == {}
    assert result.manual == []
