"""Alto contacts and suppliers, in the shapes of Alto's published API.

A person is one Alto contact. ``GET /contacts/all`` lists it as a ContactListItem
(`contact_item`: ``contactType {category, persona[]}``, the first phone and email of each
person, ``isActive``); ``GET /contacts?id=`` and ``GET /contacts/{id}`` give the Contact
(`contact_detail`: ``people[]`` with every phone and email, ``archived``, no persona).

A supplier (``GET /suppliers``, `supplier_record`) has people, trades and an address but
no active flag; most suppliers are also contacts of category Supplier with the same id
(`supplier_contact`), whose ``isActive`` says whether the agency still uses them. A few
have no such contact (the contract marks the link between the two UNCONFIRMED, and the
ruleset lists those suppliers rather than guess).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from simulator.agency._alto import (
    SUPPLIER_BASE,
    SYNCED_TRADES,
    Details,
    contact_address,
    created_stamp,
    modified_stamp,
    person_details,
    pm_address,
)
from simulator.agency._names import TOWNS, Address, make_address, make_phone, slug
from simulator.agency._plan import Person
from simulator.agency._rand import Table, Tag, chance, rng_for

SYNCED_PERSONAS = frozenset({"Landlord", "Tenant"})
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
_COMPANY_ONLY = frozenset({"Gas", "Electricity", "Oil", "Water", "Bulk LPG", "Sewerage", "Utility",
                           "Council", "Contents Insurance", "Building Insurance",
                           "Public Liability Insurance", "Landlords Insurance",
                           "Rent Indemnity Insurance", "External Printer"})  # fmt: skip


def listed_as_client(details: Details) -> bool:
    """Whether ``/contacts/all?category=Client&persona=Landlord&persona=Tenant`` lists it."""
    return details.category == "Client" and bool(SYNCED_PERSONAS & set(details.personas))


def sdk_address(address: Address) -> dict[str, str | None]:
    """An address in the contacts API's shape (``nameNumber``, ``countryCode``, ``uprn``)."""
    parts = address.alto()
    return {
        "subDwelling": parts["subDwelling"],
        "nameNumber": parts["nameNo"],
        "street": parts["street"],
        "locality": parts["locality"],
        "town": parts["town"],
        "county": parts["county"],
        "postcode": parts["postcode"],
        "countryCode": parts["countryCode"],
        "uprn": None,
    }


def contact_item(seed: int, person: Person, today: date) -> dict[str, Any]:
    """The ContactListItem of a person, as ``GET /contacts/all`` lists it."""
    details = person_details(seed, person, today)
    rng = rng_for(seed, Tag.CONTACT, person.number)
    return {
        "id": person.contact_id,
        "contactType": {"category": details.category, "persona": list(details.personas)},
        "contactInformation": [_information(details)],
        "position": None,
        "intention": None,
        "disposal": None,
        "branch": {"id": _branch(person.number)},
        "leadSource": details.lead_source,
        "isActive": details.active,
        "potentialVendor": details.potential_vendor,
        "potentialLandlord": details.potential_landlord,
        "createdAt": created_stamp(rng, details.modified),
        "modifiedAt": details.modified,
        "notes": None,
        "companyName": details.company,
    }


def contact_detail(seed: int, person: Person, today: date) -> dict[str, Any]:
    """The Contact of a person, as ``GET /contacts?id=`` and ``GET /contacts/{id}`` give it."""
    details = person_details(seed, person, today)
    return {
        "id": person.contact_id,
        "address": sdk_address(contact_address(seed, person)),
        "branch": {"id": _branch(person.number)},
        "people": [_person(details, person.number)],
        "category": details.category,
        "position": None,
        "intention": None,
        "disposal": None,
        "notes": None,
        "companyName": details.company,
        "archived": details.archived,
        "potentialVendor": details.potential_vendor,
        "potentialLandlord": details.potential_landlord,
        "modifiedDate": details.modified,
    }


def _branch(number: int) -> str:
    return str(1 + number % 4)


def _information(details: Details) -> dict[str, str | None]:
    """One person's line of a ContactListItem: the first phone and email only."""
    return {
        "title": details.title,
        "foreName": details.forename,
        "surname": details.surname,
        "phoneNumber": details.phones[0][1] if details.phones else None,
        "emailAddress": details.emails[0] if details.emails else None,
    }


def _person(details: Details, number: int) -> dict[str, Any]:
    phones = [
        {"preferenceOrder": n, "type": kind, "number": value, "description": None}
        for n, (kind, value) in enumerate(details.phones, start=1)
    ]
    emails = [
        {"preferenceOrder": n, "type": "Personal" if n == 1 else "Business", "address": value}
        for n, value in enumerate(details.emails, start=1)
    ]
    return {
        "id": str(number),
        "title": details.title,
        "forename": details.forename,
        "surname": details.surname,
        "phoneNumbers": phones,
        "emailAddresses": emails,
    }


# --- suppliers ---------------------------------------------------------------------------


_STATE_DRAWS = 3
SUPPLIER_CONTACT_OFFSET = 1 << 36  # supplier contacts' streams, beyond any person's number


