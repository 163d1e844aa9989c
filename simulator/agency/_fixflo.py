"""Fixflo records as an earlier nightly run and the agency's own staff left them.

Each Alto property, landlord, tenant and supplier has a `Fate` on the Fixflo side, drawn
from its own seeded stream so every collection agrees:

- ``SYNCED``: made by the integration, bearing its external reference, still up to date;
- ``STALE``: bearing the reference, but Alto has changed since (a phone number, an address);
- ``TWIN``: made by hand, no reference, same email (people; G-04) or the exact address the
  integration would write (properties; G-05);
- ``NEAR``: a property made by hand with the same postcode and number but the first line
  punctuated or cased differently, e.g. ``Flat 2, 10 High St`` for ``Flat 2 10 High Street``;
- ``NONE``: not in Fixflo.

Besides these, a few hand-made "orphans" match nothing in Alto (the manual archive list).

Records are in Fixflo's own shapes (contracts/fixflo.md): a Property's id is lowercase ``id``
(a number), a Landlord's and a Tenant's lowercase ``id`` (a string), a Contractor's capital
``Id`` (a string); `simulator.agency.generate` numbers them. External references are the
integration's (docs/adapters.md): a property's ``ExternalPropertyRef`` is the Alto
``inventoryId``, a landlord's or tenant's ``ExternalRef`` the Alto contact id, a contractor's
the Alto supplier id (Alto has no OID: gap.oid).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, timedelta
from enum import Enum
from typing import Any, NamedTuple

from simulator.agency._alto import (
    SYNCED_TRADES,
    contact_address,
    person_details,
    property_address,
)
from simulator.agency._alto_contacts import first_person, supplier_active
from simulator.agency._names import Address, make_address, make_phone
from simulator.agency._plan import LIVE, Person, PlannedProperty
from simulator.agency._rand import Table, Tag, chance, rng_for

ORPHAN_BASE = 9_000_000
SYNCED_MANAGEMENT = frozenset({"Managed", "PartManaged"})
SERVICE_IDS = {trade: number for number, trade in enumerate(SYNCED_TRADES, start=1)}
_EPOCH = date(2026, 11, 22)


class Fate(Enum):
    """What an Alto record's counterpart in Fixflo looks like."""

    NONE = "none"
    SYNCED = "synced"
    STALE = "stale"
    TWIN = "twin"
    NEAR = "near"


HAS_REF = frozenset({Fate.SYNCED, Fate.STALE})
# Keyed by whether the integration would sync the record today.
_PROPERTY_FATES = {
    True: Table([
        (Fate.SYNCED, 45), (Fate.STALE, 10), (Fate.TWIN, 6), (Fate.NEAR, 5), (Fate.NONE, 34),
    ]),
    False: Table([(Fate.SYNCED, 4), (Fate.NONE, 96)]),
}  # fmt: skip
_PERSON_FATES = {
    True: Table([(Fate.SYNCED, 40), (Fate.STALE, 10), (Fate.TWIN, 7), (Fate.NONE, 43)]),
    False: Table([(Fate.SYNCED, 8), (Fate.NONE, 92)]),
}
_SUPPLIER_FATES = {
    True: Table([(Fate.SYNCED, 45), (Fate.STALE, 10), (Fate.TWIN, 8), (Fate.NONE, 37)]),
    False: Table([(Fate.SYNCED, 5), (Fate.NONE, 95)]),
}


def property_fate(seed: int, plan: PlannedProperty) -> Fate:
    """The Fixflo fate of a planned property; those the integration syncs are the likeliest.

    Syncing here means Rent, Managed or PartManaged, MaintainedByUs and not archived
    (requirements P-01 to P-03); other properties were synced only before they changed.
    """
    eligible = (
        plan.record_type == "Rent"
        and plan.management in SYNCED_MANAGEMENT
        and plan.maintenance == "MaintainedByUs"
        and not plan.archived
    )
    return _PROPERTY_FATES[eligible].pick(rng_for(seed, Tag.PROPERTY_FATE, plan.position))


def person_fate(seed: int, person: Person, live: bool, today: date) -> Fate:
    """The Fixflo fate of a landlord or tenant (`live`: in a current tenancy).

    People without an email address never synced (G-03), nor could they have a twin.
    """
    if person.kind not in ("landlord", "tenant"):
        return Fate.NONE
    eligible = person.kind == "landlord" or live
    fate = _PERSON_FATES[eligible].pick(rng_for(seed, Tag.PERSON_FATE, person.number))
    if fate is not Fate.NONE and not person_details(seed, person, today).emails:
        return Fate.NONE
    return fate


class SupplierView(NamedTuple):
    """What a contractor is made from, read from an Alto supplier record."""

    supplier_id: str
    title: str | None
    forename: str | None
    surname: str | None
    company: str | None
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    trades: tuple[str, ...]
    address: dict[str, Any]


