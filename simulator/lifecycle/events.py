"""Events a person performs in Fixflo, applied to the Fixflo world's lifecycle records.

Which events are legal, and the status each leads to, come from the ruleset's lifecycle;
this module only supplies an event's default details (what a person typically enters) and
writes them into the record. A detail outside the event's declared ``sets`` is refused.

The defaults are contract-true (fixflo.md sections 6-7: Issue, Job, Contractor, Quote,
InvoiceDetails, JobCompletionDetails and Media fields only; parts under their own names)
and agree with `simulator.lifecycle.worlds.AltoWorld.seeded`: the issue is at the Fixflo
property ``FP1`` whose ExternalPropertyRef ``P1`` is the Alto property, reported by the
Fixflo tenant ``FT1`` whose ExternalRef ``C1`` is the Alto contact (tenancy ``TY1``), and
instructed to the contractor ``FC1`` whose ExternalRef ``S1`` is the Alto supplier. The
landlord path is ``instruct`` with ``{Job.Contractor: None}`` (gap.job-assignee).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Final

from engine.errors import EvaluationError
from engine.language.lifecycle import Event

__all__ = ["ADDRESS", "CONTRACTOR", "defaults", "media", "new_record", "write_details"]

Details = dict[str, Any]
Make = Callable[[str, Mapping[str, Any], str], Details]

ADDRESS: Final = {
    "AddressLine1": "1 Acacia Avenue",
    "AddressLine2": "",
    "Town": "Leeds",
    "County": "West Yorkshire",
    "PostCode": "LS1 1AA",
    "Country": "GB",
}
CONTRACTOR: Final = {
    "Id": "FC1",
    "ExternalRef": "S1",
    "DisplayName": "Sam Spanner",
    "CompanyName": "Spanner Plumbing Ltd",
}


def new_record(issue_id: str, created: str) -> dict[str, Any]:
    """A lifecycle record as Fixflo holds an issue the moment it is reported: every Issue
    field the lifecycle reads, and every part, empty."""
    return {
        "Id": issue_id,
        "Created": created,
        "TenantId": None,
        "ExternalRefTenancyAgreement": None,
        "CloseReason": None,
        "Quotes": [],
        "Job": None,
        "FixfloProperty": None,
        "FixfloTenant": None,
        "InvoiceDetails": [],
        "CompletionDocs": [],
        "CompletionDetails": None,
        "Certificates": [],
    }


def media(issue_id: str, name: str, description: str) -> dict[str, Any]:
    """A Fixflo Media for file `name` (its id a uuid fixed by the issue and the name).

    ``MediaType`` and ``URL`` are read-only and Fixflo publishes no values for them: None.
    """
    media_id = uuid.uuid5(uuid.NAMESPACE_URL, f"fixflo:{issue_id}:{name}")
    return {
        "Id": str(media_id),
        "ShortDescription": name,
        "ContentType": "application/pdf",
        "MediaType": None,
        "MediaTypeDescription": description,
        "URL": None,
    }


def _report(issue_id: str, issue: Mapping[str, Any], now: str) -> Details:
    return {
        "IssueType": "Reactive",
        "IsPlannedMaintenance": False,
        "FaultPriority": "3",
        "Title": "Dripping kitchen tap",
        "FaultNotes": "The kitchen tap drips constantly.",
        "Firstname": "Ann",
        "Surname": "Occupier",
        "EmailAddress": "ann@example.com",
        "Address": dict(ADDRESS),
        "TenantId": "FT1",
        "FixfloTenant": {"id": "FT1", "ExternalRef": "C1", "EmailAddress": "ann@example.com"},
        "FixfloProperty": {"id": "FP1", "ExternalPropertyRef": "P1", "Address": dict(ADDRESS)},
        "Created": issue.get("Created") or now,
    }


def _quotes(issue_id: str, issue: Mapping[str, Any], now: str) -> Details:
    quote = {
        "id": f"Q-{issue_id}",
        "Status": "Submitted",
        "Contractor": dict(CONTRACTOR),
        "PriceAgencyPayableNet": "100.00",
        "PriceAgencyPayableTax": "20.00",
        "PriceAgencyPayableGross": "120.00",
        "SubmittedDate": now,
    }
    return {"Quotes": [quote]}


def _quoted(issue: Mapping[str, Any]) -> float | None:
    for quote in issue.get("Quotes") or []:
        try:
            return float(quote.get("PriceAgencyPayableGross"))
        except (TypeError, ValueError):
            continue
    return None


def _instruct(issue_id: str, issue: Mapping[str, Any], now: str) -> Details:
    return {
        "Job.id": f"J-{issue_id}",
        "Job.IssueId": issue_id,
        "Job.Contractor": dict(CONTRACTOR),
        "Job.StartDate": "2026-11-05T09:00:00",
        "Job.CreatedDate": now,
        "Job.QuotedPriceAgencyPayableGross": _quoted(issue),
    }


def _appointment(issue_id: str, issue: Mapping[str, Any], now: str) -> Details:
    return {
        "Job.AppointmentDescription": "Between",
        "Job.AppointmentRange": "2026-11-06 10:00 - 12:00",
    }


def _complete(issue_id: str, issue: Mapping[str, Any], now: str) -> Details:
    invoice = f"INV-{issue_id}"
    due = (datetime.fromisoformat(now) + timedelta(days=30)).isoformat()
    line = {"LineType": 0, "Description": "Labour and washer", "Quantity": 1,
            "UnitPrice": 100.0, "Net": 100.0, "Tax": 20.0, "Total": 120.0}  # fmt: skip
    notes = "Replaced the washer; the tap no longer drips."
    return {
        "Job.JobCompleted": now,
        "Job.JobberNotes": notes,
        "Job.JobInvoiceNumber": invoice,
        "Job.PriceAgencyPayableNet": 100.0,
        "Job.PriceAgencyPayableTax": 20.0,
        "Job.PriceAgencyPayableGross": 120.0,
        "InvoiceDetails": [
            {"InvoiceDate": now, "DueDate": due, "InvoiceNumber": invoice, "LineItems": [line]}
        ],
        "CompletionDocs": [
            media(issue_id, "gas-safety-certificate.pdf", "Certificate"),
            media(issue_id, f"invoice-{issue_id}.pdf", "Invoice"),
        ],
        "CompletionDetails": {
            "PurchaseOrderNumber": None,
            "JobCompletionDate": now,
            "JobDuration": "1 hour",
            "FeedbackToAgent": notes,
        },
        "Certificates": [media(issue_id, f"gas-safety-record-{issue_id}.pdf", "Gas Safety")],
    }


_DEFAULTS: dict[str, Make] = {
    "report": _report,
    "quotes_returned": _quotes,
    "instruct": _instruct,
    "set_appointment": _appointment,
    "complete_job": _complete,
    "close": lambda _, issue, now: {"CloseReason": "Job completed"},
    "cancel_job": lambda _, issue, now: {"CloseReason": "Job cancelled"},
    "close_without_job": lambda _, issue, now: {"CloseReason": "No longer required"},
}


def defaults(event: str, issue_id: str, issue: Mapping[str, Any], now: str) -> Details:
    """The details a person typically enters for `event` at time `now` (ISO text); empty
    for an event that sets nothing (``request_quotes``, ``give_feedback``...) or is unknown.

    Example:
        >>> defaults("instruct", "I1", {}, "2026-11-02T09:00:00")["Job.Contractor"]["Id"]
        'FC1'
    """
    make = _DEFAULTS.get(event)
    return make(issue_id, issue, now) if make else {}


def write_details(event: Event, issue: dict[str, Any], details: Mapping[str, Any]) -> None:
    """Write `details` (dotted paths) into `issue`; each must be a field the event sets.

    A None on the way (``Job`` before a job is awarded) becomes a mapping.

    Raises:
        EvaluationError: a detail the event does not declare under ``sets``.
    """
    for path, value in details.items():
        if not _declared(tuple(event.sets), path):
            raise EvaluationError(
                f"event {event.name!r} does not set {path!r}; it sets {', '.join(event.sets)}"
            )
        _set(issue, path.split("."), value)


def _set(target: dict[str, Any], path: list[str], value: Any) -> None:
    node = target
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value


@lru_cache(maxsize=1024)
def _declared(sets: tuple[str, ...], path: str) -> bool:
    """Whether `path` is one of `sets` or inside one (remembered: a few events and paths
    come back at every step)."""
    return any(path == name or path.startswith(name + ".") for name in sets)
