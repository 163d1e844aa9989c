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
    """Fields of one operation that stay off-contract until issue 14."""

    system: str
    operation: str
    fields: frozenset[str]
    why: str


_ISSUE_READ: Final = (
    "issue 14 rewrites the fake Fixflo's issue reads to the Issue/Job shapes of fixflo.md "
    "section 6; the lifecycle world still serves its own keys"
)
_WORK_ORDER: Final = (
    "issue 14 moves the lifecycle's work orders, documents and charges to the contract's "
    "fields (alto.md sections 7-9); 13 fixes only the create body and the PATCH type"
)

PENDING_ISSUE_14: Final[tuple[Pending, ...]] = (
    Pending(
        "fixflo",
        "issue_get",
        frozenset({"PropertyId", "ExternalPropertyRef", "Invoice", "ContractorRef", "IsEmergency"}),
        _ISSUE_READ,
    ),
    Pending("fixflo", "job_get", frozenset({"ContractorRef", "Invoice"}), _ISSUE_READ),
    Pending(
        "fixflo",
        "job_completion_details_get",
        frozenset({"CompletionNotes", "PayingParty"}),
        _ISSUE_READ,
    ),
    Pending(
        "fixflo", "invoice_details_get", frozenset({"TotalNet", "TotalTax", "Total"}), _ISSUE_READ
    ),
    Pending("fixflo", "completion_docs_list", frozenset({"FileName", "Url"}), _ISSUE_READ),
    Pending("fixflo", "issue_report_pdf", frozenset(), _ISSUE_READ),
    Pending("fixflo", "issues_list", frozenset({"Status"}), _ISSUE_READ),
    Pending("alto", "work_order_create", frozenset({"tenantId", "issueType"}), _WORK_ORDER),
    Pending("alto", "work_order_patch", frozenset({"content-type"}), _WORK_ORDER),
    Pending("alto", "inventory_work_orders", frozenset({"tenantId", "issueType"}), _WORK_ORDER),
    Pending("alto", "document_upload", frozenset({"documentType"}), _WORK_ORDER),
    Pending("alto", "documents_list", frozenset({"linkedType"}), _WORK_ORDER),
    Pending("alto", "charge_property", frozenset({"amount", "reference"}), _WORK_ORDER),
    Pending("alto", "charge_tenancy", frozenset({"amount", "reference"}), _WORK_ORDER),
)


def pending_reason(violation: Violation) -> str | None:
    """Why `violation` is pending for issue 14, None when it must fail."""
    for entry in PENDING_ISSUE_14:
        if (
            entry.system == violation.system
            and entry.operation == violation.operation
            and violation.field in entry.fields
        ):
            return entry.why
    return None
