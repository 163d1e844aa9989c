"""`Simulation.fork` is indistinguishable from a deep copy: over random step sequences the
fork and a deep copy report the same after every step (same reports, same violations, with
or without reconciles remembered across forks), and neither the parent nor the fork sees
the other's later steps. The explorer's 128-bit state
key tells states apart exactly as its former JSON key did."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.issues.reconcile import IssueOps, reconcile
from simulator.lifecycle import Simulation, Step, simulation, violations
from simulator.lifecycle._canon import Fingerprints
from simulator.lifecycle.explore import VARIANTS, state_key
from simulator.lifecycle.play import report
from tests.rulesets.lifecycle import RULESET

ISSUES = ("I1", "I2")


def _deep_copy(sim: Simulation) -> Simulation:
    """The explorer's former clone: every record deep-copied, hooks bound anew."""
    alto = copy.deepcopy(dataclasses.replace(sim.alto, identify=None, stamp=None))
    return Simulation(sim.ruleset, copy.deepcopy(sim.fixflo), alto, copy.copy(sim.clock))


def _json_key(sim: Simulation) -> str:
    """The explorer's former state key (the reference `state_key` must agree with)."""
    alto = sim.alto
    ledger = {
        key: [e.works_order_id, sorted(e.documents), sorted(e.charges), e.revision]
        for key, e in alto.ledger.items()
    }
    state = [sim.fixflo.history, alto.works_orders, alto.documents, alto.charges,
             alto.updates, alto.refused, ledger]  # fmt: skip
    return json.dumps(state, sort_keys=True, default=str)


def _world(sim: Simulation) -> str:
    """Everything both worlds hold (and the clock), as text: to see that nothing changed."""
    return _json_key(sim) + json.dumps(
        [sim.fixflo.issues, sim.alto.keys, sim.alto.order_issue, sim.alto.tenancies,
         sim.clock.ticks], sort_keys=True, default=str,
    )  # fmt: skip


def _moves(sim: Simulation, issue: str) -> list[Step]:
    moves = [
        Step(issue, event.name, details, deliver=deliver)
        for event in sim.legal(issue)
        for details in VARIANTS.get(event.name, [{}])
        for deliver in ((True, False) if not event.creates and not details else (True,))
    ]
    return moves + [Step(issue, redeliver=i) for i in range(len(sim.fixflo.history.get(issue, [])))]


def _play(sim: Simulation, index: int, step: Step) -> dict[str, Any]:
    result: IssueOps | None
    if step.event is None:
        result = sim.deliver(step.issue, step.redeliver)
    else:
        result = sim.perform(step.event, step.issue, step.details, deliver=step.deliver)
    return report(sim, index, step, result).to_json()


def _walk(data: st.DataObject, sim: Simulation, steps: int) -> list[Step]:
    """Up to `steps` random legal moves played on `sim`; the moves played."""
    played: list[Step] = []
    for _ in range(steps):
        issue = data.draw(st.sampled_from(ISSUES))
        moves = _moves(sim, issue)
        if not moves:
            break
        step = data.draw(st.sampled_from(moves))
        _play(sim, len(played) + 1, step)
        played.append(step)
    return played


CASES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@CASES
@given(data=st.data(), before=st.integers(0, 6), after=st.integers(1, 8), remember=st.booleans())
def test_a_fork_is_indistinguishable_from_a_deep_copy(
    data: st.DataObject, before: int, after: int, remember: bool
) -> None:
    parent = Simulation(RULESET)
    if remember:  # as the explorer does: reconciles remembered across forks
        parent.remember_reconciles()
    _walk(data, parent, before)
    held = _world(parent)
    steps = _walk(data, _deep_copy(parent), after)  # legal moves from here, drawn on a copy
    fork, deep = parent.fork(), _deep_copy(parent)
    assert _world(fork) == _world(deep) == held
    for index, step in enumerate(steps, 1):
        assert _play(fork, index, step) == _play(deep, index, step)
        assert violations(fork.fixflo, fork.alto) == violations(deep.fixflo, deep.alto)
        assert _world(fork) == _world(deep)
        assert state_key(fork) == state_key(deep)
    assert _world(parent) == held  # the parent never saw the fork's steps


