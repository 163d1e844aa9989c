"""The Alto adapter: reads the snapshot collections (`adapters.alto._reads`); writes works
orders, documents and charges, and looks up a works order or document after a lost answer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, Final

import httpx

from adapters._paging import alto_cursor
from adapters._records import ci_get, listed, with_key
from adapters.alto._lookups import Place, latest_holding, matches_identity, orders_in
from adapters.alto._reads import LISTS, AltoList, batches
from adapters.errors import (
    BadRequestError,
    ConflictError,
    HTTPStatusError,
    NotOfferedError,
    OutcomeUnknownError,
    ProtocolError,
)
from adapters.http import MAY_HAVE_LANDED, HttpAdapter, decode_json
from engine.errors import RecordError
from engine.ports import Attachment, ChargeTarget, Record

__all__ = ["COLLECTIONS", "AltoAdapter"]

COLLECTIONS: Final = (
    "inventory",
    "owners",
    "contacts",
    "contact_details",
    "tenancies",
    "tenancy_tenants",
    "suppliers",
)
# contracts/alto.md section 9 documents GET /documents?linkedType=&linkedId= (the
# linkedType spelling is unconfirmed); section 8: there is no read of charges at all.
DOCUMENTS_LOOKUP: Final = "/documents"
# CreateWorkOrderRequest (section 7) is closed: these are all the fields it has.
ORDER_FIELDS: Final = frozenset({
    "propertyId", "summary", "description", "notes", "priority", "reportedDate", "startDate",
    "reporterDetails", "accessDetails", "chargeDetails", "supplierContactId", "quote",
    "negotiatorId",
})  # fmt: skip
_ABSENT: Final = (404, 405)
_MAX_ORDER_PAGES: Final = 100
_MAX_TENANCY_PAGE: Final = 100


class AltoAdapter(HttpAdapter):
    """Alto through a client the caller made (base URL and `AltoAuth` set on it).

    Implements `engine.ports.RecordSource`, `WorksOrders`, `Documents`, `Charges`,
    `WorksOrderLookup`, `DocumentLookup`, `TenancyLookup` and `ChargeLookup` (which never
    answers: Alto has no read of charges, gap.charge-lookup).

    Args:
        client: an `httpx.AsyncClient` with ``base_url`` and ``auth=AltoAuth(...)``.
        limiter: the agency's Alto limiter (`adapters.make_limiter`), or None for none.
        retry: the retry policy.
        page_size: items asked for per page.

    Example::

        async with httpx.AsyncClient(base_url=url, auth=auth) as client:
            alto = AltoAdapter(client, limiter=make_limiter(600))
            async for record in alto.read("inventory"):
                print(record["inventoryId"])
    """

    system = "alto"

    def __init__(self, client: httpx.AsyncClient, **options: Any) -> None:
        super().__init__(client, **options)
        # ids a collection's read leaves for the per-parent read after it, by `since`
        self._clients: dict[str | None, list[str]] = {}
        self._tenancies: dict[str | None, list[tuple[int, tuple[str, ...]]]] = {}
        self.known_places: Mapping[str, Record] = {}
        """Tenancy places (``tenancy_tenants`` records) read before, by ``tenantId``: a
        tenancy whose every tenant id is among them, on that tenancy, is not asked again
        (`remember_places`)."""
        self.places_remembered = 0
        self._places: dict[str, list[Place]] = {}

    def remember_places(self, places: Iterable[Record]) -> None:
        """Take the ``tenancy_tenants`` records of an earlier read (the last night's
        snapshot), so that a tenancy none of whose places is new costs no request.

        Alto's tenant id is one contact's place on one tenancy (``GET
        /tenancies/{id}/tenantIds`` gives ``{tenantId, contactId}``): a place read once
        keeps its contact, and a tenant added to a tenancy comes with a new tenant id, whose
        tenancy is then read again. Records without a tenant id are ignored.
        """
        self.known_places = {
            str(place["tenantId"]): dict(place)
            for place in places
            if isinstance(place, Mapping) and place.get("tenantId") not in (None, "")
        }

    def collections(self) -> tuple[str, ...]:
        """The collections of an Alto snapshot."""
        return COLLECTIONS

    async def read(self, collection: str, *, since: str | None = None) -> AsyncIterator[Record]:
        """Every record of `collection` (changed since `since` when given), normalised;
        items that are not usable records go to `rejected` (`adapters._records.listed`),
        each named by endpoint and index, and the rest goes on.

        Raises:
            KeyError: `collection` is not one of `collections()`.
            PageLoopError: a listing sent a token twice (or a page again).
            ListingLimitError: a listing ran past its caps.
        """
        if collection not in COLLECTIONS:
            raise KeyError(collection)
        records = getattr(self, f"_read_{collection}")(since)
        async for record in records:
            yield record

    def _list(self, endpoint: AltoList, since: str | None, collection: str) -> AsyncIterator[Any]:
        size = min(self.page_size, endpoint.largest)
        pages = alto_cursor(
            self._caller,
            endpoint.path,
            endpoint.query(since),
            token_key=endpoint.token_key,
            size_key=endpoint.size_key,
            page_size=size,
        )
        where = f"GET {endpoint.path}#items"
        return listed("alto", collection, pages, where=where, rejected=self.rejected)

    async def _read_inventory(self, since: str | None) -> AsyncIterator[Record]:
        async for record in self._list(LISTS["inventory"], since, "inventory"):
            yield record

    async def _read_owners(self, since: str | None) -> AsyncIterator[Record]:
        async for record in self._list(LISTS["owners"], since, "owners"):
            yield record

    async def _read_suppliers(self, since: str | None) -> AsyncIterator[Record]:
        async for record in self._list(LISTS["suppliers"], since, "suppliers"):
            yield record

    async def _read_contacts(self, since: str | None) -> AsyncIterator[Record]:
        seen: set[str] = set()
        clients: list[str] = []
        for name in ("clients", "supplier_contacts"):
            async for record in self._list(LISTS[name], since, "contacts"):
                key = str(record["id"])
                if key in seen:
                    continue
                seen.add(key)
                if name == "clients":
                    clients.append(key)
                yield record
        self._clients[since] = clients

    async def _read_contact_details(self, since: str | None) -> AsyncIterator[Record]:
        ids = self._clients.pop(since, None)
        if ids is None:
            ids = [str(r["id"]) async for r in self._list(LISTS["clients"], since, "contacts")]
        for batch in batches(ids):
            body = await self._caller.json("GET", "/contacts", params=[("id", i) for i in batch])
            items = body if isinstance(body, list) else [body]
            where = "GET /contacts?id=#items"
            async for record in listed(
                "alto", "contact_details", _each(items), where=where, rejected=self.rejected
            ):
                yield record

    async def _read_tenancies(self, since: str | None) -> AsyncIterator[Record]:
        tenancies: list[tuple[int, tuple[str, ...]]] = []
        async for record in self._list(LISTS["tenancies"], since, "tenancies"):
            tenancies.append((record["id"], _tenant_ids_of(record)))
            yield record
        self._tenancies[since] = tenancies

    async def _read_tenancy_tenants(self, since: str | None) -> AsyncIterator[Record]:
        listed_before = self._tenancies.pop(since, None)
        if listed_before is None:
            records = self._list(LISTS["tenancies"], since, "tenancies")
            listed_before = [(r["id"], _tenant_ids_of(r)) async for r in records]
        for tenancy, tenants in listed_before:
            known = self._known(tenancy, tenants)
            if known is not None:
                self.places_remembered += 1
                for record in known:
                    yield record
                continue
            async for record in self._tenant_ids(tenancy):
                yield record

    def _known(self, tenancy: int | str, tenants: tuple[str, ...]) -> list[Record] | None:
        """The places of `tenancy` read before, if every one of its tenants is among them
        (None: read the tenancy's tenant ids)."""
        places = [self.known_places.get(tenant) for tenant in tenants]
        if not tenants or any(
            place is None or str(place.get("tenancyId")) != str(tenancy) for place in places
        ):
            return None
        return [dict(place) for place in places if place is not None]

    async def _tenant_ids(self, tenancy: int | str) -> AsyncIterator[Record]:
        path = f"/tenancies/{tenancy}/tenantIds"
        try:
            body = await self._caller.json("GET", path)
        except HTTPStatusError as exc:
            if exc.status != 404:
                raise
            why = "the tenancy was listed but its tenant ids are gone (404); read next night"
            self.rejected.append(RecordError(f"GET {path}", str(tenancy), why))
            return
        items = ci_get(body, "items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ProtocolError("the answer has no items list", method="GET", path=path)
        where = f"GET {path}#items"
        tagged = with_key(_each(items), "tenancyId", tenancy)
        async for record in listed(
            "alto", "tenancy_tenants", tagged, where=where, rejected=self.rejected
        ):
            yield record

    async def create_works_order(
        self, property_id: str, order: Mapping[str, Any], *, identity: Mapping[str, Any]
    ) -> Record:
        """Create a works order exactly once, however the calls fail.

        Alto has no idempotency keys and rulebridge writes no marker: after a failure that
        may have landed, the property's works orders are searched for one whose `identity`
        fields (the ruleset's ``works_order.identity``, values from this body) are equal
        (`find_works_order`) before the create is retried (`Caller.write_once`), and a 409
        is answered by the order it found.

        Raises:
            BadRequestError: the order has a field CreateWorkOrderRequest does not, or
                `identity` is empty (nothing is sent either way).
            OutcomeUnknownError: the order may have been created and could not be found.
        """
        payload = dict(order) | {"propertyId": property_id}
        _check_order_fields(payload)
        if not identity:
            raise BadRequestError(
                "the works order has no identity to recognise it by after a lost answer; "
                "name its fields in the ruleset's works_order.identity",
                method="POST",
                path="/work-orders",
            )
        find = partial(self.find_works_order, property_id, identity)
        try:
            return await self._caller.write_once(
                "POST", "/work-orders", find=find, read=_created, json=payload
            )
        except ConflictError:
            found = await find()
            if found is not None:
                return found
            raise

    async def find_works_order(
        self, property_id: str, identity: Mapping[str, Any]
    ) -> Record | None:
        """The property's works order whose `identity` fields are equal (dates as instants,
        the rest as text: `adapters.alto._lookups.matches_identity`), or None.

        Reads ``GET /inventory/{id}/work-orders`` (contracts/alto.md section 7: the one
        documented way to find works orders; its 200 is typed as a single WorkOrder and the
        real shape is unconfirmed, so a single order, a list and a page of ``items`` are all
        read, a page's ``meta.nextToken`` followed as ``nextToken``).

        Raises:
            NotOfferedError: Alto answered 404 or 405 (no such property, or no such list).
        """
        path = f"/inventory/{property_id}/work-orders"
        params: dict[str, str] = {}
        for _ in range(_MAX_ORDER_PAGES):
            with _offered(path, f"which works orders property {property_id} has"):
                body = await self._caller.json("GET", path, params=params)
            for item in orders_in(body):
                if matches_identity(item, identity):
                    return dict(item)
            token = _next_token(body)
            if token is None:
                return None
            params = {"nextToken": token}
        return None

    async def find_tenancy(self, property_id: str, contact_id: str) -> Record | None:
        """``{"tenancyId", "tenantId"}`` of the tenancy at `property_id` whose places hold
        `contact_id` (the latest ``startDate`` when several), or None.

        Reads ``GET /inventory/{id}/tenancies`` and each tenancy's ``GET
        /tenancies/{id}/tenantIds`` once per adapter (a run): the places are cached by
        property, and a tenancy whose listed tenants are all remembered places
        (`remember_places`) costs no request.

        Raises:
            NotOfferedError: Alto answered 404 or 405 for the property's tenancies.
        """
        places = self._places.get(str(property_id))
        if places is None:
            places = await self._property_places(str(property_id))
            self._places[str(property_id)] = places
        found = latest_holding(places, str(contact_id))
        if found is None:
            return None
        return {"tenancyId": found.tenancy_id, "tenantId": found.tenant_id}

    def forget_places(self) -> None:
        """Forget the tenancy places `find_tenancy` read by property, so the next lookup
        reads them again (the live server serves a long run: a tenancy may begin in it)."""
        self._places.clear()

    async def _property_places(self, property_id: str) -> list[Place]:
        path = f"/inventory/{property_id}/tenancies"
        pages = alto_cursor(
            self._caller,
            path,
            (),
            token_key="nextToken",  # noqa: S106 - a parameter name, not a secret
            size_key="maxResults",
            page_size=min(self.page_size, _MAX_TENANCY_PAGE),
        )
        with _offered(path, f"which tenancies property {property_id} has"):
            tenancies = [item async for item in pages if isinstance(item, Mapping)]
        places: list[Place] = []
        for tenancy in tenancies:
            key, start = ci_get(tenancy, "id"), ci_get(tenancy, "startDate")
            if key in (None, ""):
                continue
            known = self._known(key, _tenant_ids_of(tenancy))
            items = known if known is not None else await self._tenancy_places(key)
            places.extend(
                Place(str(key), str(item["tenantId"]), str(item["contactId"]), start)
                for item in items
                if item.get("tenantId") not in (None, "") and item.get("contactId") is not None
            )
        return places

    async def _tenancy_places(self, tenancy_id: int | str) -> list[Record]:
        """A tenancy's ``tenantIds`` items (``{tenantId, contactId}``), ids taken as Alto
        gives them; none when the tenancy is gone (404) or an item lacks either id.

        Raises:
            ProtocolError: the answer has no ``items`` list.
        """
        path = f"/tenancies/{tenancy_id}/tenantIds"
        try:
            body = await self._caller.json("GET", path)
        except HTTPStatusError as exc:
            if exc.status != 404:
                raise
            return []
        items = ci_get(body, "items") if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            raise ProtocolError("the answer has no items list", method="GET", path=path)
        return [dict(item) for item in items if isinstance(item, Mapping)]

    async def update_works_order(self, order_id: str, changes: Mapping[str, Any]) -> None:
        """Replace the fields in `changes` (a JSON Patch; the same patch twice is harmless)."""
        patch = [{"op": "replace", "path": f"/{key}", "value": v} for key, v in changes.items()]
        headers = {"Content-Type": "application/json"}  # the contract's type for works orders
        content = json.dumps(patch).encode()
        await self._caller.send(
            "PATCH", f"/work-orders/{order_id}", content=content, headers=headers
        )

    async def attach_document(
        self, linked_type: str, linked_id: str, document: Attachment
    ) -> Record:
        """Upload a document (up to 30 MB) linked to a record.

        Raises:
            OutcomeUnknownError: the upload may have landed; it is not repeated blindly.
        """
        files = {"fileToUpload": (document.name, document.content, document.media_type)}
        data = {"linkedType": linked_type, "linkedId": linked_id}
        return await self._post_once("/documents/post", files=files, data=data)

    async def post_charge(
        self,
        target: ChargeTarget,
        target_id: str,
        charge: Mapping[str, Any],
        invoice: Attachment | None = None,
    ) -> Record:
        """Post a charge against a property or a tenancy, always as multipart/form-data
        (the contract's only type for charges: a form of text fields without an invoice is
        still sent as multipart parts, never URL-encoded).

        Raises:
            OutcomeUnknownError: the charge may have landed; it is not repeated blindly.
        """
        parts: dict[str, tuple[Any, ...]] = {
            key: (None, _form_value(value)) for key, value in charge.items() if value is not None
        }
        if invoice is not None:
            parts["invoiceDocument"] = (invoice.name, invoice.content, invoice.media_type)
        return await self._post_once(f"/{target}/{target_id}/charges", files=parts)

    async def find_document(self, linked_type: str, linked_id: str, name: str) -> Record | None:
        """The document called `name` linked to the record, or None.

        Reads ``GET /documents?linkedType=&linkedId=`` (in Alto's contract; the spelling of
        ``linkedType`` values is not).

        Raises:
            NotOfferedError: Alto has no such endpoint (404 or 405): check by hand, do not guess.
        """
        params = {"linkedType": linked_type, "linkedId": linked_id}
        what = f"whether document {name!r} is attached to {linked_type} {linked_id}"
        for item in await self._lookup(DOCUMENTS_LOOKUP, params, what):
            if _linked(item, linked_type, linked_id) and _file_name(item) == name:
                return dict(item)
        return None

    async def find_charge(
        self, target: ChargeTarget, target_id: str, invoice_reference: str
    ) -> Record | None:
        """Never answers: Alto's contract has no read of charges (section 8 documents only
        the two POSTs), so nothing outside it is asked; a charge whose answer was lost is
        checked by a person, and the store's ledger keeps a first post exactly once.

        Raises:
            NotOfferedError: always, without a request.
        """
        path = f"/{target}/{target_id}/charges"
        raise NotOfferedError(
            f"Alto cannot be asked whether invoice {invoice_reference!r} was charged to "
            f"{target} {target_id} (its API has no read of charges); check in Alto",
            method="GET",
            path=path,
        )

    async def _lookup(
        self, path: str, params: Mapping[str, str], what: str
    ) -> list[Mapping[str, Any]]:
        """Every item of a lookup list (see `_offered` for a 404 or 405)."""
        items = alto_cursor(
            self._caller,
            path,
            params,
            token_key="nextToken",  # noqa: S106 - a parameter name, not a secret
            size_key="maxResults",
            page_size=self.page_size,
        )
        with _offered(path, what):
            return [item async for item in items if isinstance(item, Mapping)]

    async def _post_once(self, path: str, **kwargs: Any) -> Record:
        try:
            response = await self._caller.send("POST", path, idempotent=False, **kwargs)
        except MAY_HAVE_LANDED as exc:
            raise OutcomeUnknownError(
                f"the write may have landed ({exc.message}); check Alto before retrying",
                method="POST",
                path=path,
                status=exc.status,
            ) from exc
        return _created(response)


def _tenant_ids_of(tenancy: Mapping[str, Any]) -> tuple[str, ...]:
    """The tenant ids a tenancy listed with ``include-tenants`` carries (text)."""
    tenants = tenancy.get("tenants")
    if not isinstance(tenants, list):
        return ()
    return tuple(
        str(t["id"]) for t in tenants if isinstance(t, Mapping) and t.get("id") not in (None, "")
    )


async def _each(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def _check_order_fields(payload: dict[str, Any]) -> None:
    """Refuse, before sending, a works order with a field CreateWorkOrderRequest lacks."""
    unknown = sorted(set(payload) - ORDER_FIELDS)
    if unknown:
        raise BadRequestError(
            f"the works order has {unknown[0]!r}, which Alto's CreateWorkOrderRequest does not "
            "have (it refuses unknown fields); remove it from the ruleset's works_order map",
            method="POST",
            path="/work-orders",
        )
    priority = payload.get("priority")
    if priority is not None and not isinstance(priority, str):
        raise BadRequestError(
            f"the works order's priority is {priority!r}; Alto wants text (map it to a string "
            "in the ruleset's works_order map)",
            method="POST",
            path="/work-orders",
        )


@contextmanager
def _offered(path: str, what: str) -> Iterator[None]:
    """A 404 or 405 on a lookup (no such endpoint or record, or no GET on it) becomes a
    NotOfferedError saying what to check by hand."""
    try:
        yield
    except HTTPStatusError as exc:
        if exc.status not in _ABSENT:
            raise
        raise NotOfferedError(
            f"Alto cannot be asked {what} (no such endpoint or record); check in Alto",
            method="GET",
            path=path,
            status=exc.status,
            excerpt=exc.excerpt,
        ) from exc


def _next_token(body: Any) -> str | None:
    meta = ci_get(body, "meta") if isinstance(body, Mapping) else None
    token = ci_get(meta, "nextToken") if isinstance(meta, Mapping) else None
    return str(token) if token else None


def _linked(record: Mapping[str, Any], linked_type: str, linked_id: str) -> bool:
    """Whether a document is linked to the record (a field the answer omits is not checked:
    the filter in the query did that)."""
    kind, key = ci_get(record, "linkedType"), ci_get(record, "linkedId")
    return (kind is None or str(kind).casefold() == linked_type.casefold()) and (
        key is None or str(key) == linked_id
    )


def _file_name(record: Mapping[str, Any]) -> str | None:
    for field in ("fileName", "name", "title"):
        value = ci_get(record, field)
        if value:
            return str(value)
    return None


def _created(response: httpx.Response) -> Record:
    body = decode_json(response, response.request.url.path) if response.content else {}
    record = dict(body) if isinstance(body, Mapping) else {}
    location = response.headers.get("Location")
    if "id" not in record and location:
        record["id"] = location.rstrip("/").rsplit("/", 1)[-1]
    return record


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
