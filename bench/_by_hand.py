"""The alto-fixflo v2 entities written by hand, one function per entity and record.

The baselines of bench/evaluate_bench.py: each function applies exactly one entity's
include rules (default settings) and map to one record, as a Python programmer would write
them, and gives ``(key, included, fields)``. The joins (contact details, tenancy places,
tenancies, included properties, supplier contacts) go through indexes built once per run,
as the engine's context builds its relation indexes once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Record = dict[str, Any]
Records = dict[str, list[Record]]
Outcome = tuple[str | None, bool, Record]

MANAGED = frozenset({"Managed", "FullyManaged", "PartManaged"})  # P-02, gap.management-type
CATEGORIES = frozenset({"Residential"})  # P-05, the property_categories default
STATUSES = frozenset(  # P-06, the property_statuses default
    {
        "Available",
        "UnderOffer",
        "Let",
        "LetAgreed",
        "LetMarketing",
        "Instructed",
        "UnderOfferMarketing",
        "UnderOfferAvailable",
        "Reserved",
    }
)
LIVE = frozenset({"Active", "Periodic", "Renewal in Progress", "Vacate in Progress"})  # T-01
TRADES = frozenset(  # C-02, compared ignoring case
    {
        "plumbing",
        "window cleaning",
        "gardening",
        "gas",
        "electricity",
        "oil",
        "water",
        "bulk lpg",
        "carpentry",
        "pest control",
        "building maintenance",
        "contents insurance",
        "building insurance",
        "public liability insurance",
        "council",
        "sewerage",
        "board contractor",
        "external printer",
        "builder",
        "landlords insurance",
        "rent indemnity insurance",
        "utility",
        "electrician",
    }
)


def _text(value: Any) -> str:
    """A `join` part as the engine reads it: missing is empty, lists joined, stripped."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value if not _empty(item))
    return str(value).strip()


def _join(first: Any, second: Any, third: Any) -> str | None:
    return " ".join(filter(None, (_text(first), _text(second), _text(third)))) or None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _or_none(value: Any) -> Any:
    """What a `related` value gives: the first non-empty value, else None."""
    return None if _empty(value) else value


def _at(items: Any, position: int) -> Any:
    """`items[position]` as a path step reads it: None when out of range or not a list."""
    return items[position] if type(items) is list and position < len(items) else None


def _key(value: Any) -> str | None:
    """The text a relation joins on (ids may be numbers or text)."""
    return None if value is None or isinstance(value, bool | dict | list) else str(value)


def _id(value: Any) -> str | None:
    """A record's key as a decision gives it (as text)."""
    return None if value is None else str(value)


def _index(records: list[Record], field: str) -> dict[str, list[Record]]:
    """Records by the text of `field`, in source order (a relation's index)."""
    index: dict[str, list[Record]] = {}
    for record in records:
        key = _key(record.get(field))
        if key is not None:
            index.setdefault(key, []).append(record)
    return index


def property_included(record: Record) -> bool:
    """P-01, P-02, P-03, P-05, P-06 with the default settings."""
    return (
        record.get("recordType") == "Rent"
        and record.get("managementType") in MANAGED
        and record.get("maintenanceType") == "MaintainedByUs"
        and record.get("categoryType") in CATEGORIES
        and record.get("status") in STATUSES
    )


def property_(record: Record) -> Outcome:
    """The v2 property entity: P-01..P-06, then its map."""
    key = _id(record.get("inventoryId"))
    if not property_included(record):
        return key, False, {}
    address = record.get("address") or {}
    country = address.get("countryCode")
    return (
        key,
        True,
        {
            "ExternalPropertyRef": record.get("inventoryId"),
            "Address": {
                "AddressLine1": _join(
                    address.get("subDwelling"), address.get("nameNo"), address.get("street")
                ),
                "AddressLine2": address.get("locality"),
                "Town": address.get("town"),
                "County": address.get("county"),
                "PostCode": address.get("postcode"),
                "Country": "GB" if country is None or country == "" else country,
            },
        },
    )


def _email(details: Record) -> Any:
    person = _at(details.get("people"), 0) or {}
    return (_at(person.get("emailAddresses"), 0) or {}).get("address")


def _person(contact: Record, details: Record | None) -> Record:
    """The v2 person map of a landlord or occupier (names, email and phones from the
    contact details' first person, the address from the details)."""
    details = details or {}
    person = _at(details.get("people"), 0) or {}
    phones = person.get("phoneNumbers")
    address = details.get("address") or {}
    return {
        "ExternalRef": contact.get("id"),
        "Title": _or_none(person.get("title")),
        "FirstName": _or_none(person.get("forename")),
        "Surname": _or_none(person.get("surname")),
        "CompanyName": contact.get("companyName"),
        "EmailAddress": _or_none(_email(details)),
        "ContactNumber": _or_none((_at(phones, 0) or {}).get("number")),
        "ContactNumberAlt": _or_none((_at(phones, 1) or {}).get("number")),
        "Address": {
            "AddressLine1": _join(
                address.get("subDwelling"), address.get("nameNumber"), address.get("street")
            ),
            "AddressLine2": _or_none(address.get("locality")),
            "Town": _or_none(address.get("town")),
            "County": _or_none(address.get("county")),
            "PostCode": _or_none(address.get("postcode")),
            "Country": _or_none(address.get("countryCode")) or "GB",
        },
    }


