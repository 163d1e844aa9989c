"""Fixflo's listings as snapshot collections, and the link records assembled from them.

Each collection is read from the endpoint contracts/fixflo.md documents, with that
endpoint's own page parameter (`COLLECTIONS`). Fixflo has no listing of links: the snapshot's
``landlord_properties`` are read per property (``GET /Property/{PropertyId}/
LandlordProperties``) and ``tenant_properties`` per tenant (``GET /Tenant/{Id}/Properties``),
for the properties and tenants bearing an external reference, and each item becomes a
rulebridge join record (docs/adapters.md):

- LandlordProperty ``{Id, LandlordId, PropertyId}`` -> ``{Id, ExternalLandlordRef,
  ExternalPropertyRef, IsPrimaryLandlord}``, the refs from the landlords and properties
  listings (null for a landlord without one);
- TenantProperty ``{Id, PropertyId, PropertyExternalRef, LinkType}`` plus
  ``TenantExternalRef``, the ExternalRef of the tenant it was read under.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from adapters._paging import fixflo_pages
from adapters._records import listed, with_key
from adapters.http import Caller
from engine.errors import RecordError
from engine.ports import Record

__all__ = ["COLLECTIONS", "ListEndpoint", "RefMaps", "landlord_joins", "listing", "tenant_joins"]


@dataclass(frozen=True, slots=True)
class ListEndpoint:
    """Where a collection is listed and how that endpoint names its parameters.

    Attributes:
        path: the list's path.
        page_key: its page parameter, or None where the contract documents none (the list
            is followed by its ``NextURL`` only).
        size_key: its page-size parameter, where it has one.
        since_key: its changed-since filter, where it has one.
        id_key: the id key of its items.
        ref_key: the external reference its items bear.
    """

    path: str
    page_key: str | None
    size_key: str | None = None
    since_key: str | None = "UpdatedSince"
    id_key: str = "id"
    ref_key: str = "ExternalRef"


COLLECTIONS: Final[dict[str, ListEndpoint]] = {
    "properties": ListEndpoint(
        "/Property/Search", "pg", "pgsz", since_key=None, ref_key="ExternalPropertyRef"
    ),
    "landlords": ListEndpoint("/Landlords", "pg"),
    "tenants": ListEndpoint("/Tenants", "pg"),
    "contractors": ListEndpoint("/Contractors", "Pg", id_key="Id"),
}
_LANDLORD_JOIN: Final = ("/Property/{}/LandlordProperties", "pg")
_TENANT_LINKS: Final = "/Tenant/{}/Properties"


def listing(
    caller: Caller,
    collection: str,
    *,
    since: str | None,
    page_size: int,
    rejected: list[RecordError],
) -> AsyncIterator[Record]:
    """Every record of one listed collection, changed since `since` where it can filter."""
    endpoint = COLLECTIONS[collection]
    params = {endpoint.since_key: since} if since and endpoint.since_key else {}
    items = fixflo_pages(
        caller,
        endpoint.path,
        params,
        page_key=endpoint.page_key,
        size_key=endpoint.size_key,
        page_size=page_size,
    )
    return listed(
        "fixflo", collection, items, where=f"GET {endpoint.path}#Items", rejected=rejected
    )


class RefMaps:
    """Each record's external reference by its Fixflo id, per collection, as the last full
    listing gave them; a collection not listed yet is listed once, when first asked for."""

    def __init__(self, caller: Caller, page_size: int) -> None:
        self._caller, self._page_size = caller, page_size
        self._maps: dict[str, dict[str, Any]] = {}

    def note(self, collection: str, record: Mapping[str, Any]) -> None:
        """Remember `record`'s reference (call for every record of a full listing)."""
        endpoint = COLLECTIONS[collection]
        self._maps.setdefault(collection, {})[str(record[endpoint.id_key])] = record.get(
            endpoint.ref_key
        )

    def forget(self, collection: str) -> None:
        """Start the collection's map again (a full listing is starting)."""
        self._maps[collection] = {}

    async def of(self, collection: str) -> dict[str, Any]:
        """The collection's map, listing it once if no full listing was read."""
        if collection not in self._maps:
            self.forget(collection)
            ignored: list[RecordError] = []  # reported when the collection itself is read
            records = listing(
                self._caller, collection, since=None, page_size=self._page_size, rejected=ignored
            )
            async for record in records:
                self.note(collection, record)
        return self._maps[collection]


async def landlord_joins(
    caller: Caller, refs: RefMaps, *, page_size: int, rejected: list[RecordError]
) -> AsyncIterator[Record]:
    """The landlord-property join records of every property bearing an ExternalPropertyRef."""
    properties, landlords = await refs.of("properties"), await refs.of("landlords")
    template, page_key = _LANDLORD_JOIN
    for property_id, property_ref in properties.items():
        if not property_ref:
            continue
        path = template.format(property_id)
        pages = fixflo_pages(
            caller, path, {}, page_key=page_key, size_key=None, page_size=page_size
        )
        items = _joined(pages, property_ref, landlords)
        async for record in listed(
            "fixflo", "landlord_properties", items, where=f"GET {path}#Items", rejected=rejected
        ):
            yield record


async def _joined(
    items: AsyncIterator[Any], property_ref: Any, landlords: Mapping[str, Any]
) -> AsyncIterator[Any]:
    async for item in items:
        if not isinstance(item, Mapping):
            yield item  # reported by `listed` as not a record
            continue
        landlord = item.get("LandlordId")
        yield {
            "Id": item.get("Id"),
            "ExternalLandlordRef": landlords.get(str(landlord)) if landlord is not None else None,
            "ExternalPropertyRef": property_ref,
            "IsPrimaryLandlord": item.get("IsPrimaryLandlord"),
        }


async def tenant_joins(
    caller: Caller, refs: RefMaps, *, page_size: int, rejected: list[RecordError]
) -> AsyncIterator[Record]:
    """The tenant-property links of every tenant bearing an ExternalRef, each with it."""
    for tenant_id, tenant_ref in (await refs.of("tenants")).items():
        if not tenant_ref:
            continue
        path = _TENANT_LINKS.format(tenant_id)
        pages = fixflo_pages(caller, path, {}, page_key=None, size_key=None, page_size=page_size)
        items = with_key(pages, "TenantExternalRef", tenant_ref)
        async for record in listed(
            "fixflo", "tenant_properties", items, where=f"GET {path}#Items", rejected=rejected
        ):
            yield record
