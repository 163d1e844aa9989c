"""Alto records, rendered from the plan, in the shapes of Alto's published API.

Inventory (Search.InventoryItem), owners (Owner), tenancies (TenancyListItem with its
tenants) and each tenancy's tenant ids; contacts and suppliers are in
`simulator.agency._alto_contacts`. Every function here is pure: the same seed and plan give
the same record. People and addresses are drawn from their own seeded streams
(`simulator.agency._rand`), so a contact, its owner entries and its tenancy entries agree
about a person.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from simulator.agency._names import (
    FEMALE,
    MALE,
    SURNAMES,
    Address,
    make_address,
    make_company,
    make_email,
    make_phone,
    pick_title,
    slug,
)
from simulator.agency._plan import (
    PROPERTY_BASE,
    TENANCY_BASE,
    Person,
    PlannedProperty,
    Tenancy,
)
from simulator.agency._rand import Table, Tag, chance, mix, rng_for

OWNER_BASE = 2_000_001
TENANT_BASE = 3_000_001
_DEPOSIT_SCHEMES = ("DPS", "TDS", "mydeposits", None)
SUPPLIER_BASE = 300_001
SYNCED_TRADES = (
    "Plumbing", "Window Cleaning", "Gardening", "Gas", "Electricity", "Oil", "Water", "Bulk LPG",
    "Carpentry", "Pest Control", "Building Maintenance", "Contents Insurance",
    "Building Insurance", "Public Liability Insurance", "Council", "Sewerage", "Board Contractor",
    "External Printer", "Builder", "Landlords Insurance", "Rent Indemnity Insurance", "Utility",
    "Electrician",
)  # fmt: skip
_PHONE_COUNT = Table([(0, 5), (1, 70), (2, 25)])
_PERSONAS: dict[str, Table[tuple[str, ...]]] = {
    "landlord": Table([(("Landlord",), 90), (("Landlord", "Vendor"), 10)]),
    "vendor": Table([(("Vendor",), 95), (("Vendor", "Applicant"), 5)]),
    "tenant": Table([(("Tenant",), 92), (("Tenant", "Applicant"), 8)]),
    "applicant": Table([(("Applicant",), 1)]),
    "potential": Table([(("Tenant",), 40), (("Applicant",), 30), ((), 30)]),
}
_OTHER_CATEGORIES = Table(
    [
        ("Solicitor", 4),
        ("Maintenance", 2),
        ("Builder", 2),
        ("Utility", 1),
        ("Miscellaneous", 2),
        ("PreviousClient", 3),
        ("Accountant", 1),
        ("Unknown", 1),
    ]
)
_LEAD_SOURCES: Table[str | None] = Table(
    [
        (None, 40),
        ("Rightmove", 20),
        ("Zoopla", 15),
        ("Walk-in", 10),
        ("Referral", 10),
        ("Website", 5),
    ]
)


@dataclass(frozen=True, slots=True)
class Details:
    """A person's name and contact details, and the state of their Alto contact.

    `category` and `personas` are the contact's ``contactType``; `active` is what
    ``/contacts/all`` says (``isActive``), `archived` what the contact itself says.
    """

    title: str
    forename: str
    surname: str
    company: str | None
    emails: tuple[str, ...]
    phones: tuple[tuple[str, str], ...]
    archived: bool
    active: bool
    modified: str
    category: str
    personas: tuple[str, ...]
    potential_vendor: bool
    potential_landlord: bool
    lead_source: str | None


@lru_cache(maxsize=16)
def property_address(seed: int, index: int) -> tuple[Address, str]:
    """Inventory record `index`'s address and category (Residential or Commercial)."""
    rng = rng_for(seed, Tag.ADDRESS, index)
    commercial = chance(rng, 0.2)
    return make_address(rng, commercial=commercial), "Commercial" if commercial else "Residential"


@lru_cache(maxsize=64)
def person_details(seed: int, person: Person, today: date) -> Details:
    """The details of a contact; its surname is its family's."""
    rng = rng_for(seed, Tag.PERSON, person.number)
    surname = SURNAMES[mix(seed, Tag.SURNAME, person.family) % len(SURNAMES)]
    female = chance(rng, 0.52)
    forename = rng.choice(FEMALE if female else MALE)
    company = make_company(rng, surname) if person.kind == "landlord" and chance(rng, 0.1) else None
    emails: tuple[str, ...] = ()
    if not chance(rng, 0.08):
        emails = (make_email(rng, forename, surname, person.number),)
        if chance(rng, 0.1):
            emails += (f"{slug(forename)}{person.number}@office.example",)
    title, phones = pick_title(rng, female), _phones(rng)
    archived = chance(rng, 0.05)
    deleted = chance(rng, 0.04 if person.kind in ("applicant", "other") else 0.01)
    modified = modified_stamp(rng, today)
    category, personas = _contact_type(rng, person)
    return Details(
        title=title,
        forename=forename,
        surname=surname,
        company=company,
        emails=emails,
        phones=phones,
        archived=archived,
        active=not (archived or deleted),
        modified=modified,
        category=category,
        personas=personas,
        potential_vendor=person.kind == "vendor" or chance(rng, 0.03),
        potential_landlord=person.kind == "potential" or chance(rng, 0.02),
        lead_source=_LEAD_SOURCES.pick(rng),
    )