@dataclass(frozen=True, slots=True)
class SupplierState:
    """What Alto's supplier contact says of a supplier: whether it has one (`listed`),
    and whether it is active and archived."""

    listed: bool
    active: bool
    archived: bool


def supplier_count(size: int) -> int:
    """How many suppliers an agency of `size` properties works with."""
    return max(3, size // 20)


def supplier_state(seed: int, index: int) -> SupplierState:
    """The supplier contact's state for supplier `index` (the first draws of its stream)."""
    rng = rng_for(seed, Tag.SUPPLIER, index)
    archived, inactive, unlisted = (rng.random() for _ in range(_STATE_DRAWS))
    return SupplierState(
        listed=unlisted >= 0.04,
        active=archived >= 0.05 and inactive >= 0.08,
        archived=archived < 0.05,
    )


def supplier_active(seed: int, supplier: dict[str, Any]) -> bool:
    """Whether a generated supplier's contact says it is active (False without one)."""
    state = supplier_state(seed, int(supplier["id"]) - SUPPLIER_BASE)
    return state.listed and state.active


def first_person(supplier: dict[str, Any]) -> dict[str, Any]:
    """The supplier's first person, or an empty one (no names, no email, no phone)."""
    people = supplier.get("people") or []
    empty = {"title": None, "forename": None, "surname": None}
    return people[0] if people else empty | {"emailAddresses": [], "telephoneNumbers": []}


def supplier_record(seed: int, index: int, today: date) -> dict[str, Any]:
    """Alto supplier `index` as ``GET /suppliers`` lists it: one to three trades, a contact
    person or two (none for some utilities and councils), maybe a company."""
    rng = rng_for(seed, Tag.SUPPLIER, index)
    for _ in range(_STATE_DRAWS):  # the state's draws come first in the stream
        rng.random()
    number = SUPPLIER_BASE + index
    trades = list(dict.fromkeys(_TRADES.pick(rng) for _ in range(_TRADE_COUNT.pick(rng))))
    town = TOWNS.pick(rng).name
    person = person_details(seed, Person(number, "other", number), today)
    company = _supplier_company(rng, trades[0], person.surname, town)
    people = [] if trades[0] in _COMPANY_ONLY and chance(rng, 0.3) else [_worker(rng, person)]
    if people and chance(rng, 0.1):
        second = person_details(seed, Person(number + 100_000, "other", number), today)
        people.append(_worker(rng, second))
    domain = slug(company or person.surname) + ".example"
    if people and not chance(rng, 0.05):
        people[0]["emailAddresses"] = [f"{slug(person.forename)}{number}@{domain}"]
    return {
        "id": str(number),
        "branchId": str(1 + rng.randrange(4)),
        "companyName": company,
        "providedServices": trades,
        "address": pm_address(make_address(rng, commercial=True)),
        "people": people,
        "notes": "Out of hours: call the office first" if chance(rng, 0.1) else None,
    }


def _worker(rng: random.Random, details: Details) -> dict[str, Any]:
    return {
        "title": details.title,
        "forename": details.forename,
        "surname": details.surname,
        "emailAddresses": [],
        "telephoneNumbers": [make_phone(rng, mobile=chance(rng, 0.6))],
    }


def supplier_contact(
    seed: int, index: int, supplier: dict[str, Any], today: date
) -> dict[str, Any] | None:
    """The ContactListItem of category Supplier with the supplier's id, or None."""
    state = supplier_state(seed, index)
    if not state.listed:
        return None
    rng = rng_for(seed, Tag.CONTACT, SUPPLIER_CONTACT_OFFSET + index)
    modified = modified_stamp(rng, today)
    people = supplier["people"]
    return {
        "id": supplier["id"],
        "contactType": {"category": "Supplier", "persona": []},
        "contactInformation": [_worker_information(worker) for worker in people],
        "position": None,
        "intention": None,
        "disposal": None,
        "branch": {"id": supplier["branchId"]},
        "leadSource": None,
        "isActive": state.active,
        "potentialVendor": False,
        "potentialLandlord": False,
        "createdAt": created_stamp(rng, modified),
        "modifiedAt": modified,
        "notes": None,
        "companyName": supplier["companyName"],
    }


def _worker_information(worker: dict[str, Any]) -> dict[str, str | None]:
    emails, phones = worker["emailAddresses"], worker["telephoneNumbers"]
    return {
        "title": worker["title"],
        "foreName": worker["forename"],
        "surname": worker["surname"],
        "phoneNumber": phones[0] if phones else None,
        "emailAddress": emails[0] if emails else None,
    }


def _supplier_company(rng: random.Random, trade: str, surname: str, town: str) -> str | None:
    if trade == "Council":
        return f"{town} Borough Council"
    if trade in _COMPANY_ONLY:
        return f"{town} {trade} Services Ltd"
    if chance(rng, 0.3):
        return None  # a sole trader
    return rng.choice((f"{surname} {trade} Ltd", f"{surname} & Sons", f"{town} {trade} Co"))
