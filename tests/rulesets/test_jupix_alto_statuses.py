"""J-01, J-04, J-05 and J-17 in general: every property status, both paths to an active
tenancy, every applicant profile of a contact, and the housekeeping they imply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.jupix.records import export_records
from adapters.jupix.spec import CRM_STATUSES
from engine import load_ruleset
from engine.migration import Migration, migrate
from tests.rulesets.jupix import (
    AS_OF,
    RULESET_PATH,
    by_id,
    differences,
    outcome,
    ruleset,
    run,
    write_export,
)

pytestmark = pytest.mark.filterwarnings("error")

REMARKETED = {"Instructed - On Market", "Under Offer"}  # the default remarket_statuses
EXPECTS_A_TENANT = {"Let", "Let Agreed"}
FULL_ADDRESS = {
    "addressName": "Rose Cottage",
    "addressNumber": "12",
    "addressStreet": "Mill Lane",
    "address2": "Clifton",
    "address3": "Bristol",
    "address4": "Avon",
    "addressPostcode": "BS8 1AA",
}
TENANT = [{"contactID": "C1"}]


def a_property(status: str, **extra: Any) -> dict[str, Any]:
    return {"propertyID": "P1", "crmStatus": status, "availability": 2, **FULL_ADDRESS, **extra}


def tenancy(status: str = "Active", **extra: Any) -> dict[str, Any]:
    return {
        "tenancyID": "T1",
        "propertyID": "P1",
        "tenantContactIDs": ["C1"],
        "status": status,
        **extra,
    }


def listed(result: Migration) -> dict[str, dict[str, Any]]:
    return {item["entity"]: item for item in [*result.manual, *result.checks]}


@pytest.mark.req("J-05")
@pytest.mark.parametrize("archived", [False, True], ids=["live", "archived"])
@pytest.mark.parametrize("status", CRM_STATUSES)
def test_any_status_with_an_active_tenancy_migrates_as_let(
    tmp_path: Path, status: str, archived: bool
) -> None:
    result = run(
        tmp_path,
        properties=[a_property(status, archived=archived)],
        contacts=TENANT,
        tenancies=[tenancy()],
    )
    assert by_id(result, "alto.inventory")["P1"]["inventoryStatus"] == "Let"
    restatused = archived or status != "Let"
    assert differences(result, "J-05") == ({"P1": "changed"} if restatused else {})
    manual = listed(result)
    if status in REMARKETED and not archived:
        assert set(manual) == {"remarket"}
    elif archived or status not in EXPECTS_A_TENANT:
        assert set(manual) == {"status_check"}
        item = manual["status_check"]
        assert item["rule"] == "J-05.check"
        assert item["address"] == "Rose Cottage, 12 Mill Lane, Clifton, Bristol, BS8 1AA"
        expected = f"Archived in Jupix (status {status})" if archived else f"{status} in Jupix"
        assert item["detail"] == (
            f"{expected}, migrated as Let because tenancy T1 is Active; "
            "if the tenancy has ended, end it in Alto and set the property's status"
        )
    else:
        assert manual == {}


@pytest.mark.req("J-05")
@pytest.mark.parametrize(
    ("status", "let"),
    [
        ("Active", True),
        ("Active - Periodic", True),
        ("Proposed", True),
        ("Moved Out", False),
        ("Cancelled", False),
        ("Renewed", False),
    ],
)
def test_only_a_tenancy_that_is_active_in_alto_makes_the_property_let(
    tmp_path: Path, status: str, let: bool
) -> None:
    result = run(
        tmp_path,
        properties=[a_property("Instructed - On Market")],
        contacts=TENANT,
        tenancies=[tenancy(status, startDate="2025-07-01", endDate="2026-06-30")],
    )
    inventory = by_id(result, "alto.inventory")["P1"]["inventoryStatus"]
    assert inventory == ("Let" if let else "Available")
    assert [item["rule"] for item in result.manual] == (["J-05.remarket"] if let else [])


@pytest.mark.req("J-04", "J-05")
def test_a_proposed_row_and_its_property_agree(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        properties=[a_property("Instructed - On Market")],
        contacts=[{"contactID": "C1"}, {"contactID": "C2"}],
        tenancies=[tenancy("Proposed", startDate="2025-07-01", endDate="2026-06-30")],
        tenancy_applications=[
            {
                "applicationID": "TA1",
                "propertyID": "P1",
                "applicantContactID": "C1",
                "status": "Proposed Tenancy",
            }
        ],
    )
    tenancies = by_id(result, "alto.tenancies")
    assert set(tenancies) == {"T1"}  # the application does not make a second tenancy
    assert tenancies["T1"]["status"] == "Active"
    assert by_id(result, "alto.inventory")["P1"]["inventoryStatus"] == "Let"
    assert differences(result, "J-04.no-proposed-row") == {"TA1": "not migrated"}
    assert differences(result, "J-05") == {"P1": "changed"}


@pytest.mark.req("J-04", "J-05")
@pytest.mark.parametrize(
    ("stage", "let"),
    [("Proposed Tenancy", True), ("Referencing", True), ("Offer Accepted", False)],
)
def test_an_application_that_becomes_an_active_tenancy_makes_its_property_let(
    tmp_path: Path, stage: str, let: bool
) -> None:
    result = run(
        tmp_path,
        properties=[a_property("Instructed - On Market")],
        contacts=[{"contactID": "C2"}],
        tenancy_applications=[
            {
                "applicationID": "TA1",
                "propertyID": "P1",
                "applicantContactID": "C2",
                "status": stage,
            }
        ],
    )
    inventory = by_id(result, "alto.inventory")["P1"]["inventoryStatus"]
    assert inventory == ("Let" if let else "Available")
    tenancies = by_id(result, "alto.tenancies")
    assert set(tenancies) == ({"application/TA1"} if let else set())
    if let:
        assert tenancies["application/TA1"]["status"] == "Active"
        assert result.manual[0]["detail"] == (
            "Instructed - On Market in Jupix, migrated as Let because application TA1 at "
            f"{stage} becomes an active tenancy; remarket it in Alto when it is to be let again"
        )


@pytest.mark.req("J-04", "J-05")
def test_without_proposed_among_the_active_statuses_a_proposed_row_leaves_its_property(
    tmp_path: Path,
) -> None:
    export = write_export(
        tmp_path,
        properties=[a_property("Let Agreed")],
        contacts=TENANT,
        tenancies=[tenancy("Proposed", startDate="2025-07-01", endDate="2026-06-30")],
    )
    compiled = load_ruleset(
        RULESET_PATH, settings={"active_tenancy_statuses": ["Active", "Active - Periodic"]}
    )
    result = migrate(compiled, export_records(export, compiled.sources), as_of=AS_OF)
    assert by_id(result, "alto.tenancies")["T1"]["status"] == "Proposed"
    assert by_id(result, "alto.inventory")["P1"]["inventoryStatus"] == "LetAgreed"
    assert differences(result, "J-05") == {}


@pytest.mark.req("J-01")
def test_a_contact_is_an_applicant_only_with_a_searching_profile(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        properties=[{"propertyID": "P1", "ownerContactIDs": ["C4"]}],
        contacts=[
            {"contactID": "C1"},  # every profile expired or archived
            {"contactID": "C2"},  # one expired, one live
            {"contactID": "C3"},  # a tenant: the applicant role, no profile
            {"contactID": "C4", "roles": ["landlord", "applicant"]},  # expired, but a landlord
        ],
        applicants=[
            {"applicantID": "A1", "contactID": "C1", "profileExpiryDate": "2025-03-01"},
            {"applicantID": "A2", "contactID": "C1", "archived": True},
            {"applicantID": "A3", "contactID": "C2", "profileExpiryDate": "2024-01-01"},
            {"applicantID": "A4", "contactID": "C2", "profileExpiryDate": "2026-01-01"},
            {"applicantID": "A5", "contactID": "C4", "profileExpiryDate": "2024-01-01"},
        ],
    )
    contacts = by_id(result, "alto.contacts")
    types = {key: (item["contactType"], item["clientType"]) for key, item in contacts.items()}
    assert types == {
        "C1": ("Client", None),
        "C2": ("Client", "Applicant"),
        "C3": ("Client", None),
        "C4": ("Client", "Landlord"),
    }
    assert differences(result, "J-01.contact") == {"C1": "changed"}
    assert outcome(result, "jupix.contacts", "C1").outcome == "migrated"
    assert "J-01.contact" in outcome(result, "jupix.contacts", "C1").rules


@pytest.mark.req("J-17", "J-03")
def test_housekeeping_names_tenancies_not_at_the_right_status(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        check=True,
        properties=[
            a_property("Let"),
            {"propertyID": "P2", "crmStatus": "Withdrawn", "availability": 6},
        ],
        contacts=TENANT,
        tenancies=[
            tenancy("Renewed", startDate="2023-07-01", endDate="2024-06-30"),
            tenancy(
                "Renewed",
                tenancyID="T2",
                startDate="2022-07-01",
                endDate="2023-06-30",
            ),
            tenancy(
                "Active",
                tenancyID="T3",
                renewedFromTenancyID="T2",
                startDate="2023-07-01",
                endDate="2026-06-30",
            ),
            tenancy("Proposed", tenancyID="T4", startDate="2025-05-01", endDate="2026-04-30"),
            tenancy("Active - Periodic", tenancyID="T5", propertyID="P2", endDate=None),
        ],
    )
    found = {(item["rule"], item["recordId"]) for item in result.checks}
    assert found == {
        ("J-17.renewed-without-renewal", "T1"),  # T2 is renewed by T3, T1 by nothing
        ("J-17.proposed-started", "T4"),
        ("J-17.tenancy-status", "P2"),  # Withdrawn, but T5 is Active - Periodic
    }
    by_rule = {item["rule"]: item for item in result.checks}
    assert by_rule["J-17.renewed-without-renewal"]["address"] == (
        "Rose Cottage, 12 Mill Lane, Clifton, Bristol, BS8 1AA"
    )
    assert by_rule["J-17.tenancy-status"]["detail"] == (
        "Withdrawn in Jupix, but tenancy T5 is Active - Periodic; it would migrate as Let"
    )


def test_every_listed_record_names_its_listing_rule_in_plain_words(tmp_path: Path) -> None:
    sale = {"department": "Sales", "availability": 4, "crmStatus": "Sold STC"}
    tables: dict[str, list[dict[str, Any]]] = {
        "properties": [
            a_property("Withdrawn", archived=True, images=["https://media.example.com/1.jpg"]),
            {"propertyID": "P2", **sale},
        ],
        "contacts": [{"contactID": "C1", "forename": "Ann", "surname": "Lee"}],
        "applicants": [
            {
                "applicantID": "A1",
                "contactID": "C1",
                "forename": "Ann",
                "surname": "Lee",
                "profileExpiryDate": "2025-01-01",
            }
        ],
        "tenancies": [tenancy(endDate="2025-01-31")],
        "sales": [{"saleID": "S1", "propertyID": "P2", "buyerContactID": "C1"}],
        "sale_chain_notes": [{"noteID": "SC1", "saleID": "S1"}],
        "progression_milestones": [
            {"milestoneID": "M1", "saleID": "S1", "completedDate": "2025-05-02"}
        ],
        "todo_notes": [{"noteID": "TD1", "dueDate": "2025-07-01"}],
    }
    rules = ruleset().rules
    records = export_records(write_export(tmp_path, **tables), ruleset().sources)
    manual = migrate(ruleset(), records, as_of=AS_OF).manual
    records = export_records(write_export(tmp_path, **tables), ruleset().sources)
    items = [*manual, *migrate(ruleset(), records, as_of=AS_OF, check=True).checks]
    assert {item["entity"] for item in items} == {
        "status_check",
        "todo_note",
        "sale_chain_note",
        "milestone",
        "expired_applicant",
        "stale_tenancy",
        "tenancy_status_check",
        "archived_media",
    }
    for item in items:
        assert item["rule"] in rules, item
        assert rules[item["rule"]].entity == item["entity"]
        words = item["detail"]
        assert not {"=", "[", "None", "True", "False"} & set(words.replace(",", " ").split()), item
        assert "=" not in words, item
        assert "['" not in words, item
        if "propertyId" in item:
            assert item["address"], item
    details = {item["entity"]: item["detail"] for item in items}
    assert details["expired_applicant"] == (
        "The profile expired on 2025-01-01: Ann Lee will migrate as a contact, "
        "not as a searching applicant"
    )
    assert details["milestone"] == "Searches Ordered: completed 2025-05-02"
    assert details["todo_note"] == "Due 2025-07-01: Ring the landlord"
    assert details["stale_tenancy"] == "Tenancy T1 is Active, but its term ended on 2025-01-31"
