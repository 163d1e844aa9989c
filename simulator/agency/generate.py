"""A seeded, believable letting agency in Alto, and what Fixflo already holds of it.

`AgencyGenerator` streams each collection lazily: records are made one at a time from the
seed and their number, never collected, so a million properties go to disk in flat memory.
The same size and seed always give byte-identical files.

What comes out (shares are of records, for large sizes):

Alto's records are in the shapes of its published API (../shared/contracts/alto.md), one
collection per endpoint a snapshot reads (`alto_collections`):

- inventory (Search.InventoryItem): ~80% Rent, ~13% Sale, ~7% Unspecified; ~80%
  Residential; Let the commonest status; lettings mostly Managed, FullyManaged or
  PartManaged, and mostly MaintainedByUs; ~5% archived.
- owners (Owner): landlords owning 1-6 properties, sometimes jointly, or vendors; a few
  ownerships no longer active.
- contacts (ContactListItem): those a snapshot lists, Client contacts with persona Landlord
  or Tenant (some also Vendor or Applicant; potential landlords without the Landlord
  persona), then the suppliers' contacts (category Supplier, ``isActive``); ~8% without
  email, ~5% archived, a few more inactive. `all_contacts` adds vendors, applicants,
  solicitors and the rest, as ``/contacts/all`` holds them.
- contact_details (Contact): each listed Client contact with every phone and email.
- tenancies (TenancyListItem, tenants included): none, one or several a let property over
  the years: Active, Periodic, Proposed, Vacated, Renewed (the next tenancy has the same
  tenants), and the rest; tenancy_tenants: each tenancy's tenant ids and contact ids.
- suppliers (Supplier): one to three trades each, synced and not; a few without people, a
  few without a supplier contact.
- Fixflo: see `simulator.agency._fixflo` for the pre-existing records that merges must handle.

Example:
    >>> generator = AgencyGenerator(size=50, seed=7)
    >>> next(generator.inventory())["inventoryId"]
    '100001'
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engine.ports import Record
from engine.snapshot import write_snapshot
from simulator.agency import _fixflo as ff
from simulator.agency._alto import (
    inventory_record,
    owner_records,
    person_details,
    tenancy_record,
    tenant_ids,
)
from simulator.agency._alto_contacts import (
    contact_detail,
    contact_item,
    listed_as_client,
    supplier_contact,
    supplier_count,
    supplier_record,
)
from simulator.agency._plan import Person, PlannedProperty, walk
from simulator.agency._rand import Tag, chance, mix

__all__ = ["MAX_SIZE", "TAKEN_AT", "AgencyGenerator", "WrittenSnapshot", "write_agency"]

TAKEN_AT = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
MAX_SIZE = 2_000_000  # beyond it, contact numbers would reach those of Fixflo's strangers
FIXFLO_ID_BASE = 10_001


@dataclass(frozen=True, slots=True)
class WrittenSnapshot:
    """A snapshot file that was written, and how many records each collection got."""

    path: Path
    counts: Mapping[str, int]


class AgencyGenerator:
    """Streams of the records of one generated agency, on the Alto and the Fixflo side.

    Every method starts a fresh, independent stream; calling one twice gives equal records.

    Args:
        size: the number of Alto inventory records, 1 to `MAX_SIZE` (the other collections
            scale with it).
        seed: any integer; the same seed gives the same agency.
        taken_at: when the snapshot is said to be taken; dates are relative to it.

    Example:
        >>> tenancy = next(AgencyGenerator(100, seed=3).tenancies())
        >>> sorted(tenancy)[:3]
        ['branchId', 'createdDate', 'currencyCode']
    """

    def __init__(self, size: int, seed: int, *, taken_at: datetime = TAKEN_AT) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_SIZE:
            raise ValueError(f"size must be a whole number from 1 to {MAX_SIZE:,}, not {size!r}")
        if taken_at.tzinfo is None:
            raise ValueError("taken_at must be an aware datetime (give it tzinfo=UTC)")
        self.size, self.seed, self.taken_at = size, seed, taken_at
        self._today = taken_at.astimezone(UTC).date()

    @property
    def agency_ref(self) -> str:
        """The agency's AgencyRef GUID, derived from the seed."""
        value = mix(self.seed, Tag.AGENCY, 0) << 64 | mix(self.seed, Tag.AGENCY, 1)
        return str(uuid.UUID(int=value, version=4))

    def _walk(self) -> Iterator[PlannedProperty]:
        return walk(self.seed, self.size, self._today)

    def inventory(self) -> Iterator[Record]:
        """Alto inventory (Search.InventoryItem), ``size`` of them, archived ones too."""
        for plan in self._walk():
            yield inventory_record(self.seed, plan, self._today)

    def owners(self) -> Iterator[Record]:
        """Alto owners (Owner): who owns each property, as landlord or vendor."""
        for plan in self._walk():
            yield from owner_records(self.seed, plan, self._today)

    def _persons(self) -> Iterator[Person]:
        for plan in self._walk():
            yield from plan.new_people

    def _clients(self) -> Iterator[Person]:
        """The people ``/contacts/all?category=Client&persona=Landlord&persona=Tenant`` lists."""
        for person in self._persons():
            if listed_as_client(person_details(self.seed, person, self._today)):
                yield person

    def all_contacts(self) -> Iterator[Record]:
        """Every Alto contact as ``/contacts/all`` lists it (ContactListItem): landlords,
        tenants, vendors, applicants, potential landlords, solicitors and the like, then
        the suppliers' contacts."""
        for person in self._persons():
            yield contact_item(self.seed, person, self._today)
        yield from self._supplier_contacts()

    def all_contact_details(self) -> Iterator[Record]:
        """The Contact of every person (``GET /contacts/{id}``), suppliers' contacts aside."""
        for person in self._persons():
            yield contact_detail(self.seed, person, self._today)

    def contacts(self) -> Iterator[Record]:
        """The contacts a snapshot reads (ContactListItem): those listed as Client with
        persona Landlord or Tenant, then those of category Supplier."""
        for person in self._clients():
            yield contact_item(self.seed, person, self._today)
        yield from self._supplier_contacts()

    def _supplier_contacts(self) -> Iterator[Record]:
        for index, supplier in enumerate(self.suppliers()):
            contact = supplier_contact(self.seed, index, supplier, self._today)
            if contact is not None:
                yield contact

    def contact_details(self) -> Iterator[Record]:
        """The Contact of each Client contact a snapshot reads, in the order listed."""
        for person in self._clients():
            yield contact_detail(self.seed, person, self._today)

    def tenancies(self) -> Iterator[Record]:
        """Alto tenancies (TenancyListItem with tenants), each property's oldest first."""
        for plan in self._walk():
            for tenancy in plan.tenancies:
                yield tenancy_record(self.seed, plan, tenancy, self._today)

    def tenancy_tenants(self) -> Iterator[Record]:
        """Each tenancy's ``tenantIds`` items, with the ``tenancyId`` they were read under."""
        for plan in self._walk():
            for tenancy in plan.tenancies:
                for item in tenant_ids(tenancy):
                    yield {**item, "tenancyId": tenancy.number}

    def suppliers(self) -> Iterator[Record]:
        """Alto suppliers (Supplier), about one for every twenty properties (at least three)."""
        for index in range(supplier_count(self.size)):
            yield supplier_record(self.seed, index, self._today)

    def fixflo_properties(self) -> Iterator[Record]:
        """Fixflo properties: synced, stale, exact-address and near-duplicate ones, orphans."""
        for record in _numbered(self._properties(), "id"):
            record["PropertyAddressId"] = str(record["id"])
            yield record

    def _properties(self) -> Iterator[Record | None]:
        for plan in self._walk():
            yield ff.property_record(self.seed, plan, ff.property_fate(self.seed, plan))
            yield ff.orphan_property(self.seed, plan)

    def fixflo_landlords(self) -> Iterator[Record]:
        """Fixflo landlords: synced, stale, same-email twins and orphans."""
        return _numbered(self._people("landlord"), "id", text=True)

    def fixflo_tenants(self) -> Iterator[Record]:
        """Fixflo tenants (occupiers): synced, stale, same-email twins and orphans."""
        return _numbered(self._people("tenant"), "id", text=True)

    def _people(self, kind: str) -> Iterator[Record | None]:
        seed, today = self.seed, self._today
        for plan in self._walk():
            live = ff.live_tenants(plan)
            ref = plan.property_id if ff.property_fate(seed, plan) in ff.HAS_REF else None
            for person in plan.new_people:
                if person.kind == kind:
                    fate = ff.person_fate(seed, person, person.number in live, today)
                    yield ff.person_record(seed, person, fate, today, ref)
                    yield ff.orphan_person(seed, person, today)

    def fixflo_contractors(self) -> Iterator[Record]:
        """Fixflo contractors: synced, stale, same-email twins and orphans."""
        return _numbered(self._contractors(), "Id", text=True)

    def _contractors(self) -> Iterator[Record | None]:
        for supplier in self.suppliers():
            fate = ff.supplier_fate(self.seed, supplier)
            yield ff.contractor_record(self.seed, supplier, fate, self._today)
            yield ff.orphan_contractor(self.seed, supplier, self._today)

    def fixflo_landlord_properties(self) -> Iterator[Record]:
        """Links between synced landlords and synced properties, as rulebridge join records
        (docs/adapters.md): the LandlordProperty's ``Id`` and the two external references."""
        return _numbered(self._landlord_links(), "Id")

    def _landlord_links(self) -> Iterator[Record]:
        for plan in self._walk():
            if ff.property_fate(self.seed, plan) not in ff.HAS_REF:
                continue
            for owner in plan.owners:
                if ff.person_fate(self.seed, owner, False, self._today) in ff.HAS_REF:
                    yield {
                        "Id": 0,
                        "ExternalLandlordRef": owner.contact_id,
                        "ExternalPropertyRef": plan.property_id,
                        "IsPrimaryLandlord": None,  # documented as IGNORED by Fixflo
                    }

    def fixflo_tenant_properties(self) -> Iterator[Record]:
        """Links between synced tenants and the synced properties they rent, as TenantProperty
        records with the tenant's ExternalRef (docs/adapters.md); ``PropertyId`` is filled in
        by the fake Fixflo, which knows the properties' ids."""
        return _numbered(self._tenant_links(), "Id", text=True)

    def _tenant_links(self) -> Iterator[Record]:
        for plan in self._walk():
            if ff.property_fate(self.seed, plan) not in ff.HAS_REF:
                continue
            live = ff.live_tenants(plan)
            for person in plan.new_people:
                if person.kind != "tenant":
                    continue
                fate = ff.person_fate(self.seed, person, person.number in live, self._today)
                if fate in ff.HAS_REF:
                    yield {
                        "Id": "",
                        "TenantExternalRef": person.contact_id,
                        "PropertyId": None,
                        "PropertyExternalRef": plan.property_id,
                        "LinkType": "Tenant",
                    }

    def alto_collections(self) -> dict[str, Iterator[Record]]:
        """The Alto snapshot's collections, as fresh lazy streams."""
        return {
            "inventory": self.inventory(),
            "owners": self.owners(),
            "contacts": self.contacts(),
            "contact_details": self.contact_details(),
            "tenancies": self.tenancies(),
            "tenancy_tenants": self.tenancy_tenants(),
            "suppliers": self.suppliers(),
        }

    def fixflo_collections(self) -> dict[str, Iterator[Record]]:
        """The Fixflo snapshot's collections, as fresh lazy streams."""
        return {
            "properties": self.fixflo_properties(),
            "landlords": self.fixflo_landlords(),
            "tenants": self.fixflo_tenants(),
            "contractors": self.fixflo_contractors(),
            "landlord_properties": self.fixflo_landlord_properties(),
            "tenant_properties": self.fixflo_tenant_properties(),
            "agency_settings": self.fixflo_agency_settings(),
        }

    def fixflo_agency_settings(self) -> Iterator[Record]:
        """The agency's Fixflo settings as GET /Agency/Settings answers (AgencyName,
        WorkflowType): most agencies run the Full workflow, some Basic (G-07)."""
        rng = random.Random(mix(self.seed, Tag.AGENCY_SETTINGS))  # noqa: S311 - made-up data
        name = rng.choice(("Acme", "Northgate", "Harbour", "Meadow", "Castle", "Riverside"))
        yield {
            "AgencyName": f"{name} Lettings {self.agency_ref[:4].upper()}",
            "WorkflowType": "Full" if chance(rng, 0.9) else "Basic",
        }

    def write(self, out_dir: str | os.PathLike[str]) -> tuple[WrittenSnapshot, WrittenSnapshot]:
        """Write ``alto.json`` and ``fixflo.json`` into `out_dir` (made if missing).

        Raises:
            engine.snapshot.SnapshotError: a file cannot be written.
        """
        folder = Path(out_dir)
        folder.mkdir(parents=True, exist_ok=True)
        alto, fixflo = folder / "alto.json", folder / "fixflo.json"
        alto_counts = write_snapshot(
            alto, "alto", self.alto_collections(), self.taken_at, self.agency_ref
        )
        fixflo_counts = write_snapshot(fixflo, "fixflo", self.fixflo_collections(), self.taken_at)
        return WrittenSnapshot(alto, alto_counts), WrittenSnapshot(fixflo, fixflo_counts)


def write_agency(out_dir: str | os.PathLike[str], size: int, seed: int) -> tuple[Path, Path]:
    """Generate an agency and write its Alto and Fixflo snapshots; return their paths.

    Example::

        alto, fixflo = write_agency("out/", size=200, seed=1)
        alto.name, fixflo.name
        # ('alto.json', 'fixflo.json')
    """
    alto, fixflo = AgencyGenerator(size, seed).write(out_dir)
    return alto.path, fixflo.path


def _numbered(
    records: Iterable[Record | None], key: str, *, text: bool = False
) -> Iterator[Record]:
    """Drop the Nones and give each record the next Fixflo id under `key` (as a string when
    `text`: Fixflo's Landlord, Tenant, Contractor and TenantProperty ids are strings)."""
    number = FIXFLO_ID_BASE
    for record in records:
        if record is not None:
            record[key] = str(number) if text else number
            number += 1
            yield record
