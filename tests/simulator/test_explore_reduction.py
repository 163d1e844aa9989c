"""The explorer's symmetry reduction is sound: compared with the unreduced exploration at
small depth over two issues, it reaches exactly the unreduced states up to the names of the
issues (every unreduced state, its issues renamed in order of first use, is a reduced
state), finds the same verdict and a counterexample as short; over one issue it changes
nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import CompiledRuleset, load_ruleset
from simulator.lifecycle import Simulation, Step
from simulator.lifecycle.explore import _explore, explore, state_key
from tests.rulesets.lifecycle import RULESET, RULESET_PATH

CH04 = (
    "      - {id: CH-04, summary: No charge is sent without an invoice document"
    " (gap.invoice-document).,\n         when: {within: CompletionDocs,\n"
    "                any: {field: MediaTypeDescription, eq: {setting: invoice_media_type}}}}\n"
)


def _renamed(path: list[Step]) -> list[Step]:
    """`path` with its issues renamed I1, I2... in the order the path first touches them."""
    names: dict[str, str] = {}
    for step in path:
        names.setdefault(step.issue, f"I{len(names) + 1}")
    return [Step(names[s.issue], s.event, s.details, s.deliver, s.redeliver) for s in path]


def _replayed(ruleset: CompiledRuleset, path: list[Step]) -> bytes:
    sim = Simulation(ruleset)
    for step in path:
        if step.event is None:
            sim.deliver(step.issue, step.redeliver)
        else:
            sim.perform(step.event, step.issue, step.details, deliver=step.deliver)
    return state_key(sim)


@pytest.mark.parametrize("depth", [2, 3])
def test_the_reduced_states_are_the_unreduced_ones_up_to_renaming(depth: int) -> None:
    full: dict[bytes, list[Step]] = {}
    reduced: dict[bytes, list[Step]] = {}
    everything = _explore(RULESET, depth, 2, reduce=False, paths=full)
    fewer = _explore(RULESET, depth, 2, reduce=True, paths=reduced)
    assert everything.counterexample is None
    assert fewer.counterexample is None
    assert set(reduced) <= set(full)  # nothing the unreduced exploration could not reach
    images = {_replayed(RULESET, _renamed(path)) for path in full.values()}
    assert images == set(reduced)  # every unreduced state, renamed, was explored
    assert len(reduced) < len(full)  # and the reduction saved something
    assert fewer.sequences < everything.sequences


def test_the_reduction_changes_nothing_over_one_issue() -> None:
    full: dict[bytes, list[Step]] = {}
    reduced: dict[bytes, list[Step]] = {}
    everything = _explore(RULESET, 4, 1, reduce=False, paths=full)
    fewer = _explore(RULESET, 4, 1, reduce=True, paths=reduced)
    assert full == reduced
    assert (everything.states, everything.sequences) == (fewer.states, fewer.sequences)


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> CompiledRuleset:
    text = RULESET_PATH.read_text("utf-8")
    assert CH04 in text
    path: Path = tmp_path_factory.mktemp("broken") / "v2.yaml"
    path.write_text(text.replace(CH04, ""), "utf-8")
    return load_ruleset(path)


@pytest.mark.req("CH-04")
def test_a_counterexample_over_two_issues_is_as_short_with_the_reduction(
    broken: CompiledRuleset,
) -> None:
    unreduced = explore(broken, 4, issues=2, settings=({},), reduce=False)
    reduced = explore(broken, 4, issues=2, settings=({},), reduce=True)
    assert unreduced.counterexample is not None
    assert reduced.counterexample is not None
    assert len(reduced.counterexample) == len(unreduced.counterexample) == 4
    assert [step.event for step in reduced.counterexample] == [
        step.event for step in unreduced.counterexample
    ]
    assert reduced.sequences <= unreduced.sequences
