"""Level-triggered reconcile: skipped, repeated and out-of-order deliveries converge."""

from __future__ import annotations

import itertools

import pytest

from engine import EvaluationError, load_ruleset
from engine.issues.reconcile import reconcile
from engine.ports import AltoHolding
from simulator.lifecycle import Simulation, violations
from tests.engine.rulesets import ruleset_data, write
from tests.rulesets.lifecycle import RULESET

PATH = ("report", "request_quotes", "instruct", "set_appointment", "complete_job", "close")


def final_alto(deliveries: list[int | None]) -> tuple[object, ...]:
    """Play the whole path undelivered, then deliver the given revisions in that order."""
    sim = Simulation(RULESET)
    for event in PATH:
        sim.perform(event, "I1", deliver=False)
    for revision in deliveries:
        sim.deliver("I1", revision)
    assert violations(sim.fixflo, sim.alto) == []
    works = dict(sim.alto.works_orders)
    return (works, sim.alto.documents, [c | {"id": None} for c in sim.alto.charges])


@pytest.mark.req("W-03", "W-09")
def test_a_jump_from_nothing_to_closed_equals_the_step_by_step_path() -> None:
    stepwise = final_alto(list(range(len(PATH))))
    assert final_alto([None]) == stepwise


@pytest.mark.parametrize("order", list(itertools.permutations([2, 4, 5]))[:6])
def test_any_delivery_order_converges_once_the_latest_arrives(order: tuple[int, ...]) -> None:
    expected = final_alto([None])
    assert final_alto([*order, 5, *order]) == expected


def test_repeated_deliveries_make_no_second_works_order_document_or_charge() -> None:
    sim = Simulation(RULESET)
    for event in PATH:
        sim.perform(event, "I1")
    again = sim.deliver("I1")
    assert again.operations == ()
    assert (len(sim.alto.works_orders), len(sim.alto.documents), len(sim.alto.charges)) == (1, 2, 1)


def test_a_stale_snapshot_changes_nothing_and_says_so() -> None:
    sim = Simulation(RULESET)
    for event in PATH:
        sim.perform(event, "I1")
    late = sim.deliver("I1", 2)
    assert late.stale
    assert late.operations == ()
    assert "the revision Alto last agreed with" in str(late.fired[0])


def test_operations_carry_stable_idempotency_keys_and_reasons() -> None:
    sim = Simulation(RULESET)
    sim.perform("report", "I1", deliver=False)
    sim.perform("instruct", "I1", deliver=False)
    issue = sim.fixflo.snapshot("I1")
    first = reconcile(RULESET, issue, AltoHolding())
    second = reconcile(RULESET, issue, AltoHolding())
    assert [op.idempotency_key for op in first.operations] == [
        op.idempotency_key for op in second.operations
    ]
    (create,) = first.operations
    assert create.to_json()["because"][0]["rule"] == "W-03"


def test_a_ruleset_without_a_lifecycle_cannot_reconcile(tmp_path: object) -> None:
    from pathlib import Path

    ruleset = load_ruleset(write(Path(str(tmp_path)), ruleset_data()))
    with pytest.raises(EvaluationError, match="declares no 'lifecycle:'"):
        reconcile(ruleset, {"Id": "I1", "Status": "Reported"}, AltoHolding())


def test_an_undeclared_status_is_an_evaluation_error() -> None:
    with pytest.raises(EvaluationError, match="'Cancelled' is not declared"):
        reconcile(RULESET, {"Id": "I1", "Status": "Cancelled"}, AltoHolding())
