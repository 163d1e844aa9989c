"""The agency generator: determinism, a believable mix, valid records, Fixflo merge candidates."""

from __future__ import annotations

import itertools
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.errors import RecordError
from engine.snapshot import iter_records, read_header
from rulebridge.cli.generate import generate
from simulator.agency import MAX_SIZE, AgencyGenerator, write_agency

Record = dict[str, Any]
SYNCED_TRADES = {
    "Plumbing", "Window Cleaning", "Gardening", "Gas", "Electricity", "Oil", "Water", "Bulk LPG",
    "Carpentry", "Pest Control", "Building Maintenance", "Contents Insurance",
    "Building Insurance", "Public Liability Insurance", "Council", "Sewerage", "Board Contractor",
    "External Printer", "Builder", "Landlords Insurance", "Rent Indemnity Insurance", "Utility",
    "Electrician",
}  # fmt: skip


@dataclass
class Agency:
    inventory: list[Record]
    owners: list[Record]
    contacts: list[Record]
    all_contacts: list[Record]
    contact_details: list[Record]
    tenancies: list[Record]
    tenancy_tenants: list[Record]
    suppliers: list[Record]
    fixflo: dict[str, list[Record]]


@pytest.fixture(scope="module")
def agency() -> Agency:
    """A 2,000-property agency, held in memory for the statistical checks."""
    generator = AgencyGenerator(2000, seed=11)
    return Agency(
        inventory=list(generator.inventory()),
        owners=list(generator.owners()),
        contacts=list(generator.contacts()),
        all_contacts=list(generator.all_contacts()),
        contact_details=list(generator.contact_details()),
        tenancies=list(generator.tenancies()),
        tenancy_tenants=list(generator.tenancy_tenants()),
        suppliers=list(generator.suppliers()),
        fixflo={name: list(records) for name, records in generator.fixflo_collections().items()},
    )


def share(records: list[Record], predicate: Any) -> float:
    return sum(1 for record in records if predicate(record)) / len(records)


def line1(address: Record) -> str:
    """The first address line as the integration writes it."""
    parts = (address["subDwelling"], address["nameNo"], address["street"])
    return " ".join(part for part in parts if part)


def personas(contact: Record) -> set[str]:
    """A ContactListItem's personas (``contactType.persona``)."""
    return set(contact["contactType"]["persona"] or ())


def is_client(contact: Record, persona: str) -> bool:
    return contact["contactType"]["category"] == "Client" and persona in personas(contact)


def tenants_of(agency: Agency) -> dict[int, list[Record]]:
    """Each tenancy's tenantIds items, by tenancy id."""
    found: dict[int, list[Record]] = {}
    for item in agency.tenancy_tenants:
        found.setdefault(item["tenancyId"], []).append(item)
    return found


def digits(number: str | None) -> str:
    return "".join(ch for ch in number or "" if ch.isdigit())


# --- determinism and laziness ----------------------------------------------------------------


def test_the_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first = write_agency(tmp_path / "a", size=150, seed=4)
    again = write_agency(tmp_path / "b", size=150, seed=4)
    other = write_agency(tmp_path / "c", size=150, seed=5)
    for one, two, three in zip(first, again, other, strict=True):
        assert one.read_bytes() == two.read_bytes()
        assert one.read_bytes() != three.read_bytes()


def test_streams_are_lazy_even_for_the_largest_agency() -> None:
    generator = AgencyGenerator(MAX_SIZE, seed=1)
    collections = {**generator.alto_collections(), **generator.fixflo_collections()}
    for name, stream in collections.items():
        expected = 1 if name == "agency_settings" else 3  # one settings record per agency
        assert len(list(itertools.islice(stream, 3))) == expected


def test_memory_does_not_grow_with_the_number_of_records() -> None:
    def peak(size: int) -> int:
        generator = AgencyGenerator(size, seed=2)
        tracemalloc.start()
        for stream in generator.alto_collections().values():
            for _ in stream:
                pass
        result = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return result

    small, large = peak(100), peak(500)
    assert large < small * 2  # holding the records would make it about five times larger


@pytest.mark.parametrize("size", [0, MAX_SIZE + 1, True])
def test_sizes_out_of_range_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match="size must be a whole number from 1 to 2,000,000"):
        AgencyGenerator(size, seed=1)


# --- validity -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [10, 400])
def test_every_generated_record_matches_its_schema(tmp_path: Path, size: int) -> None:
    for path in write_agency(tmp_path, size=size, seed=size):
        header = read_header(path)
        for collection in header.collections:
            errors = [
                r
                for r in iter_records(path, collection, header=header)
                if isinstance(r, RecordError)
            ]
            assert errors == []


