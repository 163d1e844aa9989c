"""W-01..W-10: what Alto must hold for a Fixflo issue at each status, decided by the shipped
ruleset and read off contract-true issues (the Issue as GET /Issue/{Id} gives it, plus the
declared parts)."""

from __future__ import annotations

from typing import Any

import pytest

from engine.issues.reconcile import IssueOps, LifecycleOp, reconcile
from engine.ports import AltoHolding
from tests.rulesets.lifecycle import (
    RULESET,
    appointed,
    awarded,
    cancelled,
    closed,
    completed,
    lifecycle,
    reported,
    ruleset_with,
    scenario,
)

HELD_ORDER = {"propertyId": "P1", "status": "SupplierInstructed", "summary": "Dripping kitchen tap"}


def ops(result: IssueOps, kind: str | None = None) -> list[LifecycleOp]:
    return [op for op in result.operations if kind is None or op.kind == kind]


def names(result: IssueOps) -> list[str]:
    return [str(op.name) for op in ops(result, "document")]


def rules_of(op: LifecycleOp) -> list[str]:
    return [because.rule for because in op.because]


@pytest.mark.req("W-01", "W-02")
@pytest.mark.parametrize(
    "status", ["Reported", "QuotesRequested", "QuotesAwaitingReview", "QuotesReviewed"]
)
def test_before_a_job_is_awarded_alto_holds_nothing(status: str) -> None:
    result = reconcile(RULESET, reported(Status=status), AltoHolding())
    assert result.operations == ()
    assert result.warnings == ()


@pytest.mark.req("W-03", "W-05")
def test_instructing_creates_a_contract_shaped_works_order_with_its_identity() -> None:
    (create,) = ops(reconcile(RULESET, awarded(), AltoHolding()))
    assert (create.op, create.kind) == ("create", "works_order")
    assert dict(create.fields) == {
        "propertyId": "P1",
        "summary": "Dripping kitchen tap",
        "description": "The tap drips all night.",
        "priority": "3",
        "reportedDate": "2026-11-04T08:00:00Z",
        "startDate": "2026-11-06T09:00:00",
        "quote": 150.0,
        "reporterDetails": {"type": "Tenant", "id": "C1"},
        "supplierContactId": "S1",
        "status": "SupplierInstructed",
    }
    assert create.target == {
        "identity": {
            "propertyId": "P1",
            "reportedDate": "2026-11-04T08:00:00Z",
            "summary": "Dripping kitchen tap",
        }
    }
    assert create.to_json()["target"] == dict(create.target)
    assert rules_of(create)[:1] == ["W-03"]
    assert "W-03.job" in rules_of(create)
    assert "W-05.property" in rules_of(create)


@pytest.mark.req("W-05")
def test_an_issue_without_an_occupier_has_the_agency_as_reporter() -> None:
    issue = awarded(TenantId=None, FixfloTenant=None)
    (create,) = ops(reconcile(RULESET, issue, AltoHolding()))
    assert create.fields["reporterDetails"] == {"type": "Agency", "id": None}


@pytest.mark.req("W-05")
def test_a_job_instructed_to_the_landlord_has_no_supplier_and_says_why() -> None:
    result = reconcile(RULESET, awarded(contractor=False), AltoHolding())
    (create,) = ops(result)
    assert create.fields["supplierContactId"] is None
    assert "W-05.landlord" in [because.rule for because in result.fired]


@pytest.mark.req("W-05")
def test_an_issue_on_no_known_property_makes_no_works_order_and_warns() -> None:
    result = reconcile(RULESET, awarded(FixfloProperty=None), AltoHolding())
    assert result.operations == ()
    (warning,) = result.warnings
    assert warning.rule == "W-05.property"
    assert "no works order is made" in warning.expected


@pytest.mark.req("W-03", "W-09")
def test_closing_without_a_job_sends_nothing_and_warns_nothing() -> None:
    result = reconcile(RULESET, reported(Status="Closed", CloseReason="Duplicate"), AltoHolding())
    assert result.operations == ()
    assert result.warnings == ()  # W-03.job is quiet
    assert "W-03.job" in [because.rule for because in result.fired]


@pytest.mark.req("W-06")
@pytest.mark.parametrize("recipient", ["Agency", "Other"])
@pytest.mark.parametrize("status", ["QuotesRequested", "JobAwarded"])
def test_w06_warns_from_the_invoice_recipient_setting(recipient: str, status: str) -> None:
    issue = awarded() if status == "JobAwarded" else reported(Status=status)
    result = reconcile(ruleset_with(invoice_recipient=recipient), issue, AltoHolding())
    assert [warning.rule for warning in result.warnings] == ["W-06"]
    assert result.warnings[0].value == recipient


