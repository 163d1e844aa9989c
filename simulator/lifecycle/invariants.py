"""The invariants of the issue lifecycle, written from REQUIREMENTS.md, not from the ruleset.

They judge Alto's contract-shaped records (WorkOrders, documents, charges as posted) against
the Fixflo snapshot Alto last agreed with (the ledger's revision: that snapshot's
``StatusChanged``), so they hold after every step even when deliveries are late, repeated
or out of order. A record belongs to the issue `AltoWorld.issue_of_order` names. Every
works-order body and charge form must also pass the vendor contract (facts.json, through
`simulator.fake.contract.check_exchange`). The stateful test and `rulebridge explore`
check the same list.

The agency settings the requirements leave to the agency (who pays, who invoices are
addressed to, which completion document is the invoice: gap.paying-party,
gap.invoice-recipient, gap.invoice-document) are given as `settings`; absent ones take the
ruleset's documented defaults.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from simulator.lifecycle._canon import digest
from simulator.lifecycle.worlds import AltoWorld, FixfloWorld, first_segment, same_instant

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_SETTINGS", "charge_due", "contract_problems", "violations"]

DEFAULT_SETTINGS: Final[Mapping[str, Any]] = {
    "paying_party": "Landlord",
    "invoice_recipient": "Landlord",
    "invoice_media_type": "Invoice",
}
_VALID_RECIPIENTS: Final = {"Landlord", "AllLandlords", "Occupier"}
_ORDER_STATUS: Final = {
    "JobAwarded": "SupplierInstructed",
    "AwaitingJobCompletion": "SupplierInstructed",
    "JobCompleted": "CompleteAwaitingInvoice",
}
_ORDER_ANSWER_FIELDS: Final = ("id", "status", "modifiedDate", "workOrderNumber")
_ORDER_REQUIRED: Final = ("propertyId", "summary", "priority", "reportedDate")
_DOCUMENT_KEYS: Final = {"id", "fileName", "linkedType", "linkedId", "createdDate"}


def violations(
    fixflo: FixfloWorld, alto: AltoWorld, settings: Mapping[str, Any] | None = None
) -> list[str]:
    """Every invariant broken, as sentences naming the issue and requirement (empty: all
    hold). `settings` are the agency's (`DEFAULT_SETTINGS` for those not given).

    Example:
        >>> violations(FixfloWorld(), AltoWorld())
        []
    """
    agency = {**DEFAULT_SETTINGS, **(settings or {})}
    found = _duplicates(alto) + contract_problems(alto)
    for issue_id in fixflo.issues:
        snapshot, problem = _agreed(fixflo, alto, issue_id)
        texts = [problem] if problem else _issue(snapshot or {}, issue_id, alto, agency)
        found.extend(f"issue {issue_id}: {text}" for text in texts)
    return found


def _agreed(
    fixflo: FixfloWorld, alto: AltoWorld, issue_id: str
) -> tuple[dict[str, Any] | None, str | None]:
    entry = alto.ledger.get(issue_id)
    if entry is None or entry.revision is None:
        return None, None
    for snapshot in reversed(fixflo.history.get(issue_id, [])):
        if snapshot.get("StatusChanged") == entry.revision:
            return snapshot, None
    return None, f"Alto agreed with revision {entry.revision!r}, which Fixflo never had"


def _duplicates(alto: AltoWorld) -> list[str]:
    orders = _repeated([alto.issue_of_order(key) for key in alto.works_orders])
    found = [f"issue {key}: {n} works orders (W-03)" for key, n in orders]
    docs = _repeated([(doc.get("linkedId"), doc.get("fileName")) for doc in alto.documents])
    found += [f"works order {key[0]}: document {key[1]!r} attached {n} times (W-09)"
              for key, n in docs]  # fmt: skip
    charges = _repeated([alto.issue_of_order(each.get("workOrderId")) for each in alto.charges])
    found += [f"issue {key}: {n} charges (CH-03)" for key, n in charges]
    return found


def _repeated(keys: list[Any]) -> list[tuple[Any, int]]:
    """Each key found more than once with its count, in order of first sight (a set
    answers the usual case, no repeats, without counting)."""
    if len(set(keys)) == len(keys):
        return []
    return [(key, n) for key, n in Counter(keys).items() if n > 1]


def _issue(
    snapshot: Mapping[str, Any], issue_id: str, alto: AltoWorld, agency: Mapping[str, Any]
) -> list[str]:
    orders = alto.orders_of(issue_id)
    found = _order_exists(snapshot, orders)
    for order in orders:
        found += _order_fields(snapshot, order) + _order_status(snapshot, order, alto)
    found += _documents(snapshot, issue_id, alto, agency, bool(orders))
    found += _charges(snapshot, issue_id, alto, agency, orders[0] if orders else None)
    return found


def _job(snapshot: Mapping[str, Any]) -> Mapping[str, Any]:
    job = snapshot.get("Job")
    return job if isinstance(job, Mapping) else {}


def _contractor(snapshot: Mapping[str, Any]) -> Mapping[str, Any]:
    contractor = _job(snapshot).get("Contractor")
    return contractor if isinstance(contractor, Mapping) else {}


def _place_ref(snapshot: Mapping[str, Any]) -> str | None:
    place = snapshot.get("FixfloProperty")
    return first_segment(place.get("ExternalPropertyRef")) if isinstance(place, Mapping) else None


def _order_exists(snapshot: Mapping[str, Any], orders: list[dict[str, Any]]) -> list[str]:
    awarded = bool(_job(snapshot).get("id"))
    due = awarded and _place_ref(snapshot) is not None
    if due == bool(orders):
        return []
    return [
        f"works order exists = {bool(orders)} but job awarded = {awarded} and property "
        f"known = {_place_ref(snapshot) is not None} (W-01, W-02, W-03, W-05)"
    ]


def _order_fields(snapshot: Mapping[str, Any], order: Mapping[str, Any]) -> list[str]:
    job, contractor = _job(snapshot), _contractor(snapshot)
    supplier = first_segment(contractor.get("ExternalRef")) if contractor.get("Id") else None
    found = []
    if order.get("supplierContactId") != supplier:
        found.append(
            f"works order supplier {order.get('supplierContactId')!r}, the job's contractor "
            f"is {supplier!r} (blank when instructed to the landlord) (W-05)"
        )
    if order.get("propertyId") != _place_ref(snapshot):
        found.append(f"works order property {order.get('propertyId')!r} is not the issue's (W-05)")
    if not same_instant(order.get("reportedDate"), snapshot.get("Created")):
        found.append(
            f"works order reportedDate {order.get('reportedDate')!r} is not Created (W-05)"
        )
    tenant = (snapshot.get("FixfloTenant") or {}).get("ExternalRef")
    reporter = order.get("reporterDetails") or {}
    if snapshot.get("TenantId") and tenant and reporter.get("id") != tenant:
        found.append(f"works order reporter {reporter!r} is not the occupier {tenant!r} (W-05)")
    quote = job.get("QuotedPriceAgencyPayableGross")
    if quote is not None and _number(order.get("quote")) != _number(quote):
        found.append(f"works order quote {order.get('quote')!r} is not the job's {quote!r} (W-05)")
    return found


def _order_status(
    snapshot: Mapping[str, Any], order: Mapping[str, Any], alto: AltoWorld
) -> list[str]:
    status = snapshot.get("Status")
    wanted = _ORDER_STATUS.get(str(status))
    if status == "Closed":
        done = bool(_job(snapshot).get("JobCompleted"))
        wanted = "CompleteInvoicingReceived" if done else "Cancelled"
    found = []
    if wanted is not None and order.get("status") != wanted:
        found.append(
            f"works order {order.get('id')} is {order.get('status')!r} at {status}, "
            f"not {wanted!r} (W-03, W-08, W-09)"
        )
    patched = [at for key, at in alto.updates if key == order.get("id")]
    if "AwaitingJobCompletion" in patched:
        found.append(f"works order {order.get('id')} changed at AwaitingJobCompletion (W-07)")
    return found


def _invoice_doc(snapshot: Mapping[str, Any], agency: Mapping[str, Any]) -> str | None:
    kind = agency["invoice_media_type"]
    for doc in snapshot.get("CompletionDocs") or []:
        if doc.get("MediaTypeDescription") == kind and doc.get("ShortDescription"):
            return str(doc["ShortDescription"])
    return None


def _documents(
    snapshot: Mapping[str, Any],
    issue_id: str,
    alto: AltoWorld,
    agency: Mapping[str, Any],
    has_order: bool,
) -> list[str]:
    attached = {str(doc.get("fileName")) for doc in alto.documents_of(issue_id)}
    if snapshot.get("Status") != "Closed" or not has_order:
        return [f"documents {sorted(attached)} attached before closure (W-09)"] if attached else []
    wanted = {f"issue-{issue_id}.pdf"}
    if not _job(snapshot).get("JobCompleted"):
        extra = sorted(attached - wanted)
        cancelled = [f"documents {extra} attached to a cancelled job (W-09.cancelled)"]
        return cancelled if extra else _missing(wanted, attached)
    invoice = _invoice_doc(snapshot, agency)
    for part in ("CompletionDocs", "Certificates"):
        wanted |= {str(d.get("ShortDescription")) for d in snapshot.get(part) or []}
    return _missing(wanted - {invoice} if invoice else wanted, attached)


def _missing(wanted: set[str], attached: set[str]) -> list[str]:
    missing = sorted(wanted - attached)
    return [f"documents {missing} not attached on closure (W-09)"] if missing else []


def _number(value: Any) -> float | None:
    try:
        return None if value in (None, "") or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        return None


def charge_due(snapshot: Mapping[str, Any], agency: Mapping[str, Any], alto: AltoWorld) -> bool:
    """Whether the requirements want a charge for the issue as `snapshot` has it: closed,
    a contractor's job (CH-04: a landlord sends no contractor invoice), completed, with an
    invoice document (CH-04), a total over zero (CH-05), invoices addressed to someone who
    can pay (W-06) and, when the tenant pays, an occupier whose tenancy at the property
    Alto holds (CH-02; else the charge waits for a person)."""
    job = _job(snapshot)
    gross = _number(job.get("PriceAgencyPayableGross"))
    tenant = (snapshot.get("FixfloTenant") or {}).get("ExternalRef")
    place = _place_ref(snapshot) or ""
    return (
        snapshot.get("Status") == "Closed"
        and _place_ref(snapshot) is not None
        and bool(_contractor(snapshot).get("Id"))
        and bool(job.get("JobCompleted"))
        and _invoice_doc(snapshot, agency) is not None
        and gross is not None
        and gross > 0
        and agency["invoice_recipient"] in _VALID_RECIPIENTS
        and (
            agency["paying_party"] != "Tenant"
            or (bool(tenant) and alto.find_tenancy(place, str(tenant)) is not None)
        )
    )


def _charges(
    snapshot: Mapping[str, Any],
    issue_id: str,
    alto: AltoWorld,
    agency: Mapping[str, Any],
    order: Mapping[str, Any] | None,
) -> list[str]:
    charges = alto.charges_of(issue_id)
    due = charge_due(snapshot, agency, alto)
    found = []
    if due != bool(charges):
        found.append(f"charge posted = {bool(charges)} but due = {due} (CH-02..CH-05, W-06)")
    for charge in charges:
        found += _charge_target(charge, order or {}, alto, agency)
        found += _charge_amounts(charge, snapshot, order or {}, agency)
    return found


def _charge_target(
    charge: Mapping[str, Any],
    order: Mapping[str, Any],
    alto: AltoWorld,
    agency: Mapping[str, Any],
) -> list[str]:
    post, target = charge.get("post"), charge.get("targetId")
    payer = "Tenant" if post == "tenancy" else "Landlord"
    found = []
    if payer != agency["paying_party"]:
        found.append(f"charge posted to the {post} but {agency['paying_party']} pays (CH-02)")
    if post == "property" and target != order.get("propertyId"):
        found.append(
            f"charge on property {target!r}, the works order's is "
            f"{order.get('propertyId')!r} (CH-02)"
        )
    if post == "tenancy":
        tenancy = alto.tenancies.get(str(target)) or {}
        tenants = {str(place.get("tenantId")) for place in tenancy.get("places") or []}
        if (
            tenancy.get("propertyId") != order.get("propertyId")
            or str(charge.get("tenantId")) not in tenants
        ):
            found.append(
                f"charge on tenancy {target!r} with tenantId {charge.get('tenantId')!r}: not a "
                f"tenancy at property {order.get('propertyId')!r} holding that tenant (CH-02)"
            )
    if post not in ("tenancy", "property"):
        found.append(f"charge posted to {post!r}, neither a tenancy nor a property (CH-02)")
    return found


def _charge_amounts(
    charge: Mapping[str, Any],
    snapshot: Mapping[str, Any],
    order: Mapping[str, Any],
    agency: Mapping[str, Any],
) -> list[str]:
    gross = _number(_job(snapshot).get("PriceAgencyPayableGross"))
    net, vat = _number(charge.get("totalNet")), _number(charge.get("totalVat"))
    found = []
    if net is None or gross is None or abs(net + (vat or 0.0) - gross) > 0.005:
        found.append(f"charge net {net} + VAT {vat} is not the invoice total {gross} (CH-03)")
    if charge.get("invoiceDocument") != _invoice_doc(snapshot, agency):
        found.append(
            f"charge sent with {charge.get('invoiceDocument')!r}, not the invoice document (CH-03)"
        )
    if charge.get("workOrderId") != order.get("id"):
        found.append(
            f"charge linked to {charge.get('workOrderId')!r}, "
            f"not works order {order.get('id')!r} (W-10)"
        )
    if charge.get("chargeType") != "Maintenance":
        found.append(f"charge is {charge.get('chargeType')!r}, not Maintenance (CH-01)")
    if str(charge.get("raiseImmediately")).lower() not in ("false", "none"):
        found.append("charge arrived raised (CH-06)")
    return found


def contract_problems(alto: AltoWorld) -> list[str]:
    """Every Alto record whose body the contract (facts.json) would refuse: each works order
    as a ``POST /work-orders`` body, each charge form as a ``POST`` to its route, each
    document in the world's shape."""
    found = [f"works order {key}: {text}" for key, order in alto.works_orders.items()
             for text in _order_refused(order)]  # fmt: skip
    for charge in alto.charges:
        found += [f"charge {charge.get('id')}: {text}" for text in _charge_refused(charge)]
    for doc in alto.documents:
        extra = sorted(set(doc) - _DOCUMENT_KEYS)
        if extra or doc.get("linkedId") not in alto.works_orders:
            found.append(
                f"document {doc.get('id')}: keys {extra} or a link to no works order (W-09)"
            )
    return found