def supplier_view(supplier: dict[str, Any]) -> SupplierView:
    """The parts of an Alto supplier (the contract's Supplier) a contractor is made from:
    ``people[0]`` {title, forename, surname, emailAddresses, telephoneNumbers},
    ``providedServices`` and ``address``. The Supplier has no active flag: that comes from
    its supplier contact (`supplier_active`)."""
    person = first_person(supplier)
    return SupplierView(
        supplier_id=str(supplier["id"]),
        title=person.get("title"),
        forename=person.get("forename"),
        surname=person.get("surname"),
        company=supplier.get("companyName"),
        emails=tuple(person.get("emailAddresses") or ()),
        phones=tuple(str(p) for p in person.get("telephoneNumbers") or ()),
        trades=tuple(supplier.get("providedServices") or ()),
        address=dict(supplier.get("address") or {}),
    )


def supplier_fate(seed: int, supplier: dict[str, Any]) -> Fate:
    """The Fixflo fate of an Alto supplier; active ones with a synced trade are likeliest."""
    view = supplier_view(supplier)
    if not view.emails:
        return Fate.NONE
    eligible = supplier_active(seed, supplier) and any(t in SERVICE_IDS for t in view.trades)
    return _SUPPLIER_FATES[eligible].pick(rng_for(seed, Tag.SUPPLIER_FATE, int(view.supplier_id)))


def live_tenants(plan: PlannedProperty) -> frozenset[int]:
    """Contact numbers of the people in the property's current tenancies."""
    return frozenset(p.number for t in plan.tenancies if t.status in LIVE for p in t.tenants)


def property_record(seed: int, plan: PlannedProperty, fate: Fate) -> dict[str, Any] | None:
    """The Fixflo property for a planned one, or None when its fate is NONE."""
    if fate is Fate.NONE:
        return None
    rng = rng_for(seed, Tag.FIXFLO, plan.position)
    address = property_address(seed, plan.position)[0]
    fields = address.fixflo()
    if fate is Fate.STALE:
        fields = _old_address(rng, address)
    elif fate is Fate.NEAR:
        fields = address.fixflo(near_duplicate(rng, address))
    return _property(rng, plan.property_id if fate in HAS_REF else None, fields)


def orphan_property(seed: int, plan: PlannedProperty) -> dict[str, Any] | None:
    """Now and then, a property made by hand in Fixflo that matches nothing in Alto."""
    rng = rng_for(seed, Tag.PROPERTY_ORPHAN, plan.position)
    if not chance(rng, 0.02):
        return None
    return _property(rng, None, make_address(rng).fixflo(), deleted=chance(rng, 0.2))


def _property(
    rng: random.Random, ref: str | None, address: dict[str, str | None], deleted: bool = False
) -> dict[str, Any]:
    key = f"K{rng.randint(1, 999):03d}" if chance(rng, 0.3) else None
    return {
        "id": 0, "BlockId": 0, "ExternalPropertyRef": ref, "PropertyAddressId": None,
        "Address": address, "UpdateDate": update_date(rng), "KeyReference": key,
        "IsNotManaged": False, "IsDeleted": deleted,
        "ArchiveStatus": "Deactivated" if deleted else "Active",
    }  # fmt: skip


def update_date(rng: random.Random, today: date | None = None) -> str:
    """When Fixflo last changed a record: within the last two years of `today` (UTC)."""
    day = (today or _EPOCH) - timedelta(days=rng.randint(1, 730))
    seconds = rng.randrange(86_400)
    return f"{day.isoformat()}T{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}Z"


def _old_address(rng: random.Random, address: Address) -> dict[str, str | None]:
    fields = address.fixflo()
    if chance(rng, 0.5):
        unit = "YY" if address.postcode.endswith("ZZ") else "ZZ"
        fields["PostCode"] = address.postcode[:-2] + unit  # before a correction in Alto
    else:
        fields["AddressLine1"] = (
            f"{int(address.name_no) + 2 if address.name_no.isdigit() else 1} {address.street}"
        )
    return fields


def near_duplicate(rng: random.Random, address: Address) -> str:
    """The first line typed by hand: commas, abbreviations or other case; never exactly equal."""
    street = address.short_street if chance(rng, 0.5) else address.street
    parts = [part for part in (address.sub_dwelling, address.name_no, street) if part]
    text = ", ".join(parts) if chance(rng, 0.6) else " ".join(parts)
    roll = rng.random()
    text = text.upper() if roll < 0.15 else text.lower() if roll < 0.25 else text
    return text if text != address.line1() else ", ".join(parts)


def person_record(
    seed: int, person: Person, fate: Fate, today: date, property_ref: str | None = None
) -> dict[str, Any] | None:
    """A Fixflo landlord or tenant (tenants carry `property_ref`) for an Alto contact."""
    if fate is Fate.NONE:
        return None
    details = person_details(seed, person, today)
    rng = rng_for(seed, Tag.FIXFLO_PERSON, person.number)
    phones = [number for _, number in details.phones] + [None, None]
    record: dict[str, Any] = {
        "id": "",
        "ExternalRef": person.contact_id if fate in HAS_REF else None,
    }
    if person.kind == "tenant":
        record["ExternalPropertyRef"] = property_ref if fate in HAS_REF else None
    record |= {
        "CompanyName": details.company,
        "Title": details.title,
        "FirstName": details.forename,
        "Surname": details.surname,
        "EmailAddress": details.emails[0] if details.emails else None,
        "ContactNumber": phones[0],
        "ContactNumberAlt": phones[1],
        "DisplayName": f"{details.title} {details.surname}",
        "Address": contact_address(seed, person).fixflo(),
        "IsDeleted": chance(rng, 0.02),
        "UpdateDate": update_date(rng, today),
    }
    if person.kind == "landlord":
        record["WorksAuthorisationLimit"] = str(rng.choice((0, 150, 250, 500)))
    return _touch(rng, record, fate)


