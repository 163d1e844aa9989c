"""W-01..W-10: the Fixflo issue lifecycle into Alto works orders, through the shipped ruleset
and the shipped scenarios."""

from __future__ import annotations

import pytest

from tests.rulesets.lifecycle import at, scenario, steps


@pytest.mark.req("W-01")
def test_a_reported_issue_exists_only_in_fixflo() -> None:
    report = at(scenario("documented-path"), "report")
    assert report.fixflo_status == "Reported"
    assert (report.works_order, report.documents, report.charges) == (None, (), ())
    assert report.operations == ()
    assert report.fired[0].startswith("W-01: Status = 'Reported'")


@pytest.mark.req("W-02")
def test_requesting_and_reviewing_quotes_creates_nothing_in_alto() -> None:
    reports = scenario("documented-path")
    for action in ("request_quotes", "quotes_returned", "review_quotes"):
        report = at(reports, action)
        assert report.works_order is None
        assert report.operations == ()
    assert at(reports, "request_quotes").fixflo_status == "QuotesRequested"


@pytest.mark.req("W-03")
@pytest.mark.parametrize(
    ("name", "supplier"),
    [("documented-path", "S1"), ("landlord-instructed", None)],  # G-02: the ID of "ID/OID"
)
def test_instructing_creates_a_works_order_at_supplier_instructed(
    name: str, supplier: str | None
) -> None:
    report = at(scenario(name), "instruct")
    assert report.fixflo_status == "JobAwarded"
    assert report.works_order is not None
    assert report.works_order["status"] == "SupplierInstructed"
    assert report.works_order["supplierContactId"] == supplier
    assert [(op["op"], op["kind"]) for op in report.operations] == [("create", "works_order")]


@pytest.mark.req("W-04")
def test_planned_maintenance_syncs_like_a_reactive_issue() -> None:
    reports = scenario("planned-maintenance")
    works = reports[-1].works_order
    assert works is not None
    assert works["status"] == "CompleteInvoicingReceived"
    assert "gas-safety-record.pdf" in reports[-1].documents
    reactive = at(scenario("documented-path"), "instruct").works_order
    assert reactive is not None
    # Alto's CreateWorkOrderRequest has no issue type: both kinds are sent alike.
    assert "issueType" not in works
    assert "issueType" not in reactive


# CreateWorkOrderRequest (contracts/alto.md, POST /work-orders; additionalProperties false).
CREATE_WORK_ORDER = {
    "propertyId",
    "summary",
    "priority",
    "reportedDate",
    "description",
    "notes",
    "startDate",
    "reporterDetails",
    "accessDetails",
    "chargeDetails",
    "supplierContactId",
    "quote",
    "negotiatorId",
}


@pytest.mark.req("W-05")
def test_works_order_fields_are_copied_from_the_issue() -> None:
    reports = steps(
        ("report", {"Title": "Boiler out", "FaultPriority": 1, "Firstname": "Bo", "Surname": "Ng"}),
        "request_quotes",
        ("quotes_returned", {"Quotes": [{"ContractorRef": "S1", "Amount": 250}]}),
        ("instruct", {"Job.StartDate": "2026-11-09"}),
    )
    works = reports[-1].works_order
    assert works is not None
    assert {key: works[key] for key in ("propertyId", "summary", "priority")} == {
        "propertyId": "P1",
        "summary": "Boiler out",
        "priority": "1",  # a string in Alto's contract
    }
    assert works["reporterDetails"] == {"type": "Tenant", "id": "T1"}
    assert works["quote"] == 250
    assert works["startDate"] == "2026-11-09"
    assert works["reportedDate"] == "2026-11-02T09:00:00"
    assert works["description"] == "The kitchen tap drips constantly."
    assert set(works) - {"id", "status"} <= CREATE_WORK_ORDER  # id and status: Alto's own


