"""Rich text for each pane of the stepper, drawn from a `Session` frame.

The same facts `rulebridge simulate` prints after each step, laid out for the screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from rich.text import Text

from engine.explain import Because
from tui.model.rules import RuleInfo
from tui.model.session import Frame

__all__ = ["alto_text", "explain_text", "fixflo_text", "invariants_text"]

_SHOWN: Final = {"id", "status"}
_CHARGE_SETTINGS: Final = ("paying_party", "invoice_recipient", "invoice_media_type")
_JOB_KEYS: Final = (
    "StartDate",
    "AppointmentDescription",
    "AppointmentRange",
    "JobCompleted",
    "JobInvoiceNumber",
    "PriceAgencyPayableNet",
    "PriceAgencyPayableTax",
    "PriceAgencyPayableGross",
    "JobberNotes",
)


def fixflo_text(frame: Frame, issue_id: str, agency: Mapping[str, Any] | None = None) -> Text:
    """The Fixflo lifecycle record: the Issue's status, reporter, property, quotes and job
    (contract fields), its parts (invoice details, completion documents and details,
    certificates), and the agency setting that decides feedback before closure."""
    issue = frame.sim.fixflo.issues.get(issue_id)
    if issue is None:
        return Text("no issue yet: press 1 to report one", style="dim")
    text = Text()
    text.append(f"{issue_id}  ", style="bold")
    text.append(f"{frame.sim.lifecycle.status_of(issue)}", style="bold cyan")
    text.append(f"  StatusChanged {issue.get('StatusChanged')}\n", style="dim")
    text.append(f"{issue.get('Title')} ({issue.get('IssueType')}, ")
    text.append(f"FaultPriority {issue.get('FaultPriority')})\n")
    _reporter(text, issue)
    _place(text, issue.get("FixfloProperty"))
    for quote in issue.get("Quotes") or []:
        text.append(f"Quote {quote.get('id')}: {_firm(quote.get('Contractor'))} ")
        text.append(f"{quote.get('PriceAgencyPayableGross')} {quote.get('Status')}\n")
    _job(text, issue.get("Job"))
    _parts(text, issue)
    if issue.get("CloseReason"):
        text.append(f"CloseReason: {issue['CloseReason']}\n")
    if agency and "fixflo_feedback_on" in agency:
        on = "on" if agency["fixflo_feedback_on"] else "off"
        text.append(f"feedback before closure: {on} (fixflo_feedback_on)", style="dim")
    return text


def _reporter(text: Text, issue: Mapping[str, Any]) -> None:
    name = f"{issue.get('Firstname') or ''} {issue.get('Surname') or ''}".strip() or "?"
    tenant = issue.get("FixfloTenant")
    if issue.get("TenantId") and isinstance(tenant, Mapping):
        text.append(f"Reporter: {name}, tenant {tenant.get('id')} ")
        text.append(f"(Alto contact {tenant.get('ExternalRef')})\n")
    else:
        text.append(f"Reporter: {name}, no Fixflo tenant (TenantId empty)\n")


def _place(text: Text, place: Any) -> None:
    if isinstance(place, Mapping):
        text.append(f"Property: {place.get('id')} (Alto property ")
        text.append(f"{place.get('ExternalPropertyRef')})\n")
    else:
        text.append("Property: not found in Fixflo (W-05.property)\n", style="yellow")


def _firm(contractor: Any) -> str:
    if not isinstance(contractor, Mapping):
        return "the landlord (no contractor)"
    return (
        f"{contractor.get('DisplayName')} ({contractor.get('Id')}, "
        f"Alto supplier {contractor.get('ExternalRef')})"
    )


def _job(text: Text, job: Any) -> None:
    if not isinstance(job, Mapping):
        return
    text.append(f"Job {job.get('id')}: ", style="bold")
    text.append(f"{_firm(job.get('Contractor'))}\n")
    for key in _JOB_KEYS:
        if job.get(key) not in (None, ""):
            text.append(f"  {key}: {_show(job[key])}\n")


def _parts(text: Text, issue: Mapping[str, Any]) -> None:
    for invoice in issue.get("InvoiceDetails") or []:
        text.append(f"InvoiceDetails: {invoice.get('InvoiceNumber')} of ")
        text.append(f"{invoice.get('InvoiceDate')}\n")
    docs = [
        f"{doc.get('ShortDescription')} ({doc.get('MediaTypeDescription')})"
        for doc in issue.get("CompletionDocs") or []
    ]
    if docs:
        text.append(f"CompletionDocs: {', '.join(docs)}\n")
    certificates = [str(doc.get("ShortDescription")) for doc in issue.get("Certificates") or []]
    if certificates:
        text.append(f"Certificates: {', '.join(certificates)}\n")
    details = issue.get("CompletionDetails")
    if isinstance(details, Mapping) and details.get("FeedbackToAgent"):
        text.append(f"FeedbackToAgent: {details['FeedbackToAgent']}\n")


def alto_text(frame: Frame, issue_id: str, agency: Mapping[str, Any] | None = None) -> Text:
    """What Alto holds for the issue, as its contract shapes it: the works order (status and
    fields), the documents linked to it, the charges posted for it (where to, amounts, link)
    and any charge Alto could not take, then the agency settings that decide the charge."""
    alto = frame.sim.alto
    text = Text()
    works = alto.works_order_of(issue_id)
    if works is None:
        text.append("nothing in Alto yet\n", style="dim")
        _agency(text, agency or {})
        return text
    text.append(f"works order {works.get('id')}  ", style="bold")
    text.append(f"{works.get('status')}\n", style="bold cyan")
    docs = [
        f"{doc.get('fileName')} ({doc.get('linkedType')} {doc.get('linkedId')})"
        for doc in alto.documents_of(issue_id)
    ]
    text.append(f"documents: {', '.join(docs) or 'none'}\n")
    charges = alto.charges_of(issue_id)
    if not charges:
        text.append("charges: none\n")
    for charge in charges:
        text.append(_charge(charge) + "\n", style="green")
    for refusal in alto.refused:
        if refusal.startswith(f"issue {issue_id}:"):
            text.append(f"refused: {refusal}\n", style="bold red")
    _agency(text, agency or {})
    text.append("fields:\n", style="bold")
    for key, value in works.items():
        if key not in _SHOWN and value not in (None, ""):
            text.append(f"  {key}: {_show(value)}\n")
    return text


def _agency(text: Text, agency: Mapping[str, Any]) -> None:
    shown = [f"{name} {agency[name]}" for name in _CHARGE_SETTINGS if name in agency]
    if shown:
        text.append(f"decided by agency (a): {', '.join(shown)}\n", style="dim")


def _charge(charge: Mapping[str, Any]) -> str:
    route = "tenancies" if charge.get("post") == "tenancy" else "inventory"
    line = f"charge {charge.get('id')} {charge.get('chargeType')}: "
    line += f"POST /{route}/{charge.get('targetId')}/charges"
    if charge.get("tenantId"):
        line += f" tenantId {charge['tenantId']}"
    line += f", net {charge.get('totalNet')} + vat {charge.get('totalVat')}"
    line += f", raiseImmediately {charge.get('raiseImmediately')}"
    line += f", workOrderId {charge.get('workOrderId')}"
    if charge.get("invoiceDocument"):
        line += f", invoice {charge['invoiceDocument']}"
    return line


def explain_text(frame: Frame, rules: Mapping[str, RuleInfo]) -> Text:
    """The warnings and the rules that fired for the frame's step, with their summaries."""
    result = frame.result
    if result is None:
        return Text("no step yet" if frame.step is None else "not delivered", style="dim")
    text = Text()
    if result.stale:
        text.append("an older snapshot than Alto last saw: nothing changed\n", style="yellow")
    for because in result.warnings:
        _because(text, because, rules, "⚠ ", "bold yellow")
    for because in result.fired:
        _because(text, because, rules, "✓ " if because.held else "✗ ", "")
    for op in result.operations:
        text.append(f"→ {op.op} {op.kind}{' ' + op.name if op.name else ''}\n", style="cyan")
    return text


def _because(
    text: Text, because: Because, rules: Mapping[str, RuleInfo], mark: str, style: str
) -> None:
    text.append(f"{mark}{because}\n", style=style)
    info = rules.get(because.rule)
    if info is not None:
        text.append(f"   {info.summary.strip()} ({info.where})\n", style="dim")


def invariants_text(problems: Sequence[str]) -> Text:
    """Green when every invariant holds, else each broken one in red with its reason."""
    if not problems:
        return Text(
            "✓ all hold: a works order iff a job was awarded; no duplicates; charges due, "
            "targeted and linked; bodies as Alto's contract has them",
            style="green",
        )
    text = Text()
    for problem in problems:
        text.append(f"✗ {problem}\n", style="bold red")
    return text


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_show(item) for item in value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)