def _touch(rng: random.Random, record: dict[str, Any], fate: Fate) -> dict[str, Any]:
    """Make a STALE record out of date, or a TWIN look typed by hand."""
    if fate is Fate.STALE and chance(rng, 0.6):
        old = record["ContactNumber"]
        while record["ContactNumber"] == old:
            record["ContactNumber"] = make_phone(rng, mobile=True)
    elif fate is Fate.STALE:
        record["Address"] = make_address(rng).fixflo()
    elif fate is Fate.TWIN:
        email = record["EmailAddress"]
        record["EmailAddress"] = email.capitalize() if chance(rng, 0.25) else email
        record["Title"] = None if chance(rng, 0.5) else record["Title"]
    return record


def orphan_person(seed: int, person: Person, today: date) -> dict[str, Any] | None:
    """Now and then, a person made by hand in Fixflo that matches no Alto contact."""
    rng = rng_for(seed, Tag.ORPHAN, person.number)
    if not chance(rng, 0.03):
        return None
    stranger = Person(ORPHAN_BASE + person.number, person.kind, ORPHAN_BASE + person.number)
    record = person_record(seed, stranger, Fate.SYNCED, today, None)
    assert record is not None
    record |= {"ExternalRef": None, "IsDeleted": chance(rng, 0.15)}
    if "ExternalPropertyRef" in record:
        record["ExternalPropertyRef"] = None
    record["Address"] = make_address(rng).fixflo()
    return record


def contractor_record(
    seed: int, supplier: dict[str, Any], fate: Fate, today: date | None = None
) -> dict[str, Any] | None:
    """The Fixflo contractor for an Alto supplier (``ExternalRef`` its id), or None."""
    if fate is Fate.NONE:
        return None
    view = supplier_view(supplier)
    rng = rng_for(seed, Tag.FIXFLO_PERSON, int(view.supplier_id))
    services = [{"id": SERVICE_IDS[t], "Name": t} for t in view.trades if t in SERVICE_IDS]
    if fate is Fate.STALE and len(services) > 1:
        services.pop()
    record = {
        "Id": "",
        "ExternalRef": view.supplier_id if fate in HAS_REF else None,
        "CompanyName": view.company,
        "Title": view.title,
        "FirstName": view.forename,
        "Surname": view.surname,
        "DisplayName": view.company or f"{view.title} {view.surname}",
        "EmailAddress": view.emails[0] if view.emails else None,
        "ContactNumber": view.phones[0] if view.phones else None,
        "ContactNumberAlt": None,
        "IsDeleted": not supplier_active(seed, supplier) and chance(rng, 0.3),
        "Address": alto_to_fixflo(view.address),
        "Services": services,
        "UpdateDate": update_date(rng, today),
    }
    return _touch(rng, record, fate)


def orphan_contractor(seed: int, supplier: dict[str, Any], today: date) -> dict[str, Any] | None:
    """Now and then, a contractor made by hand in Fixflo that matches no Alto supplier."""
    number = int(supplier["id"])
    rng = rng_for(seed, Tag.ORPHAN, number)
    if not chance(rng, 0.05):
        return None
    stranger = person_details(
        seed, Person(ORPHAN_BASE + number, "other", ORPHAN_BASE + number), today
    )
    trade = rng.choice(SYNCED_TRADES)
    company = f"{stranger.surname} {trade} Ltd"
    return {
        "Id": "", "ExternalRef": None, "CompanyName": company, "Title": stranger.title,
        "FirstName": stranger.forename, "Surname": stranger.surname, "DisplayName": company,
        "EmailAddress": stranger.emails[0] if stranger.emails else None,
        "ContactNumber": make_phone(rng, mobile=True), "ContactNumberAlt": None,
        "IsDeleted": chance(rng, 0.2), "Address": make_address(rng, commercial=True).fixflo(),
        "Services": [{"id": SERVICE_IDS[trade], "Name": trade}],
        "UpdateDate": update_date(rng, today),
    }  # fmt: skip


def alto_to_fixflo(parts: Mapping[str, Any]) -> dict[str, Any]:
    """An Alto address dict in Fixflo's form, as the integration formats it."""
    line = (parts.get("subDwelling"), parts.get("nameNo"), parts.get("street"))
    return {"AddressLine1": " ".join(p for p in line if p) or None,
            "AddressLine2": parts.get("locality"), "Town": parts.get("town"),
            "County": parts.get("county"), "PostCode": parts.get("postcode"),
            "Country": "GB"}  # fmt: skip