_VERDICTS: dict[tuple[str, str | bytes], tuple[str, ...]] = {}
"""What the contract said of each works order and charge checked, by the digest of its
content (the same record is checked once, however many explored states hold it)."""
_VERDICTS_HELD: Final = 20_000


def _verdict(
    kind: str, record: Mapping[str, Any], judge: Callable[[], Iterable[str]]
) -> tuple[str, ...]:
    """`judge()`'s problems with `record`, remembered by the record's content."""
    key = (kind, _content(record))
    found = _VERDICTS.get(key)
    if found is None:
        if len(_VERDICTS) >= _VERDICTS_HELD:
            _VERDICTS.clear()
        found = _VERDICTS[key] = tuple(judge())
    return found


def _content(record: Mapping[str, Any]) -> str | bytes:
    """What tells records apart for their verdict: their JSON with keys sorted (what
    `digest` equates, written by the C encoder), or their digest where JSON cannot sort
    the keys."""
    try:
        return json.dumps(record, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return digest(record)


def _order_refused(order: Mapping[str, Any]) -> tuple[str, ...]:
    return _verdict(
        "order",
        order,
        lambda: [*_refused("POST", "/work-orders", _order_body(order)), *_order_text(order)],
    )


def _charge_refused(charge: Mapping[str, Any]) -> tuple[str, ...]:
    return _verdict("charge", charge, lambda: _refused("POST", _charge_path(charge), _form(charge)))


def _order_text(order: Mapping[str, Any]) -> Iterator[str]:
    """CreateWorkOrderRequest's required fields are strings (alto.md section 7; facts.json
    checks presence, not the scalar type): ``priority: "3"``, never ``3``."""
    for name in _ORDER_REQUIRED:
        if not isinstance(order.get(name), str) or not order[name]:
            yield f"{name}: required, a non-empty string (got {order.get(name)!r})"


def _order_body(order: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in order.items() if key not in _ORDER_ANSWER_FIELDS}


def _charge_path(charge: Mapping[str, Any]) -> str:
    route = "tenancies" if charge.get("post") == "tenancy" else "inventory"
    return f"/{route}/{charge.get('targetId')}/charges"


def _form(charge: Mapping[str, Any]) -> httpx.Request:
    import httpx  # only a charge needs it: the TUI starts without loading httpx

    fields = {key: value for key, value in charge.items() if key not in ("id", "post", "targetId")}
    document = fields.pop("invoiceDocument", None)
    parts: list[tuple[str, Any]] = [
        (key, (None, _text(value))) for key, value in fields.items() if value is not None
    ]  # a charge is always multipart, with or without its invoice document
    if document:
        parts.append(("invoiceDocument", (str(document), b"%PDF-1.4", "application/pdf")))
    return httpx.Request("POST", "http://alto.test", files=parts)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _refused(method: str, path: str, body: Mapping[str, Any] | httpx.Request) -> Iterator[str]:
    import httpx  # as in `_form`

    from simulator.fake.contract import Exchange, check_exchange  # imports the fakes: lazily

    if isinstance(body, httpx.Request):
        headers, content = {"content-type": body.headers["content-type"]}, body.read()
    else:
        headers, content = {"content-type": "application/json"}, json.dumps(body).encode()
    exchange = Exchange(method, path, headers=headers, body=content, status=0)
    for found in check_exchange("alto", exchange, contract=_contract()):
        if found.part in ("request body", "operation"):
            yield f"{found.where or 'body'}: {found.what}"


@cache
def _contract() -> Any:
    from simulator.fake.contract import load_contract

    return load_contract()
