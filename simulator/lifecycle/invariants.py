"""The invariants of the issue lifecycle, written from the requirements, not the ruleset.

They judge Alto against the Fixflo snapshot Alto last agreed with (the ledger's revision),
so they hold after every step even when deliveries are late, repeated or out of order.
The stateful test and `rulebridge explore` check the same list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from simulator.lifecycle.worlds import AltoWorld, FixfloWorld

__all__ = ["violations"]

_VALID_RECIPIENTS = {"Landlord", "AllLandlords", "Occupier"}
_VALID_PAYERS = {"Tenant", "Landlord"}


def violations(fixflo: FixfloWorld, alto: AltoWorld) -> list[str]:
    """Every invariant broken, as sentences naming the issue (empty: all hold).

    Example:
        >>> violations(FixfloWorld(), AltoWorld())
        []
    """
    found = _duplicates(alto)
    for issue_id in fixflo.issues:
        entry = alto.ledger.get(issue_id)
        seen = None if entry is None or entry.revision is None else entry.revision
        snapshot = None if seen is None else fixflo.snapshot(issue_id, seen)
        found.extend(f"issue {issue_id}: {text}" for text in _issue(snapshot, issue_id, alto))
    return found


def _duplicates(alto: AltoWorld) -> list[str]:
    found = []
    works = Counter(order["issueId"] for order in alto.works_orders.values())
    found += [
        f"issue {key}: {count} works orders (W-03)" for key, count in works.items() if count > 1
    ]
    docs = Counter((doc["issueId"], doc["name"]) for doc in alto.documents)
    found += [
        f"issue {key[0]}: document {key[1]!r} attached {n} times (W-09)"
        for key, n in docs.items()
        if n > 1
    ]
    invoices = Counter(
        (charge["issueId"], charge.get("invoiceReference")) for charge in alto.charges
    )
    found += [
        f"issue {key[0]}: {n} charges for invoice {key[1]!r} (CH-03)"
        for key, n in invoices.items()
        if n > 1
    ]
    for charge in alto.charges:
        if charge.get("chargeType") != "Maintenance":
            found.append(
                f"issue {charge['issueId']}: charge is {charge.get('chargeType')!r} (CH-01)"
            )
        if charge.get("raised"):
            found.append(f"issue {charge['issueId']}: charge arrived raised (CH-06)")
        if not charge.get("workOrderId"):
            found.append(f"issue {charge['issueId']}: charge not linked to its works order (W-10)")
    return found


def _issue(snapshot: Mapping[str, Any] | None, issue_id: str, alto: AltoWorld) -> list[str]:
    job = (snapshot or {}).get("Job") or {}
    order = [o for o in alto.works_orders.values() if o["issueId"] == issue_id]
    found = []
    if bool(job.get("Id")) != bool(order):
        found.append(
            f"works order exists = {bool(order)} but job awarded = {bool(job.get('Id'))}"
            " (W-01, W-02, W-03)"
        )
    for works in order:
        landlord = job.get("AssignedTo") == "Landlord"
        if landlord == bool(works.get("supplierContactId")):
            found.append(
                f"supplier {works.get('supplierContactId')!r} but instructed to "
                f"{job.get('AssignedTo')!r} (W-05)"
            )
    found.extend(_documents(snapshot or {}, issue_id, alto, bool(order)))
    charges = [c for c in alto.charges if c["issueId"] == issue_id]
    due = _charge_due(snapshot or {}, job)
    if due != bool(charges):
        found.append(f"charge posted = {bool(charges)} but due = {due} (CH-02, CH-04, CH-05)")
    for charge in charges:
        if charge.get("payer") != job.get("PayingParty"):
            found.append(
                f"charge payer {charge.get('payer')!r} is not {job.get('PayingParty')!r} (CH-02)"
            )
        invoice = (snapshot or {}).get("Invoice") or {}
        if charge.get("totalGross") != invoice.get("Total") or not charge.get("invoiceDocument"):
            found.append("charge amount or document differs from the invoice (CH-03)")
    return found


def _charge_due(snapshot: Mapping[str, Any], job: Mapping[str, Any]) -> bool:
    invoice = snapshot.get("Invoice") or {}
    total = invoice.get("Total")
    return (
        snapshot.get("Status") == "Closed"
        and bool(job.get("Id"))
        and bool(invoice.get("Document"))
        and isinstance(total, int | float)
        and total > 0
        and job.get("PayingParty") in _VALID_PAYERS
        and snapshot.get("InvoiceRecipient") in _VALID_RECIPIENTS
    )


def _documents(
    snapshot: Mapping[str, Any], issue_id: str, alto: AltoWorld, has_order: bool
) -> list[str]:
    attached = {doc["name"] for doc in alto.documents if doc["issueId"] == issue_id}
    if snapshot.get("Status") != "Closed" or not has_order:
        return [f"documents {sorted(attached)} attached before closure (W-09)"] if attached else []
    wanted = {f"issue-{issue_id}.pdf"} | {
        str(doc.get("Name")) for doc in snapshot.get("CompletionDocuments") or []
    }
    missing = sorted(wanted - attached)
    return [f"documents {missing} not attached on closure (W-09)"] if missing else []
