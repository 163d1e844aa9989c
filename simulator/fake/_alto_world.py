"""The fake Alto's writes in a lifecycle Alto world's shapes, so its invariants can judge them.

A works order written over HTTP belongs to the issue whose reference it carries
(``[ref I1]`` in its notes, description or summary, as `adapters.alto` writes it); a
document to the issue of the works order it is linked to; a charge to the issue of its
``workOrderId``. A charge on a tenancy is the tenant's, on a property the landlord's.
The ledger (what the integration sent) is the integration's to keep, not Alto's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from engine.ports import Record
from simulator.lifecycle.worlds import AltoWorld

__all__ = ["WorldWrites"]

_REFERENCE: Final = re.compile(r"\[ref ([^\]]+)\]")


def _issue_of(order: Mapping[str, Any]) -> str | None:
    for name in ("notes", "description", "summary"):
        found = _REFERENCE.search(str(order.get(name) or ""))
        if found:
            return found.group(1)
    return None


def _number(value: Any) -> float | None:
    try:
        return None if value in (None, "") else float(value)
    except (TypeError, ValueError):
        return None


class WorldWrites:
    """Puts the fake Alto's works orders, documents and charges into `world`.

    Example:
        >>> writes = WorldWrites(AltoWorld())
        >>> writes.order({"propertyId": "P1", "notes": "[ref I1]"})["issueId"]
        'I1'
    """

    def __init__(self, world: AltoWorld) -> None:
        self.world = world

    def order(self, body: Mapping[str, Any]) -> Record:
        """A new works order, numbered as the world numbers them, at ``NewRequest``."""
        order_id = f"WO-{len(self.world.works_orders) + 1}"
        record = {**body, "id": order_id, "issueId": _issue_of(body), "status": "NewRequest"}
        self.world.works_orders[order_id] = record
        return record

    def _issue_of_order(self, order_id: Any) -> str | None:
        order = self.world.works_orders.get(str(order_id or ""))
        return None if order is None else order.get("issueId")

    def document(self, record: Record) -> Record:
        """Add a stored document (``fileName``, ``linkedId``...) under the world's names."""
        record.update(name=record.get("fileName"), issueId=self._issue_of_order(record["linkedId"]))
        self.world.documents.append(record)
        return record

    def charge(
        self, fields: Mapping[str, str], target: str, target_id: str, invoice: str | None
    ) -> Record:
        """Add a charge posted as a form (every value text) in the world's shape."""
        net, vat = _number(fields.get("totalNet")), _number(fields.get("totalVat"))
        gross = _number(fields.get("totalGross"))
        if gross is None and net is not None:
            gross = net + (vat or 0.0)
        raised = str(fields.get("raiseImmediately", "")).lower() == "true"
        record: Record = {
            **fields,
            "id": f"CH-{len(self.world.charges) + 1}",
            "issueId": self._issue_of_order(fields.get("workOrderId")),
            "target": target,
            "targetId": target_id,
            "payer": "Tenant" if target == "tenancies" else "Landlord",
            "totalNet": net,
            "totalVat": vat,
            "totalGross": gross,
            "raiseImmediately": raised,
            "raised": raised,
            "workOrderId": fields.get("workOrderId") or None,
            "invoiceDocument": invoice,
            "hasInvoice": invoice is not None,
        }
        self.world.charges.append(record)
        return record
