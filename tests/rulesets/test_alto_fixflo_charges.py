"""CH-01..CH-06: the charge a closed Fixflo issue owes Alto, all of it decided by the ruleset:
whether it is due, where it goes (CH-02 routes), every amount and the works-order link."""

from __future__ import annotations

import pytest

from engine.issues.reconcile import IssueOps, LifecycleOp, reconcile
from engine.ports import AltoHolding
from tests.rulesets.lifecycle import RULESET, closed, ruleset_with

HELD = AltoHolding(works_order={"propertyId": "P1", "status": "CompleteAwaitingInvoice"})


def charge_of(result: IssueOps) -> LifecycleOp:
    (charge,) = [op for op in result.operations if op.kind == "charge"]
    return charge


def no_charge(result: IssueOps) -> bool:
    return not [op for op in result.operations if op.kind == "charge"]


@pytest.mark.req("CH-01", "CH-03", "CH-06")
def test_the_charge_form_is_mapped_from_the_job_and_invoice_details() -> None:
    charge = charge_of(reconcile(RULESET, closed(), HELD))
    assert dict(charge.fields) == {
        "chargeType": "Maintenance",
        "totalNet": 100.0,
        "totalVat": 20.0,
        "invoiceReference": "INV-1042",
        "supplierId": "S1",
        "description": "Fixflo issue 1042: Dripping kitchen tap",
        "chargeDate": "2026-11-07T00:00:00Z",
        "raiseImmediately": False,
    }


@pytest.mark.req("CH-03")
def test_net_and_tax_add_up_to_the_gross_the_job_was_paid() -> None:
    issue = closed(gross=250.0)
    fields = charge_of(reconcile(RULESET, issue, HELD)).fields
    assert fields["totalNet"] + fields["totalVat"] == pytest.approx(250.0)
    assert "totalGross" not in fields  # gap.charge-gross: Alto's form has no gross


@pytest.mark.req("CH-03")
def test_without_a_job_invoice_number_the_invoice_details_number_is_the_reference() -> None:
    issue = closed()
    issue["Job"]["JobInvoiceNumber"] = None
    issue["InvoiceDetails"][0]["InvoiceNumber"] = "FF-77"
    assert charge_of(reconcile(RULESET, issue, HELD)).fields["invoiceReference"] == "FF-77"


@pytest.mark.req("CH-02")
def test_ch02_landlord_pays_the_charge_goes_to_the_works_orders_property() -> None:
    charge = charge_of(reconcile(RULESET, closed(), HELD))
    assert dict(charge.target) == {
        "post": "property",
        "propertyId": "P1",
        "route": "CH-02.landlord",
        "link": "workOrderId",
        "invoice": {"from": "CompletionDocs", "name": "invoice-1042.pdf"},
    }
    assert "CH-02.landlord" in [because.rule for because in charge.because]


@pytest.mark.req("CH-02")
def test_ch02_tenant_pays_the_charge_goes_to_a_tenancy_with_the_tenant() -> None:
    charge = charge_of(reconcile(ruleset_with(paying_party="Tenant"), closed(), HELD))
    assert charge.target["post"] == "tenancy"
    assert charge.target["propertyId"] == "P1"
    assert charge.target["tenant"] == "C1"  # FixfloTenant.ExternalRef, the Alto contact id
    assert charge.target["tenantField"] == "tenantId"
    assert charge.target["route"] == "CH-02.tenant"
    assert "tenantId" not in charge.fields
    assert "payer" not in charge.fields


@pytest.mark.req("CH-02")
def test_ch02_the_property_is_the_one_alto_holds_the_works_order_on() -> None:
    held = AltoHolding(works_order={"propertyId": "P9", "status": "CompleteAwaitingInvoice"})
    assert charge_of(reconcile(RULESET, closed(), held)).target["propertyId"] == "P9"


@pytest.mark.req("CH-02")
def test_ch02_a_tenant_route_without_an_occupier_posts_nothing_and_warns() -> None:
    issue = closed()
    issue |= {"TenantId": None, "FixfloTenant": None}
    result = reconcile(ruleset_with(paying_party="Tenant"), issue, HELD)
    assert no_charge(result)
    (warning,) = result.warnings
    assert warning.rule == "CH-02.tenant"
    assert "the issue names no occupier" in warning.expected


@pytest.mark.req("CH-04")
def test_ch04_contractor_a_landlord_doing_the_job_is_not_charged() -> None:
    """A landlord's job has no contractor invoice: no charge, and no warning either (the
    rule is quiet: nothing is wrong, so operations are not told every night)."""
    result = reconcile(RULESET, closed(contractor=False), HELD)
    assert no_charge(result)
    assert result.warnings == ()
    assert "CH-04.contractor" in {because.rule for because in result.fired}


@pytest.mark.req("CH-04")
def test_ch04_no_charge_without_an_invoice_document() -> None:
    result = reconcile(RULESET, closed(invoice_document=False), HELD)
    assert no_charge(result)
    assert [warning.rule for warning in result.warnings] == ["CH-04"]


@pytest.mark.req("CH-04")
def test_ch04_the_invoice_document_is_the_one_of_the_agencys_media_type() -> None:
    issue = closed()
    issue["CompletionDocs"][1]["MediaTypeDescription"] = "ContractorInvoice"
    assert no_charge(reconcile(RULESET, issue, HELD))
    other = ruleset_with(invoice_media_type="ContractorInvoice")
    charge = charge_of(reconcile(other, issue, HELD))
    assert charge.target["invoice"]["name"] == "invoice-1042.pdf"


@pytest.mark.req("CH-05")
def test_ch05_no_charge_when_the_gross_is_zero() -> None:
    result = reconcile(RULESET, closed(gross=0.0), HELD)
    assert no_charge(result)
    assert [warning.rule for warning in result.warnings] == ["CH-05"]


@pytest.mark.req("W-06")
@pytest.mark.parametrize("recipient", ["Agency", "Other"])
def test_no_charge_when_the_invoice_is_addressed_to_the_agency(recipient: str) -> None:
    result = reconcile(ruleset_with(invoice_recipient=recipient), closed(), HELD)
    assert no_charge(result)
    assert [warning.rule for warning in result.warnings] == ["W-06.charge"]


@pytest.mark.req("CH-01")
def test_a_charge_already_posted_is_not_posted_again() -> None:
    held = AltoHolding(works_order=HELD.works_order, charges=frozenset({"maintenance"}))
    assert no_charge(reconcile(RULESET, closed(), held))
