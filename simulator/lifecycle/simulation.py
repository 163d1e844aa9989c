"""A simulation: Fixflo and Alto worlds, a clock, and the ruleset reconciling between them.

Example:
    >>> from engine import load_ruleset
    >>> sim = Simulation(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
    >>> sim.perform("report", "I1").status
    'Reported'
    >>> done = sim.perform("instruct", "I1", {"Job.Contractor": None})
    >>> [(op.op, op.kind) for op in done.operations]
    [('create', 'works_order')]
    >>> sim.alto.works_order_of("I1")["status"], sim.alto.works_order_of("I1")["supplierContactId"]
    ('SupplierInstructed', None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EvaluationError
from engine.issues.reconcile import IssueOps, reconcile
from engine.language.lifecycle import Event, Lifecycle
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle.clock import Clock
from simulator.lifecycle.events import defaults, new_record, write_details
from simulator.lifecycle.worlds import AltoWorld, FixfloWorld

__all__ = ["Simulation"]


@dataclass
class Simulation:
    """Fixflo and Alto for one ruleset; events go to Fixflo, then Alto is reconciled.

    Alto defaults to `AltoWorld.seeded` (the agency the default event details name). Alto
    recognises a works order's issue through `FixfloWorld.issue_for_order` and stamps its
    writes with the clock, unless the worlds given say otherwise.
    """

    ruleset: CompiledRuleset
    fixflo: FixfloWorld = field(default_factory=FixfloWorld)
    alto: AltoWorld = field(default_factory=AltoWorld.seeded)
    clock: Clock = field(default_factory=Clock)

    def __post_init__(self) -> None:
        if self.alto.identify is None:
            self.alto.identify = self.fixflo.issue_for_order
        if self.alto.stamp is None:
            self.alto.stamp = lambda: self.clock.now().isoformat()

    @property
    def lifecycle(self) -> Lifecycle:
        """The ruleset's lifecycle (the ruleset must declare one)."""
        if self.ruleset.lifecycle is None:
            raise EvaluationError(f"ruleset {self.ruleset.name} declares no 'lifecycle:'")
        return self.ruleset.lifecycle

    def legal(self, issue_id: str) -> list[Event]:
        """The events that may happen to `issue_id` now (creating events for a new one)."""
        issue = self.fixflo.issues.get(issue_id)
        return self.lifecycle.legal_events(issue, self.ruleset.context())

    def perform(
        self,
        event: str,
        issue_id: str,
        details: Mapping[str, Any] | None = None,
        *,
        deliver: bool = True,
    ) -> IssueOps | None:
        """Apply `event` to the issue in Fixflo; then, with `deliver`, reconcile Alto.

        Raises:
            EvaluationError: the event is unknown or not legal for the issue now.
        """
        spec = self._legal(event, issue_id)
        now = self.clock.now().isoformat()
        issue = self.fixflo.issues.get(issue_id) or new_record(issue_id, now)
        if spec.creates:
            issue = new_record(issue_id, now)
        values = {**defaults(event, issue_id, issue, now), **(details or {})}
        write_details(spec, issue, values)
        issue[self.lifecycle.status_field] = spec.to
        issue["StatusChanged"] = self.clock.tick()
        self.fixflo.save(issue)
        return self.deliver(issue_id) if deliver else None

    def deliver(self, issue_id: str, index: int | None = None) -> IssueOps:
        """Reconcile Alto with the issue as it is now (or its `index`-th stored snapshot).

        Raises:
            EvaluationError: no such issue or snapshot.
        """
        history = self.fixflo.history.get(issue_id, [])
        if not history or (index is not None and not 0 <= index < len(history)):
            raise EvaluationError(
                f"issue {issue_id} has {len(history)} stored snapshots; cannot deliver "
                f"{'the latest' if index is None else f'snapshot {index}'}"
            )
        snapshot = self.fixflo.snapshot(issue_id, index)
        result = reconcile(self.ruleset, snapshot, self.alto.holding(issue_id))
        self.alto.apply(result)
        return result

    def _legal(self, event: str, issue_id: str) -> Event:
        spec = self.lifecycle.events.get(event)
        if spec is None:
            raise EvaluationError(
                f"no event {event!r}; the lifecycle has {', '.join(self.lifecycle.events)}"
            )
        if spec not in self.legal(issue_id):
            status = self.lifecycle.status_of(self.fixflo.issues.get(issue_id))
            raise EvaluationError(
                f"event {event!r} is not legal for issue {issue_id} at status {status!r}"
            )
        return spec
