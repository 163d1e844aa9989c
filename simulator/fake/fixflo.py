"""A fake Fixflo API v2: the generated agency's Fixflo side behind Fixflo's published paths.

Mounted under ``/api/v2``, it serves exactly the endpoints of contracts/fixflo.md that
rulebridge uses, with their parameter spellings, shapes and paging: lists answer
``PrevNextPager {Items, TotalItems, TotalPages, NextURL, PreviousURL}``, each paged by its
own parameter (``/Property/Search`` ``pg``/``pgsz``, ``/Landlords`` and ``/Tenants`` ``pg``,
``/Contractors`` ``Pg``, ``/Property/{PropertyId}/LandlordProperties`` ``pg``; the lists
that document none come whole). Unknown query parameters are ignored, so a wrong page name
gets page 1 again. Reads are bare objects (404 when nothing matches); writes answer the
envelope ``{HttpStatusCode, HttpStatusCodeDesc, Errors, Messages, Entity}``, and a refused
write is an HTTP 200 with ``Errors`` (`simulator.fake._fixflo_store` has the rules).
There is no ``/LandlordPropertyJoins``, ``/TenantPropertyLinks`` or ``/AgencySettings``:
they 404 as on Fixflo. Every call needs the bearer token (401 otherwise). Issues, jobs,
invoices, completion documents and the PDF report come from a lifecycle world when one is
given (`simulator.fake._fixflo_issues`); the issues' FixfloProperty and FixfloTenant
records are listed, searched and found beside the store's.

Webhooks (`simulator.fake._fixflo_webhooks`): ``/Webhook/Subscribe``, ``/Webhooks``,
``/Webhook/Unsubscribe`` and ``/Webhook/Activity``, and a delivery to each subscription on
every save of a world issue, with seeded faults (``webhook_faults``). With ``rate_limit``,
at most that many requests per token in any 60 s go through; beyond, 429 with
``Retry-After``. Close the fake (`FakeFixflo.close`) to stop its delivery thread.

Example:
    >>> fake = FakeFixflo(size=50, seed=7)
    >>> base_url = "http://fixflo.test/api/v2"  # with FakeTransport(fake.app)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine, Iterator, Mapping
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from engine.ports import Record
from simulator.fake._common import fixflo_refusal, number_page
from simulator.fake._faults import FaultInjector, Faults, RequestLog
from simulator.fake._fixflo_issues import IssueRoutes
from simulator.fake._fixflo_store import ENTITIES, FixfloStore, WriteRefused
from simulator.fake._fixflo_webhooks import FixfloWebhooks
from simulator.fake._pdf import PDF
from simulator.fake._rate_limit import RateLimit
from simulator.fake._webhook_sender import WebhookFaults, parse_webhook_faults
from simulator.fake.contract import recorded
from simulator.lifecycle.worlds import FixfloWorld

__all__ = ["PDF", "FakeFixflo"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
# Each list: its collection and its page parameter (the size parameter where it has one).
_LISTS: Final = {
    "/Property/Search": ("properties", "pg", "pgsz"),
    "/Landlords": ("landlords", "pg", None),
    "/Tenants": ("tenants", "pg", None),
    "/Contractors": ("contractors", "Pg", None),
}
# The lookups each GET by query answers, in the order Fixflo's contract gives them.
_FINDS: Final = {
    "/Property": ("properties", ("Id", "ExternalPropertyRef")),
    "/Tenant": ("tenants", ("Id", "EmailAddress", "ExternalRef")),
    # GET /Landlord declares no parameters; a third-party client sends Id or EmailAddress.
    "/Landlord": ("landlords", ("Id", "EmailAddress")),
}
_KEYWORD_FIELDS: Final = (
    "ExternalRef", "ExternalPropertyRef", "FirstName", "Surname", "CompanyName", "DisplayName",
    "EmailAddress", "KeyReference",
)  # fmt: skip
_ADDRESS_LINES: Final = ("AddressLine1", "AddressLine2", "Town", "County", "PostCode")
_NOT_FOUND: Final = "No HTTP resource was found that matches the request URI."


class FakeFixflo:
    """One generated agency's Fixflo, with faults and a request log.

    Args:
        size: the generated agency's number of properties.
        seed: the agency's seed.
        faults: the faults to inject; none by default.
        token: the bearer token the API accepts.
        page_size: items a page holds where the client cannot choose.
        world: a `simulator.lifecycle.FixfloWorld` whose issues (with their jobs, invoices
            and completion documents) are served instead of the store's made-up ones; its
            saves raise webhook deliveries.
        webhook_faults: delivery faults, a spec such as ``"drop=0.1,forge=0.05"``
            (`parse_webhook_faults`, seeded with `seed`) or a `WebhookFaults`.
        rate_limit: requests allowed per token in any 60 seconds (None: no limit).

    Attributes:
        store: the records (`FixfloStore`), changed by writes.
        world: the lifecycle world served, or None.
        log: every request received.
        recorder: the contract recorder every answer passes (``.violations``).
        webhooks: the subscriptions, deliveries and Activity (`drain`, `sent`, `forged`).
        limit: the `RateLimit` in front of the API, or None.
    """

    def __init__(
        self,
        size: int = 100,
        seed: int = 0,
        *,
        faults: Faults | None = None,
        token: str = "fake-fixflo-token",  # noqa: S107 - a fake's made-up token
        page_size: int = 50,
        world: FixfloWorld | None = None,
        webhook_faults: str | WebhookFaults = "",
        rate_limit: int | None = None,
    ) -> None:
        self.store = FixfloStore.generate(size, seed)
        self.token, self.page_size, self.world = token, page_size, world
        self.issue_routes = IssueRoutes(self.store, world, page_size)
        if isinstance(webhook_faults, str):
            webhook_faults = parse_webhook_faults(webhook_faults, seed=seed)
        self.webhooks = FixfloWebhooks(world, webhook_faults, seed=seed)
        self.log = RequestLog()
        self.faults = faults or Faults()
        api = Starlette(routes=[Mount("/api/v2", routes=self._routes())])
        self.recorder = recorded(api, "fixflo", prefix="/api/v2")
        self.limit = None if rate_limit is None else RateLimit(self.recorder, rate_limit)
        inner = self.recorder if self.limit is None else self.limit
        self.app = FaultInjector(inner, self.faults, self.log, envelope_errors=True)

    def close(self) -> None:
        """Stop sending webhooks (the delivery thread ends; undelivered ones are dropped)."""
        self.webhooks.close()

    def snapshot_collections(self) -> dict[str, list[Record]]:
        """The records a full read of this Fixflo gives, collection by collection."""
        landlord_joins, tenant_joins = self.store.join_records()
        return {
            **{name: self._records(name) for name in ENTITIES},
            "landlord_properties": landlord_joins,
            "tenant_properties": tenant_joins,
            "agency_settings": [dict(self.store.settings)],
        }

    def _routes(self) -> list[Route]:
        g = self._guard
        routes = [Route(path, g(self._list), methods=["GET"]) for path in _LISTS]
        routes += [Route(path, g(self._find), methods=["GET"]) for path in _FINDS]
        return [
            *routes,
            Route("/Property", g(self._save_property), methods=["POST"]),
            Route("/Property/UpdateAddress", g(self._update_address), methods=["POST"]),
            Route("/Property/{PropertyId}/LandlordProperties", g(self._property_landlords)),
            Route("/Tenant", g(self._save_tenant), methods=["POST"]),
            Route("/Tenant/{Id}/Properties", g(self._tenant_properties)),
            Route("/Tenant/{Id}/Property", g(self._link_tenant), methods=["POST"]),
            Route("/Tenant/{Id}/Property/{PropertyId}", g(self._unlink_tenant), methods=["DELETE"]),
            Route("/Landlord", g(self._save_landlord), methods=["POST"]),
            Route("/Landlord/{LandlordId}/LandlordProperties", g(self._landlord_properties)),
            Route("/LandlordPropertyJoin", g(self._join), methods=["GET"]),
            Route("/LandlordPropertyJoin", g(self._join_landlord), methods=["POST"]),
            Route("/LandlordPropertyJoin/Delete", g(self._unjoin_landlord), methods=["POST"]),
            Route("/Contractor/{id}", g(self._contractor)),
            Route("/Contractor", g(self._save_contractor), methods=["POST"]),
            Route("/Agency/Settings", g(self._settings)),
            *self.issue_routes.routes(g),
            *self.webhooks.routes(g),
        ]

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(
                given.encode(), self.token.encode()
            ):
                return fixflo_refusal(401, "Authorization has been denied for this request.")
            return await handler(request)

        return guarded

    # -- reads ---------------------------------------------------------------------------

    async def _list(self, request: Request) -> Response:
        collection, page_key, size_key = _LISTS[_route(request)]
        records = _filtered(self._records(collection), request.query_params)
        return number_page(
            request, records, page_key=page_key, size_key=size_key, default_size=self.page_size
        )

    async def _find(self, request: Request) -> Response:
        collection, keys = _FINDS[_route(request)]
        query = request.query_params
        key = next((key for key in keys if query.get(key)), None)
        found = self.store.find(collection, key, query[key]) if key else None
        if found is None and key is not None:
            found = _find_in(self._world_records(collection), key, query[key])
        return JSONResponse(found) if found is not None else _missing()

    def _records(self, collection: str) -> list[Record]:
        """The collection's records: the store's, then the issue records' parts it lacks."""
        held = list(self.store.collections[collection].values())
        return held + self._world_records(collection)

    def _world_records(self, collection: str) -> list[Record]:
        """The issues' FixfloProperty or FixfloTenant records the store does not hold."""
        parts = {"properties": self.issue_routes.properties, "tenants": self.issue_routes.tenants}
        if collection not in parts:
            return []
        held = {str(key) for key in self.store.collections[collection]}
        return [record for record in parts[collection]() if str(record.get("id")) not in held]

    async def _property_landlords(self, request: Request) -> Response:
        number = _path_id(request, "PropertyId")
        if number not in self.store.collections["properties"]:
            return self._no_links(request, "properties", "PropertyId")
        items = self.store.landlord_items(prop=number)
        return number_page(
            request, items, page_key="pg", size_key=None, default_size=self.page_size
        )

    async def _landlord_properties(self, request: Request) -> Response:
        number = _path_id(request, "LandlordId")
        landlord = self.store.collections["landlords"].get(number or 0)
        if landlord is None:
            return _missing()
        return _whole(self.store.landlord_items(landlord=landlord["id"]))

    async def _tenant_properties(self, request: Request) -> Response:
        number = _path_id(request, "Id")
        if number is None or number not in self.store.collections["tenants"]:
            return self._no_links(request, "tenants", "Id")
        return _whole(self.store.tenant_items(number))

    def _no_links(self, request: Request, collection: str, name: str) -> Response:
        """An issue record's own property or tenant has no links (an empty list); an id
        nobody holds is a 404."""
        wanted = str(request.path_params.get(name, ""))
        if any(str(r.get("id")) == wanted for r in self._world_records(collection)):
            return _whole([])
        return _missing()

    async def _join(self, request: Request) -> Response:
        query = request.query_params
        for link in self.store.landlord_links.values():
            view = self.store.join_view(link)
            if _join_matches(query, link, view):
                return JSONResponse(view)
        return _missing()

    async def _contractor(self, request: Request) -> Response:
        number = _path_id(request, "id")
        found = self.store.collections["contractors"].get(number or 0)
        return JSONResponse(found) if found is not None else _missing()

    async def _settings(self, request: Request) -> Response:
        return JSONResponse(self.store.settings)

    # -- writes --------------------------------------------------------------------------

    async def _save_property(self, request: Request) -> Response:
        return await _write(request, self.store.save_property)

    async def _update_address(self, request: Request) -> Response:
        return await _write(request, self.store.update_address)

    async def _save_tenant(self, request: Request) -> Response:
        return await _write(request, lambda body: self.store.save_person("tenants", body))

    async def _save_landlord(self, request: Request) -> Response:
        return await _write(request, lambda body: self.store.save_person("landlords", body))

    async def _save_contractor(self, request: Request) -> Response:
        return await _write(request, self.store.save_contractor)

    async def _join_landlord(self, request: Request) -> Response:
        return await _write(request, self.store.join_landlord)

    async def _unjoin_landlord(self, request: Request) -> Response:
        return await _write(request, self.store.delete_landlord_join)

    async def _link_tenant(self, request: Request) -> Response:
        number = _path_id(request, "Id")
        if number is None or number not in self.store.collections["tenants"]:
            return _missing()
        # The contract answers allOf(Envelope, TenantProperty): the link's keys sit beside
        # the envelope's, not under Entity.
        return await _write(request, lambda body: self.store.link_tenant(number, body), flat=True)

    async def _unlink_tenant(self, request: Request) -> Response:
        tenant, prop = _path_id(request, "Id"), _path_id(request, "PropertyId")
        if tenant is None or tenant not in self.store.collections["tenants"] or prop is None:
            return _missing()
        self.store.unlink_tenant(tenant, prop)  # removing a link that is not there is a no-op
        return Response(status_code=200)


