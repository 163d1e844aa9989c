"""A fake Alto API: a generated agency behind exactly the paths of Alto's published contract.

Serves (../shared/contracts/alto.md): ``POST /token`` (client credentials, Basic auth);
the lists ``GET /inventory/filter``, ``/owners`` and ``/contacts/all`` (``next-token``/
``max-results``, at most 250), ``/tenancies`` (``next-token``/``max-results``, at most 100;
tenants only with ``include-tenants=true``) and ``/suppliers`` (``nextToken``/``maxResults``,
at most 100); ``GET /contacts?id=`` (at most 50 ids), ``/contacts/{contactId}``,
``/tenancies/{tenancyId}/tenantIds``, ``/inventory/{inventoryId}`` and
``/inventory/{inventoryId}/tenancies`` (``nextToken``/``maxResults``); and the works orders,
documents and charges of `simulator.fake._alto_writes`. Unknown query parameters are
ignored, as Alto ignores them: a client paging with the wrong names reads page 1 for ever and
must notice. A page size out of range or a token this fake never gave is a 400. There is no
``GET /contacts`` list and no read of charges (404), as in the contract.

Every call but the token needs a valid bearer token (401 otherwise, as ProblemDetails) and
the agency's ``AgencyRef`` (403 otherwise). Works orders, documents and charges live in a
`simulator.lifecycle.AltoWorld` in the contract's shapes (the one given, or the fake's own;
see `simulator.fake._alto_world`), where the world's invariants can judge them; the
generated agency's tenancies are added to that world's ``tenancies`` (an id it already
holds is left as it is), so the tenancy a charge is posted to is one the world knows.

Example::

    fake = FakeAlto(size=50, seed=7)
    client = httpx.AsyncClient(transport=FakeTransport(fake.app),
                               base_url="http://alto.test")
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from engine.ports import Record
from simulator.agency.generate import AgencyGenerator
from simulator.fake._alto_reads import AltoReads
from simulator.fake._alto_world import WorldWrites, tenancies_of
from simulator.fake._alto_writes import AltoWrites
from simulator.fake._common import problem
from simulator.fake._faults import FaultInjector, Faults, RequestLog
from simulator.fake.contract import recorded
from simulator.lifecycle.worlds import AltoWorld

__all__ = ["FakeAlto"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class FakeAlto:
    """One generated agency served as Alto serves it, with faults and a request log.

    Args:
        size: the generated agency's number of properties.
        seed: the agency's seed (and the faults' unless they have their own).
        faults: the faults to inject; none by default.
        client_id: the client id the token endpoint accepts.
        client_secret: the client secret it accepts.
        alto_world: a lifecycle Alto world that works orders, documents and charges land in
            (any property id is then accepted: the world names properties its own way);
            without one the fake keeps its own and a works order must name a property of
            the generated agency.
        lookups: whether to serve ``GET /documents`` (404 without it, as an Alto that
            refused the read would answer).

    Attributes:
        world: what a snapshot must read, by collection (`AgencyGenerator.alto_collections`).
        contacts: every contact ``/contacts/all`` lists (vendors, applicants... too).
        work_orders, documents, charges: what writes created, by id (`work_orders` is the
            world's own dict; the others index the world's lists).
        alto_world: the lifecycle Alto world written to (the fake's own when none was given).
        log: every request received.
    """

    def __init__(
        self,
        size: int = 100,
        seed: int = 0,
        *,
        faults: Faults | None = None,
        client_id: str = "rulebridge-fake",
        client_secret: str = "fake-client-secret",  # noqa: S107 - a fake's made-up secret
        alto_world: AltoWorld | None = None,
        lookups: bool = True,
    ) -> None:
        generator = AgencyGenerator(size, seed)
        self.agency_ref = generator.agency_ref
        self.world: dict[str, list[Record]] = {
            name: list(records) for name, records in generator.alto_collections().items()
        }
        self.contacts: list[Record] = list(generator.all_contacts())
        details = {record["id"]: record for record in generator.all_contact_details()}
        tenant_ids: dict[int, list[Record]] = {t["id"]: [] for t in self.world["tenancies"]}
        for item in self.world["tenancy_tenants"]:
            tenant_ids[item["tenancyId"]].append(
                {"tenantId": item["tenantId"], "contactId": item["contactId"]}
            )
        properties = frozenset(str(r["inventoryId"]) for r in self.world["inventory"])
        self.alto_world = AltoWorld() if alto_world is None else alto_world
        held = tenancies_of(self.world["tenancies"], self.world["tenancy_tenants"])
        for key, tenancy in held.items():
            self.alto_world.tenancies.setdefault(key, tenancy)
        self._reads = AltoReads(
            self.world, self.contacts, details, tenant_ids, self.alto_world.tenancies
        )
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: set[str] = set()
        self.token_grants = 0
        strict = properties if alto_world is None else None
        self._writes = AltoWrites(strict, WorldWrites(self.alto_world))
        self.lookups = lookups
        self.log = RequestLog()
        self.faults = faults or Faults()
        api = recorded(Starlette(routes=self._routes()), "alto")
        self.app = FaultInjector(api, self.faults, self.log)

    @property
    def work_orders(self) -> dict[str, Record]:
        """The works orders written, by id."""
        return self._writes.work_orders

    @property
    def documents(self) -> dict[str, Record]:
        """The documents uploaded, by id."""
        return {str(record["id"]): record for record in self.alto_world.documents}

    @property
    def charges(self) -> dict[str, Record]:
        """The charges posted, by id."""
        return {str(record["id"]): record for record in self.alto_world.charges}

    def expire_tokens(self) -> None:
        """Forget every token issued, as if they had all expired."""
        self.tokens.clear()

    def _routes(self) -> list[Route]:
        reads, writes, guard = self._reads, self._writes, self._guard
        get = ["GET"]
        routes = [
            Route("/token", self._token, methods=["POST"]),
            Route("/inventory/filter", guard(reads.inventory), methods=get),
            Route("/inventory/{inventoryId}", guard(self._property), methods=get),
            Route("/owners", guard(reads.owners), methods=get),
            Route("/contacts/all", guard(reads.all_contacts), methods=get),
            Route("/contacts", guard(reads.contacts_by_id), methods=get),
            Route("/contacts/{contactId}", guard(reads.contact), methods=get),
            Route("/tenancies", guard(reads.tenancies), methods=get),
            Route("/tenancies/{tenancyId}/tenantIds", guard(reads.tenancy_tenant_ids), methods=get),
            Route("/suppliers", guard(reads.suppliers), methods=get),
            Route(
                "/inventory/{inventoryId}/tenancies", guard(reads.property_tenancies), methods=get
            ),
            Route("/inventory/{inventoryId}/work-orders", guard(writes.list_orders), methods=get),
            Route("/work-orders", guard(writes.create_order), methods=["POST"]),
            Route("/work-orders/{id}", guard(writes.patch_order), methods=["PATCH"]),
            Route("/documents/post", guard(writes.post_document), methods=["POST"]),
            Route("/inventory/{id}/charges", guard(writes.post_charge), methods=["POST"]),
            Route("/tenancies/{id}/charges", guard(writes.post_charge), methods=["POST"]),
        ]
        if self.lookups:
            routes.append(Route("/documents", guard(writes.find_documents), methods=get))
        return routes

    async def _token(self, request: Request) -> Response:
        if not self._basic_ok(request.headers.get("authorization", "")):
            return problem(401, "Unauthorized", "invalid client credentials")
        async with request.form() as form:
            grant = form.get("grant_type")
        if grant != "client_credentials":
            return problem(400, "Bad Request", "grant_type must be client_credentials")
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        self.token_grants += 1
        # The contract (secondary source) gives only access_token: no lifetime is promised,
        # so the client assumes one and gets a new token on a 401 (`adapters.alto.AltoAuth`).
        return JSONResponse({"access_token": token})

    def _basic_ok(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            pair = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{self.client_id}:{self.client_secret}"
        return secrets.compare_digest(pair.encode(), expected.encode())

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token not in self.tokens:
                return _gateway(401, "Unauthorized: the bearer token is missing or expired")
            if request.headers.get("agencyref", "").lower() != self.agency_ref.lower():
                return _gateway(403, "Forbidden: Invalid scope or AgencyRef")
            return await handler(request)

        return guarded

    async def _property(self, request: Request) -> Response:
        """``GET /inventory/{inventoryId}``: the InventoryDetailItem's main fields."""
        wanted = request.path_params["inventoryId"]
        item = next(
            (
                r
                for r in self.world["inventory"]
                if isinstance(r, dict) and r.get("inventoryId") == wanted
            ),
            None,
        )
        if item is None:
            return problem(404, "Not Found", "no such property")
        owners = [
            {"ownerId": o["id"], "contactId": int(o["contact"]["id"])}
            for o in self.world["owners"]
            if isinstance(o, dict) and o.get("property", {}).get("id") == wanted
        ]
        return JSONResponse(_detail(item, owners))


def _detail(item: Record, owners: list[Record]) -> Record:
    return {
        "id": item["inventoryId"],
        "branchId": item.get("branchId"),
        "category": item.get("categoryType"),
        "recordType": item.get("recordType"),
        "status": item.get("status"),
        "inventoryStatus": item.get("status"),
        "archived": item.get("archived"),
        "address": item.get("address"),
        "managementType": item.get("managementType"),
        "maintenanceType": item.get("maintenanceType"),
        "owners": owners,
        "instructionDate": item.get("instructionDate"),
        "createdDate": item.get("createdAt"),
        "modifiedDate": item.get("modifiedAt"),
    }


def _gateway(status: int, text: str) -> Response:
    """A 401 or 403 from Alto's gateway, before any service: the contract gives these no
    body shape (the 403's text is ORIG's, "Invalid scope or AgencyRef"), so plain text."""
    return PlainTextResponse(text, status_code=status, headers={"WWW-Authenticate": "Bearer"})
