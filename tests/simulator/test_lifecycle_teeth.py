"""The checkers have teeth: a ruleset that posts a charge without an invoice document is
caught by the stateful test and by `explore`, with a readable counterexample; every
invariant fires when the ruleset or the Alto world is broken on purpose."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from engine import CompiledRuleset, load_ruleset
from rulebridge.cli.explore import explore_command
from rulebridge.cli.simulate import simulate
from simulator.lifecycle import Simulation, violations
from simulator.lifecycle.explore import explore
from simulator.lifecycle.worlds import LedgerEntry
from tests.rulesets.lifecycle import RULESET, RULESET_PATH
from tests.simulator.lifecycle_machine import LifecycleMachine

CH04 = (
    "      - {id: CH-04, summary: No charge is sent without an invoice document"
    " (gap.invoice-document).,\n         when: {within: CompletionDocs,\n"
    "                any: {field: MediaTypeDescription, eq: {setting: invoice_media_type}}}}\n"
)


@pytest.fixture(scope="module")
def broken_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    text = RULESET_PATH.read_text("utf-8")
    assert CH04 in text
    path = tmp_path_factory.mktemp("broken") / "v2.yaml"
    path.write_text(text.replace(CH04, ""), "utf-8")
    return path


@pytest.fixture(scope="module")
def broken(broken_path: Path) -> CompiledRuleset:
    return load_ruleset(broken_path)


HUNT_EXAMPLES = 3000
"""The hunt's budget. Measured over 40 seeds, the machine finds the planted CH-04 bug after
10 to about 1000 examples (median about 330, mean about 390; 22 of the 40 needed more than
300), so with a budget of 300 whether the one derandomized run found it was a coin toss, and
anything that moves Hypothesis's generation flipped it: a new integer literal in any
imported project module does (Hypothesis draws 5% of its integers, the stateful rule-swarm
byte among them, from the literals of the loaded non-test modules; `getrandbits(128)` in the
fake's webhooks added 128 and the run stopped finding it). 3000 leaves a miss chance near
e**-7.7 on such drift; the hunt stops at the first find, so a passing run costs what finding
takes (about 990 examples, 25 s, today), and a machine that lost its power fails after the
whole budget."""


def _hunt(ruleset: CompiledRuleset, phases: list[Phase]) -> None:
    class Broken(LifecycleMachine):
        pass

    Broken.ruleset = ruleset
    with pytest.raises(AssertionError, match=r"charge posted = True but due = False"):
        run_state_machine_as_test(
            Broken,
            settings=settings(
                max_examples=HUNT_EXAMPLES,
                stateful_step_count=60,
                deadline=None,
                database=None,
                derandomize=True,
                phases=phases,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


@pytest.mark.req("CH-04")
def test_the_stateful_test_catches_a_charge_without_a_document(broken: CompiledRuleset) -> None:
    _hunt(broken, [Phase.generate])  # finding it is the point; shrinking is the slow test's


@pytest.mark.slow
def test_the_stateful_counterexample_shrinks(broken: CompiledRuleset) -> None:
    _hunt(broken, [Phase.generate, Phase.shrink])


@pytest.mark.req("CH-04")
def test_explore_finds_the_shortest_counterexample(broken: CompiledRuleset) -> None:
    result = explore(broken, depth=6)
    assert result.counterexample is not None
    assert [step.event for step in result.counterexample] == [
        "report",
        "instruct",
        "complete_job",
        "close",
    ]
    assert result.counterexample[2].details == {"CompletionDocs": []}


def test_the_counterexample_replays_in_simulate(broken_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "counterexample.yaml"
    found = CliRunner().invoke(
        explore_command, ["--ruleset", str(broken_path), "--depth", "6", "--out", str(out)]
    )
    assert found.exit_code == 1, found.output
    assert "counterexample (a scenario for `rulebridge simulate`)" in found.output
    assert "charge posted = True but due = False" in found.output
    replay = CliRunner().invoke(simulate, ["--ruleset", str(broken_path), "--scenario", str(out)])
    assert replay.exit_code == 1
    assert "VIOLATION: issue I1: charge posted = True but due = False" in replay.output


@pytest.mark.req("W-05")
def test_explore_catches_a_works_order_with_the_supplier_the_wrong_way_round(
    tmp_path: Path,
) -> None:
    text = RULESET_PATH.read_text("utf-8")
    case = "            when: {field: Job.Contractor.Id, absent: true}\n"
    assert case in text
    path = tmp_path / "v2.yaml"
    inverted = "            when: {field: Job.Contractor.Id, present: true}\n"
    path.write_text(text.replace(case, inverted, 1), "utf-8")
    result = explore(load_ruleset(path), depth=4, settings=({},))
    assert result.counterexample is not None
    assert any("(W-05)" in problem and "supplier" in problem for problem in result.problems)
    assert [step.event for step in result.counterexample] == ["report", "instruct"]


@pytest.mark.req("W-07")
def test_an_update_at_the_appointment_is_caught(tmp_path: Path) -> None:
    text = RULESET_PATH.read_text("utf-8")
    unchanged = "      works_order: SupplierInstructed\n      unchanged: true\n"
    assert unchanged in text
    path = tmp_path / "v2.yaml"
    noted = "      works_order: SupplierInstructed\n      set: {notes: {const: appointment}}\n"
    path.write_text(text.replace(unchanged, noted), "utf-8")
    result = explore(load_ruleset(path), depth=3, settings=({},))
    assert result.counterexample is not None
    assert any("changed at AwaitingJobCompletion (W-07)" in p for p in result.problems)


def _closed_world(settings: dict[str, Any] | None = None) -> tuple[Simulation, dict[str, Any]]:
    """A closed, contractor-completed issue whose Alto records are written by hand exactly
    as the requirements want them: the base each break below starts from."""
    sim = Simulation(RULESET)
    for event in ("report", "instruct", "complete_job", "close"):
        sim.perform(event, "I1", deliver=False)
    issue = sim.fixflo.issues["I1"]
    order = {
        "propertyId": "P1",
        "summary": issue["Title"],
        "description": issue["FaultNotes"],
        "priority": "3",
        "reportedDate": issue["Created"],
        "startDate": issue["Job"]["StartDate"],
        "reporterDetails": {"type": "Tenant", "id": "C1"},
        "supplierContactId": "S1",
        "notes": "Replaced the washer; the tap no longer drips.",
        "id": "WO-1",
        "status": "CompleteInvoicingReceived",
        "modifiedDate": issue["StatusChanged"],
    }
    alto = sim.alto
    alto.works_orders["WO-1"] = order
    alto.order_issue["WO-1"] = "I1"
    for number, name in enumerate(
        ["issue-I1.pdf", "gas-safety-certificate.pdf", "gas-safety-record-I1.pdf"], 1
    ):
        stamp = issue["StatusChanged"]
        alto.documents.append({"id": f"D{number}", "fileName": name, "linkedType": "WorkOrder",
                               "linkedId": "WO-1", "createdDate": stamp})  # fmt: skip
    charge = {
        "id": "CH-1",
        "post": "property",
        "targetId": "P1",
        "chargeType": "Maintenance",
        "totalNet": 100.0,
        "totalVat": 20.0,
        "invoiceReference": "INV-I1",
        "supplierId": "S1",
        "workOrderId": "WO-1",
        "invoiceDocument": "invoice-I1.pdf",
        "raiseImmediately": False,
    }
    alto.charges.append(charge)
    alto.ledger["I1"] = LedgerEntry("WO-1", revision=issue["StatusChanged"])
    assert violations(sim.fixflo, alto, settings) == []
    return sim, charge


def _fires(sim: Simulation, text: str, settings: dict[str, Any] | None = None) -> None:
    problems = violations(sim.fixflo, sim.alto, settings)
    assert any(text in problem for problem in problems), problems


@pytest.mark.req("CH-02")
def test_a_charge_on_the_property_when_the_tenant_pays_is_caught() -> None:
    sim, _ = _closed_world()
    _fires(sim, "charge posted to the property but Tenant pays (CH-02)", {"paying_party": "Tenant"})


@pytest.mark.req("CH-02")
def test_a_tenancy_charge_on_a_contact_id_is_caught() -> None:
    sim, charge = _closed_world()
    charge.update(post="tenancy", targetId="C1", tenantId="TT1")
    _fires(sim, "charge on tenancy 'C1'", {"paying_party": "Tenant"})
    charge.update(targetId="TY1", tenantId="C1")  # the tenancy, with the contact as tenantId
    _fires(sim, "with tenantId 'C1': not a tenancy", {"paying_party": "Tenant"})
    charge.update(tenantId="TT1")
    assert violations(sim.fixflo, sim.alto, {"paying_party": "Tenant"}) == []


@pytest.mark.req("CH-02")
def test_a_property_charge_on_another_property_is_caught() -> None:
    sim, charge = _closed_world()
    charge["targetId"] = "P2"
    _fires(sim, "charge on property 'P2', the works order's is 'P1' (CH-02)")


@pytest.mark.req("CH-03")
def test_a_charge_that_is_not_the_invoice_total_is_caught() -> None:
    sim, charge = _closed_world()
    charge["totalVat"] = 0
    _fires(sim, "is not the invoice total 120.0 (CH-03)")
    charge.update(totalVat="20.00", totalNet="100.00")  # as text over HTTP: still right
    assert violations(sim.fixflo, sim.alto) == []
    charge.pop("invoiceDocument")
    _fires(sim, "not the invoice document (CH-03)")


@pytest.mark.req("W-10", "CH-01", "CH-06")
def test_charge_link_type_and_raising_are_judged() -> None:
    sim, charge = _closed_world()
    charge.update(workOrderId=None, chargeType="Plumbing", raiseImmediately="true")
    problems = violations(sim.fixflo, sim.alto)
    assert any("charge posted = False but due = True" in p for p in problems)
    charge["workOrderId"] = "WO-1"
    _fires(sim, "charge is 'Plumbing', not Maintenance (CH-01)")
    _fires(sim, "charge arrived raised (CH-06)")


@pytest.mark.req("CH-04", "CH-05")
def test_a_charge_that_is_not_due_is_caught() -> None:
    sim, _ = _closed_world()
    job = sim.fixflo.history["I1"][-1]["Job"]
    job["PriceAgencyPayableGross"] = 0
    _fires(sim, "charge posted = True but due = False")
    job["PriceAgencyPayableGross"] = 120.0
    job["Contractor"] = None
    _fires(sim, "charge posted = True but due = False")


def test_a_body_the_contract_refuses_is_caught() -> None:
    sim, charge = _closed_world()
    sim.alto.works_orders["WO-1"]["issueId"] = "I1"
    _fires(sim, "works order WO-1: issueId")
    del sim.alto.works_orders["WO-1"]["issueId"]
    sim.alto.works_orders["WO-1"]["priority"] = 3
    _fires(sim, "works order WO-1: priority")
    sim.alto.works_orders["WO-1"]["priority"] = "3"
    charge["totalGross"] = 120
    _fires(sim, "charge CH-1: totalGross")


@pytest.mark.req("W-09")
def test_documents_duplicated_missing_or_on_a_cancelled_job_are_caught() -> None:
    sim, _ = _closed_world()
    sim.alto.documents.append({**sim.alto.documents[0], "id": "D9"})
    _fires(sim, "document 'issue-I1.pdf' attached 2 times (W-09)")
    del sim.alto.documents[1:]
    _fires(sim, "not attached on closure (W-09)")
    sim.fixflo.history["I1"][-1]["Job"]["JobCompleted"] = None
    sim.alto.charges.clear()
    sim.alto.works_orders["WO-1"]["status"] = "Cancelled"
    assert violations(sim.fixflo, sim.alto) == []
    sim.alto.works_orders["WO-1"]["status"] = "CompleteInvoicingReceived"
    _fires(sim, "not 'Cancelled' (W-03, W-08, W-09)")


@pytest.mark.req("W-03")
def test_a_second_works_order_for_the_issue_is_caught() -> None:
    sim, _ = _closed_world()
    sim.alto.works_orders["WO-2"] = {**sim.alto.works_orders["WO-1"], "id": "WO-2"}
    _fires(sim, "issue I1: 2 works orders (W-03)")
