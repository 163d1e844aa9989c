"""A Hypothesis state machine driving random Fixflo lifecycles into a simulated Alto."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engine import CompiledRuleset
from simulator.lifecycle import Simulation, violations
from simulator.lifecycle.explore import VARIANTS
from simulator.lifecycle.scenario import ruleset_for

ISSUES = ("I1", "I2", "I3")
PROPERTIES = ("P1", "P1/OP1", "P2")
"""ExternalPropertyRefs of the Fixflo property issues are reported at (P2: no tenancy)."""
SETTINGS = (
    {"paying_party": "Landlord"},
    {"paying_party": "Tenant"},
    {"paying_party": "Tenant", "invoice_recipient": "Occupier"},
    {"invoice_recipient": "Agency"},
)


_COMPILED: dict[tuple[int, tuple[tuple[str, Any], ...]], CompiledRuleset] = {}


def _compiled(ruleset: CompiledRuleset, chosen: dict[str, Any]) -> CompiledRuleset:
    key = (id(ruleset), tuple(sorted(chosen.items())))
    if key not in _COMPILED:
        _COMPILED[key] = ruleset_for(ruleset, chosen)
    return _COMPILED[key]


class LifecycleMachine(RuleBasedStateMachine):
    """Random events (``cancel_job`` among them) on several issues and properties under
    random agency settings, with lost, late and repeated deliveries; the lifecycle
    invariants are checked after every step."""

    ruleset: CompiledRuleset

    def __init__(self) -> None:
        super().__init__()
        self.sim = Simulation(self.ruleset)

    @initialize(chosen=st.sampled_from(SETTINGS))
    def start(self, chosen: dict[str, Any]) -> None:
        self.sim = Simulation(_compiled(self.ruleset, chosen))
        self.sim.alto.tenancies["TY2"] = {
            "propertyId": "P1",
            "startDate": "2024-01-01",
            "places": [{"tenantId": "TT0", "contactId": "C1"}],
        }  # an older tenancy of the same occupier: the latest one is charged

    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        issue = data.draw(st.sampled_from(ISSUES), label="issue")
        legal = self.sim.legal(issue)
        if not legal:
            return
        event = data.draw(st.sampled_from(legal), label="event")
        details = dict(data.draw(st.sampled_from(VARIANTS.get(event.name, [{}])), label="details"))
        if event.name == "report" and details.get("FixfloProperty", True) is not None:
            ref = data.draw(st.sampled_from(PROPERTIES), label="property")
            details["FixfloProperty"] = {"id": f"F{ref}", "ExternalPropertyRef": ref}
        deliver = data.draw(st.booleans() | st.just(True), label="deliver")
        self.sim.perform(event.name, issue, details, deliver=deliver)

    @rule(data=st.data())
    def deliver_late(self, data: st.DataObject) -> None:
        """A webhook for an earlier (or the current) snapshot arrives, maybe again."""
        known = sorted(self.sim.fixflo.history)
        if not known:
            return
        issue = data.draw(st.sampled_from(known), label="issue")
        size = len(self.sim.fixflo.history[issue])
        index = data.draw(st.integers(0, size - 1), label="snapshot")
        self.sim.deliver(issue, index)

    @rule()
    def poll(self) -> None:
        """The nightly poll reads every issue as it is now."""
        for issue in sorted(self.sim.fixflo.issues):
            self.sim.deliver(issue)

    @invariant()
    def alto_agrees(self) -> None:
        problems = violations(self.sim.fixflo, self.sim.alto, self.sim.ruleset.settings)
        assert not problems, "\n".join(problems)