def _route(request: Request) -> str:
    return request.url.path.removeprefix("/api/v2")


def _path_id(request: Request, name: str) -> int | None:
    """A path id as a number; an id of the wrong kind (not a whole number) is None."""
    text = str(request.path_params.get(name, "")).strip()
    return int(text) if text.isdigit() else None


def _missing() -> JSONResponse:
    return fixflo_refusal(404, _NOT_FOUND)


def _whole(items: list[Record]) -> JSONResponse:
    """A PrevNextPager of every item, for the lists that document no page parameter."""
    body = {"Items": items, "TotalItems": len(items), "TotalPages": 1, "NextURL": None,
            "PreviousURL": None}  # fmt: skip
    return JSONResponse(body)


def _find_in(records: list[Record], key: str, value: str) -> Record | None:
    """The record whose `key` is `value` (email in any case), for records the store lacks."""
    fold = key == "EmailAddress"
    wanted = value.casefold() if fold else value
    for record in records:
        held = str(record.get("id" if key == "Id" else key) or "")
        if held and (held.casefold() if fold else held) == wanted:
            return record
    return None


def _words(record: Mapping[str, Any]) -> Iterator[str]:
    """The texts ``Keyword`` searches: names, email, references and the address lines."""
    for name in _KEYWORD_FIELDS:
        yield str(record.get(name) or "")
    address = record.get("Address")
    if isinstance(address, Mapping):
        yield from (str(address.get(line) or "") for line in _ADDRESS_LINES)


