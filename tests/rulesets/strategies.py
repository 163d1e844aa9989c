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
MANAGEMENT = ["Managed"] * 2 + ["FullyManaged", "PartManaged"] * 2 + ["LetOnly", "NotManaged"]
MAINTENANCE = ["MaintainedByUs"] * 5 + ["MaintainedByLandlord"]
CATEGORIES = ["Residential"] * 5 + ["Commercial"]
STATUSES = ["Let"] * 3 + ["Available", "Withdrawn", "Archived", "LetAgreed", "Appraisal"]
TENANCY = ["Active"] * 3 + ["Periodic", "Vacated", "Proposed", "Renewal in Progress"]
PERSONAS = [["Tenant"], ["Landlord"], ["Tenant", "Landlord"], ["Applicant"], []]
CATEGORY = ["Client"] * 4 + ["PreviousClient"]
TRADES = ["Plumbing", "Gas", "bulk lpg", "Cleaning", "Locksmith"]
EMAILS = ["a@x.com", "b@x.com", "c@x.com", "d@x.com", "A@X.com"]
LIVE = {"Active", "Periodic", "Renewal in Progress", "Vacate in Progress"}


def _address(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "nameNo": draw(st.sampled_from(["1", "2", "10"])),
        "street": draw(st.sampled_from(["High St", "Low Rd"])),
        "town": "Leeds",
        "postcode": draw(st.sampled_from(["LS1 1AA", "LS2 2BB"])),
    }


@st.composite
def properties(draw: st.DrawFn, pid: str) -> dict[str, Any]:
    """An Alto inventory item (Search.InventoryItem)."""
    return {
        "inventoryId": pid,
        "recordType": draw(st.sampled_from(RECORD_TYPES)),
        "managementType": draw(st.sampled_from(MANAGEMENT)),
        "maintenanceType": draw(st.sampled_from(MAINTENANCE)),
        "categoryType": draw(st.sampled_from(CATEGORIES)),
        "status": draw(st.sampled_from(STATUSES)),
        "archived": False,
        "address": _address(draw),
    }


@st.composite
def contacts(draw: st.DrawFn, cid: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An Alto ContactListItem and, usually, its full Contact."""
    listed = {
        "id": cid,
        "contactType": {
            "category": draw(st.sampled_from(CATEGORY)),
            "persona": draw(st.sampled_from(PERSONAS)),
        },
        "isActive": draw(st.booleans()),
        "potentialLandlord": draw(st.booleans()),
    }
    emails = draw(st.lists(st.sampled_from(EMAILS), max_size=1))
    full = {
        "id": cid,
        "archived": draw(st.booleans()),
        "people": [
            {
                "forename": cid,
                "surname": "S",
                "emailAddresses": [{"address": email} for email in emails],
                "phoneNumbers": [{"number": draw(st.sampled_from(["1", "2"]))}],
            }
        ],
    }
    return listed, draw(st.sampled_from([full, full, full, None]))


@st.composite
def suppliers(draw: st.DrawFn, sid: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An Alto Supplier and, usually, its Supplier contact (which says if it is active)."""
    supplier = {
        "id": sid,
        "providedServices": draw(st.lists(st.sampled_from(TRADES), max_size=2)),
        "people": [
            {"forename": sid, "emailAddresses": draw(st.lists(st.sampled_from(EMAILS), max_size=1))}
        ],
    }
    listed = {
        "id": sid,
        "contactType": {"category": "Supplier", "persona": []},
        "isActive": draw(st.booleans()),
    }
    return supplier, draw(st.sampled_from([listed, listed, None]))


@st.composite
def alto(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    contact_ids = [f"C{n}" for n in range(draw(st.integers(0, 5)))]
    property_ids = [f"P{n}" for n in range(draw(st.integers(0, 4)))]
    tenancies, places, owners = [], [], []
    if contact_ids and property_ids:
        for n in range(draw(st.integers(0, 4))):
            held = draw(st.lists(st.sampled_from(contact_ids), min_size=1, max_size=2, unique=True))
            tenancies.append(
                {
                    "id": f"T{n}",
                    "propertyId": draw(st.sampled_from(property_ids)),
                    "status": draw(st.sampled_from(TENANCY)),
                    "tenants": [{"id": f"T{n}.{k}"} for k, _ in enumerate(held)],
                }
            )
            places += [
                {"tenantId": f"T{n}.{k}", "contactId": cid, "tenancyId": f"T{n}"}
                for k, cid in enumerate(held)
            ]
        for pid in property_ids:
            for cid in draw(st.lists(st.sampled_from(contact_ids), max_size=2, unique=True)):
                owners.append(
                    {
                        "id": f"O-{pid}-{cid}",
                        "property": {"id": pid},
                        "contact": {"id": cid},
                        "type": draw(st.sampled_from(["Landlord", "Landlord", "Vendor"])),
                        "active": draw(st.booleans()),
                    }
                )
    people = [draw(contacts(cid)) for cid in contact_ids]
    trades = [draw(suppliers(f"S{n}")) for n in range(draw(st.integers(0, 3)))]
    return {
        "alto.inventory": [draw(properties(pid)) for pid in property_ids],
        "alto.owners": owners,
        "alto.contacts": [listed for listed, _ in people]
        + [listed for _, listed in trades if listed is not None],
        "alto.contact_details": [full for _, full in people if full is not None],
        "alto.tenancies": tenancies,
        "alto.tenancy_tenants": places,
        "alto.suppliers": [supplier for supplier, _ in trades],
    }


@st.composite
def fixflo_people(draw: st.DrawFn, refs: list[str], key: str = "id") -> list[dict[str, Any]]:
    people = []
    emails = iter(draw(st.permutations(["a@x.com", "b@x.com", "z@x.com", "y@x.com"])))
    for number in range(draw(st.integers(0, 3))):
        ref = draw(st.one_of(st.none(), st.sampled_from(refs))) if refs else None
        people.append(
            {
                key: str(100 + number),
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
    property_ids = [row["inventoryId"] for row in records["alto.inventory"]]
    supplier_refs = [row["id"] for row in records["alto.suppliers"]]
    property_rows = [
        {
            "id": 200 + n,
            "ExternalPropertyRef": draw(st.one_of(st.none(), st.just(row["inventoryId"]))),
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
                    unique_by=lambda row: row["inventoryId"],
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
        "fixflo.contractors": draw(fixflo_people(supplier_refs, "Id")),
        "fixflo.tenant_properties": draw(joins(contact_ids, property_ids, TENANT_JOIN)),
        "fixflo.landlord_properties": draw(joins(contact_ids, property_ids, LANDLORD_JOIN)),
    }


TENANT_JOIN = ("TenantExternalRef", "PropertyExternalRef", {"LinkType": "Tenant"})
LANDLORD_JOIN = ("ExternalLandlordRef", "ExternalPropertyRef", {"IsPrimaryLandlord": True})


@st.composite
def joins(
    draw: st.DrawFn,
    people: list[str],
    places: list[str],
    shape: tuple[str, str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Fixflo joins made before: some still wanted, some not, some to people or properties
    Alto does not hold (which the plan must leave alone)."""
    person, place, constants = shape
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from([*people, "X-unknown"]), st.sampled_from([*places, "X9"])),
            max_size=4,
            unique=True,
        )
    )
    return [
        {"Id": f"J{n}", person: who, place: where, **constants}
        for n, (who, where) in enumerate(pairs)
    ]