def test_references_between_collections_hold(agency: Agency) -> None:
    everyone = {contact["id"]: contact for contact in agency.all_contacts}
    listed = {contact["id"]: contact for contact in agency.contacts}
    properties = {record["inventoryId"] for record in agency.inventory}
    assert len(everyone) == len(agency.all_contacts)
    assert len(listed) == len(agency.contacts)
    for owner in agency.owners:
        assert owner["property"]["id"] in properties
        assert is_client(everyone[owner["contact"]["id"]], owner["type"])
        if owner["type"] == "Landlord":  # L-01: landlords are listed, vendors need not be
            assert owner["contact"]["id"] in listed
    clients = [c["id"] for c in agency.contacts if c["contactType"]["category"] == "Client"]
    assert [detail["id"] for detail in agency.contact_details] == clients
    tenant_ids = tenants_of(agency)
    assert len({item["tenantId"] for item in agency.tenancy_tenants}) == len(agency.tenancy_tenants)
    for tenancy in agency.tenancies:
        assert str(tenancy["propertyId"]) in properties
        items = tenant_ids[tenancy["id"]]
        assert sorted(str(i["tenantId"]) for i in items) == sorted(
            t["id"] for t in tenancy["tenants"]
        )
        by_tenant = {str(item["tenantId"]): str(item["contactId"]) for item in items}
        for tenant in tenancy["tenants"]:
            contact = listed[by_tenant[tenant["id"]]]
            assert is_client(contact, "Tenant")
            assert contact["contactInformation"][0]["surname"] == tenant["surname"]


def test_a_renewed_tenancy_is_followed_by_one_with_the_same_tenants(agency: Agency) -> None:
    tenancies = {tenancy["id"]: tenancy for tenancy in agency.tenancies}
    contacts = {
        tenancy: sorted(item["contactId"] for item in items)
        for tenancy, items in tenants_of(agency).items()
    }
    renewals = [t for t in agency.tenancies if t["status"] == "Renewed"]
    assert renewals
    for old in renewals:
        new = tenancies[old["nextTermTenancyId"]]
        assert new["propertyId"] == old["propertyId"]
        assert contacts[new["id"]] == contacts[old["id"]]
        assert new["startDate"] >= old["startDate"]
    assert {t["nextTermTenancyId"] for t in agency.tenancies if t["status"] != "Renewed"} == {0}


# --- the mix ------------------------------------------------------------------------------


def test_inventory_mix(agency: Agency) -> None:
    inventory = agency.inventory
    assert 0.72 < share(inventory, lambda r: r["recordType"] == "Rent") < 0.88
    assert 0.08 < share(inventory, lambda r: r["recordType"] == "Sale") < 0.18
    assert 0.03 < share(inventory, lambda r: r["recordType"] == "Unspecified") < 0.12
    assert 0.74 < share(inventory, lambda r: r["categoryType"] == "Residential") < 0.86
    assert 0.03 < share(inventory, lambda r: r["archived"]) < 0.08
    assert Counter(r["status"] for r in inventory).most_common(1)[0][0] == "Let"
    lettings = [r for r in inventory if r["recordType"] == "Rent"]
    managed = {"Managed", "FullyManaged", "PartManaged"}
    assert share(lettings, lambda r: r["managementType"] in managed) > 0.55
    assert {"LetOnly", "NotManaged", "RentCollectionService"} <= {
        r["managementType"] for r in lettings
    }
    assert Counter(r["maintenanceType"] for r in inventory).most_common(1)[0][0] == "MaintainedByUs"


def test_owners_and_tenancies_mix(agency: Agency) -> None:
    landlords = [o for o in agency.owners if o["type"] == "Landlord"]
    owned = Counter(owner["contact"]["id"] for owner in landlords)
    assert set(owned.values()) == {1, 2, 3, 4, 5, 6}
    assert {(o["type"], o["active"]) for o in agency.owners} == {
        ("Landlord", True), ("Landlord", False), ("Vendor", True), ("Vendor", False),
    }  # fmt: skip
    joint = Counter(o["property"]["id"] for o in landlords if o["active"])
    assert max(joint.values()) >= 2
    per_property = Counter(str(t["propertyId"]) for t in agency.tenancies)
    lettings = [r["inventoryId"] for r in agency.inventory if r["recordType"] == "Rent"]
    counts = Counter(per_property[pid] for pid in lettings)
    assert counts[0] > 0
    assert sum(n for k, n in counts.items() if k >= 2) > 0
    statuses = {t["status"] for t in agency.tenancies}
    assert {
        "Active", "Periodic", "Vacated", "Proposed", "Renewed", "Cancelled",
        "Renewal in Progress", "Vacate in Progress",
    } <= statuses  # fmt: skip
    assert {len(t["tenants"]) for t in agency.tenancies} == {1, 2, 3}