def _contact_type(rng: random.Random, person: Person) -> tuple[str, tuple[str, ...]]:
    """The category and personas of a person's contact (a potential landlord has no
    Landlord persona: some are former tenants, some applicants, some neither)."""
    if person.kind == "other":
        return _OTHER_CATEGORIES.pick(rng), ()
    personas = _PERSONAS[person.kind].pick(rng)
    return "Client", personas


def _phones(rng: random.Random) -> tuple[tuple[str, str], ...]:
    count = _PHONE_COUNT.pick(rng)
    mobile_first = chance(rng, 0.8)
    kinds = ("Mobile", "Home") if mobile_first else ("Home", "Mobile")
    return tuple((kinds[n], make_phone(rng, mobile=kinds[n] == "Mobile")) for n in range(count))


def modified_stamp(rng: random.Random, today: date) -> str:
    """When a record last changed: mostly within three years, a few since yesterday."""
    days = 0 if chance(rng, 0.03) else rng.randint(1, 1100)
    seconds = rng.randrange(86_400 if days else 7_200)
    day = date.fromordinal(today.toordinal() - days).isoformat()
    return f"{day}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


def stamp(day: date, seconds: int = 0) -> str:
    """`day` at `seconds` past midnight, as an ISO date-time in UTC."""
    return f"{day.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


def created_stamp(rng: random.Random, modified: str) -> str:
    """When a record was made: some days to years before it last changed."""
    day = date.fromisoformat(modified[:10])
    return stamp(date.fromordinal(day.toordinal() - rng.randint(0, 2000)), rng.randrange(86_400))


def property_branch(seed: int, position: int) -> str:
    """The branch (``"1"`` to ``"4"``) that manages inventory record `position`."""
    return str(1 + rng_for(seed, Tag.DETAILS, position).randrange(4))


def inventory_record(seed: int, plan: PlannedProperty, today: date) -> dict[str, Any]:
    """The Search.InventoryItem of a planned property, as ``GET /inventory/filter`` lists it."""
    rng = rng_for(seed, Tag.DETAILS, plan.position)
    branch = str(1 + rng.randrange(4))
    address, category = property_address(seed, plan.position)
    modified = modified_stamp(rng, today)
    created = created_stamp(rng, modified)
    instructed = None if chance(rng, 0.1) else created
    return {
        "inventoryId": plan.property_id,
        "branchId": branch,
        "createdAt": created,
        "modifiedAt": modified,
        "categoryType": category,
        "recordType": plan.record_type,
        "archived": plan.archived,
        "status": plan.status,
        "address": address.alto(),
        "managementType": plan.management,
        "maintenanceType": plan.maintenance,
        "instructionDate": instructed,
    }


def owner_records(seed: int, plan: PlannedProperty, today: date) -> list[dict[str, Any]]:
    """The Owner records (``GET /owners``) of a planned property, primary owner first.

    An owner is a landlord (type Landlord) or a vendor (Vendor); a few ownerships are no
    longer active (a landlord who sold up is still on file).
    """
    branch = property_branch(seed, plan.position)
    share = round(100 / len(plan.owners), 2) if plan.owners else 0.0
    records = []
    for n, owner in enumerate(plan.owners):
        rng = rng_for(seed, Tag.OWNER, 2 * plan.position + n)
        modified = modified_stamp(rng, today)
        records.append({
            "id": str(OWNER_BASE + 2 * plan.position + n),
            "property": {"id": plan.property_id, "branchId": branch},
            "contact": {"id": owner.contact_id, "branchId": branch},
            "active": not chance(rng, 0.03),
            "type": "Landlord" if owner.kind == "landlord" else "Vendor",
            "percentageShare": share,
            "createdAt": created_stamp(rng, modified),
            "modifiedAt": modified,
        })  # fmt: skip
    return records


def contact_address(seed: int, person: Person) -> Address:
    """Where a contact lives: a tenant at the let property, anyone else at a home of their own."""
    if person.home is not None:
        return property_address(seed, person.home)[0]
    return make_address(rng_for(seed, Tag.HOME, person.number))


