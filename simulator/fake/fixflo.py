"""A fake Fixflo API v2: the generated agency's Fixflo side behind Fixflo's paths.

Mounted under ``/api/v2``. Lists answer ``{Items, TotalItems, TotalPages, NextURL,
PreviousURL}`` with each endpoint's own page parameter (``pg``, ``Pg``, ``page``, ``Page``);
keys come in Fixflo's inconsistent casing (``Id``/``id``, ``FirstName``/``Firstname``) with
fields the adapters do not know. Writes answer the envelope ``{HttpStatusCode,
HttpStatusCodeDesc, Errors, Messages, Entity}``, a refused write as a 200 with ``Errors``.
Every call needs the bearer token (401 otherwise). Issues, jobs, invoices, completion
documents and the PDF report come from a lifecycle world when one is given
(`simulator.fake._fixflo_issues`).

Example:
    >>> fake = FakeFixflo(size=50, seed=7)
    >>> base_url = "http://fixflo.test/api/v2"  # with FakeTransport(fake.app)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from engine.ports import Record
from simulator.fake._common import number_page
from simulator.fake._faults import FaultInjector, Faults, RequestLog
from simulator.fake._fixflo_issues import IssueRoutes
from simulator.fake._fixflo_store import REF_KEYS, FixfloStore, WriteRefused, get_ci
from simulator.fake._pdf import PDF
from simulator.lifecycle.worlds import FixfloWorld

__all__ = ["PDF", "FakeFixflo"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_LISTS: Final = {
    "/Property/Search": ("properties", "pg", "pgsz"),
    "/Landlords": ("landlords", "pg", None),
    "/Tenants": ("tenants", "pg", None),
    "/Contractors": ("contractors", "Pg", None),
    "/LandlordPropertyJoins": ("landlord_properties", "page", None),
    "/TenantPropertyLinks": ("tenant_properties", "Page", None),
}
_WRITES: Final = {
    "/Property": "properties",
    "/Landlord": "landlords",
    "/Tenant": "tenants",
    "/Contractor": "contractors",
}
_RENAMES: Final = {"Id": "id", "FirstName": "Firstname", "EmailAddress": "Emailaddress"}


class FakeFixflo:
    """One generated agency's Fixflo, with faults and a request log.

    Args:
        size: the generated agency's number of properties.
        seed: the agency's seed.
        faults: the faults to inject; none by default.
        token: the bearer token the API accepts.
        page_size: items a page holds where the client cannot choose.
        world: a `simulator.lifecycle.FixfloWorld` whose issues (with their jobs, invoices
            and completion documents) are served instead of the store's made-up ones.

    Attributes:
        store: the records (`FixfloStore`), changed by writes.
        world: the lifecycle world served, or None.
        log: every request received.
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
    ) -> None:
        self.store = FixfloStore.generate(size, seed)
        self.token, self.page_size, self.world = token, page_size, world
        self.issue_routes = IssueRoutes(self.store, world, page_size, _vary)
        self.log = RequestLog()
        self.faults = faults or Faults()
        api = Starlette(routes=[Mount("/api/v2", routes=self._routes())])
        self.app = FaultInjector(api, self.faults, self.log, envelope_errors=True)

    def snapshot_collections(self) -> dict[str, list[Record]]:
        """The records a snapshot of this Fixflo must hold, in the snapshot's casing."""
        return {
            **{name: list(self.store.collections[name].values()) for name in REF_KEYS},
            "landlord_properties": list(self.store.landlord_properties),
            "tenant_properties": list(self.store.tenant_properties),
            "agency_settings": [dict(self.store.settings)],
        }

    def _routes(self) -> list[Route]:
        guard = self._guard
        lists = [Route(path, guard(self._list), methods=["GET"]) for path in _LISTS]
        writes = [Route(path, guard(self._upsert), methods=["POST"]) for path in _WRITES]
        return [
            *lists,
            *writes,
            Route("/Property", guard(self._find), methods=["GET"]),
            Route("/Landlord", guard(self._find), methods=["GET"]),
            Route("/Tenant", guard(self._find), methods=["GET"]),
            Route("/LandlordPropertyJoin", guard(self._join_landlord), methods=["POST"]),
            Route("/Tenant/{id:int}/Property", guard(self._join_tenant), methods=["POST"]),
            Route("/AgencySettings", guard(self._settings), methods=["GET"]),
            *self.issue_routes.routes(guard),
        ]

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not secrets.compare_digest(
                given.encode(), self.token.encode()
            ):
                body = {"Message": "Authorization has been denied for this request."}
                return JSONResponse(body, status_code=401)
            return await handler(request)

        return guarded

    async def _list(self, request: Request) -> Response:
        collection, page_key, size_key = _LISTS[_route(request)]
        items = [_vary(record) for record in self._records(collection, request)]
        return number_page(
            request, items, page_key=page_key, size_key=size_key, default_size=self.page_size
        )

    def _records(self, collection: str, request: Request) -> list[Record]:
        if collection == "landlord_properties":
            return self.store.landlord_properties
        if collection == "tenant_properties":
            return self.store.tenant_properties
        records = list(self.store.collections[collection].values())
        since = request.query_params.get("UpdatedSince")
        if since:
            records = [r for r in records if self.store.stamp(collection, r["Id"]) >= since]
        ref = request.query_params.get("ExternalPropertyRef")
        return [r for r in records if r.get("ExternalPropertyRef") == ref] if ref else records

    async def _find(self, request: Request) -> Response:
        collection = _WRITES[_route(request)]
        query = request.query_params
        for key in ("Id", "ExternalRef", "ExternalPropertyRef", "EmailAddress"):
            if key in query:
                for record in self.store.collections[collection].values():
                    if str(record.get(key) or "").lower() == query[key].lower():
                        return JSONResponse(_vary(record))
        return JSONResponse({"Message": "No record found"}, status_code=404)

    async def _upsert(self, request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict):
            return _envelope(None, ["The request body is not a JSON object"])
        try:
            record = self.store.upsert(_WRITES[_route(request)], body, self.store.tick())
        except WriteRefused as exc:
            return _envelope(None, [str(exc)])
        return _envelope(record)

    async def _join_landlord(self, request: Request) -> Response:
        body = await _json(request)
        keys = ("ExternalLandlordRef", "ExternalPropertyRef", "IsPrimaryLandlord")
        if not isinstance(body, dict) or not get_ci(body, keys[0]) or not get_ci(body, keys[1]):
            return _envelope(None, ["ExternalLandlordRef and ExternalPropertyRef are required"])
        link = {key: get_ci(body, key) for key in keys}
        link["IsPrimaryLandlord"] = bool(link["IsPrimaryLandlord"])
        self.store.link(self.store.landlord_properties, link)
        return _envelope(link)

    async def _join_tenant(self, request: Request) -> Response:
        tenant = self.store.collections["tenants"].get(request.path_params["id"])
        body = await _json(request)
        if tenant is None or not isinstance(body, dict):
            return _envelope(None, ["No such tenant, or no body"])
        link = {
            "TenantExternalRef": tenant.get("ExternalRef"),
            "PropertyExternalRef": get_ci(body, "PropertyExternalRef"),
            "LinkType": get_ci(body, "LinkType") or "Tenant",
        }
        self.store.link(self.store.tenant_properties, link)
        return _envelope(link)

    async def _settings(self, request: Request) -> Response:
        return JSONResponse(self.store.settings)


def _route(request: Request) -> str:
    return request.url.path.removeprefix("/api/v2")


def _vary(record: Record) -> Record:
    """The record as Fixflo might send it: casing by record, and a field nobody knows."""
    number = get_ci(record, "Id")
    if not isinstance(number, int) or number % 3:
        return {**record, "AuditTrailVersion": 1}
    return {_RENAMES.get(key, key): value for key, value in record.items()} | {"LastSeen": None}


def _envelope(entity: Record | None, errors: list[str] | None = None) -> JSONResponse:
    body = {
        "HttpStatusCode": 200,
        "HttpStatusCodeDesc": "OK",
        "Errors": errors or [],
        "Messages": [] if errors else ["Saved"],
        "Entity": entity,
    }
    return JSONResponse(body)


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None
