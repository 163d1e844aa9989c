"""Events a person performs in Fixflo, applied to the Fixflo world.

Which events are legal, and the status each leads to, come from the ruleset's lifecycle;
this module only supplies an event's default details (what a person typically enters) and
writes them into the issue. A detail outside the event's declared ``sets`` is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import EvaluationError
from engine.language.lifecycle import Event
from engine.language.paths import set_path

__all__ = ["defaults", "write_details"]

Details = dict[str, Any]


def _report(issue_id: str, issue: Mapping[str, Any]) -> Details:
    return {
        "IssueType": "Reactive",
        "FaultPriority": 3,
        "Title": "Dripping kitchen tap",
        "FaultNotes": "The kitchen tap drips constantly.",
        "Firstname": "Ann",
        "Surname": "Occupier",
        "EmailAddress": "ann@example.com",
        "ExternalPropertyRef": "P1/OP1",
        "TenantRef": "T1",
        "FeedbackEnabled": False,
    }


def _instruct(issue_id: str, issue: Mapping[str, Any]) -> Details:
    quotes = issue.get("Quotes") or []
    return {
        "Job.Id": f"J-{issue_id}",
        "Job.AssignedTo": "Contractor",
        "Job.ContractorRef": "S1/OS1",
        "Job.PayingParty": "Landlord",
        "Job.StartDate": "2026-11-05",
        "Job.Quote": quotes[0].get("Amount") if quotes else None,
        "InvoiceRecipient": issue.get("InvoiceRecipient") or "Landlord",
    }


def _complete(issue_id: str, issue: Mapping[str, Any]) -> Details:
    return {
        "Job.CompletionNotes": "Replaced the washer; tap no longer drips.",
        "CompletionDocuments": [{"Name": "gas-safety-certificate.pdf"}],
        "Invoice": {
            "InvoiceNumber": f"INV-{issue_id}",
            "TotalNet": 100.0,
            "TotalTax": 20.0,
            "Total": 120.0,
            "Document": f"invoice-{issue_id}.pdf",
        },
    }


_DEFAULTS: dict[str, Callable[[str, Mapping[str, Any]], Details]] = {
    "report": _report,
    "request_quotes": lambda _, issue: {"InvoiceRecipient": "Landlord"},
    "quotes_returned": lambda _, issue: {"Quotes": [{"ContractorRef": "S1/OS1", "Amount": 120}]},
    "review_quotes": lambda _, issue: {"QuotesReviewed": True},
    "instruct": _instruct,
    "set_appointment": lambda _, issue: {"Job.AppointmentDate": "2026-11-06T10:00:00"},
    "complete_job": _complete,
    "give_feedback": lambda _, issue: {"FeedbackGiven": True, "FeedbackRating": 5},
    "close": lambda _, issue: {"CloseReason": "Completed"},
    "close_without_job": lambda _, issue: {"CloseReason": "No longer required"},
}


def defaults(event: str, issue_id: str, issue: Mapping[str, Any]) -> Details:
    """The details a person typically enters for `event` (empty for an unknown event)."""
    make = _DEFAULTS.get(event)
    return make(issue_id, issue) if make else {}


def write_details(event: Event, issue: dict[str, Any], details: Mapping[str, Any]) -> None:
    """Write `details` (dotted paths) into `issue`; each must be a field the event sets.

    Instructing the landlord leaves the contractor empty whatever the defaults said.

    Raises:
        EvaluationError: a detail the event does not declare under ``sets``.
    """
    for path, value in details.items():
        if not any(path == name or path.startswith(name + ".") for name in event.sets):
            raise EvaluationError(
                f"event {event.name!r} does not set {path!r}; it sets {', '.join(event.sets)}"
            )
        set_path(issue, tuple(path.split(".")), value)
    job = issue.get("Job")
    if isinstance(job, dict) and job.get("AssignedTo") == "Landlord":
        job["ContractorRef"] = None
