"""Alto records, rendered from the plan: inventory, contacts, tenancies and suppliers.

Every function here is pure: the same seed and plan give the same record. People and
addresses are drawn from their own seeded streams (`simulator.agency._rand`), so the contact, the
owner entry of an inventory record and the tenant entry of a tenancy agree about a person.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from simulator.agency._names import (
    FEMALE,
    MALE,
    SURNAMES,
    TOWNS,
    Address,
    make_address,
    make_company,
    make_email,
    make_phone,
    pick_title,
    slug,
)
from simulator.agency._plan import CONTACT_TYPES, Person, PlannedProperty, Tenancy
from simulator.agency._rand import Table, Tag, chance, mix, rng_for

SUPPLIER_BASE = 300_001
SYNCED_TRADES = (
    "Plumbing", "Window Cleaning", "Gardening", "Gas", "Electricity", "Oil", "Water", "Bulk LPG",
    "Carpentry", "Pest Control", "Building Maintenance", "Contents Insurance",
    "Building Insurance", "Public Liability Insurance", "Council", "Sewerage", "Board Contractor",
    "External Printer", "Builder", "Landlords Insurance", "Rent Indemnity Insurance", "Utility",
    "Electrician",
)  # fmt: skip
OTHER_TRADES = ("Cleaning", "Photography", "Removals", "Inventory Clerk", "Locksmith")
_TRADE_WEIGHTS = (
    12,
    4,
    5,
    6,
    2,
    1,
    2,
    1,
    6,
    4,
    8,
    1,
    1,
    1,
    2,
    1,
    2,
    1,
    6,
    1,
    1,
    2,
    10,
    6,
    2,
    2,
    3,
    3,
)
_TRADES = Table(list(zip(SYNCED_TRADES + OTHER_TRADES, _TRADE_WEIGHTS, strict=True)))
_TRADE_COUNT = Table([(1, 60), (2, 28), (3, 12)])
_PHONE_COUNT = Table([(0, 5), (1, 70), (2, 25)])
_COMPANY_ONLY = frozenset({"Gas", "Electricity", "Oil", "Water", "Bulk LPG", "Sewerage", "Utility",
                           "Council", "Contents Insurance", "Building Insurance",
                           "Public Liability Insurance", "Landlords Insurance",
                           "Rent Indemnity Insurance", "External Printer"})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Details:
    """A person's name and contact details, and the state of their Alto record."""

    title: str
    forename: str
    surname: str
    company: str | None
    emails: tuple[str, ...]
    phones: tuple[tuple[str, str], ...]
    archived: bool
    deleted: bool
    modified: str

    def phone_list(self) -> list[dict[str, str]]:
        """Phone numbers as Alto lists them."""
        return [{"type": kind, "number": number} for kind, number in self.phones]


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
    return Details(
        title=pick_title(rng, female),
        forename=forename,
        surname=surname,
        company=company,
        emails=emails,
        phones=_phones(rng),
        archived=chance(rng, 0.05),
        deleted=chance(rng, 0.04 if person.kind in ("applicant", "other") else 0.01),
        modified=modified_stamp(rng, today),
    )


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


def inventory_record(seed: int, plan: PlannedProperty, today: date) -> dict[str, Any]:
    """The Alto inventory record of a planned property."""
    rng = rng_for(seed, Tag.DETAILS, plan.position)
    address, category = property_address(seed, plan.position)
    return {
        "id": plan.property_id,
        "oid": plan.oid,
        "branchId": str(1 + rng.randrange(4)),
        "recordType": plan.record_type,
        "categoryType": category,
        "inventoryStatus": plan.status,
        "managementType": plan.management,
        "maintenanceType": plan.maintenance,
        "archived": plan.archived,
        "address": address.alto(),
        "owners": [_owner(seed, plan, n, owner, today) for n, owner in enumerate(plan.owners)],
        "modifiedDate": modified_stamp(rng, today),
    }


