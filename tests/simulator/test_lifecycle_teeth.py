"""The checkers have teeth: a ruleset that posts a charge without an invoice document is
caught by the stateful test and by `explore`, with a readable counterexample."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from engine import CompiledRuleset, load_ruleset
from rulebridge.cli.explore import explore_command
from rulebridge.cli.simulate import simulate
from simulator.lifecycle.explore import explore
from tests.rulesets.lifecycle import RULESET_PATH
from tests.simulator.lifecycle_machine import LifecycleMachine

CH04 = """      - {id: CH-04, summary: No charge is sent without an invoice document.,
         when: {field: Invoice.Document, present: true}}
"""


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


def _hunt(ruleset: CompiledRuleset, phases: list[Phase]) -> None:
    class Broken(LifecycleMachine):
        pass

    Broken.ruleset = ruleset
    with pytest.raises(AssertionError, match=r"charge posted = True but due = False"):
        run_state_machine_as_test(
            Broken,
            settings=settings(
                max_examples=300,
                stateful_step_count=25,
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
    assert "Document" not in result.counterexample[2].details["Invoice"]


def test_the_counterexample_replays_in_simulate(broken_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "counterexample.yaml"
    found = CliRunner().invoke(
        explore_command, ["--ruleset", str(broken_path), "--depth", "6", "--out", str(out)]
    )
    assert found.exit_code == 2, found.output
    assert "counterexample (a scenario for `rulebridge simulate`)" in found.output
    assert "charge posted = True but due = False" in found.output
    replay = CliRunner().invoke(simulate, ["--ruleset", str(broken_path), "--scenario", str(out)])
    assert replay.exit_code == 2
    assert "VIOLATION: issue I1: charge posted = True but due = False" in replay.output


@pytest.mark.req("W-05")
def test_explore_catches_a_works_order_with_the_supplier_the_wrong_way_round(
    tmp_path: Path,
) -> None:
    text = RULESET_PATH.read_text("utf-8")
    case = "            when: {field: Job.AssignedTo, eq: Landlord}\n"
    assert case in text
    path = tmp_path / "v2.yaml"
    inverted = "            when: {field: Job.AssignedTo, ne: Landlord}\n"
    path.write_text(text.replace(case, inverted), "utf-8")
    result = explore(load_ruleset(path), depth=4)
    assert result.counterexample is not None
    assert any("but instructed to 'Contractor' (W-05)" in problem for problem in result.problems)
    assert [step.event for step in result.counterexample] == ["report", "instruct"]