@pytest.mark.req("W-05")
def test_an_issue_reported_by_the_agency_has_the_agency_as_reporter() -> None:
    works = steps(
        ("report", {"Title": "Gutter", "FaultPriority": 2, "TenantRef": None}), "instruct"
    )[-1].works_order
    assert works is not None
    assert works["reporterDetails"] == {"type": "Agency", "id": None}


@pytest.mark.req("W-05")
def test_the_supplier_is_blank_when_instructed_to_the_landlord() -> None:
    works = scenario("landlord-instructed")[-1].works_order
    assert works is not None
    assert works["supplierContactId"] is None


@pytest.mark.req("W-06")
def test_the_agency_as_invoice_recipient_is_warned_at_quotes_and_instruction() -> None:
    reports = scenario("agency-invoice-recipient")
    for action in ("request_quotes", "instruct"):
        assert any(
            w.startswith("W-06: InvoiceRecipient = 'Agency'") for w in at(reports, action).warnings
        )
    assert at(reports, "complete_job").warnings == ()
    closed = reports[-1]
    assert closed.charges == ()
    assert any("cannot be sent" in w and "InvoiceRecipient" in w for w in closed.warnings)


@pytest.mark.req("W-06")
def test_other_as_invoice_recipient_is_warned_at_instruction() -> None:
    reports = steps("report", ("instruct", {"InvoiceRecipient": "Other"}))
    assert any(w.startswith("W-06: InvoiceRecipient = 'Other'") for w in reports[-1].warnings)


@pytest.mark.req("W-07")
def test_an_appointment_leaves_alto_unchanged() -> None:
    report = at(scenario("documented-path"), "set_appointment")
    assert report.fixflo_status == "AwaitingJobCompletion"
    assert report.operations == ()
    assert report.works_order is not None
    assert report.works_order["status"] == "SupplierInstructed"


@pytest.mark.req("W-08")
def test_completion_moves_the_works_order_and_copies_the_notes() -> None:
    report = at(scenario("documented-path"), "complete_job")
    assert report.fixflo_status == "JobCompleted"
    assert report.works_order is not None
    assert report.works_order["status"] == "CompleteAwaitingInvoice"
    assert report.works_order["notes"] == "Replaced the washer; tap no longer drips."
    assert report.documents == ()


@pytest.mark.req("W-08")
def test_with_feedback_on_the_occupier_gives_feedback_before_closure() -> None:
    reports = scenario("feedback-on")
    completed = at(reports, "complete_job")
    assert completed.works_order is not None
    assert completed.works_order["status"] == "CompleteAwaitingInvoice"
    assert at(reports, "give_feedback").operations == ()
    assert reports[-1].fixflo_status == "Closed"


@pytest.mark.req("W-09")
def test_closing_attaches_the_issue_pdf_and_every_completion_document() -> None:
    closed = scenario("documented-path")[-1]
    assert closed.works_order is not None
    assert closed.works_order["status"] == "CompleteInvoicingReceived"
    assert closed.documents == ("issue-I1.pdf", "gas-safety-certificate.pdf")


@pytest.mark.req("W-09")
def test_closing_without_a_job_sends_nothing_and_warns_nothing() -> None:
    closed = scenario("closed-without-job")[-1]
    assert closed.fixflo_status == "Closed"
    assert (closed.works_order, closed.documents, closed.charges, closed.warnings) == (
        None,
        (),
        (),
        (),
    )


@pytest.mark.req("W-10")
def test_the_charge_is_linked_to_its_works_order() -> None:
    closed = scenario("documented-path")[-1]
    assert closed.works_order is not None
    assert [charge["workOrderId"] for charge in closed.charges] == [closed.works_order["id"]]


@pytest.mark.req("W-05")
def test_the_landlord_branch_is_named_among_the_rules_that_fired() -> None:
    report = at(scenario("landlord-instructed"), "instruct")
    (landlord,) = [text for text in report.fired if text.startswith("W-05.landlord:")]
    assert landlord.startswith("W-05.landlord: Job.AssignedTo = 'Landlord'")
    assert landlord.endswith("so None")
