"""The shipped scenarios, the scenario file format and the simulator's events."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import EvaluationError, RulesetErrors
from simulator.lifecycle import AltoWorld, Clock, FixfloWorld, Simulation, load_scenario
from simulator.lifecycle.explore import explore
from simulator.lifecycle.scenario import ruleset_for
from simulator.lifecycle.worlds import PARTS, issue_fields
from tests.rulesets.lifecycle import RULESET, SCENARIOS, lifecycle, scenario

NAMES = sorted(path.stem for path in SCENARIOS.glob("*.yaml"))


def test_the_documented_variants_are_shipped() -> None:
    assert {
        "documented-path",
        "landlord-instructed",
        "agency-invoice-recipient",
        "zero-invoice",
        "no-invoice-document",
        "feedback-on",
        "closed-without-job",
        "planned-maintenance",
        "cancelled-after-award",
        "tenant-pays",
        "missed-and-late-webhooks",
    } <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_shipped_scenario_keeps_every_invariant(name: str) -> None:
    assert scenario(name)[-1].fixflo_status == "Closed"


def test_scenario_errors_are_located_with_did_you_mean(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "scenario: bad\nsteps:\n  - {event: instruc}\n  - {event: report, wiht: {}}\n", "utf-8"
    )
    with pytest.raises(RulesetErrors) as caught:
        load_scenario(path, lifecycle())
    text = [str(error) for error in caught.value.errors]
    assert any(
        ":3:" in e and "unknown-event: no event 'instruc' (did you mean 'instruct'?)" in e
        for e in text
    )
    assert any(":4:" in e and "unknown key 'wiht' (did you mean 'with'?)" in e for e in text)


def test_illegal_moves_come_from_the_ruleset() -> None:
    sim = Simulation(RULESET)
    assert [event.name for event in sim.legal("I1")] == ["report"]
    sim.perform("report", "I1")
    assert [event.name for event in sim.legal("I1")] == [
        "request_quotes",
        "instruct",
        "close_without_job",
    ]
    with pytest.raises(
        EvaluationError, match="'close' is not legal for issue I1 at status 'Reported'"
    ):
        sim.perform("close", "I1")


@pytest.mark.req("W-08")
def test_feedback_is_offered_only_when_switched_on() -> None:
    for on in (False, True):
        sim = Simulation(ruleset_for(RULESET, {"fixflo_feedback_on": on}))
        for event in ("report", "instruct", "complete_job"):
            sim.perform(event, "I1")
        legal = [event.name for event in sim.legal("I1")]
        assert ("give_feedback" in legal) is on
        assert "close" in legal


def test_an_event_may_only_set_its_declared_fields() -> None:
    sim = Simulation(RULESET)
    with pytest.raises(EvaluationError, match="does not set 'Status'"):
        sim.perform("report", "I1", {"Status": "Closed"})


def test_the_clock_is_deterministic() -> None:
    clock = Clock()
    assert [clock.tick(), clock.tick()] == ["2026-11-02T09:00:00", "2026-11-02T10:00:00"]


def test_explore_holds_for_the_shipped_ruleset_to_depth_5() -> None:
    result = explore(RULESET, depth=5, settings=({},))
    assert result.counterexample is None
    assert result.states > 100
    assert result.sequences > result.states


def test_explore_over_two_issues() -> None:
    result = explore(RULESET, depth=3, issues=2)
    assert result.counterexample is None
    assert result.states > 50


def test_scenario_settings_are_checked_against_the_ruleset(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "scenario: bad\nsettings: {paying_partie: Tenant, invoice_recipient: Nobody}\n"
        "steps:\n  - {event: report}\n",
        "utf-8",
    )
    with pytest.raises(RulesetErrors) as caught:
        load_scenario(path, RULESET)
    text = [str(error) for error in caught.value.errors]
    assert any(":2:" in e and "'paying_partie'" in e and "paying_party" in e for e in text)
    assert any(":2:" in e and "'Nobody' is not allowed" in e for e in text)


def _closed(sim: Simulation, *events: str, **details: object) -> None:
    for event in events:
        sim.perform(event, "I1", dict(details.get(event, {})))  # type: ignore[call-overload]


@pytest.mark.req("W-09")
def test_a_job_cancelled_after_award_ends_cancelled_with_the_pdf_and_no_charge() -> None:
    sim = Simulation(RULESET)
    assert [e.name for e in sim.legal("I1")] == ["report"]
    _closed(sim, "report", "instruct")
    assert "cancel_job" in [e.name for e in sim.legal("I1")]
    _closed(sim, "set_appointment", "cancel_job")
    order = sim.alto.works_order_of("I1")
    assert order is not None
    assert order["status"] == "Cancelled"
    assert [d["fileName"] for d in sim.alto.documents_of("I1")] == ["issue-I1.pdf"]
    assert sim.alto.charges == []
    assert not sim.alto.updates or all(at != "AwaitingJobCompletion" for _, at in sim.alto.updates)


@pytest.mark.req("CH-02")
def test_the_tenant_pays_on_the_tenancy_holding_the_occupier() -> None:
    sim = Simulation(ruleset_for(RULESET, {"paying_party": "Tenant"}))
    _closed(sim, "report", "instruct", "complete_job", "close")
    [charge] = sim.alto.charges
    order = sim.alto.works_order_of("I1")
    assert order is not None
    assert (charge["post"], charge["targetId"], charge["tenantId"]) == ("tenancy", "TY1", "TT1")
    assert charge["workOrderId"] == order["id"]
    assert charge["totalNet"] + charge["totalVat"] == 120


@pytest.mark.req("CH-02", "W-10", "CH-01", "CH-06")
def test_the_landlord_pays_on_the_works_orders_property() -> None:
    sim = Simulation(RULESET)
    _closed(sim, "report", "instruct", "complete_job", "close")
    [charge] = sim.alto.charges
    order = sim.alto.works_order_of("I1")
    assert order is not None
    assert (charge["post"], charge["targetId"]) == ("property", order["propertyId"])
    assert (charge["chargeType"], charge["raiseImmediately"]) == ("Maintenance", False)
    assert charge["invoiceDocument"] == "invoice-I1.pdf"


@pytest.mark.req("W-05", "CH-04")
def test_a_landlord_instructed_job_has_no_supplier_and_no_charge() -> None:
    sim = Simulation(RULESET)
    sim.perform("report", "I1")
    sim.perform("instruct", "I1", {"Job.Contractor": None})
    order = sim.alto.works_order_of("I1")
    assert order is not None
    assert order["supplierContactId"] is None
    _closed(sim, "complete_job", "close")
    assert sim.alto.charges == []


@pytest.mark.req("W-07")
def test_the_appointment_leaves_alto_as_it_was() -> None:
    sim = Simulation(RULESET)
    _closed(sim, "report", "instruct")
    before = dict(sim.alto.works_order_of("I1") or {})
    done = sim.perform("set_appointment", "I1")
    assert done is not None
    assert done.operations == ()
    assert sim.alto.works_order_of("I1") == before


def test_the_world_keeps_issues_contract_true_and_recognises_orders() -> None:
    sim = Simulation(RULESET)
    _closed(sim, "report", "instruct", "complete_job")
    record = sim.fixflo.issues["I1"]
    assert set(PARTS) <= set(record)
    assert not set(PARTS) & set(issue_fields(record))
    assert not {"Revision", "Invoice", "ExternalPropertyRef", "TenantRef"} & set(record)
    order = sim.alto.works_order_of("I1")
    assert order is not None
    assert "issueId" not in order
    assert sim.fixflo.issue_for_order(order) == "I1"
    assert sim.fixflo.issue_for_order({**order, "summary": "Another"}) is None


def test_find_tenancy_takes_the_latest_tenancy_holding_the_contact() -> None:
    alto = AltoWorld.seeded()
    alto.tenancies["TY0"] = {
        "propertyId": "P1",
        "startDate": "2020-01-01",
        "places": [{"tenantId": "TT0", "contactId": "C1"}],
    }
    assert alto.find_tenancy("P1", "C1") == {"tenancyId": "TY1", "tenantId": "TT1"}
    assert alto.find_tenancy("P2", "C1") is None
    assert alto.find_tenancy("P1", "C9") is None
    assert FixfloWorld().issue_for_order({"propertyId": "P1"}) is None
