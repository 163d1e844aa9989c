"""The shipped scenarios, the scenario file format and the simulator's events."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import EvaluationError, RulesetErrors
from simulator.lifecycle import Clock, Simulation, load_scenario
from simulator.lifecycle.explore import explore
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


def test_feedback_guards_closure_when_switched_on() -> None:
    sim = Simulation(RULESET)
    for event in ("report", "instruct", "complete_job"):
        sim.perform(event, "I1", {"FeedbackEnabled": True} if event == "report" else None)
    assert [event.name for event in sim.legal("I1")] == ["give_feedback"]
    sim.perform("give_feedback", "I1")
    assert [event.name for event in sim.legal("I1")] == ["close"]


def test_an_event_may_only_set_its_declared_fields() -> None:
    sim = Simulation(RULESET)
    with pytest.raises(EvaluationError, match="does not set 'Status'"):
        sim.perform("report", "I1", {"Status": "Closed"})


def test_the_clock_is_deterministic() -> None:
    clock = Clock()
    assert [clock.tick(), clock.tick()] == ["2026-11-02T09:00:00", "2026-11-02T10:00:00"]


def test_explore_holds_for_the_shipped_ruleset_to_depth_5() -> None:
    result = explore(RULESET, depth=5)
    assert result.counterexample is None
    assert result.states > 100
    assert result.sequences > result.states


def test_explore_over_two_issues() -> None:
    result = explore(RULESET, depth=3, issues=2)
    assert result.counterexample is None
    assert result.states > 50
