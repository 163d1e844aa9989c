"""Hypothesis strategies: small Alto agencies and Fixflo states in the vendors' shapes.

Values are drawn from the real enumerations plus a few wrong ones, so that every rule is
met and missed; Fixflo holds records synced before (some stale), hand-made people with
matching or unknown emails, and archived ones.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Values that sync come several times, so most records meet most rules and every path is
# taken often; the others make sure each rule is also missed.
RECORD_TYPES = ["Rent"] * 5 + ["Sale", "Unspecified"]
MANAGEMENT = ["Managed"] * 3 + ["PartManaged"] * 2 + ["LetOnly", "NotManaged"]
MAINTENANCE = ["MaintainedByUs"] * 5 + ["MaintainedByLandlord"]
CATEGORIES = ["Residential"] * 5 + ["Commercial"]
STATUSES = ["Let"] * 3 + ["Available", "Withdrawn", "Archived", "LetAgreed"]
TENANCY = ["Active"] * 3 + ["Periodic", "Vacated", "Proposed", "Renewal in Progress"]
CONTACT_TYPES = ["Tenant", "Client - Landlord", "Client - Potential landlord", "Applicant"]
TRADES = ["Plumbing", "Gas", "bulk lpg", "Cleaning", "Locksmith"]
EMAILS = ["a@x.com", "b@x.com", "c@x.com", "d@x.com", "A@X.com"]


def _address(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "nameNo": draw(st.sampled_from(["1", "2", "10"])),
        "street": draw(st.sampled_from(["High St", "Low Rd"])),
        "town": "Leeds",
        "postcode": draw(st.sampled_from(["LS1 1AA", "LS2 2BB"])),
    }


@st.composite
def properties(draw: st.DrawFn, pid: str, contact_ids: list[str]) -> dict[str, Any]:
    return {
        "id": pid,
        "oid": f"O{pid}",
        "recordType": draw(st.sampled_from(RECORD_TYPES)),
        "managementType": draw(st.sampled_from(MANAGEMENT)),
        "maintenanceType": draw(st.sampled_from(MAINTENANCE)),
        "categoryType": draw(st.sampled_from(CATEGORIES)),
        "inventoryStatus": draw(st.sampled_from(STATUSES)),
        "archived": False,
        "address": _address(draw),
        "owners": [
            {"contactId": cid}
            for cid in draw(st.lists(st.sampled_from(contact_ids), max_size=2, unique=True))
        ]
        if contact_ids
        else [],
    }


@st.composite
def contacts(draw: st.DrawFn, cid: str) -> dict[str, Any]:
    emails = draw(st.lists(st.sampled_from(EMAILS), max_size=1))
    return {
        "id": cid,
        "contactType": draw(st.sampled_from(CONTACT_TYPES)),
        "forename": cid,
        "surname": "S",
        "emailAddresses": emails,
        "archived": draw(st.booleans()),
        "deleted": False,
        "phoneNumbers": [{"number": draw(st.sampled_from(["1", "2"]))}],
    }


@st.composite
def suppliers(draw: st.DrawFn, sid: str) -> dict[str, Any]:
    return {
        "id": sid,
        "oid": f"O{sid}",
        "forename": sid,
        "providedServices": draw(st.lists(st.sampled_from(TRADES), max_size=2)),
        "emailAddresses": draw(st.lists(st.sampled_from(EMAILS), max_size=1)),
        "active": draw(st.booleans()),
        "archived": False,
    }


@st.composite
def alto(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    contact_ids = [f"C{n}" for n in range(draw(st.integers(0, 5)))]
    property_ids = [f"P{n}" for n in range(draw(st.integers(0, 4)))]
    tenancies = (
        [
            {
                "id": f"T{n}",
                "propertyId": draw(st.sampled_from(property_ids)),
                "status": draw(st.sampled_from(TENANCY)),
                "tenants": [
                    {"id": cid}
                    for cid in draw(
                        st.lists(st.sampled_from(contact_ids), min_size=1, max_size=2, unique=True)
                    )
                ],
            }
            for n in range(draw(st.integers(0, 4)))
        ]
        if contact_ids and property_ids
        else []
    )
    return {
        "alto.inventory": [draw(properties(pid, contact_ids)) for pid in property_ids],
        "alto.contacts": [draw(contacts(cid)) for cid in contact_ids],
        "alto.tenancies": tenancies,
        "alto.suppliers": [draw(suppliers(f"S{n}")) for n in range(draw(st.integers(0, 3)))],
    }


@st.composite
def fixflo_people(draw: st.DrawFn, refs: list[str]) -> list[dict[str, Any]]:
    people = []
    emails = iter(draw(st.permutations(["a@x.com", "b@x.com", "z@x.com", "y@x.com"])))
    for number in range(draw(st.integers(0, 3))):
        ref = draw(st.one_of(st.none(), st.sampled_from(refs))) if refs else None
        people.append(
            {
                "Id": 100 + number,
                "ExternalRef": ref,
                "EmailAddress": next(emails),
                "FirstName": "Old",
                "IsDeleted": draw(st.booleans()),
            }
        )
    return _unique_refs(people, "ExternalRef")


def _unique_refs(rows: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
    seen: set[Any] = set()
    kept = []
    for row in rows:
        if row[field] is None or row[field] not in seen:
            seen.add(row[field])
            kept.append(row)
    return kept


@st.composite
def agencies(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """An Alto agency and a Fixflo state to plan against."""
    records = draw(alto())
    contact_ids = [row["id"] for row in records["alto.contacts"]]
    supplier_refs = [f"{row['id']}/{row['oid']}" for row in records["alto.suppliers"]]
    property_rows = [
        {
            "Id": 200 + n,
            "ExternalPropertyRef": draw(st.one_of(st.none(), st.just(f"{row['id']}/{row['oid']}"))),
            "IsDeleted": draw(st.booleans()),
            "Address": {
                "AddressLine1": f"{row['address']['nameNo']} {row['address']['street']}",
                "Town": "Leeds",
                "PostCode": row["address"]["postcode"],
            },
        }
        for n, row in enumerate(
            draw(
                st.lists(
                    st.sampled_from(records["alto.inventory"]),
                    max_size=2,
                    unique_by=lambda row: row["id"],
                )
            )
            if records["alto.inventory"]
            else []
        )
    ]
    return {
        **records,
        "fixflo.properties": _unique_refs(property_rows, "ExternalPropertyRef"),
        "fixflo.tenants": draw(fixflo_people(contact_ids)),
        "fixflo.landlords": draw(fixflo_people(contact_ids)),
        "fixflo.contractors": draw(fixflo_people(supplier_refs)),
    }
