"""Off-contract lifecycle traffic that issue 14 fixes: reported as pending, never failed.

Each entry names the system, the facts.json operation, the fields (request or answer) the
current lifecycle sends or reads that the contract lacks, and why. A violation is pending
only when its operation and its field are both listed: anything else on the same operation,
and any request to an endpoint the contract does not have at all, fails. The list can only
shrink (tests/simulator/test_contract_recorder.py pins it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from simulator.fake.contract._check import Violation

__all__ = ["PENDING_ISSUE_14", "Pending", "pending_reason"]


@dataclass(frozen=True, slots=True)
class Pending:
    """Fields of one operation's request or answer that stay off-contract until issue 14.

    `part` is a `Violation` part (``request body``, ``response body``...); `fields` the
    last names of the violations' places (``""`` for the body as a whole, ``content-type``
    for the request's content type).
    """

    system: str
    operation: str
    part: str
    fields: frozenset[str]
    why: str


_ISSUE_READ: Final = (
    "issue 14 serves the lifecycle's issues in the Issue/Job shapes of fixflo.md sections 6-7; "
    "the lifecycle world still keeps its own keys (ContractorRef, Invoice, PayingParty...)"
)
_RESPONSE: Final = "response body"


def _fields(*names: str) -> frozenset[str]:
    return frozenset(names)


PENDING_ISSUE_14: Final[tuple[Pending, ...]] = (
    Pending(
        "fixflo",
        "issue_get",
        _RESPONSE,
        _fields(
            "AppointmentDate",
            "AssignedTo",
            "CompletionDocuments",
            "CompletionNotes",
            "Contractor",
            "ContractorRef",
            "ExternalPropertyRef",
            "FaultPriority",
            "FeedbackEnabled",
            "FeedbackGiven",
            "FeedbackRating",
            "Id",
            "Invoice",
            "InvoiceRecipient",
            "PayingParty",
            "Quote",
            "QuotesReviewed",
            "Revision",
            "TenantRef",
        ),
        _ISSUE_READ,
    ),
    Pending(
        "fixflo",
        "job_get",
        _RESPONSE,
        _fields("AssignedTo", "Contractor", "ContractorRef", "Id", "PayingParty", "Quote"),
        _ISSUE_READ,
    ),
    Pending(
        "fixflo",
        "job_completion_details_get",
        _RESPONSE,
        _fields("CompletedDate", "CompletionNotes", "IssueId", "JobCompleted", "JobId"),
        _ISSUE_READ,
    ),
    Pending("fixflo", "invoice_details_get", _RESPONSE, _fields(""), _ISSUE_READ),
    Pending("fixflo", "completion_docs_list", _RESPONSE, _fields("Name"), _ISSUE_READ),
)


def pending_reason(violation: Violation) -> str | None:
    """Why `violation` is pending for issue 14, None when it must fail."""
    for entry in PENDING_ISSUE_14:
        if (entry.system, entry.operation, entry.part) == (
            violation.system,
            violation.operation,
            violation.part,
        ) and violation.field in entry.fields:
            return entry.why
    return None