@pytest.mark.req("W-06")
def test_w06_is_silent_for_a_landlord_recipient_and_at_other_statuses() -> None:
    assert reconcile(RULESET, awarded(), AltoHolding()).warnings == ()
    other = ruleset_with(invoice_recipient="Agency")
    assert reconcile(other, reported(), AltoHolding()).warnings == ()


@pytest.mark.req("W-07")
def test_an_appointment_with_changed_job_fields_sends_nothing_when_alto_holds_the_order() -> None:
    issue = appointed(StartDate="2026-11-09T09:00:00", QuotedPriceAgencyPayableGross=999.0)
    issue["Title"] = "Dripping tap (kitchen)"
    result = reconcile(RULESET, issue, AltoHolding(works_order=HELD_ORDER))
    assert result.operations == ()
    assert result.fired[0].rule == "W-07"


@pytest.mark.req("W-07")
def test_an_appointment_creates_the_order_at_supplier_instructed_when_alto_has_none() -> None:
    (create,) = ops(reconcile(RULESET, appointed(), AltoHolding()))
    assert create.op == "create"
    assert create.fields["status"] == "SupplierInstructed"


@pytest.mark.req("W-08")
def test_completion_moves_the_order_on_and_copies_the_feedback_to_agent() -> None:
    (update,) = ops(reconcile(RULESET, completed(), AltoHolding(works_order=HELD_ORDER)))
    assert update.op == "update"
    assert update.fields["status"] == "CompleteAwaitingInvoice"
    assert update.fields["notes"] == "All fixed, tenant happy."


@pytest.mark.req("W-08")
def test_without_completion_details_the_jobber_notes_are_copied() -> None:
    issue = completed()
    issue["CompletionDetails"] = None
    (update,) = ops(reconcile(RULESET, issue, AltoHolding(works_order=HELD_ORDER)))
    assert update.fields["notes"] == "Washer replaced."


@pytest.mark.req("W-09")
def test_closing_attaches_the_report_completion_documents_and_certificates() -> None:
    result = reconcile(RULESET, closed(), AltoHolding(works_order=HELD_ORDER))
    assert names(result) == [
        "issue-1042.pdf",
        "gas-safety-certificate.pdf",
        "boiler-certificate.pdf",
    ]
    origins = [dict(op.target) for op in ops(result, "document")]
    assert origins == [
        {"from": "IssueReport"},
        {"from": "CompletionDocs"},
        {"from": "Certificates"},
    ]
    assert {op.fields["linkedType"] for op in ops(result, "document")} == {"WorkOrder"}
    (update,) = ops(result, "works_order")
    assert update.fields["status"] == "CompleteInvoicingReceived"


@pytest.mark.req("W-09")
def test_the_invoice_document_goes_with_the_charge_not_among_the_documents() -> None:
    result = reconcile(RULESET, closed(), AltoHolding(works_order=HELD_ORDER))
    assert "invoice-1042.pdf" not in names(result)
    (charge,) = ops(result, "charge")
    assert charge.target["invoice"] == {"from": "CompletionDocs", "name": "invoice-1042.pdf"}


@pytest.mark.req("W-09")
@pytest.mark.parametrize("appointed_first", [False, True])
def test_w09_cancelled_closed_after_award_without_completion(appointed_first: bool) -> None:
    result = reconcile(
        RULESET, cancelled(appointed_first=appointed_first), AltoHolding(works_order=HELD_ORDER)
    )
    (update,) = ops(result, "works_order")
    assert update.fields["status"] == "Cancelled"
    assert "notes" not in update.fields
    assert names(result) == ["issue-1042.pdf"]
    assert ops(result, "charge") == []
    assert result.warnings == ()
    assert "W-09.cancelled" in [because.rule for because in result.fired]


@pytest.mark.req("W-09")
def test_w09_cancelled_when_the_poll_jumps_from_reported_to_closed_with_a_job() -> None:
    result = reconcile(RULESET, cancelled(), AltoHolding())
    (create,) = ops(result, "works_order")
    assert (create.op, create.fields["status"]) == ("create", "Cancelled")
    assert names(result) == ["issue-1042.pdf"]
    assert ops(result, "charge") == []


