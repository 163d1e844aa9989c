"""The fake Alto's works orders, documents and charges, held to the contract's bodies.

- ``POST /work-orders``: a CreateWorkOrderRequest, which the contract closes
  (``additionalProperties: false``): an unknown field, a missing required one
  (``propertyId``, ``summary``, ``priority``, ``reportedDate``), a ``priority`` that is not
  text or a ``summary`` over 150 characters is a 400 ErrorsResponse naming the field.
- ``PATCH /work-orders/{id}``: a JSON Patch array sent as ``application/json`` (or
  ``text/json``, ``application/*+json``); anything else is a 415.
- ``POST /documents/post`` (multipart ``fileToUpload``, ``linkedType``, ``linkedId``): 200
  ``{id}``; ``GET /documents?linkedType=`` lists Documents (400 without ``linkedType``).
- ``POST /inventory/{propertyId}/charges`` and ``/tenancies/{tenancyId}/charges``: multipart
  with the contract's form fields only (an unknown one is a 400 ErrorsResponse);
  ``chargeType`` is required and one of ChargeType. Alto has no read of charges.
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
from simulator.fake._alto_world import WorldWrites
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


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AltoWrites:
    """Works orders, documents and charges: in the fake's own dicts, or a lifecycle world.

    Args:
        properties: the inventory ids works orders may name (without a world).
        writes: the lifecycle world's writer, or None.
        orders: where works orders are kept (the world's own dict with a world).
    """

    def __init__(
        self, properties: frozenset[str], writes: WorldWrites | None, orders: dict[str, Record]
    ) -> None:
        self.properties, self.writes = properties, writes
        self.work_orders = orders
        self.documents: dict[str, Record] = {}
        self.charges: dict[str, Record] = {}

    async def list_orders(self, request: Request) -> Response:
        """``GET /inventory/{inventoryId}/work-orders``: the contract types the 200 as one
        WorkOrder (UNCONFIRMED); this fake answers a page of them."""
        wanted = request.path_params["inventoryId"]
        items = [o for o in self.work_orders.values() if o.get("propertyId") == wanted]
        return JSONResponse({"meta": {"nextToken": None, "totalItems": len(items)}, "items": items})

    async def create_order(self, request: Request) -> Response:
        """``POST /work-orders``."""
        body = await _json(request)
        wrong = order_problem(body)
        if wrong is not None:
            return errors_response(400, wrong)
        if self.writes is not None:
            order = self.writes.order(body)
        elif body["propertyId"] not in self.properties:
            return errors_response(404, "Property not found", "NotFound")
        else:
            order_id = str(len(self.work_orders) + 700001)
            order = {**body, "id": order_id, "status": "NewRequest", "modifiedDate": _now()}
            self.work_orders[order_id] = order
        return JSONResponse(
            order, status_code=201, headers={"Location": f"/work-orders/{order['id']}"}
        )

    async def patch_order(self, request: Request) -> Response:
        """``PATCH /work-orders/{id}``: replace operations of a JSON Patch."""
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
        for step in patch:
            if not isinstance(step, dict) or step.get("op") != "replace":
                return errors_response(400, "only replace operations are supported")
            order[str(step.get("path", "/")).lstrip("/")] = step.get("value")
        return Response(status_code=204)

    async def post_document(self, request: Request) -> Response:
        """``POST /documents/post`` (multipart)."""
        async with request.form() as form:
            return await self._store_document(form)

    async def _store_document(self, form: FormData) -> Response:
        unknown = sorted(set(form.keys()) - DOCUMENT_FIELDS)
        if unknown:
            return problem(400, "Bad Request", f"{unknown[0]} is not a field of this upload")
        upload = form.get("fileToUpload")
        if not isinstance(upload, UploadFile):
            return problem(400, "Bad Request", "fileToUpload is required")
        if not form.get("linkedType"):
            return problem(400, "Bad Request", "Missing LinkedType")
        content = await upload.read()
        if len(content) > _MAX_DOCUMENT:
            return problem(413, "Payload Too Large", "documents are limited to 30 MB")
        number = len(self.documents) + 800001
        key = str(number)
        record: Record = {
            "id": key,
            "fileName": upload.filename,
            "size": len(content),
            "linkedType": form.get("linkedType"),
            "linkedId": form.get("linkedId"),
            "createdDate": _now(),
        }
        self.documents[key] = record
        if self.writes is not None:
            self.writes.document(record)
        return JSONResponse({"id": number})

    async def find_documents(self, request: Request, stored: list[Record]) -> Response:
        """``GET /documents?linkedType=&linkedId=``: Documents, in the contract's shape."""
        query = request.query_params
        kind, linked = query.get("linkedType"), query.get("linkedId")
        if not kind:
            return problem(400, "Bad Request", "LinkedType must be set")
        items = [
            _document(record)
            for record in stored
            if str(record.get("linkedType") or "").lower() == kind.lower()
            and (not linked or str(record.get("linkedId")) == linked)
        ]
        return cursor_page(request, items, DOCUMENTS_PAGING)

    async def post_charge(self, request: Request) -> Response:
        """``POST /inventory/{propertyId}/charges`` and ``/tenancies/{tenancyId}/charges``."""
        target = request.url.path.strip("/").split("/", 1)[0]
        async with request.form() as form:
            return self._store_charge(request, target, form)

    def _store_charge(self, request: Request, target: str, form: FormData) -> Response:
        allowed = TENANCY_CHARGE_FIELDS if target == "tenancies" else CHARGE_FIELDS
        unknown = sorted(set(form.keys()) - allowed)
        if unknown:
            return errors_response(400, f"{unknown[0]} is not a field of this charge")
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        if fields.get("chargeType") not in CHARGE_TYPES:
            return errors_response(400, "chargeType is required and must be a ChargeType")
        invoice = form.get("invoiceDocument")
        name = invoice.filename if isinstance(invoice, UploadFile) else None
        target_id = request.path_params["id"]
        if self.writes is not None:
            charge = self.writes.charge(fields, target, target_id, name)
        else:
            charge_id = str(len(self.charges) + 900001)
            charge = fields | {
                "id": charge_id, "target": target, "targetId": target_id,
                "hasInvoice": name is not None,
            }  # fmt: skip
        self.charges[charge["id"]] = charge
        return JSONResponse(_charge_answer(charge, target, target_id), status_code=201)


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


def _charge_answer(charge: Mapping[str, Any], target: str, target_id: str) -> Record:
    """A PropertyCharge or TenancyCharge (the contract's answer: no raised flag)."""
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
    if target == "tenancies":
        return answer | {"tenancyId": target_id, "tenantId": charge.get("tenantId")}
    return answer | {"propertyId": target_id}


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
