"""Helpers for lifecycle tests: play the shipped scenarios through the shipped ruleset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import CompiledRuleset, load_ruleset
from engine.language.lifecycle import Lifecycle
from simulator.lifecycle import Scenario, Step, StepReport, load_scenario, play

ROOT = Path(__file__).resolve().parents[2]
RULESET_PATH = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
SCENARIOS = ROOT / "simulator" / "scenarios"
RULESET = load_ruleset(RULESET_PATH)


def lifecycle(ruleset: CompiledRuleset = RULESET) -> Lifecycle:
    assert ruleset.lifecycle is not None
    return ruleset.lifecycle


def scenario(name: str, ruleset: CompiledRuleset = RULESET) -> list[StepReport]:
    """Play `simulator/scenarios/<name>.yaml`; every invariant must hold at every step."""
    reports = play(ruleset, load_scenario(SCENARIOS / f"{name}.yaml", lifecycle(ruleset)))
    assert [r.violations for r in reports if r.violations] == []
    return reports


def steps(*items: tuple[str, dict[str, Any]] | str) -> list[StepReport]:
    """Play an inline list of events on issue I1."""
    made = [
        Step(event=item) if isinstance(item, str) else Step(event=item[0], details=item[1])
        for item in items
    ]
    return play(RULESET, Scenario("inline", "", tuple(made)))


def at(reports: list[StepReport], action: str) -> StepReport:
    """The report after the first step named `action`."""
    return next(report for report in reports if report.step == action)


# Contract-true issues (fixflo.md sections 6-7, design 14 section 1) -----------------------
# The Issue exactly as GET /Issue/{Id} gives it, plus the parts the ruleset declares, read
# from their own endpoints. Each builder gives the issue at one point of its life.

PROPERTY = {
    "id": "FP1",
    "ExternalPropertyRef": "P1",
    "Address": {"AddressLine1": "1 High Street", "PostCode": "AB1 2CD"},
}
TENANT = {"id": "FT1", "ExternalRef": "C1"}
CONTRACTOR = {"Id": "FC1", "ExternalRef": "S1", "DisplayName": "Drip Plumbing"}


def reported(issue_id: str = "1042", **changes: Any) -> dict[str, Any]:
    """An issue just reported by its occupier, on a property Fixflo knows."""
    issue: dict[str, Any] = {
        "Id": issue_id,
        "Status": "Reported",
        "StatusChanged": "2026-11-04T08:00:00Z",
        "Created": "2026-11-04T08:00:00Z",
        "IssueType": "Reactive",
        "IsPlannedMaintenance": False,
        "FaultPriority": "3",
        "Title": "Dripping kitchen tap",
        "FaultNotes": "The tap drips all night.",
        "Firstname": "Ann",
        "Surname": "Occupier",
        "EmailAddress": "ann@example.com",
        "Address": {"AddressLine1": "1 High Street", "Town": "Town", "PostCode": "AB1 2CD"},
        "TenantId": "FT1",
        "ExternalRefTenancyAgreement": None,
        "CloseReason": None,
        "Quotes": [],
        "Job": None,
        "FixfloProperty": dict(PROPERTY),
        "FixfloTenant": dict(TENANT),
    }
    return issue | changes


def awarded(issue_id: str = "1042", *, contractor: bool = True, **changes: Any) -> dict[str, Any]:
    """The job awarded (to a contractor, or with `contractor` False to the landlord)."""
    job = {
        "id": f"J-{issue_id}",
        "IssueId": issue_id,
        "StartDate": "2026-11-06T09:00:00",
        "CreatedDate": "2026-11-05T09:00:00Z",
        "JobberNotes": None,
        "JobCompleted": None,
        "JobInvoiceNumber": None,
        "PriceAgencyPayableNet": None,
        "PriceAgencyPayableTax": None,
        "PriceAgencyPayableGross": None,
        "QuotedPriceAgencyPayableGross": 150.0,
        "AppointmentDescription": None,
        "AppointmentRange": None,
        "Contractor": dict(CONTRACTOR) if contractor else None,
    }
    base = reported(issue_id, Status="JobAwarded", StatusChanged="2026-11-05T09:00:00Z", Job=job)
    return base | changes


def appointed(issue_id: str = "1042", **job: Any) -> dict[str, Any]:
    """An appointment set (W-07); `job` changes Job fields."""
    issue = awarded(issue_id, Status="AwaitingJobCompletion")
    issue["StatusChanged"] = "2026-11-05T12:00:00Z"
    issue["Job"] |= {"AppointmentDescription": "At", "AppointmentRange": "10:00-12:00"} | job
    return issue


def completed(
    issue_id: str = "1042",
    *,
    contractor: bool = True,
    gross: float = 120.0,
    invoice_document: bool = True,
) -> dict[str, Any]:
    """The job complete, with invoice details, completion documents and a certificate."""
    issue = awarded(issue_id, contractor=contractor, Status="JobCompleted")
    issue["StatusChanged"] = "2026-11-07T16:00:00Z"
    net, tax = round(gross / 1.2, 2), round(gross - gross / 1.2, 2)
    issue["Job"] |= {
        "JobCompleted": "2026-11-07T15:00:00Z",
        "JobberNotes": "Washer replaced.",
        "JobInvoiceNumber": f"INV-{issue_id}",
        "PriceAgencyPayableNet": net,
        "PriceAgencyPayableTax": tax,
        "PriceAgencyPayableGross": gross,
    }
    docs = [_media("M1", "gas-safety-certificate.pdf", "Certificate")]
    if invoice_document:
        docs.append(_media("M2", f"invoice-{issue_id}.pdf", "Invoice"))
    issue |= {
        "InvoiceDetails": [
            {
                "InvoiceDate": "2026-11-07T00:00:00Z",
                "DueDate": "2026-12-07T00:00:00Z",
                "InvoiceNumber": f"INV-{issue_id}",
                "LineItems": [{"LineType": 0, "Net": net, "Tax": tax, "Total": gross}],
            }
        ],
        "CompletionDocs": docs,
        "CompletionDetails": {"FeedbackToAgent": "All fixed, tenant happy."},
        "Certificates": [_media("M3", "boiler-certificate.pdf", "Certificate")],
    }
    return issue


def closed(issue_id: str = "1042", **kwargs: Any) -> dict[str, Any]:
    """Closed after the job was completed."""
    issue = completed(issue_id, **kwargs)
    return issue | {
        "Status": "Closed",
        "StatusChanged": "2026-11-08T10:00:00Z",
        "CloseReason": "Done",
    }


def cancelled(issue_id: str = "1042", *, appointed_first: bool = False) -> dict[str, Any]:
    """Closed after the job was awarded, never completed (W-09.cancelled)."""
    issue = appointed(issue_id) if appointed_first else awarded(issue_id)
    return issue | {
        "Status": "Closed",
        "StatusChanged": "2026-11-06T10:00:00Z",
        "CloseReason": "No access",
    }


def _media(media_id: str, name: str, kind: str) -> dict[str, Any]:
    return {
        "Id": media_id,
        "ShortDescription": name,
        "ContentType": "application/pdf",
        "MediaType": 1,
        "MediaTypeDescription": kind,
        "URL": f"https://fixflo.example/Media/{media_id}",
    }


def ruleset_with(**settings: Any) -> CompiledRuleset:
    """The shipped ruleset under agency settings `settings`."""
    return load_ruleset(RULESET_PATH, settings)