@pytest.mark.req("W-10")
def test_the_charge_is_linked_to_its_works_order() -> None:
    result = reconcile(RULESET, closed(), AltoHolding())
    create = ops(result, "works_order")[0]
    (charge,) = ops(result, "charge")
    assert charge.after == create.idempotency_key
    assert charge.target["link"] == "workOrderId"
    assert "workOrderId" not in charge.fields  # the applier fills it with the order's id


@pytest.mark.req("W-03", "W-09")
def test_what_alto_holds_already_is_not_sent_again() -> None:
    issue = closed()
    first = reconcile(RULESET, issue, AltoHolding())
    order = dict(ops(first, "works_order")[0].fields)
    held = AltoHolding(
        works_order=order,
        documents=frozenset(names(first)),
        charges=frozenset({"maintenance"}),
        revision=issue["StatusChanged"],
    )
    assert reconcile(RULESET, issue, held).operations == ()


@pytest.mark.req("W-01")
def test_a_snapshot_older_than_alto_agreed_with_changes_nothing() -> None:
    held = AltoHolding(works_order=HELD_ORDER, revision="2026-11-08T10:00:00Z")
    late = reconcile(RULESET, completed(), held)
    assert late.stale
    assert late.operations == ()
    same = reconcile(RULESET, closed(), held)  # equal is not stale
    assert not same.stale
    assert same.operations


def test_staleness_compares_instants_not_text() -> None:
    held = AltoHolding(works_order=HELD_ORDER, revision="2026-11-08T11:00:00+01:00")
    assert not reconcile(RULESET, closed(), held).stale  # the same instant as ...10:00:00Z


@pytest.mark.parametrize(
    ("status", "parts"),
    [
        ("Reported", set()),
        ("QuotesRequested", set()),
        ("JobAwarded", {"FixfloProperty", "FixfloTenant"}),
        ("AwaitingJobCompletion", {"FixfloProperty", "FixfloTenant"}),
        ("JobCompleted", {"FixfloProperty", "FixfloTenant", "CompletionDetails"}),
        (
            "Closed",
            {
                "FixfloProperty",
                "FixfloTenant",
                "CompletionDetails",
                "CompletionDocs",
                "Certificates",
                "InvoiceDetails",
            },
        ),
    ],
)
def test_parts_read_per_status(status: str, parts: set[str]) -> None:
    assert lifecycle().parts_read(status) == parts


def test_parts_are_declared_with_their_reads_and_gaps() -> None:
    parts = lifecycle().parts
    assert parts["FixfloTenant"].read == "GET /Tenant?Id="
    assert parts["FixfloProperty"].gap == "gap.issue-property"
    assert parts["Certificates"].gap == "gap.completion-certificates"
    assert parts["InvoiceDetails"].line > 0


def _issue_keys(issue: dict[str, Any]) -> set[str]:
    return set(issue) - set(lifecycle().parts)


def test_the_builders_give_only_contract_fields_outside_the_parts() -> None:
    contract = {
        "Id", "Status", "StatusChanged", "Created", "IssueType", "IsPlannedMaintenance",
        "FaultPriority", "Title", "FaultNotes", "Firstname", "Surname", "EmailAddress",
        "Address", "TenantId", "ExternalRefTenancyAgreement", "CloseReason", "Quotes", "Job",
    }  # fmt: skip
    assert _issue_keys(closed()) <= contract


@pytest.mark.req("W-04")
@pytest.mark.parametrize(("issue_type", "planned"), [("Reactive", False), ("Planned", True)])
def test_w04_planned_and_reactive_issues_both_become_works_orders(
    issue_type: str, planned: bool
) -> None:
    """The ruleset reads neither IssueType nor IsPlannedMaintenance to decide: a planned
    maintenance issue is created in Alto exactly as a reactive one is."""
    issue = awarded(IssueType=issue_type, IsPlannedMaintenance=planned)
    (create,) = reconcile(RULESET, issue, AltoHolding()).operations
    assert (create.op, create.kind, create.fields["status"]) == (
        "create",
        "works_order",
        "SupplierInstructed",
    )
    assert create.fields == reconcile(RULESET, awarded(), AltoHolding()).operations[0].fields


@pytest.mark.req("W-04")
def test_w04_a_planned_maintenance_scenario_ends_with_its_charge() -> None:
    reports = scenario("planned-maintenance")
    last = reports[-1]
    assert last.fixflo_status == "Closed"
    assert last.works_order is not None
    assert last.works_order["status"] == "CompleteInvoicingReceived"
    assert [charge["chargeType"] for charge in last.charges] == ["Maintenance"]
