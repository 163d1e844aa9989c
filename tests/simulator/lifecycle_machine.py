"""A Hypothesis state machine driving random Fixflo lifecycles into a simulated Alto."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine import CompiledRuleset
from simulator.lifecycle import Simulation, violations
from simulator.lifecycle.explore import VARIANTS

ISSUES = ("I1", "I2", "I3")
PROPERTIES = ("P1/OP1", "P2/OP2")


class LifecycleMachine(RuleBasedStateMachine):
    """Random events on several issues and properties, with lost, late and repeated
    deliveries; the lifecycle invariants are checked after every step."""

    ruleset: CompiledRuleset

    def __init__(self) -> None:
        super().__init__()
        self.sim = Simulation(self.ruleset)

    @initialize()
    def start(self) -> None:
        self.sim = Simulation(self.ruleset)

    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        issue = data.draw(st.sampled_from(ISSUES), label="issue")
        legal = self.sim.legal(issue)
        if not legal:
            return
        event = data.draw(st.sampled_from(legal), label="event")
        details = dict(data.draw(st.sampled_from(VARIANTS.get(event.name, [{}])), label="details"))
        if event.creates:
            details["ExternalPropertyRef"] = data.draw(st.sampled_from(PROPERTIES))
        deliver = data.draw(st.booleans() | st.just(True), label="deliver")
        self.sim.perform(event.name, issue, details, deliver=deliver)

    @rule(data=st.data())
    def deliver_late(self, data: st.DataObject) -> None:
        """A webhook for an earlier (or the current) revision arrives, maybe again."""
        known = sorted(self.sim.fixflo.history)
        if not known:
            return
        issue = data.draw(st.sampled_from(known), label="issue")
        size = len(self.sim.fixflo.history[issue])
        revision = data.draw(st.integers(0, size - 1), label="revision")
        self.sim.deliver(issue, revision)

    @rule(data=st.data())
    def poll(self, data: st.DataObject) -> None:
        """The nightly poll reads every issue as it is now."""
        for issue in sorted(self.sim.fixflo.issues):
            self.sim.deliver(issue)

    @invariant()
    def alto_agrees(self) -> None:
        problems = violations(self.sim.fixflo, self.sim.alto)
        assert not problems, "\n".join(problems)