def _owner(seed: int, plan: PlannedProperty, n: int, owner: Person, today: date) -> dict[str, Any]:
    details = person_details(seed, owner, today)
    return {
        "ownerId": str(2_000_001 + 2 * plan.position + n),
        "contactId": owner.contact_id,
        "name": {"title": details.title, "forename": details.forename, "surname": details.surname},
        "phoneNumbers": details.phone_list(),
        "emailAddresses": list(details.emails),
    }


def contact_address(seed: int, person: Person) -> Address:
    """Where a contact lives: a tenant at the let property, anyone else at a home of their own."""
    if person.home is not None:
        return property_address(seed, person.home)[0]
    return make_address(rng_for(seed, Tag.HOME, person.number))


def contact_record(seed: int, person: Person, today: date) -> dict[str, Any]:
    """The Alto contact record of a person."""
    details = person_details(seed, person, today)
    return {
        "id": person.contact_id,
        "contactType": CONTACT_TYPES[person.kind],
        "title": details.title,
        "forename": details.forename,
        "surname": details.surname,
        "companyName": details.company,
        "emailAddresses": list(details.emails),
        "phoneNumbers": details.phone_list(),
        "address": contact_address(seed, person).alto(),
        "archived": details.archived,
        "deleted": details.deleted,
        "modifiedDate": details.modified,
    }


def tenancy_record(
    seed: int, plan: PlannedProperty, tenancy: Tenancy, today: date
) -> dict[str, Any]:
    """The Alto tenancy record, repeating each tenant's name, first phone and first email."""
    rng = rng_for(seed, Tag.TENANCY, tenancy.number)
    tenants = []
    for person in tenancy.tenants:
        details = person_details(seed, person, today)
        tenants.append({
            "id": person.contact_id, "title": details.title, "forename": details.forename,
            "surname": details.surname, "phone": details.phones[0][1] if details.phones else None,
            "email": details.emails[0] if details.emails else None,
        })  # fmt: skip
    return {
        "id": tenancy.tenancy_id,
        "propertyId": plan.property_id,
        "startDate": tenancy.start.isoformat(),
        "endDate": tenancy.end.isoformat() if tenancy.end else None,
        "status": tenancy.status,
        "tenants": tenants,
        "modifiedDate": modified_stamp(rng, today),
    }


def supplier_count(size: int) -> int:
    """How many suppliers an agency of `size` properties works with."""
    return max(3, size // 20)


def supplier_record(seed: int, index: int, today: date) -> dict[str, Any]:
    """Alto supplier `index`: one to three trades, a contact person, maybe a company."""
    rng = rng_for(seed, Tag.SUPPLIER, index)
    number = SUPPLIER_BASE + index
    trades = list(dict.fromkeys(_TRADES.pick(rng) for _ in range(_TRADE_COUNT.pick(rng))))
    person = person_details(seed, Person(number, "other", number), today)
    town = TOWNS.pick(rng).name
    company = _supplier_company(rng, trades[0], person.surname, town)
    domain = slug(company or person.surname) + ".example"
    archived = chance(rng, 0.05)
    return {
        "id": str(number),
        "oid": f"OID-S{index + 1:05d}",
        "title": person.title,
        "forename": person.forename,
        "surname": person.surname,
        "companyName": company,
        "providedServices": trades,
        "emailAddresses": []
        if chance(rng, 0.05)
        else [f"{slug(person.forename)}{number}@{domain}"],
        "phoneNumbers": [{"type": "Work", "number": make_phone(rng, mobile=chance(rng, 0.6))}],
        "address": make_address(rng, commercial=True).alto(),
        "active": not archived and not chance(rng, 0.08),
        "archived": archived,
        "modifiedDate": modified_stamp(rng, today),
    }


def _supplier_company(rng: random.Random, trade: str, surname: str, town: str) -> str | None:
    if trade == "Council":
        return f"{town} Borough Council"
    if trade in _COMPANY_ONLY:
        return f"{town} {trade} Services Ltd"
    if chance(rng, 0.3):
        return None  # a sole trader
    return rng.choice((f"{surname} {trade} Ltd", f"{surname} & Sons", f"{town} {trade} Co"))
