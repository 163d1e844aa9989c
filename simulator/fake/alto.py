"""A fake Alto API: the generated agency's records behind Alto's paths, auth and errors.

Serves ``POST /token`` (client credentials, Basic auth), the cursor lists ``/inventory/filter``
(``nextToken``/``maxResults``), ``/contacts`` (``next-token``/``max-results``), ``/tenancies``,
``/suppliers``, ``/inventory/{id}``, works orders, documents and charges, and the lookups the
adapter guesses at (unconfirmed in the real API): ``GET /documents?linkedType=&linkedId=``
and ``GET /inventory|tenancies/{id}/charges`` (cursor lists; ``lookups=False`` removes them,
as a real Alto without them would answer 404). Every call but the token needs a valid
bearer token (401 otherwise, as ProblemDetails) and the agency's ``AgencyRef`` (403
otherwise). Works orders, documents and charges live in this fake's own
in-memory store, or in a `simulator.lifecycle.AltoWorld` when one is given (see
`simulator.fake._alto_world`), where the world's invariants can judge them.

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
from typing import Any, Final

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.ports import Record
from simulator.agency.generate import AgencyGenerator
from simulator.fake._alto_world import WorldWrites
from simulator.fake._common import cursor_page, problem
from simulator.fake._faults import FaultInjector, Faults, RequestLog
from simulator.lifecycle.worlds import AltoWorld

__all__ = ["FakeAlto"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_LISTS: Final = {
    "/inventory/filter": ("inventory", False),
    "/contacts": ("contacts", True),
    "/tenancies": ("tenancies", False),
    "/suppliers": ("suppliers", True),
}
_REQUIRED: Final = ("propertyId", "summary", "priority", "reportedDate")


class FakeAlto:
    """One generated agency served as Alto serves it, with faults and a request log.

    Args:
        size: the generated agency's number of properties.
        seed: the agency's seed (and the faults' unless they have their own).
        faults: the faults to inject; none by default.
        client_id: the client id the token endpoint accepts.
        client_secret: the client secret it accepts.
        alto_world: a lifecycle Alto world that works orders, documents and charges land in
            (any property id is then accepted: the world names properties its own way).
        lookups: whether to serve the document and charge lookups (404 without them).

    Attributes:
        world: the agency's records by collection (what a snapshot must read).
        work_orders, documents, charges: what writes created, by id (with `alto_world`,
            `work_orders` is the world's own dict, and the others index the world's records).
        alto_world: the lifecycle Alto world written to, or None.
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
        self._by_id = {record["id"]: record for record in self.world["inventory"]}
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: set[str] = set()
        self.token_grants = 0
        self.alto_world = alto_world
        self._writes = None if alto_world is None else WorldWrites(alto_world)
        self.work_orders: dict[str, Record] = {} if alto_world is None else alto_world.works_orders
        self.documents: dict[str, Record] = {}
        self.charges: dict[str, Record] = {}
        self.lookups = lookups
        self.log = RequestLog()
        self.faults = faults or Faults()
        self.app = FaultInjector(Starlette(routes=self._routes()), self.faults, self.log)

    def expire_tokens(self) -> None:
        """Forget every token issued, as if they had all expired."""
        self.tokens.clear()

    def _routes(self) -> list[Route]:
        lists = [Route(path, self._guard(self._list), methods=["GET"]) for path in _LISTS]
        return [
            Route("/token", self._token, methods=["POST"]),
            *lists,
            Route("/inventory/{id}", self._guard(self._property), methods=["GET"]),
            Route("/inventory/{id:path}/work-orders", self._guard(self._orders), methods=["GET"]),
            Route("/work-orders", self._guard(self._create_order), methods=["POST"]),
            Route("/work-orders/{id}", self._guard(self._patch_order), methods=["PATCH"]),
            Route("/documents/post", self._guard(self._document), methods=["POST"]),
            Route("/{target:str}/{id:path}/charges", self._guard(self._charge), methods=["POST"]),
            *(self._lookup_routes() if self.lookups else []),
        ]

    def _lookup_routes(self) -> list[Route]:
        return [
            Route("/documents", self._guard(self._find_documents), methods=["GET"]),
            Route(
                "/{target:str}/{id:path}/charges", self._guard(self._find_charges), methods=["GET"]
            ),
        ]

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
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

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
                return problem(401, "Unauthorized", "the bearer token is missing or expired")
            if request.headers.get("agencyref", "").lower() != self.agency_ref.lower():
                return problem(403, "Forbidden", "AgencyRef is missing or not this agency's")
            return await handler(request)

        return guarded

    async def _list(self, request: Request) -> Response:
        collection, dashed = _LISTS[request.url.path]
        items = self.world[collection]
        since = request.query_params.get("modified-from")
        if since:
            items = [r for r in items if str(r.get("modifiedDate") or "") >= since]
        return cursor_page(request, items, dashed=dashed)

    async def _property(self, request: Request) -> Response:
        record = self._by_id.get(request.path_params["id"])
        return JSONResponse(record) if record else problem(404, "Not Found", "no such property")

    async def _orders(self, request: Request) -> Response:
        wanted = request.path_params["id"]
        items = [o for o in self.work_orders.values() if o.get("propertyId") == wanted]
        return JSONResponse({"meta": {"nextToken": None, "totalItems": len(items)}, "items": items})

    async def _create_order(self, request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict):
            return problem(400, "Bad Request", "the body must be a JSON object")
        missing = [name for name in _REQUIRED if not body.get(name)]
        if missing:
            errors = [{"code": "Required", "message": f"{name} is required"} for name in missing]
            return JSONResponse({"errors": errors}, status_code=400)
        if len(str(body["summary"])) > 150:
            return problem(400, "Bad Request", "summary is longer than 150 characters")
        if self._writes is not None:
            order = self._writes.order(body)
            headers = {"Location": f"/work-orders/{order['id']}"}
            return JSONResponse(order, status_code=201, headers=headers)
        if body["propertyId"] not in self._by_id:
            return problem(404, "Not Found", "no such property")
        order_id = str(len(self.work_orders) + 700001)
        self.work_orders[order_id] = {**body, "id": order_id, "status": "NewRequest"}
        headers = {"Location": f"/work-orders/{order_id}"}
        return JSONResponse(self.work_orders[order_id], status_code=201, headers=headers)

    async def _patch_order(self, request: Request) -> Response:
        order = self.work_orders.get(request.path_params["id"])
        if order is None:
            return problem(404, "Not Found", "no such works order")
        patch = await _json(request)
        if not isinstance(patch, list):
            return problem(400, "Bad Request", "the body must be a JSON Patch list")
        for step in patch:
            if not isinstance(step, dict) or step.get("op") != "replace":
                return problem(400, "Bad Request", "only replace operations are supported")
            order[str(step.get("path", "/")).lstrip("/")] = step.get("value")
        return Response(status_code=204)

    async def _document(self, request: Request) -> Response:
        async with request.form() as form:
            return await self._store_document(form)

    async def _store_document(self, form: FormData) -> Response:
        upload = form.get("fileToUpload")
        if upload is None or isinstance(upload, str):
            return problem(400, "Bad Request", "fileToUpload is required")
        content = await upload.read()
        if len(content) > 30 * 1024 * 1024:
            return problem(413, "Payload Too Large", "documents are limited to 30 MB")
        doc_id = str(len(self.documents) + 800001)
        self.documents[doc_id] = {
            "id": doc_id,
            "fileName": upload.filename,
            "size": len(content),
            "linkedType": form.get("linkedType"),
            "linkedId": form.get("linkedId"),
        }
        if self._writes is not None:
            self._writes.document(self.documents[doc_id])
        return JSONResponse(self.documents[doc_id], status_code=201)

    async def _charge(self, request: Request) -> Response:
        target = request.path_params["target"]
        if target not in ("inventory", "tenancies"):
            return problem(404, "Not Found", "charges are posted to inventory or tenancies")
        async with request.form() as form:
            return self._store_charge(request, target, form)

    def _store_charge(self, request: Request, target: str, form: FormData) -> Response:
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if not fields.get("chargeType"):
            return JSONResponse({"errors": [{"code": "Required", "message": "chargeType"}]}, 400)
        invoice = form.get("invoiceDocument")
        if self._writes is not None:
            name = None if invoice is None or isinstance(invoice, str) else invoice.filename
            target_id = request.path_params["id"]
            charge = self._writes.charge(fields, target, target_id, name)
            self.charges[charge["id"]] = charge
            return JSONResponse(charge, status_code=201)
        charge_id = str(len(self.charges) + 900001)
        self.charges[charge_id] = fields | {
            "id": charge_id,
            "target": target,
            "targetId": request.path_params["id"],
            "hasInvoice": invoice is not None and not isinstance(invoice, str),
        }
        return JSONResponse(self.charges[charge_id], status_code=201)

    def _stored_documents(self) -> list[Record]:
        """Every document Alto holds: the world's (written over HTTP or not), or the fake's."""
        if self.alto_world is not None:
            return list(self.alto_world.documents)
        return list(self.documents.values())

    def _stored_charges(self) -> list[Record]:
        return list(self.alto_world.charges if self.alto_world else self.charges.values())

    async def _find_documents(self, request: Request) -> Response:
        query = request.query_params
        kind, linked = query.get("linkedType"), query.get("linkedId")
        items = [
            document
            for document in self._stored_documents()
            if (not kind or str(document.get("linkedType") or "").lower() == kind.lower())
            and (not linked or str(document.get("linkedId")) == linked)
        ]
        return cursor_page(request, items, dashed=False)

    async def _find_charges(self, request: Request) -> Response:
        target, target_id = request.path_params["target"], request.path_params["id"]
        if target not in ("inventory", "tenancies"):
            return problem(404, "Not Found", "charges are kept on inventory or tenancies")
        items = [
            charge
            for charge in self._stored_charges()
            if charge.get("target") == target and str(charge.get("targetId")) == target_id
        ]
        return cursor_page(request, items, dashed=False)


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None