def _active_with_email(contact: Record, details: Record | None) -> bool:
    """T-02 / landlord-active, then G-03: active, details not archived, an email."""
    return (
        contact.get("isActive") is True
        and details is not None
        and details.get("archived") is not True
        and not _empty(_email(details))
    )


def _has(contact: Record, persona: str) -> bool:
    """``contactType.persona[]`` holds `persona`."""
    found = (contact.get("contactType") or {}).get("persona")
    return persona in found if type(found) is list else found == persona


class AltoByHand:
    """Each v2 entity's hand-written function over one generated agency's records."""

    def __init__(self, records: Records) -> None:
        self.details = {
            key: found[0] for key, found in _index(records["alto.contact_details"], "id").items()
        }
        self.places = _index(records["alto.tenancy_tenants"], "contactId")
        self.tenancies = _index(records["alto.tenancies"], "id")
        self.included = {  # the `included: property` of T-01, each property decided once
            _key(record.get("inventoryId")): record
            for record in records["alto.inventory"]
            if property_included(record)
        }
        self.active_suppliers = {  # C-01: the Supplier contact of the same id is active
            _key(contact.get("id"))
            for contact in records["alto.contacts"]
            if (contact.get("contactType") or {}).get("category") == "Supplier"
            and contact.get("isActive") is True
        }

    def functions(self) -> dict[str, Callable[[Record], Outcome]]:
        """The hand-written function of each entity, by entity name."""
        return {
            "property": property_,
            "occupier": self.occupier,
            "landlord": self.landlord,
            "contractor": self.contractor,
        }

    def live_properties(self, contact: Record) -> list[Record]:
        """T-01's joins: the included properties of the live tenancies held through the
        contact's places, in source order."""
        found = []
        for place in self.places.get(_key(contact.get("id")) or "", ()):
            for tenancy in self.tenancies.get(_key(place.get("tenancyId")) or "", ()):
                if tenancy.get("status") in LIVE:
                    held = self.included.get(_key(tenancy.get("propertyId")))
                    if held is not None:
                        found.append(held)
        return found

    def occupier(self, contact: Record) -> Outcome:
        """T-01 (a Tenant with a live tenancy at an included property), T-02, G-03; the
        person map and the first such property's inventoryId."""
        key = _id(contact.get("id"))
        details = self.details.get(_key(contact.get("id")) or "")
        live = self.live_properties(contact) if _has(contact, "Tenant") else []
        if not (live and _active_with_email(contact, details)):
            return key, False, {}
        refs = (held.get("inventoryId") for held in live)
        ref = next((found for found in refs if not _empty(found)), None)
        return key, True, {**_person(contact, details), "ExternalPropertyRef": ref}

    def landlord(self, contact: Record) -> Outcome:
        """L-01 (a Client with the Landlord persona), landlord-active, G-03; the person map."""
        key = _id(contact.get("id"))
        details = self.details.get(_key(contact.get("id")) or "")
        if not (
            (contact.get("contactType") or {}).get("category") == "Client"
            and _has(contact, "Landlord")
            and _active_with_email(contact, details)
        ):
            return key, False, {}
        return key, True, _person(contact, details)

    def contractor(self, supplier: Record) -> Outcome:
        """C-01 (gap.supplier-active), C-02 (a trade, ignoring case), G-03; C-03's map from
        the supplier's first person."""
        key = _id(supplier.get("id"))
        services = supplier.get("providedServices")
        person = _at(supplier.get("people"), 0) or {}
        emails = person.get("emailAddresses")
        if not (
            _key(supplier.get("id")) in self.active_suppliers
            and any(
                type(service) is str and service.casefold() in TRADES
                for service in (services if type(services) is list else [services])
            )
            and not _empty(_at(emails, 0))
        ):
            return key, False, {}
        phones = person.get("telephoneNumbers")
        return (
            key,
            True,
            {
                "ExternalRef": supplier.get("id"),
                "Title": person.get("title"),
                "FirstName": person.get("forename"),
                "Surname": person.get("surname"),
                "CompanyName": supplier.get("companyName"),
                "EmailAddress": _at(emails, 0),
                "ContactNumber": _at(phones, 0),
                "ContactNumberAlt": _at(phones, 1),
            },
        )
