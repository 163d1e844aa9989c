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
    contacts: list[Record]
    tenancies: list[Record]
    suppliers: list[Record]
    fixflo: dict[str, list[Record]]


@pytest.fixture(scope="module")
def agency() -> Agency:
    """A 2,000-property agency, held in memory for the statistical checks."""
    generator = AgencyGenerator(2000, seed=11)
    return Agency(
        inventory=list(generator.inventory()),
        contacts=list(generator.contacts()),
        tenancies=list(generator.tenancies()),
        suppliers=list(generator.suppliers()),
        fixflo={name: list(records) for name, records in generator.fixflo_collections().items()},
    )


def share(records: list[Record], predicate: Any) -> float:
    return sum(1 for record in records if predicate(record)) / len(records)


def line1(address: Record) -> str:
    """The first address line as the integration writes it."""
    parts = (address["subDwelling"], address["nameNo"], address["street"])
    return " ".join(part for part in parts if part)


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
    contacts = {contact["id"]: contact for contact in agency.contacts}
    properties = {record["id"] for record in agency.inventory}
    assert len(contacts) == len(agency.contacts)
    for record in agency.inventory:
        for owner in record["owners"]:
            assert contacts[owner["contactId"]]["contactType"] in (
                "Client - Landlord",
                "Client - Vendor",
            )
            assert contacts[owner["contactId"]]["emailAddresses"] == owner["emailAddresses"]
    for tenancy in agency.tenancies:
        assert tenancy["propertyId"] in properties
        for tenant in tenancy["tenants"]:
            assert contacts[tenant["id"]]["contactType"] == "Tenant"
            assert contacts[tenant["id"]]["surname"] == tenant["surname"]


def test_a_renewed_tenancy_is_followed_by_one_with_the_same_tenants(agency: Agency) -> None:
    pairs = list(itertools.pairwise(agency.tenancies))
    renewals = [(old, new) for old, new in pairs if old["status"] == "Renewed"]
    assert renewals
    for old, new in renewals:
        assert new["propertyId"] == old["propertyId"]
        assert [t["id"] for t in new["tenants"]] == [t["id"] for t in old["tenants"]]


# --- the mix ------------------------------------------------------------------------------


def test_inventory_mix(agency: Agency) -> None:
    inventory = agency.inventory
    assert 0.72 < share(inventory, lambda r: r["recordType"] == "Rent") < 0.88
    assert 0.08 < share(inventory, lambda r: r["recordType"] == "Sale") < 0.18
    assert 0.03 < share(inventory, lambda r: r["recordType"] == "Unspecified") < 0.12
    assert 0.74 < share(inventory, lambda r: r["categoryType"] == "Residential") < 0.86
    assert 0.03 < share(inventory, lambda r: r["archived"]) < 0.08
    assert Counter(r["inventoryStatus"] for r in inventory).most_common(1)[0][0] == "Let"
    lettings = [r for r in inventory if r["recordType"] == "Rent"]
    managed = {"Managed", "FullyManaged", "PartManaged"}
    assert share(lettings, lambda r: r["managementType"] in managed) > 0.55
    assert {"LetOnly", "NotManaged", "RentCollectionService"} <= {
        r["managementType"] for r in lettings
    }
    assert Counter(r["maintenanceType"] for r in inventory).most_common(1)[0][0] == "MaintainedByUs"


def test_owners_and_tenancies_mix(agency: Agency) -> None:
    owned = Counter(owner["contactId"] for r in agency.inventory for owner in r["owners"])
    assert set(owned.values()) == {1, 2, 3, 4, 5, 6}
    per_property = Counter(t["propertyId"] for t in agency.tenancies)
    lettings = [r["id"] for r in agency.inventory if r["recordType"] == "Rent"]
    counts = Counter(per_property[pid] for pid in lettings)
    assert counts[0] > 0
    assert sum(n for k, n in counts.items() if k >= 2) > 0
    statuses = {t["status"] for t in agency.tenancies}
    assert {"Active", "Periodic", "Vacated", "Proposed", "Renewed"} <= statuses
    assert {len(t["tenants"]) for t in agency.tenancies} == {1, 2, 3}


def test_people_mix(agency: Agency) -> None:
    contacts = agency.contacts
    types = Counter(c["contactType"] for c in contacts)
    assert set(types) == {
        "Client - Landlord", "Client - Potential landlord", "Tenant", "Applicant",
        "Client - Vendor", "Other",
    }  # fmt: skip
    assert 0.05 < share(contacts, lambda c: not c["emailAddresses"]) < 0.11
    assert 0.03 < share(contacts, lambda c: c["archived"]) < 0.08
    assert 0 < share(contacts, lambda c: c["deleted"]) < 0.05


def test_suppliers_mix(agency: Agency) -> None:
    suppliers = agency.suppliers
    assert any(len(s["providedServices"]) > 1 for s in suppliers)
    assert any(not s["active"] for s in suppliers)
    assert any(not set(s["providedServices"]) & SYNCED_TRADES for s in suppliers)
    assert SYNCED_TRADES & {t for s in suppliers for t in s["providedServices"]}


# --- Fixflo merge candidates --------------------------------------------------------------


def test_fixflo_properties_offer_every_kind_of_merge(agency: Agency) -> None:
    alto = {r["id"]: r["address"] for r in agency.inventory}  # ExternalPropertyRef: the id
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
    contacts = {c["id"]: c for c in agency.contacts}
    emails = {e.lower() for c in agency.contacts for e in c["emailAddresses"]}
    referenced = stale = twins = strangers = 0
    for person in agency.fixflo[collection]:
        email = (person["EmailAddress"] or "").lower()
        if person["ExternalRef"] is not None:
            referenced += 1
            phones = [p["number"] for p in contacts[person["ExternalRef"]]["phoneNumbers"]]
            stale += person["ContactNumber"] not in phones
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
