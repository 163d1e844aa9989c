"""The timeline model (no Textual): nothing is lost on reload or a change of settings, each
step's report, expectations and differences, notes and the cursor."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_ruleset
from engine.errors import EvaluationError
from engine.language.ruleset import CompiledRuleset
from engine.sync.impact import StepDifference
from simulator.lifecycle import Step, load_scenario, play, play_checked
from tests.tui.tui_helpers import RULESET, SCENARIOS, fixed_clock
from tui.model.session import Session
from tui.render.differences import reload_text
from tui.render.timeline import TIMELINE_MARKS, timeline_text

DOCUMENTED = SCENARIOS / "documented-path.yaml"


@pytest.fixture(scope="module")
def ruleset() -> CompiledRuleset:
    return load_ruleset(RULESET)


def _copy(tmp_path: Path, old: str, new: str) -> CompiledRuleset:
    """The shipped ruleset with one piece of text changed, loaded from a copy."""
    path = tmp_path / "v2.yaml"
    text = RULESET.read_text("utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), "utf-8")
    return load_ruleset(path)


def _documented(ruleset: CompiledRuleset) -> Session:
    scenario = load_scenario(DOCUMENTED, ruleset)
    return Session.replay(ruleset, scenario.steps, fixed_clock(), scenario.settings)


def test_a_replay_keeps_a_step_not_legal_as_refused_and_plays_the_later_ones(
    ruleset: CompiledRuleset,
) -> None:
    steps = [Step(event="report"), Step(event="close"), Step(event="instruct")]
    session = Session.replay(ruleset, steps, fixed_clock())
    report, close, instruct = session.frames[1:]
    assert session.steps == steps
    assert session.cursor == 3
    assert close.refused == "event 'close' is not legal for issue I1 at status 'Reported'"
    assert close.sim is report.sim  # the worlds unchanged
    assert close.report is None
    assert close.result is None
    assert not instruct.refused
    assert instruct.sim.fixflo.issues["I1"]["Status"] == "JobAwarded"
    lines = timeline_text(session).plain.splitlines()
    assert lines[2] == "  2 close ⊘"
    assert "⊘" not in lines[1] + lines[3]


def test_reload_under_a_ruleset_that_refuses_step_3_keeps_every_step_and_marks_it(
    ruleset: CompiledRuleset, tmp_path: Path
) -> None:
    session = _documented(ruleset)
    session.goto(5)
    changed = _copy(
        tmp_path,
        "from: [QuotesRequested]\n      to: QuotesAwaitingReview",
        "from: [Reported]\n      to: QuotesAwaitingReview",
    )
    reloaded = session.reloaded(changed)
    assert reloaded.steps == session.steps  # nothing lost
    assert len(reloaded.frames) == 9
    assert reloaded.cursor == 5
    third = reloaded.frames[3]
    assert third.refused.startswith("event 'quotes_returned' is not legal for issue I1")
    assert third.differences == (StepDifference("refused", None, third.refused),)
    assert not reloaded.frames[2].differences
    assert not reloaded.frames[2].refused
    line = timeline_text(reloaded).plain.splitlines()[3]
    assert line.startswith("  3 quotes_returned")
    assert "⊘" in line
    assert "Δ" in line
    shown = reload_text(reloaded).plain
    assert "3 quotes_returned\n   now refused: event 'quotes_returned' is not legal" in shown
    back = reloaded.reloaded(ruleset)  # the original ruleset: the step plays again
    assert not back.frames[3].refused
    assert back.frames[3].differences == (StepDifference("refused", third.refused, None),)
    assert "no longer refused" in reload_text(back).plain
    assert back.frames[8].report == session.frames[8].report


@pytest.mark.req("CH-05")
def test_reload_after_a_charge_rule_changed_shows_what_differs_at_the_close(
    ruleset: CompiledRuleset, tmp_path: Path
) -> None:
    session = _documented(ruleset)
    changed = _copy(
        tmp_path,
        "when: {field: Job.PriceAgencyPayableGross, gt: 0}}",
        "when: {field: Job.PriceAgencyPayableGross, gt: 100000}}",
    )
    reloaded = session.reloaded(changed)
    assert [index for index, f in enumerate(reloaded.frames) if f.differences] == [8]
    differences = {d.what: d for d in reloaded.frames[8].differences}
    assert len(differences["charges"].old) == 1
    assert differences["charges"].new == []
    assert differences["blocked"].new == ["CH-05"]
    assert [m.what for m in reloaded.frames[8].mismatches] == ["charges", "warnings"]
    assert not session.frames[8].mismatches
    lines = reload_text(reloaded).plain.splitlines()
    assert lines[:2] == ["1 of 8 steps differ", "8 close"]
    assert "   charges: - Maintenance £120.00 (net £100.00 + VAT £20.00) POST /inventory/P1" in [
        line.split("/charges")[0] for line in lines
    ]
    assert "   operations: - post charge maintenance" in lines
    assert "   blocked: + CH-05" in lines
    assert not any("idempotency_key" in line or "because" in line for line in lines)
    assert reload_text(session.reloaded(ruleset)).plain == "no step differs\n"


@pytest.mark.req("CH-02")
def test_with_settings_paying_party_tenant_changes_the_charge_route_at_the_close(
    ruleset: CompiledRuleset,
) -> None:
    session = _documented(ruleset)
    tenant = session.with_settings({"paying_party": "Tenant"})
    assert tenant.settings == {"paying_party": "Tenant"}
    assert tenant.steps == session.steps
    assert [index for index, f in enumerate(tenant.frames) if f.differences] == [8]
    [charges] = [d for d in tenant.frames[8].differences if d.what == "charges"]
    assert [c["post"] for c in charges.old] == ["property"]
    assert [c["post"] for c in charges.new] == ["tenancy"]
    [charge] = tenant.frames[8].sim.alto.charges_of("I1")
    assert charge["post"] == "tenancy"
    lines = reload_text(tenant).plain.splitlines()
    assert "   charges[CH-1].post: property -> tenancy" in lines
    assert (
        "   operations[post charge maintenance].target.route: CH-02.landlord -> CH-02.tenant"
        in lines
    )


def test_annotate_sets_the_cursor_steps_note_and_keeps_the_outcome(
    ruleset: CompiledRuleset,
) -> None:
    session = _documented(ruleset)
    session.goto(2)
    before = session.frame
    session.annotate("quotes asked from two firms")
    assert session.steps[1].note == "quotes asked from two firms"
    assert session.frame.report == before.report
    assert session.frame.sim is before.sim
    assert [s.note for s in session.steps].count("quotes asked from two firms") == 1
    session.goto(0)
    with pytest.raises(EvaluationError, match="the start has no step to annotate"):
        session.annotate("nothing")


def test_goto_clamps_and_before_is_the_previous_frame(ruleset: CompiledRuleset) -> None:
    session = _documented(ruleset)
    assert session.goto(3) is session.frames[3]
    assert session.before() is session.frames[2]
    assert session.goto(99) is session.frames[8]
    assert session.goto(-4) is session.frames[0]
    assert session.before() is None
    assert len(session.steps) == 8  # the whole timeline, wherever the cursor is


def test_performing_in_the_past_drops_the_later_steps(ruleset: CompiledRuleset) -> None:
    session = _documented(ruleset)
    session.goto(1)
    session.perform("close_without_job")
    assert [s.event for s in session.steps] == ["report", "close_without_job"]
    with pytest.raises(EvaluationError, match="not legal"):
        session.perform("instruct")
    assert len(session.frames) == 3


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_frame_carries_the_report_and_expectations_play_checked_gives(
    ruleset: CompiledRuleset, path: Path
) -> None:
    scenario = load_scenario(path, ruleset)
    session = Session.replay(ruleset, scenario.steps, settings=scenario.settings)
    checked = play_checked(ruleset, scenario)
    met = sum(len(step.met) for step in checked)
    expected = sum(len(step.step.expect.keys) for step in checked if step.step.expect)
    assert session.expect_summary == (met, expected)
    assert [f.report for f in session.frames[1:]] == play(ruleset, scenario)
    assert [f.mismatches for f in session.frames[1:]] == [c.mismatches for c in checked]


def test_a_refused_step_meets_none_of_its_expectations(
    ruleset: CompiledRuleset, tmp_path: Path
) -> None:
    session = _documented(ruleset)
    met, expected = session.expect_summary
    changed = _copy(
        tmp_path,
        "from: [QuotesRequested]\n      to: QuotesAwaitingReview",
        "from: [Reported]\n      to: QuotesAwaitingReview",
    )
    reloaded = session.reloaded(changed)
    mismatches = reloaded.frames[3].mismatches  # {status: ..., works_order: none}
    assert [(m.what, m.expected) for m in mismatches] == [
        ("status", "the step played"),
        ("works_order", "the step played"),
    ]
    assert all(m.actual.startswith("refused: event 'quotes_returned'") for m in mismatches)
    assert reloaded.expect_summary[1] == expected
    assert reloaded.expect_summary[0] < met
    assert "✗" in timeline_text(reloaded).plain.splitlines()[3]


def test_the_timeline_legend_names_every_mark() -> None:
    assert list(TIMELINE_MARKS) == ["⊘", "Δ", "✗", "!"]
    assert all(meaning for meaning in TIMELINE_MARKS.values())
