"""The fake Alto's works orders, documents and charges, held to the contract's bodies.

- ``POST /work-orders``: a CreateWorkOrderRequest, which the contract closes
  (``additionalProperties: false``): an unknown field, a missing required one
  (``propertyId``, ``summary``, ``priority``, ``reportedDate``), a ``priority`` that is not
  text or a ``summary`` over 150 characters is a 400 ErrorsResponse naming the field.
- ``PATCH /work-orders/{id}``: a JSON Patch array sent as ``application/json`` (or
  ``text/json``, ``application/*+json``); anything else is a 415. Only WorkOrder fields
  (not ``id``) may be replaced.
- ``POST /documents/post`` (multipart ``fileToUpload``, ``linkedType``, ``linkedId``): 200
  ``{id}``; ``GET /documents?linkedType=`` lists Documents (400 without ``linkedType``).
- ``POST /inventory/{propertyId}/charges`` and ``/tenancies/{tenancyId}/charges``: multipart
  (anything else, a URL-encoded form too, is a 415) with the contract's form fields only
  (an unknown one is a 400 ErrorsResponse);
  ``chargeType`` is required and one of ChargeType. Alto has no read of charges.

Everything is kept in a lifecycle world's shapes (`simulator.fake._alto_world`) and every
answer carries contract fields only (WorkOrder, CreateDocumentResponse, Document,
PropertyCharge, TenancyCharge).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from engine.ports import Record
from simulator.fake._alto_world import WORK_ORDER_FIELDS, WorldWrites, work_order
from simulator.fake._common import Paging, cursor_page, errors_response, problem

__all__ = ["AltoWrites"]

ORDER_FIELDS: Final = frozenset({
    "propertyId", "summary", "description", "notes", "priority", "reportedDate", "startDate",
    "reporterDetails", "accessDetails", "chargeDetails", "supplierContactId", "quote",
    "negotiatorId",
})  # fmt: skip
ORDER_REQUIRED: Final = ("propertyId", "summary", "priority", "reportedDate")
ACTOR_FIELDS: Final = frozenset({"type", "id"})
CHARGE_FIELDS: Final = frozenset({
    "chargeType", "supplierId", "invoiceReference", "totalNet", "totalVat", "vatRateType",
    "workOrderId", "invoiceDocument", "description", "raiseImmediately", "chargeDate",
})  # fmt: skip
TENANCY_CHARGE_FIELDS: Final = CHARGE_FIELDS | {
    "tenantId", "excludeFromArrears", "showInArrearsAfterDays", "sendDocs", "paymentMethod",
    "paymentReference", "raiseInAdvanceDays", "raiseEndDate",
}  # fmt: skip
CHARGE_TYPES: Final = frozenset({
    "Maintenance", "Deposit", "DepositToLandlord", "ReferencingFee", "AdministrationFee",
    "CheckInFee", "CheckOutFee", "TenancyAgreementFee", "CapitalExpenditure", "Cleaning",
    "Electrical", "Gardening", "Plumbing", "GasSafetyCheck", "EPC", "MaintenanceExpense",
    "InsuranceBuildings", "InsuranceContents", "InsuranceRentProtection", "UtilitiesWater",
    "UtilitiesCouncilTax", "UtilitiesElectricity", "UtilitiesGas", "Decorating", "BankCharges",
    "ServiceCharge", "GroundRent", "ElectricalSafetyCheck", "Appliances", "KeysLocksmith",
    "Inventory", "Furniture", "PortableApplianceTest", "LeadTest",
})  # fmt: skip
DOCUMENTS_PAGING: Final = Paging("nextToken", "maxResults", 50, 1000)
DOCUMENT_FIELDS: Final = frozenset({"fileToUpload", "linkedType", "linkedId"})
_JSON_TYPES: Final = ("application/json", "text/json")
_MAX_DOCUMENT: Final = 30 * 1024 * 1024


def order_problem(body: Any) -> str | None:
    """What makes `body` not a CreateWorkOrderRequest, or None.

    Example:
        >>> order_problem({"propertyId": "1", "summary": "Leak", "priority": 2,
        ...                "reportedDate": "2026-11-20"})
        'priority must be a string'
    """
    if not isinstance(body, dict):
        return "the body must be a JSON object (a CreateWorkOrderRequest)"
    unknown = sorted(set(body) - ORDER_FIELDS)
    if unknown:
        return f"{unknown[0]} is not a field of CreateWorkOrderRequest"
    missing = [name for name in ORDER_REQUIRED if name not in body or body[name] in (None, "")]
    if missing:
        return f"{missing[0]} is required"
    for name in ("propertyId", "summary", "priority", "reportedDate"):
        if not isinstance(body[name], str):
            return f"{name} must be a string"
    if len(body["summary"]) > 150:
        return "summary must be at most 150 characters"
    return _actor_problem(body)


def _actor_problem(body: Mapping[str, Any]) -> str | None:
    for name in ("reporterDetails", "accessDetails", "chargeDetails"):
        actor = body.get(name)
        if actor is None:
            continue
        if not isinstance(actor, dict):
            return f"{name} must be an object {{type, id}} (a WorkOrderActor)"
        unknown = sorted(set(actor) - ACTOR_FIELDS)
        if unknown:
            return f"{name}.{unknown[0]} is not a field of WorkOrderActor"
    return None


class AltoWrites:
    """Works orders, documents and charges, kept in a lifecycle world's shapes.

    Args:
        properties: the inventory ids works orders may name, or None for any (a world
            given by a test names properties its own way).
        writes: the world's writer (`simulator.fake._alto_world.WorldWrites`).
    """

    def __init__(self, properties: frozenset[str] | None, writes: WorldWrites) -> None:
        self.properties, self.writes = properties, writes

    @property
    def work_orders(self) -> dict[str, Record]:
        """The works orders written, by id (the world's own dict)."""
        return self.writes.world.works_orders

    async def list_orders(self, request: Request) -> Response:
        """``GET /inventory/{inventoryId}/work-orders``: the contract types the 200 as one
        WorkOrder (UNCONFIRMED); this fake answers a page of them (PM PagedResults)."""
        wanted = request.path_params["inventoryId"]
        items = [work_order(o) for o in self.work_orders.values() if o.get("propertyId") == wanted]
        return JSONResponse({"meta": {"nextToken": None, "totalItems": len(items)}, "items": items})

    async def create_order(self, request: Request) -> Response:
        """``POST /work-orders``: 201 WorkOrder."""
        body = await _json(request)
        wrong = order_problem(body)
        if wrong is not None:
            return errors_response(400, wrong)
        if self.properties is not None and body["propertyId"] not in self.properties:
            return errors_response(404, "Property not found", "NotFound")
        order = self.writes.order(body)
        return JSONResponse(
            work_order(order), status_code=201, headers={"Location": f"/work-orders/{order['id']}"}
        )

    async def patch_order(self, request: Request) -> Response:
        """``PATCH /work-orders/{id}``: replace operations of a JSON Patch, on WorkOrder
        fields other than ``id`` (anything else is a 400 naming the path)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in _JSON_TYPES and not (
            kind.startswith("application/") and kind.endswith("+json")
        ):
            return errors_response(415, "the body must be application/json (a JSON Patch array)")
        order = self.work_orders.get(request.path_params["id"])
        if order is None:
            return errors_response(404, "Work order not found", "NotFound")
        patch = await _json(request)
        if not isinstance(patch, list):
            return errors_response(400, "the body must be a JSON Patch array")
        changes: dict[str, Any] = {}
        for step in patch:
            if not isinstance(step, dict) or step.get("op") != "replace":
                return errors_response(400, "only replace operations are supported")
            name = str(step.get("path", "/")).lstrip("/")
            if name not in WORK_ORDER_FIELDS - {"id", "modifiedDate"}:
                return errors_response(400, f"Invalid path /{name}: not a WorkOrder field")
            changes[name] = step.get("value")
        self.writes.patch(order, changes)
        return Response(status_code=204)

    async def post_document(self, request: Request) -> Response:
        """``POST /documents/post`` (multipart): 200 ``{id}``."""
        async with request.form() as form:
            return await self._store_document(form)

    async def _store_document(self, form: FormData) -> Response:
        unknown = sorted(set(form.keys()) - DOCUMENT_FIELDS)
        if unknown:
            return problem(400, "Bad Request", f"{unknown[0]} is not a field of this upload")
        upload = form.get("fileToUpload")
        if not isinstance(upload, UploadFile):
            return problem(400, "Bad Request", "fileToUpload is required")
        kind = form.get("linkedType")
        if not isinstance(kind, str) or not kind:
            return problem(400, "Bad Request", "Missing LinkedType")
        content = await upload.read()
        if len(content) > _MAX_DOCUMENT:
            return problem(413, "Payload Too Large", "documents are limited to 30 MB")
        linked = form.get("linkedId")
        record = self.writes.document(
            str(upload.filename or ""), kind, linked if isinstance(linked, str) else None
        )
        return JSONResponse({"id": int(record["id"])})

    async def find_documents(self, request: Request) -> Response:
        """``GET /documents?linkedType=&linkedId=``: Documents, in the contract's shape."""
        query = request.query_params
        kind, linked = query.get("linkedType"), query.get("linkedId")
        if not kind:
            return problem(400, "Bad Request", "LinkedType must be set")
        items = [
            _document(record)
            for record in self.writes.world.documents
            if str(record.get("linkedType") or "").lower() == kind.lower()
            and (not linked or str(record.get("linkedId")) == linked)
        ]
        return cursor_page(request, items, DOCUMENTS_PAGING)

    async def post_charge(self, request: Request) -> Response:
        """``POST /inventory/{propertyId}/charges`` and ``/tenancies/{tenancyId}/charges``:
        multipart only (anything else is a 415)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "multipart/form-data":
            return errors_response(415, "charges are posted as multipart/form-data")
        post = "tenancy" if request.url.path.startswith("/tenancies/") else "property"
        async with request.form() as form:
            return self._store_charge(request, post, form)

    def _store_charge(self, request: Request, post: str, form: FormData) -> Response:
        allowed = TENANCY_CHARGE_FIELDS if post == "tenancy" else CHARGE_FIELDS
        unknown = sorted(set(form.keys()) - allowed)
        if unknown:
            return errors_response(400, f"{unknown[0]} is not a field of this charge")
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if fields.get("chargeType") not in CHARGE_TYPES:
            return errors_response(400, "chargeType is required and must be a ChargeType")
        invoice = form.get("invoiceDocument")
        name = invoice.filename if isinstance(invoice, UploadFile) else None
        target_id = request.path_params["id"]
        charge = self.writes.charge(fields, post, target_id, name)
        return JSONResponse(_charge_answer(charge, post, target_id), status_code=201)


def _document(record: Mapping[str, Any]) -> Record:
    name = str(record.get("fileName") or "")
    return {
        "id": str(record.get("id")),
        "type": record.get("linkedType"),
        "fileName": name,
        "fileType": name.rsplit(".", 1)[-1].upper() if "." in name else None,
        "url": None,
        "caption": None,
        "createdDate": record.get("createdDate"),
        "modifiedDate": record.get("createdDate"),
    }


def _charge_answer(charge: Mapping[str, Any], post: str, target_id: str) -> Record:
    """A PropertyCharge or TenancyCharge (the contract's answer: no raised flag, no
    invoice name; the stored document's id is not kept, so ``invoiceDocumentId`` is left
    out; Alto dates a charge posted without ``chargeDate`` itself: now)."""
    answer: Record = {
        "id": charge["id"],
        "supplierId": charge.get("supplierId"),
        "chargeType": charge.get("chargeType"),
        "totalNet": _number(charge.get("totalNet")),
        "totalVat": _number(charge.get("totalVat")),
        "vatRateType": charge.get("vatRateType"),
        "invoiceReference": charge.get("invoiceReference"),
        "workOrderId": charge.get("workOrderId"),
        "description": charge.get("description"),
        "chargeDate": charge.get("chargeDate") or _now(),
    }
    if post == "tenancy":
        return answer | {"tenancyId": target_id, "tenantId": charge.get("tenantId")}
    return answer | {"propertyId": target_id}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        return None
