"""Rich text for each pane of the stepper, drawn from a `Session` frame.

The same facts `rulebridge simulate` prints after each step, laid out for the screen. Given
the frame before (`before`), the Fixflo and Alto panes show what the step changed: changed
lines in bold yellow with what they were (``was X``), and the Alto pane opens with a line
that sums the step up (`tui.model.changes`). Money is shown by `tui.render.money.money`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from rich.text import Text

from tui.model.changes import StepChanges, step_changes
from tui.model.session import Frame
from tui.render._alto import CHANGED, alto_lines, changed_line, show
from tui.render.money import money

__all__ = ["alto_text", "fixflo_text", "invariants_text"]

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
_PART_LISTS: Final = ("InvoiceDetails", "CompletionDocs", "Certificates")


def fixflo_text(
    frame: Frame,
    issue_id: str,
    agency: Mapping[str, Any] | None = None,
    before: Frame | None = None,
) -> Text:
    """The Fixflo lifecycle record: the Issue's status, reporter, property, quotes and job
    (contract fields), its parts (invoice details, completion documents and details,
    certificates), and the agency setting that decides feedback before closure.

    Args:
        frame: the frame shown.
        issue_id: the issue followed.
        agency: the agency settings the session runs under.
        before: the frame before `frame`: what the step changed is highlighted (bold
            yellow, ``was X``); None shows the record without changes.

    Example:
        >>> from engine import load_ruleset
        >>> from tui.model.session import Session
        >>> session = Session(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
        >>> fixflo_text(session.perform("report"), "I1").plain.split("  ")[0]
        'I1'
    """
    issue = frame.sim.fixflo.issues.get(issue_id)
    if issue is None:
        return Text("no issue yet: press 1 to report one", style="dim")
    changes = step_changes(before, frame, issue_id) if before is not None else StepChanges()
    text = Text()
    status_field = frame.sim.lifecycle.status_field
    text.append(f"{issue_id}  ", style="bold")
    status = changes.fixflo_field(status_field)
    text.append(f"{frame.sim.lifecycle.status_of(issue)}", style=CHANGED if status else "bold cyan")
    if status is not None and status.before is not None:
        text.append(f" (was {status.before})", style=CHANGED)
    text.append(f"  StatusChanged {issue.get('StatusChanged')}\n", style="dim")
    text.append(f"{issue.get('Title')} ({issue.get('IssueType')}, ")
    text.append(f"FaultPriority {issue.get('FaultPriority')})\n")
    _reporter(text, issue)
    _place(text, issue.get("FixfloProperty"))
    quotes = changes.fixflo_list("Quotes")
    for quote in issue.get("Quotes") or []:
        line = f"Quote {quote.get('id')}: {_firm(quote.get('Contractor'))} "
        line += f"{money(quote.get('PriceAgencyPayableGross'))} {quote.get('Status')}"
        changed_line(text, line, quotes is not None and str(quote.get("id")) in quotes.added)
    _job(text, issue.get("Job"), changes)
    _parts(text, issue, changes)
    if issue.get("CloseReason"):
        changed_line(
            text, f"CloseReason: {issue['CloseReason']}", changes.fixflo_field("CloseReason")
        )
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


def _job(text: Text, job: Any, changes: StepChanges) -> None:
    if not isinstance(job, Mapping):
        gone = [c for c in changes.fixflo if c.path.startswith("Job.") and c.kind == "removed"]
        if gone:
            changed_line(text, "Job: none", True)
        return
    made = changes.fixflo_field("Job.id")
    text.append(f"Job {job.get('id')}: ", style=CHANGED if made else "bold")
    text.append(f"{_firm(job.get('Contractor'))}\n", style=CHANGED if made else "")
    for key in _JOB_KEYS:
        change = changes.fixflo_field(f"Job.{key}")
        if job.get(key) not in (None, ""):
            changed_line(text, f"  {key}: {show(key, job[key])}", change, key)
        elif change is not None and change.kind != "added":
            changed_line(text, f"  {key}: removed", change, key)


def _parts(text: Text, issue: Mapping[str, Any], changes: StepChanges) -> None:
    invoices = changes.fixflo_list("InvoiceDetails")
    for invoice in issue.get("InvoiceDetails") or []:
        new = invoices is not None and str(invoice.get("InvoiceNumber")) in invoices.added
        line = f"InvoiceDetails: {invoice.get('InvoiceNumber')} of {invoice.get('InvoiceDate')}"
        changed_line(text, line, new)
    docs = [
        f"{doc.get('ShortDescription')} ({doc.get('MediaTypeDescription')})"
        for doc in issue.get("CompletionDocs") or []
    ]
    if docs:
        changed_line(
            text, f"CompletionDocs: {', '.join(docs)}", _list_note(changes, "CompletionDocs")
        )
    certificates = [str(doc.get("ShortDescription")) for doc in issue.get("Certificates") or []]
    if certificates:
        line = f"Certificates: {', '.join(certificates)}"
        changed_line(text, line, _list_note(changes, "Certificates"))
    for name in _PART_LISTS:
        emptied = changes.fixflo_list(name)
        if emptied is not None and emptied.after == 0:
            changed_line(text, f"{name}: none ({', '.join(emptied.removed)} removed)", True)
    details = issue.get("CompletionDetails")
    if isinstance(details, Mapping) and details.get("FeedbackToAgent"):
        change = changes.fixflo_field("CompletionDetails.FeedbackToAgent")
        changed_line(text, f"FeedbackToAgent: {details['FeedbackToAgent']}", change)


def _list_note(changes: StepChanges, name: str) -> str | bool:
    """A list part's change: ``was N`` (its count before), False when unchanged."""
    change = changes.fixflo_list(name)
    if change is None:
        return False
    return f"was {change.before}" if change.before else True


def alto_text(
    frame: Frame,
    issue_id: str,
    agency: Mapping[str, Any] | None = None,
    before: Frame | None = None,
) -> Text:
    """What Alto holds for the issue, as its contract shapes it: the works order (status and
    fields), the documents linked to it, the charges posted for it (where to, amounts, link)
    and any charge Alto could not take, then the agency settings that decide the charge.

    Args:
        frame: the frame shown.
        issue_id: the issue followed.
        agency: the agency settings the session runs under.
        before: the frame before `frame`: the pane opens with what the step changed in Alto
            ("nothing changed in Alto at this step" when nothing did) and highlights it;
            None shows Alto without changes.

    Example:
        >>> from engine import load_ruleset
        >>> from tui.model.session import Session
        >>> session = Session(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
        >>> start, frame = session.frame, session.perform("report")
        >>> alto_text(frame, "I1", before=start).plain.splitlines()[0]
        'nothing changed in Alto at this step'
    """
    changes = step_changes(before, frame, issue_id) if before is not None else None
    return alto_lines(frame, issue_id, agency or {}, changes)


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