def test_people_mix(agency: Agency) -> None:
    everyone = agency.all_contacts
    kinds = Counter(
        (c["contactType"]["category"], persona)
        for c in everyone
        for persona in sorted(personas(c)) or [""]
    )
    assert {("Client", p) for p in ("Landlord", "Tenant", "Vendor", "Applicant")} <= set(kinds)
    assert {"Supplier", "Solicitor"} <= {category for category, _ in kinds}
    potential = [c for c in everyone if c["potentialLandlord"] and not is_client(c, "Landlord")]
    assert potential  # L-01: potentialLandlord alone never makes a landlord
    assert all(
        is_client(c, "Landlord")
        or is_client(c, "Tenant")
        or c["contactType"]["category"] == "Supplier"
        for c in agency.contacts
    )  # what /contacts/all lists for a snapshot, by category and persona
    assert len(agency.contacts) < len(everyone)
    details = agency.contact_details
    assert 0.05 < share(details, lambda d: not d["people"][0]["emailAddresses"]) < 0.11
    assert 0.03 < share(details, lambda d: d["archived"]) < 0.08
    assert 0 < share(agency.contacts, lambda c: not c["isActive"]) < 0.1


def test_suppliers_mix(agency: Agency) -> None:
    suppliers = agency.suppliers
    supplier_contacts = {
        c["id"]: c for c in agency.contacts if c["contactType"]["category"] == "Supplier"
    }
    assert any(len(s["providedServices"]) > 1 for s in suppliers)
    assert any(s["id"] not in supplier_contacts for s in suppliers)  # C-01 gap: not synced
    assert any(
        not supplier_contacts[s["id"]]["isActive"]
        for s in suppliers
        if s["id"] in supplier_contacts
    )
    assert any(
        supplier_contacts[s["id"]]["isActive"] for s in suppliers if s["id"] in supplier_contacts
    )
    assert any(not s["people"] for s in suppliers)
    assert any(s["companyName"] for s in suppliers)
    assert any(not set(s["providedServices"]) & SYNCED_TRADES for s in suppliers)
    assert SYNCED_TRADES & {t for s in suppliers for t in s["providedServices"]}


# --- Fixflo merge candidates --------------------------------------------------------------


def test_fixflo_properties_offer_every_kind_of_merge(agency: Agency) -> None:
    alto = {r["inventoryId"]: r["address"] for r in agency.inventory}  # the ExternalPropertyRef
    exact = {(line1(a), a["postcode"]) for a in alto.values()}
    by_postcode = {a["postcode"]: a for a in alto.values()}
    referenced, stale, twins, near, orphans = 0, 0, 0, 0, 0
    for prop in agency.fixflo["properties"]:
        address, ref = prop["Address"], prop["ExternalPropertyRef"]
        if ref is not None:
            referenced += 1
            stale += (address["AddressLine1"], address["PostCode"]) != (
                line1(alto[ref]),
                alto[ref]["postcode"],
            )
        elif (address["AddressLine1"], address["PostCode"]) in exact:
            twins += 1
        elif (match := by_postcode.get(address["PostCode"])) and match["nameNo"] in address[
            "AddressLine1"
        ]:
            near += 1
        else:
            orphans += 1
    assert min(referenced, stale, twins, near, orphans) > 0


@pytest.mark.parametrize("collection", ["landlords", "tenants"])
def test_fixflo_people_offer_every_kind_of_merge(agency: Agency, collection: str) -> None:
    details = {d["id"]: d["people"][0] for d in agency.contact_details}
    emails = {e["address"].lower() for p in details.values() for e in p["emailAddresses"]}
    referenced = stale = twins = strangers = 0
    for person in agency.fixflo[collection]:
        email = (person["EmailAddress"] or "").lower()
        if person["ExternalRef"] is not None:
            referenced += 1
            phones = {digits(p["number"]) for p in details[person["ExternalRef"]]["phoneNumbers"]}
            stale += digits(person["ContactNumber"]) not in phones
        elif email in emails:
            twins += 1
        else:
            strangers += 1
    assert min(referenced, stale, twins, strangers) > 0


def test_fixflo_links_and_contractors_point_at_real_records(agency: Agency) -> None:
    fixflo = agency.fixflo
    landlords = {p["ExternalRef"] for p in fixflo["landlords"]}
    tenants = {p["ExternalRef"] for p in fixflo["tenants"]}
    properties = {p["ExternalPropertyRef"] for p in fixflo["properties"]}
    assert fixflo["landlord_properties"]
    assert fixflo["tenant_properties"]
    for link in fixflo["landlord_properties"]:
        assert {link["ExternalLandlordRef"], link["ExternalPropertyRef"]} <= landlords | properties
    for link in fixflo["tenant_properties"]:
        assert {link["TenantExternalRef"], link["PropertyExternalRef"]} <= tenants | properties
    suppliers = {s["id"] for s in agency.suppliers}  # a contractor's ExternalRef: the id
    refs = [c["ExternalRef"] for c in fixflo["contractors"] if c["ExternalRef"]]
    assert refs
    assert set(refs) <= suppliers
    ids = [p["id"] for p in fixflo["properties"]]  # Property.id: lowercase, a number
    assert ids == sorted(set(ids))


# --- the command --------------------------------------------------------------------------


def test_generate_command_writes_both_files_and_says_how_many(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        generate, ["--size", "25", "--seed", "3", "--out", str(tmp_path / "new")]
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'new' / 'alto.json'}: 25 inventory," in result.output
    assert "fixflo.json: " in result.output
    assert "Example:" in CliRunner().invoke(generate, ["--help"]).output
