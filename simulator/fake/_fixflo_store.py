"""The fake Fixflo's records and the write rules of Fixflo's published contract.

Records are kept in Fixflo's shapes (contracts/fixflo.md): a Property's lowercase ``id`` is a
number, a Landlord's and a Tenant's lowercase ``id`` a string, a Contractor's ``Id`` a string.
Each collection is keyed by that id as a number. Links are kept as Fixflo keeps them:
LandlordProperty ``{Id, LandlordId, PropertyId}`` and, per tenant, TenantProperty ``{Id,
PropertyId, PropertyExternalRef, LinkType}``.

The rules each write follows, as the contract states them or (marked) as this fake reads an
UNCONFIRMED point; a refusal is `WriteRefused`, served as a 200 envelope with ``Errors``:

- a body field the contract does not list for the write is refused (keys as spelt there);
- ``POST /Property``: ``id`` > 0 updates that property but never its address; ``id`` 0
  creates, unless a property has the same first line and postcode, which is returned as it
  is; ``ExternalPropertyRef`` is unique; a create needs ``Address.AddressLine1`` and
  ``PostCode`` (the fake's reading);
- ``POST /Property/UpdateAddress``: by ``id`` or ``ExternalPropertyRef``, sets the new
  address and keeps the old one as an alternate;
- ``POST /Tenant`` and ``POST /Landlord``: a non-empty ``id`` updates that record, none
  creates (UNCONFIRMED: the contract states no rule); ``ExternalRef`` and ``EmailAddress``
  are unique; a create needs ``EmailAddress`` (it is the login);
- ``POST /Contractor``: a null or empty ``Id`` always creates, even with the ``ExternalRef``
  or ``EmailAddress`` of another contractor (the contract says such a post "should fail"
  but marks it UNCONFIRMED: the fake takes the worst reading, so a blind retry makes a
  duplicate); a non-empty ``Id`` must exist, and an update keeps both unique.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from engine.ports import Record
from simulator.agency.generate import AgencyGenerator

__all__ = ["ENTITIES", "FIELDS", "REF_KEYS", "FixfloStore", "WriteRefused"]

# Each collection's id key and whether Fixflo sends that id as a string.
ENTITIES: Final = {
    "properties": ("id", False),
    "landlords": ("id", True),
    "tenants": ("id", True),
    "contractors": ("Id", True),
}
REF_KEYS: Final = {
    "properties": "ExternalPropertyRef",
    "landlords": "ExternalRef",
    "tenants": "ExternalRef",
    "contractors": "ExternalRef",
}
_ADDRESS: Final = ("AddressLine1", "AddressLine2", "Town", "County", "PostCode", "Country")
_PERSON: Final = frozenset({
    "ExternalRef", "Title", "FirstName", "Surname", "CompanyName", "Address", "EmailAddress",
    "ContactNumber", "ContactNumberAlt", "DisplayName", "IsDeleted", "Brand", "UpdateDate",
})  # fmt: skip
# The body fields each write's schema lists (facts.json request_fields). Landlord's spec
# keys "EmailCC\t" and "Address\t" end in a TAB (a spec defect): read as EmailCC, Address.
FIELDS: Final = {
    "properties": frozenset({
        "id", "BlockId", "ExternalPropertyRef", "PropertyAddressId", "Address", "UpdateDate",
        "KeyReference", "IsNotManaged", "IsDeleted", "ArchiveStatus", "AssignedAgent",
        "AssignedTeam", "PropertyManager", "Warranties",
    }),
    "tenants": _PERSON | {"id", "ExternalPropertyRef"},
    "landlords": _PERSON | {"id", "WorksAuthorisationLimit", "EmailCC", "AssignedAgent"},
    "contractors": (_PERSON - {"ExternalPropertyRef"})
    | {"Id", "InvoiceDetails", "Services", "Certifications"},
    "landlord_join": frozenset({"Id", "ExternalLandlordRef", "ExternalPropertyRef",
                                "IsPrimaryLandlord"}),
    "tenant_property": frozenset({"Id", "PropertyId", "PropertyExternalRef", "LinkType"}),
}  # fmt: skip
_READ_ONLY: Final = frozenset({"UpdateDate", "ArchiveStatus", "PropertyAddressId"})
LINK_TYPES: Final = ("Tenant", "TenantCorrespondence")
STATUSES: Final = (
    "Reported",
    "QuotesRequested",
    "JobAwarded",
    "AwaitingJobCompletion",
    "JobCompleted",
    "Closed",
)


class WriteRefused(Exception):
    """A write Fixflo refuses with Errors in a 200 envelope."""


@dataclass
class FixfloStore:
    """Every Fixflo record of one fake agency, its links, and when each record last changed.

    Attributes:
        collections: ``properties``, ``landlords``, ``tenants``, ``contractors``, each by id.
        landlord_links: LandlordProperty records by their ``Id``.
        tenant_links: TenantProperty records by their ``Id``, each with the tenant's id
            under ``TenantId`` (the fake's bookkeeping; never served).
        alternates: the earlier addresses of a property after ``UpdateAddress``.
        settings: AgencySettings ``{AgencyName, WorkflowType}``.
    """

    collections: dict[str, dict[int, Record]] = field(default_factory=dict)
    landlord_links: dict[int, Record] = field(default_factory=dict)
    tenant_links: dict[int, Record] = field(default_factory=dict)
    alternates: dict[int, list[Record]] = field(default_factory=dict)
    settings: Record = field(default_factory=dict)
    issues: dict[int, Record] = field(default_factory=dict)
    taken_at: str = ""
    writes: int = 0
    last_id: int = 10_000

    @classmethod
    def generate(cls, size: int, seed: int) -> FixfloStore:
        """The Fixflo side of the generated agency of this size and seed."""
        generator = AgencyGenerator(size, seed)
        made = generator.fixflo_collections()
        store = cls(taken_at=generator.taken_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for name, (key, _) in ENTITIES.items():
            store.collections[name] = {int(r[key]): r for r in made[name]}
        for join in made["landlord_properties"]:
            store._add_landlord_link(join)
        for link in made["tenant_properties"]:
            store._add_tenant_link(link)
        store.settings = next(iter(made["agency_settings"]))
        store.issues = dict(_issues(store, generator))
        store.last_id = max(
            (n for table in (*store.collections.values(), store.landlord_links,
                             store.tenant_links) for n in table),
            default=10_000,
        )  # fmt: skip
        return store

    def tick(self) -> str:
        """The fake's clock for a write: a second after the last, from when it was generated."""
        self.writes += 1
        start = datetime.strptime(self.taken_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return (start + timedelta(seconds=self.writes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def new_id(self) -> int:
        """The next id, unique across the fake's records and links."""
        self.last_id += 1
        return self.last_id

    def find(self, collection: str, key: str, value: str) -> Record | None:
        """The record whose `key` is `value` (ids and refs exactly, email in any case)."""
        if key.casefold() == "id":
            number = _number(value)
            return self.collections[collection].get(number) if number else None
        fold = key == "EmailAddress"
        for record in self.collections[collection].values():
            held = str(record.get(key) or "")
            if held and (held.casefold() == value.casefold() if fold else held == value):
                return record
        return None

    # -- writes -------------------------------------------------------------------------

    def save_property(self, body: Mapping[str, Any]) -> Record:
        """``POST /Property``: update by ``id`` (never the address), or create."""
        _check_fields("properties", body)
        number = _id_of(body, "id")
        if number:
            record = self._existing("properties", number)
            self._unique("properties", body, record)
            changes = {k: v for k, v in body.items() if k not in {"id", "Address"} | _READ_ONLY}
            return self._changed("properties", record, changes)
        address = body.get("Address")
        if not isinstance(address, Mapping) or not address.get("AddressLine1"):
            raise WriteRefused("Address.AddressLine1 is required to create a property")
        if not address.get("PostCode"):
            raise WriteRefused("Address.PostCode is required to create a property")
        same = self._same_address(address)
        if same is not None:
            return same  # Fixflo returns the existing property and creates none
        self._unique("properties", body, None)
        record = {"id": self.new_id(), "BlockId": 0, "ExternalPropertyRef": None,
                  "IsNotManaged": False, "IsDeleted": False, "ArchiveStatus": "Active"}  # fmt: skip
        record["PropertyAddressId"] = str(record["id"])
        fields = {k: v for k, v in body.items() if k not in {"id"} | _READ_ONLY}
        self.collections["properties"][record["id"]] = record
        return self._changed("properties", record, fields)

    def update_address(self, body: Mapping[str, Any]) -> Record:
        """``POST /Property/UpdateAddress``: the property by ``id`` or ``ExternalPropertyRef``
        gets the new ``Address``; the old one is kept as an alternate."""
        _check_fields("properties", body)
        number, ref = _id_of(body, "id"), body.get("ExternalPropertyRef")
        record = self._existing("properties", number) if number else None
        if record is None and ref:
            record = self.find("properties", "ExternalPropertyRef", str(ref))
        if record is None:
            raise WriteRefused("No property with this Id or ExternalPropertyRef")
        address = body.get("Address")
        if not isinstance(address, Mapping) or not address.get("AddressLine1"):
            raise WriteRefused("Address.AddressLine1 is required")
        self.alternates.setdefault(record["id"], []).append(
            copy.deepcopy(record.get("Address") or {})
        )
        record["PropertyAddressId"] = str(self.new_id())
        return self._changed("properties", record, {"Address": dict(address)})

    def save_person(self, collection: str, body: Mapping[str, Any]) -> Record:
        """``POST /Tenant`` or ``POST /Landlord``: update by ``id``, or create."""
        _check_fields(collection, body)
        number = _id_of(body, "id")
        record = self._existing(collection, number) if number else None
        return self._save(collection, body, record, "id")

    def save_contractor(self, body: Mapping[str, Any]) -> Record:
        """``POST /Contractor``: a null or empty ``Id`` always creates; a given one must
        exist."""
        _check_fields("contractors", body)
        number = _id_of(body, "Id")
        record = self._existing("contractors", number) if number else None
        return self._save("contractors", body, record, "Id")

    def _save(self, collection: str, body: Mapping[str, Any], record: Record | None, key: str
              ) -> Record:  # fmt: skip
        if record is not None or collection != "contractors":
            self._unique(collection, body, record)  # a contractor create never checks: worst case
        if record is None:
            if not body.get("EmailAddress"):
                raise WriteRefused("EmailAddress is required (it is the login)")
            record = {key: str(self.new_id()), "IsDeleted": False}
            self.collections[collection][int(record[key])] = record
        changes = {k: v for k, v in body.items() if k != key and k not in _READ_ONLY}
        return self._changed(collection, record, changes)

    def _changed(self, collection: str, record: Record, changes: Mapping[str, Any]) -> Record:
        for name, value in changes.items():
            record[name] = copy.deepcopy(value)
        record["UpdateDate"] = self.tick()
        if collection == "properties":
            record["ArchiveStatus"] = "Deactivated" if record.get("IsDeleted") else "Active"
        return record

    def _existing(self, collection: str, number: int | None) -> Record:
        record = self.collections[collection].get(number) if number else None
        if record is None:
            raise WriteRefused(f"No {_noun(collection)} with Id {number}")
        return record

    def _unique(self, collection: str, body: Mapping[str, Any], record: Record | None) -> None:
        keys = [REF_KEYS[collection]] + ([] if collection == "properties" else ["EmailAddress"])
        for key in keys:
            value = body.get(key)
            other = self.find(collection, key, str(value)) if value else None
            if other is not None and other is not record:
                raise WriteRefused(
                    f"{key} {value} is already in use by another {_noun(collection)}"
                )

    def _same_address(self, address: Mapping[str, Any]) -> Record | None:
        line, postcode = address.get("AddressLine1"), address.get("PostCode")
        for record in self.collections["properties"].values():
            held = record.get("Address") or {}
            if held.get("AddressLine1") == line and held.get("PostCode") == postcode:
                return record
        return None

    # -- links --------------------------------------------------------------------------

    def join_landlord(self, body: Mapping[str, Any]) -> Record:
        """``POST /LandlordPropertyJoin``: link by external references (a link that exists
        is returned as it is)."""
        landlord, prop = self._join_ends(body)
        for link in self.landlord_links.values():
            if link["LandlordId"] == landlord["id"] and link["PropertyId"] == prop["id"]:
                return self.join_view(link)
        link = {"Id": self.new_id(), "LandlordId": landlord["id"], "PropertyId": prop["id"],
                "IsPrimaryLandlord": body.get("IsPrimaryLandlord")}  # fmt: skip
        self.landlord_links[link["Id"]] = link
        return self.join_view(link)

    def delete_landlord_join(self, body: Mapping[str, Any]) -> Record:
        """``POST /LandlordPropertyJoin/Delete``: remove the link between the two."""
        landlord, prop = self._join_ends(body)
        for number, link in list(self.landlord_links.items()):
            if link["LandlordId"] == landlord["id"] and link["PropertyId"] == prop["id"]:
                del self.landlord_links[number]
                return self.join_view(link)
        raise WriteRefused("The landlord is not linked to the property")

    def _join_ends(self, body: Mapping[str, Any]) -> tuple[Record, Record]:
        _check_fields("landlord_join", body)
        landlord_ref, property_ref = (
            body.get("ExternalLandlordRef"),
            body.get("ExternalPropertyRef"),
        )
        if not landlord_ref or not property_ref:
            raise WriteRefused("ExternalLandlordRef and ExternalPropertyRef are required")
        landlord = self.find("landlords", "ExternalRef", str(landlord_ref))
        prop = self.find("properties", "ExternalPropertyRef", str(property_ref))
        if landlord is None:
            raise WriteRefused(f"No landlord with ExternalRef {landlord_ref}")
        if prop is None:
            raise WriteRefused(f"No property with ExternalPropertyRef {property_ref}")
        return landlord, prop

    def join_view(self, link: Mapping[str, Any]) -> Record:
        """A LandlordProperty as the LandlordPropertyJoin Fixflo documents."""
        landlord = self.collections["landlords"].get(int(link["LandlordId"])) or {}
        prop = self.collections["properties"].get(int(link["PropertyId"])) or {}
        return {"Id": link["Id"], "ExternalLandlordRef": landlord.get("ExternalRef"),
                "ExternalPropertyRef": prop.get("ExternalPropertyRef"),
                "IsPrimaryLandlord": link.get("IsPrimaryLandlord")}  # fmt: skip

    def link_tenant(self, tenant_id: int, body: Mapping[str, Any]) -> Record:
        """``POST /Tenant/{Id}/Property``: link the tenant to the property named by
        ``PropertyId`` or ``PropertyExternalRef`` (a link that exists is returned)."""
        self._existing("tenants", tenant_id)
        _check_fields("tenant_property", body)
        link_type = body.get("LinkType") or "Tenant"
        if link_type not in LINK_TYPES:
            raise WriteRefused(f"LinkType must be one of {', '.join(LINK_TYPES)}")
        prop = self._property_of(body)
        for link in self.tenant_links.values():
            if link["TenantId"] == tenant_id and link["PropertyId"] == str(prop["id"]):
                return self.tenant_view(link)
        link = {"Id": str(self.new_id()), "TenantId": tenant_id, "PropertyId": str(prop["id"]),
                "LinkType": link_type}  # fmt: skip
        self.tenant_links[int(link["Id"])] = link
        return self.tenant_view(link)

    def _property_of(self, body: Mapping[str, Any]) -> Record:
        number, ref = _number(str(body.get("PropertyId") or "")), body.get("PropertyExternalRef")
        prop = self.collections["properties"].get(number) if number else None
        if prop is None and ref:
            prop = self.find("properties", "ExternalPropertyRef", str(ref))
        if prop is None:
            raise WriteRefused("No property with this PropertyId or PropertyExternalRef")
        return prop

    def unlink_tenant(self, tenant_id: int, property_id: int) -> bool:
        """``DELETE /Tenant/{Id}/Property/{PropertyId}``: whether a link was removed."""
        for number, link in list(self.tenant_links.items()):
            if link["TenantId"] == tenant_id and link["PropertyId"] == str(property_id):
                del self.tenant_links[number]
                return True
        return False

    def tenant_view(self, link: Mapping[str, Any]) -> Record:
        """A TenantProperty as Fixflo sends it (the property's current reference)."""
        prop = self.collections["properties"].get(int(link["PropertyId"])) or {}
        return {"Id": link["Id"], "PropertyId": link["PropertyId"],
                "PropertyExternalRef": prop.get("ExternalPropertyRef"),
                "LinkType": link["LinkType"]}  # fmt: skip

    def tenant_items(self, tenant_id: int) -> list[Record]:
        """The TenantProperty records of one tenant."""
        links = self.tenant_links.values()
        return [self.tenant_view(link) for link in links if link["TenantId"] == tenant_id]

    def landlord_items(self, *, landlord: str | None = None, prop: int | None = None
                            ) -> list[Record]:  # fmt: skip
        """The LandlordProperty records of one landlord or one property."""
        return [
            {"Id": link["Id"], "LandlordId": link["LandlordId"], "PropertyId": link["PropertyId"]}
            for link in self.landlord_links.values()
            if (landlord is None or link["LandlordId"] == landlord)
            and (prop is None or link["PropertyId"] == prop)
        ]

    def _add_landlord_link(self, join: Mapping[str, Any]) -> None:
        landlord = self.find("landlords", "ExternalRef", str(join["ExternalLandlordRef"]))
        prop = self.find("properties", "ExternalPropertyRef", str(join["ExternalPropertyRef"]))
        if landlord is not None and prop is not None:
            self.landlord_links[int(join["Id"])] = {
                "Id": int(join["Id"]), "LandlordId": landlord["id"], "PropertyId": prop["id"],
                "IsPrimaryLandlord": join.get("IsPrimaryLandlord"),
            }  # fmt: skip

    def _add_tenant_link(self, link: Mapping[str, Any]) -> None:
        tenant = self.find("tenants", "ExternalRef", str(link["TenantExternalRef"]))
        prop = self.find("properties", "ExternalPropertyRef", str(link["PropertyExternalRef"]))
        if tenant is not None and prop is not None:
            self.tenant_links[int(link["Id"])] = {
                "Id": str(link["Id"]), "TenantId": int(tenant["id"]),
                "PropertyId": str(prop["id"]), "LinkType": link.get("LinkType") or "Tenant",
            }  # fmt: skip

    # -- what a full read must give -------------------------------------------------------

    def join_records(self) -> tuple[list[Record], list[Record]]:
        """The snapshot's ``landlord_properties`` and ``tenant_properties``: the join records
        a full read assembles (docs/adapters.md), for the properties and tenants bearing a
        reference."""
        props = self.collections["properties"]
        landlords = [
            {**self.join_view(link), "IsPrimaryLandlord": None}
            for link in self.landlord_links.values()
            if props[link["PropertyId"]].get("ExternalPropertyRef")
        ]
        tenants = []
        for link in self.tenant_links.values():
            ref = self.collections["tenants"][link["TenantId"]].get("ExternalRef")
            if ref:
                tenants.append({**self.tenant_view(link), "TenantExternalRef": ref})
        return landlords, tenants


def _check_fields(what: str, body: Mapping[str, Any]) -> None:
    unknown = sorted(str(key) for key in body if key not in FIELDS[what])
    if unknown:
        raise WriteRefused(f"Unknown field(s) in the request: {', '.join(unknown)}")
    address = body.get("Address")
    if isinstance(address, Mapping):
        wrong = sorted(str(key) for key in address if key not in _ADDRESS)
        if wrong:
            raise WriteRefused(f"Unknown field(s) in Address: {', '.join(wrong)}")


def _number(value: str) -> int | None:
    text = value.strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _id_of(body: Mapping[str, Any], key: str) -> int | None:
    """The id a write names (None: none, so create); an id that is no number names nothing
    that exists, so it is refused."""
    value = body.get(key)
    if value in (None, "", 0, "0"):
        return None
    number = _number(str(value)) if isinstance(value, int | str) and value is not True else None
    if number is None:
        raise WriteRefused(f"{key} {value!r} is not an id")
    return number


def _noun(collection: str) -> str:
    return collection.removesuffix("s")


def _issues(store: FixfloStore, generator: AgencyGenerator) -> Iterator[tuple[int, Record]]:
    """A few made-up issues on the synced properties (one for every ten), as lifecycle
    records: contract Issue fields, no job, and their property as part ``FixfloProperty``."""
    synced = [p for p in store.collections["properties"].values() if p.get("ExternalPropertyRef")]
    start = generator.taken_at - timedelta(days=30)
    for number, prop in enumerate(synced[: max(1, len(synced) // 10)]):
        issue_id = 50_001 + number
        created = (start + timedelta(days=number % 30)).astimezone(UTC)
        stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        yield (
            issue_id,
            {
                "Id": str(issue_id),
                "Title": "Boiler not heating" if number % 2 else "Leaking tap in kitchen",
                "FaultPriority": str(number % 6),
                "Status": STATUSES[number % len(STATUSES)],
                "Created": stamp,
                "StatusChanged": stamp,
                "IssueType": "Reactive",
                "IsEmergency": number % 6 == 0,
                "IsPlannedMaintenance": False,
                "Address": dict(prop.get("Address") or {}),
                "Job": None,
                "FixfloProperty": prop,
            },
        )
