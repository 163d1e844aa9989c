"""The fake Alto's writes, kept in a lifecycle `AltoWorld` in its contract shapes.

Every fake Alto keeps its works orders, documents, charges and tenancies in an `AltoWorld`
(its own when none is given), so the lifecycle invariants can judge what arrived over HTTP:

- a works order is the CreateWorkOrderRequest body as posted plus ``id`` (numeric text:
  ``PATCH /work-orders/{id}`` takes an int32), ``status`` (``NewRequest``) and
  ``modifiedDate``; the issue it belongs to is what `AltoWorld.identify` recognises it as
  (``order_issue``), never a marker in its fields;
- a document is ``{"id", "fileName", "linkedType", "linkedId", "createdDate"}``;
- a charge is ``{"id", "post": "property"|"tenancy", "targetId", **form}``: the form's
  text fields as posted, and ``invoiceDocument`` the uploaded file's name when one came.

Answers are built from these by `work_order` and the charge answer of
`simulator.fake._alto_writes`: contract fields only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from engine.ports import Record
from simulator.lifecycle.worlds import AltoWorld

__all__ = ["WORK_ORDER_FIELDS", "WorldWrites", "tenancies_of", "work_order"]

# WorkOrder (contracts/alto.md section 7): everything an answer may carry.
WORK_ORDER_FIELDS: Final = frozenset({
    "id", "propertyId", "supplierContactId", "accessDetails", "reporterDetails",
    "chargeDetails", "reportedDate", "startDate", "quote", "workOrderNumber", "status",
    "summary", "description", "notes", "priority", "modifiedDate",
})  # fmt: skip
_FIRST_ORDER: Final = 700001
_FIRST_DOCUMENT: Final = 800001
_FIRST_CHARGE: Final = 900001


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def work_order(record: Mapping[str, Any]) -> Record:
    """A stored works order as Alto answers it: WorkOrder fields only (a request field
    the answer lacks, ``negotiatorId``, is left out).

    Example:
        >>> work_order({"id": "1", "summary": "Tap", "negotiatorId": "N1"})
        {'id': '1', 'summary': 'Tap'}
    """
    return {key: value for key, value in record.items() if key in WORK_ORDER_FIELDS}


def tenancies_of(tenancies: Iterable[Record], places: Iterable[Record]) -> dict[str, Record]:
    """The generated agency's tenancies in the world's shape: tenancy id -> ``{"propertyId",
    "startDate", "places": [{"tenantId", "contactId"}]}`` (ids as text).

    Example:
        >>> held = tenancies_of([{"id": 7, "propertyId": 3, "startDate": "2025-01-01"}],
        ...                     [{"tenancyId": 7, "tenantId": 70, "contactId": 5}])
        >>> held["7"]["propertyId"], held["7"]["places"]
        ('3', [{'tenantId': '70', 'contactId': '5'}])
    """
    found: dict[str, Record] = {
        str(t["id"]): {"propertyId": str(t.get("propertyId")), "startDate": t.get("startDate"),
                       "places": []}
        for t in tenancies
        if isinstance(t, Mapping) and t.get("id") is not None
    }  # fmt: skip
    for place in places:
        held = found.get(str(place.get("tenancyId")))
        if held is not None:
            pair = {"tenantId": str(place["tenantId"]), "contactId": str(place["contactId"])}
            held["places"].append(pair)
    return found


class WorldWrites:
    """Puts the fake Alto's works orders, documents and charges into `world`.

    Example:
        >>> world = AltoWorld(identify=lambda order: "I1")
        >>> order = WorldWrites(world).order({"propertyId": "P1", "summary": "Tap"})
        >>> order["status"], world.order_issue[order["id"]]
        ('NewRequest', 'I1')
    """

    def __init__(self, world: AltoWorld) -> None:
        self.world = world

    def order(self, body: Mapping[str, Any]) -> Record:
        """Store a new works order at ``NewRequest``; returns the stored record."""
        order_id = str(_FIRST_ORDER + len(self.world.works_orders))
        record: Record = {**body, "id": order_id, "status": "NewRequest", "modifiedDate": _now()}
        self.world.works_orders[order_id] = record
        issue = self.world.identify_order(record)
        if issue is not None:
            self.world.order_issue[order_id] = issue
        return record

    def patch(self, order: Record, changes: Mapping[str, Any]) -> None:
        """Replace fields of a stored works order and stamp it modified."""
        order.update(changes)
        order["modifiedDate"] = _now()

    def document(self, name: str, linked_type: str, linked_id: str | None) -> Record:
        """Store an uploaded document; returns the stored record."""
        record: Record = {
            "id": str(_FIRST_DOCUMENT + len(self.world.documents)),
            "fileName": name,
            "linkedType": linked_type,
            "linkedId": linked_id,
            "createdDate": _now(),
        }
        self.world.documents.append(record)
        return record

    def charge(
        self, form: Mapping[str, str], post: str, target_id: str, invoice: str | None
    ) -> Record:
        """Store a charge posted as a form (every value text) against a ``property`` or a
        ``tenancy``; returns the stored record."""
        record: Record = {
            "id": str(_FIRST_CHARGE + len(self.world.charges)),
            "post": post,
            "targetId": target_id,
            **form,
        }
        if invoice is not None:
            record["invoiceDocument"] = invoice
        self.world.charges.append(record)
        return record