def pm_address(address: Address) -> dict[str, str | None]:
    """An address in the property-management API's shape (``country``, not ``countryCode``)."""
    parts = address.alto()
    parts["country"] = parts.pop("countryCode")
    return parts


def tenant_id(tenancy: Tenancy, place: int) -> int:
    """Alto's tenant id of the `place`-th tenant of `tenancy`: one contact on one tenancy.

    A household has at most three people, so four numbers a tenancy never collide.
    """
    return TENANT_BASE + 4 * (tenancy.number - TENANCY_BASE) + place


def tenancy_record(
    seed: int, plan: PlannedProperty, tenancy: Tenancy, today: date
) -> dict[str, Any]:
    """The TenancyListItem of a tenancy, with its tenants (``include-tenants=true``)."""
    rng = rng_for(seed, Tag.TENANCY, tenancy.number)
    modified = modified_stamp(rng, today)
    rent = rng.randrange(450, 2500, 5) if plan.status != "ExternallyLet" else 0
    weekly = chance(rng, 0.08)
    months = _months(tenancy)
    return {
        "id": tenancy.number,
        "groupId": _group(plan, tenancy),
        "branchId": int(property_branch(seed, plan.position)),
        "propertyId": PROPERTY_BASE + plan.position,
        "termYears": months // 12,
        "termMonths": months % 12,
        "occupantCount": len(tenancy.tenants),
        "rent": float(rent * 12 // 52 if weekly else rent),
        "rentalFrequency": "Weekly" if weekly else "Monthly",
        "depositRequested": float(rent * 5 // 4),
        "depositSchemeType": rng.choice(_DEPOSIT_SCHEMES),
        "currencyCode": "GBP",
        **_tenancy_dates(tenancy),
        "status": tenancy.status,
        "nextTermTenancyId": _next_term(plan, tenancy),
        "createdDate": stamp(tenancy.start - timedelta(days=rng.randint(7, 60))),
        "modifiedDate": modified,
        "tenants": [
            _tenant(seed, tenancy, place, person, today, modified)
            for place, person in enumerate(tenancy.tenants)
        ],
    }


def _months(tenancy: Tenancy) -> int:
    if tenancy.end is None:
        return 12
    return max(round((tenancy.end - tenancy.start).days / 30.44), 0)


def _group(plan: PlannedProperty, tenancy: Tenancy) -> int:
    """The first tenancy of the renewal chain `tenancy` belongs to."""
    group = tenancy.number
    for before, after in zip(plan.tenancies, plan.tenancies[1:], strict=False):
        if before.status != "Renewed":
            group = after.number
        if after.number == tenancy.number:
            return group
    return tenancy.number


def _next_term(plan: PlannedProperty, tenancy: Tenancy) -> int:
    """The tenancy that renewed this one, or 0 (the contract's int32 is not nullable)."""
    if tenancy.status != "Renewed":
        return 0
    later = [t.number for t in plan.tenancies if t.number > tenancy.number]
    return later[0] if later else 0


def _tenancy_dates(tenancy: Tenancy) -> dict[str, str | None]:
    end = stamp(tenancy.end) if tenancy.end else None
    vacating = tenancy.status in ("Vacate in Progress", "Vacated")
    notice = None
    if vacating and tenancy.end is not None:
        notice = stamp(tenancy.end - timedelta(days=60))
    return {
        "startDate": stamp(tenancy.start),
        "targetVacateDate": end if vacating else None,
        "firstFullRentDate": stamp(tenancy.start),
        "noticeToQuitDate": notice,
        "endDate": end,
        "renewalDate": end if tenancy.status == "Renewal in Progress" else None,
    }


def _tenant(
    seed: int, tenancy: Tenancy, place: int, person: Person, today: date, modified: str
) -> dict[str, Any]:
    """A Tenant entry of a tenancy: its id is the tenant id, not the contact id."""
    details = person_details(seed, person, today)
    return {
        "id": str(tenant_id(tenancy, place)),
        "title": details.title,
        "forename": details.forename,
        "surname": details.surname,
        "phone": details.phones[0][1] if details.phones else None,
        "email": details.emails[0] if details.emails else None,
        "address": pm_address(contact_address(seed, person)),
        "createdDate": stamp(tenancy.start - timedelta(days=7)),
        "modifiedDate": modified,
    }


def tenant_ids(tenancy: Tenancy) -> list[dict[str, int]]:
    """The items of ``GET /tenancies/{id}/tenantIds``: each tenant id and its contact id."""
    return [
        {"tenantId": tenant_id(tenancy, place), "contactId": person.number}
        for place, person in enumerate(tenancy.tenants)
    ]