def _filtered(records: Any, query: Mapping[str, str]) -> list[Record]:
    """The records a list's filters keep: ``UpdatedSince`` (changed at or after),
    ``Keyword`` (in any name, email, reference or address line, in any case),
    ``ExternalPropertyRef`` and ``HasExternalPropertyRef``."""
    since, keyword = query.get("UpdatedSince"), (query.get("Keyword") or "").casefold()
    ref, has_ref = query.get("ExternalPropertyRef"), query.get("HasExternalPropertyRef")
    kept = []
    for record in records:
        if since and str(record.get("UpdateDate") or "") < since:
            continue
        if keyword and not any(keyword in text.casefold() for text in _words(record)):
            continue
        if ref and record.get("ExternalPropertyRef") != ref:
            continue
        if has_ref and bool(record.get("ExternalPropertyRef")) != (has_ref.lower() == "true"):
            continue
        kept.append(record)
    return kept


def _join_matches(query: Mapping[str, str], link: Record, view: Record) -> bool:
    """Whether a LandlordProperty answers ``GET /LandlordPropertyJoin`` with `query`: by
    ``LandlordPropertyId``, by both refs (``ExtrernalLandlordref`` [sic] as the contract
    spells it), or by ``LandlordId`` and ``PropertyId``."""
    if query.get("LandlordPropertyId"):
        return str(link["Id"]) == query["LandlordPropertyId"]
    if query.get("ExternalPropertyRef") and query.get("ExtrernalLandlordref"):
        return (view["ExternalPropertyRef"], view["ExternalLandlordRef"]) == (
            query["ExternalPropertyRef"],
            query["ExtrernalLandlordref"],
        )
    if query.get("LandlordId") and query.get("PropertyId"):
        return (link["LandlordId"], str(link["PropertyId"])) == (
            query["LandlordId"],
            query["PropertyId"],
        )
    return False


async def _write(
    request: Request, save: Callable[[Mapping[str, Any]], Record], *, flat: bool = False
) -> Response:
    """Run one write on the request's JSON body; answer Fixflo's envelope (`flat`: the
    record's keys beside the envelope's instead of under ``Entity``)."""
    try:
        body = await request.json()
    except ValueError:
        return _envelope(None, ["The request body is not JSON"])
    if not isinstance(body, dict):
        return _envelope(None, ["The request body is not a JSON object"])
    try:
        return _envelope(save(body), flat=flat)
    except WriteRefused as exc:
        return _envelope(None, [str(exc)], flat=flat)


def _envelope(
    entity: Record | None, errors: list[str] | None = None, *, flat: bool = False
) -> JSONResponse:
    body: dict[str, Any] = {
        "HttpStatusCode": 200,
        "HttpStatusCodeDesc": "OK",
        "Errors": errors or [],
        "Messages": [] if errors else ["Saved"],
    }
    if flat:
        return JSONResponse({**(entity or {}), **body})
    return JSONResponse({**body, "Entity": entity})
