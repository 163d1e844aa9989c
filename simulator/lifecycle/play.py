"""Play a scenario step by step and report, after each step, what Fixflo and Alto hold.

Example:
    >>> from engine import load_ruleset
    >>> from simulator.lifecycle import load_scenario
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> path = "simulator/scenarios/documented-path.yaml"
    >>> reports = play(ruleset, load_scenario(path, ruleset.lifecycle))
    >>> reports[-1].works_order["status"]
    'CompleteInvoicingReceived'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.issues.reconcile import IssueOps
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle.invariants import violations
from simulator.lifecycle.scenario import Scenario, Step, ruleset_for
from simulator.lifecycle.simulation import Simulation

__all__ = ["StepReport", "play", "report"]


@dataclass(frozen=True, slots=True)
class StepReport:
    """The state after one step: Fixflo status, Alto's works order (a WorkOrder), the file
    names of its documents and its charges (``{"id", "post", "targetId", **form}``).

    `status_id` is the id of the status (or of the status case) that applied when the step
    was reconciled (None: not delivered, or a stale snapshot ignored); `blocked` the ids of
    the `require` rules (works order or charge) that did not hold, so nothing was written
    for them.
    """

    index: int
    step: str
    issue: str
    fixflo_status: str | None
    works_order: Mapping[str, Any] | None
    documents: tuple[str, ...]
    charges: tuple[Mapping[str, Any], ...]
    warnings: tuple[str, ...]
    fired: tuple[str, ...]
    operations: tuple[Mapping[str, Any], ...]
    violations: tuple[str, ...] = field(default=())
    status_id: str | None = None
    blocked: tuple[str, ...] = ()

    @property
    def warning_ids(self) -> tuple[str, ...]:
        """The rule id of each warning (its leading id), in order."""
        return tuple(_leading_id(text) for text in self.warnings)

    @property
    def fired_ids(self) -> tuple[str, ...]:
        """The rule id of each rule that fired (its leading id), in order."""
        return tuple(_leading_id(text) for text in self.fired)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "step": self.index,
            "action": self.step,
            "issue": self.issue,
            "fixflo_status": self.fixflo_status,
            "works_order": None if self.works_order is None else dict(self.works_order),
            "documents": list(self.documents),
            "charges": [dict(charge) for charge in self.charges],
            "warnings": list(self.warnings),
            "fired": list(self.fired),
            "operations": [dict(op) for op in self.operations],
            "violations": list(self.violations),
            "status_id": self.status_id,
            "blocked": list(self.blocked),
        }


def _leading_id(text: str) -> str:
    """``"CH-05: Job... = 0, not > 0"`` -> ``"CH-05"`` (a reason prints its rule id first)."""
    return text.split(": ", 1)[0]


def play(ruleset: CompiledRuleset, scenario: Scenario) -> list[StepReport]:
    """Play every step of `scenario` against fresh worlds (the ruleset compiled with the
    scenario's settings); one report per step.

    Raises:
        RulesetErrors: the scenario's settings are not the ruleset's.
    """
    sim = Simulation(ruleset_for(ruleset, scenario.settings))
    return [
        report(sim, index, step, _run(sim, step)) for index, step in enumerate(scenario.steps, 1)
    ]


def _run(sim: Simulation, step: Step) -> IssueOps | None:
    if step.event is None:
        return sim.deliver(step.issue, step.redeliver)
    return sim.perform(step.event, step.issue, step.details, deliver=step.deliver)


def report(sim: Simulation, index: int, step: Step, result: IssueOps | None) -> StepReport:
    """What `sim` holds for the step's issue after `step` (the `index`-th, from 1) was
    played with `result` (None: not delivered): the report `play` gives for it.

    Example:
        >>> from engine import load_ruleset
        >>> sim = Simulation(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
        >>> step = Step(event="report")
        >>> done = report(sim, 1, step, sim.perform("report", "I1"))
        >>> done.fixflo_status, done.works_order, done.fired_ids
        ('Reported', None, ('W-01',))
    """
    issue = sim.fixflo.issues.get(step.issue)
    works = sim.alto.works_order_of(step.issue)
    label = step.event or f"redeliver snapshot {step.redeliver}"
    if step.event and not step.deliver:
        label += " (not delivered)"
    return StepReport(
        index=index,
        step=label,
        issue=step.issue,
        fixflo_status=sim.lifecycle.status_of(issue),
        works_order=None if works is None else dict(works),
        documents=tuple(str(doc["fileName"]) for doc in sim.alto.documents_of(step.issue)),
        charges=tuple(dict(charge) for charge in sim.alto.charges_of(step.issue)),
        warnings=tuple(str(item) for item in (result.warnings if result else ())),
        fired=tuple(str(item) for item in (result.fired if result else ())),
        operations=tuple(op.to_json() for op in (result.operations if result else ())),
        violations=tuple(violations(sim.fixflo, sim.alto, sim.ruleset.settings)),
        status_id=_status_id(sim, result),
        blocked=_blocked(result),
    )


def _status_id(sim: Simulation, result: IssueOps | None) -> str | None:
    """The id of the status or status case that applied (its case when one held)."""
    if result is None or result.stale:
        return None
    declared = sim.lifecycle.statuses.get(result.status or "")
    if declared is None:
        return None
    cases = {case.id for case in declared.cases}
    return next((item.rule for item in result.fired if item.rule in cases), declared.id)


def _blocked(result: IssueOps | None) -> tuple[str, ...]:
    """The `require` rules that failed: each unmet one is the last reason `fired` names
    for it, with `held` false (a stale snapshot's reason is not a requirement)."""
    if result is None or result.stale:
        return ()
    return tuple(dict.fromkeys(item.rule for item in result.fired if not item.held))