@CASES
@given(data=st.data(), before=st.integers(0, 5), after=st.integers(1, 6))
def test_the_parent_moves_on_without_the_fork_seeing_it(
    data: st.DataObject, before: int, after: int
) -> None:
    parent = Simulation(RULESET)
    _walk(data, parent, before)
    fork = parent.fork()
    held = _world(fork)
    reference = _deep_copy(parent)
    steps = _walk(data, parent, after)  # the parent goes on; the fork stays behind
    assert _world(fork) == held
    for index, step in enumerate(steps, 1):  # the fork can still take the same road
        assert _play(fork, index, step) == _play(reference, index, step)
    assert _world(fork) == _world(parent) == _world(reference)


@CASES
@given(data=st.data(), first=st.integers(0, 6), second=st.integers(0, 6))
def test_the_state_key_tells_states_apart_as_the_json_key_did(
    data: st.DataObject, first: int, second: int
) -> None:
    start = Simulation(RULESET)
    _walk(data, start, data.draw(st.integers(0, 3)))
    one, two = start.fork(), start.fork()
    _walk(data, one, first)
    _walk(data, two, second)
    assert (state_key(one) == state_key(two)) == (_json_key(one) == _json_key(two))


def test_a_fork_keeps_hooks_given_with_the_worlds_and_binds_its_own() -> None:
    sim = Simulation(RULESET)
    sim.perform("report", "I1")
    sim.perform("instruct", "I1")
    fork = sim.fork()
    order = fork.alto.works_order_of("I1")
    assert order is not None
    fork.fixflo.issues.clear()  # the fork's Alto recognises orders in the fork's Fixflo
    assert fork.alto.identify_order(order) is None
    assert sim.alto.identify_order(order) == "I1"
    fork.clock.tick()
    assert fork.alto.stamp is not None
    assert sim.alto.stamp is not None
    assert fork.alto.stamp() != sim.alto.stamp()  # each stamps by its own clock


def test_a_fork_has_no_listeners_and_the_parent_keeps_its_own() -> None:
    sim, heard = Simulation(RULESET), []
    sim.fixflo.listen(lambda before, after: heard.append(after["Status"]))
    sim.perform("report", "I1")
    fork = sim.fork()
    fork.perform("close_without_job", "I1")
    assert heard == ["Reported"]
    sim.perform("close_without_job", "I1")
    assert heard == ["Reported", "Closed"]


def test_forks_reconcile_an_equal_snapshot_met_on_another_path_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def counted(*args: Any) -> IssueOps:
        calls.append(args[1]["Status"])
        return reconcile(*args)

    monkeypatch.setattr(simulation, "reconcile", counted)
    start = Simulation(RULESET)
    start.remember_reconciles()
    start.perform("report", "I1")
    one, two, alone = start.fork(), start.fork(), _deep_copy(start)
    done = [sim.perform("close_without_job", "I1") for sim in (one, two)]
    assert one.fixflo.issues["I1"] is not two.fixflo.issues["I1"]  # equal, not shared
    assert calls == ["Reported", "Closed"]  # the second fork's Closed came from the memo
    assert done[0] == done[1] == alone.perform("close_without_job", "I1")
    assert _world(one) == _world(two) == _world(alone)


@given(
    values=st.lists(
        st.dictionaries(st.sampled_from("ab"), st.one_of(st.integers(0, 1), st.booleans())),
        min_size=1,
        max_size=4,
    ),
    cut=st.integers(0, 3),
)
def test_a_history_digest_is_its_records_digests_whatever_was_digested_before(
    values: list[dict[str, Any]], cut: int
) -> None:
    prints = Fingerprints()
    prints.each(values[cut:])  # the same last record after a shorter prefix
    prints.each([{**value, "b": 2} for value in values[:-1]] + values[-1:])  # another one
    prints.each([*values[:-1], dict(values[-1])])  # an equal record, not the same one
    assert prints.each(list(values)) == tuple(prints.of(value) for value in values)
    assert prints.each(list(values)) == tuple(Fingerprints().of(value) for value in values)
    assert (prints.of({"a": 1}) == prints.of({"a": True})) is False  # 1 == True in Python
