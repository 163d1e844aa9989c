"""CH-01..CH-06: charges posted to Alto when a Fixflo issue is closed."""

from __future__ import annotations

import pytest

from tests.rulesets.lifecycle import scenario, steps


@pytest.mark.req("CH-01", "CH-06")
def test_every_charge_is_maintenance_and_unraised() -> None:
    for name in ("documented-path", "landlord-instructed", "feedback-on", "planned-maintenance"):
        charges = scenario(name)[-1].charges
        assert len(charges) == 1
        assert charges[0]["category"] == "Maintenance"
        assert charges[0]["raised"] is False


@pytest.mark.req("CH-02")
@pytest.mark.parametrize("payer", ["Tenant", "Landlord"])
def test_the_charge_goes_to_the_paying_party(payer: str) -> None:
    closed = steps("report", ("instruct", {"Job.PayingParty": payer}), "complete_job", "close")[-1]
    assert [charge["payer"] for charge in closed.charges] == [payer]


@pytest.mark.req("CH-02")
def test_no_charge_without_a_valid_paying_party() -> None:
    closed = steps("report", ("instruct", {"Job.PayingParty": "Agency"}), "complete_job", "close")[
        -1
    ]
    assert closed.charges == ()
    assert any(w.startswith("CH-02: Job.PayingParty = 'Agency'") for w in closed.warnings)


@pytest.mark.req("CH-03")
def test_the_amount_is_the_total_including_tax_with_the_document() -> None:
    closed = scenario("documented-path")[-1]
    (charge,) = closed.charges
    assert charge["amount"] == 120.0
    assert charge["invoiceDocument"] == "invoice-I1.pdf"
    (post,) = [op for op in closed.operations if op["kind"] == "charge"]
    assert post["fields"]["totalNet"] == 100.0
    assert post["fields"]["totalVat"] == 20.0
    assert post["fields"]["invoiceReference"] == "INV-I1"


@pytest.mark.req("CH-04")
def test_no_charge_without_an_invoice_document() -> None:
    closed = scenario("no-invoice-document")[-1]
    assert closed.charges == ()
    assert any(w.startswith("CH-04: Invoice.Document = None") for w in closed.warnings)


@pytest.mark.req("CH-05")
def test_no_charge_when_the_amount_is_zero() -> None:
    closed = scenario("zero-invoice")[-1]
    assert closed.charges == ()
    assert any(w.startswith("CH-05: Invoice.Total = 0") for w in closed.warnings)


@pytest.mark.req("CH-06")
def test_the_charge_is_posted_unraised() -> None:
    closed = scenario("documented-path")[-1]
    (post,) = [op for op in closed.operations if op["kind"] == "charge"]
    assert post["fields"]["raiseImmediately"] is False
