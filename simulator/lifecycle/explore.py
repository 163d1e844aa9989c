"""Explore every sequence of lifecycle events up to a depth, checking the invariants.

Breadth first over a small world (one issue by default), with a few variants of each
event's details (who is instructed, who pays, a zero invoice, no document, feedback on),
lost webhooks and late or repeated deliveries of earlier snapshots. Legal moves come from
the ruleset. Equal states are explored once; the first violation found is on a shortest
sequence.

Example:
    >>> from engine import load_ruleset
    >>> result = explore(load_ruleset("rulesets/alto-fixflo/v2.yaml"), depth=3)
    >>> result.counterexample is None
    True
"""

from __future__ import annotations

import copy
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle.invariants import violations
from simulator.lifecycle.scenario import Step
from simulator.lifecycle.simulation import Simulation

__all__ = ["Exploration", "explore", "scenario_yaml"]

_ZERO = {"InvoiceNumber": "INV-0", "TotalNet": 0, "TotalTax": 0, "Total": 0, "Document": "i.pdf"}
_UNDOCUMENTED = {"InvoiceNumber": "INV-9", "TotalNet": 100, "TotalTax": 20, "Total": 120}
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "report": [{}, {"FeedbackEnabled": True}],
    "request_quotes": [{}, {"InvoiceRecipient": "Agency"}],
    "instruct": [
        {},
        {"Job.AssignedTo": "Landlord", "Job.PayingParty": "Tenant"},
        {"InvoiceRecipient": "Other"},
    ],
    "complete_job": [{}, {"Invoice": _ZERO}, {"Invoice": _UNDOCUMENTED}],
}
"""Details of each event tried besides the defaults (an event not listed: defaults only)."""


@dataclass
class Exploration:
    """What `explore` found: counts, and the shortest counterexample if any."""

    depth: int
    states: int = 0
    sequences: int = 0
    counterexample: list[Step] | None = None
    problems: list[str] = field(default_factory=list)


def explore(ruleset: CompiledRuleset, depth: int, issues: int = 1) -> Exploration:
    """Every sequence of moves on `issues` issues up to `depth`, breadth first; stops at the
    first violation (so the counterexample is a shortest one)."""
    result = Exploration(depth)
    names = [f"I{number}" for number in range(1, issues + 1)]
    start = Simulation(ruleset)
    seen = {_key(start)}
    queue: deque[tuple[Simulation, list[Step]]] = deque([(start, [])])
    while queue:
        sim, path = queue.popleft()
        if len(path) >= depth:
            continue
        for step in (move for name in names for move in _moves(sim, name)):
            after = _clone(sim)
            _play(after, step)
            result.sequences += 1
            problems = violations(after.fixflo, after.alto)
            if problems:
                result.counterexample, result.problems = [*path, step], problems
                result.states = len(seen)
                return result
            key = _key(after)
            if key not in seen:
                seen.add(key)
                queue.append((after, [*path, step]))
    result.states = len(seen)
    return result


def _moves(sim: Simulation, issue: str) -> list[Step]:
    moves = []
    for event in sim.legal(issue):
        for details in VARIANTS.get(event.name, [{}]):
            moves.append(Step(issue, event.name, details))
            if not event.creates and not details:
                moves.append(Step(issue, event.name, details, deliver=False))
    for revision in range(len(sim.fixflo.history.get(issue, []))):
        moves.append(Step(issue, redeliver=revision))
    return moves


def _play(sim: Simulation, step: Step) -> None:
    if step.event is None:
        sim.deliver(step.issue, step.redeliver)
    else:
        sim.perform(step.event, step.issue, step.details, deliver=step.deliver)


def _clone(sim: Simulation) -> Simulation:
    return Simulation(
        sim.ruleset, copy.deepcopy(sim.fixflo), copy.deepcopy(sim.alto), copy.copy(sim.clock)
    )


def _key(sim: Simulation) -> str:
    alto = sim.alto
    ledger = {
        key: [e.works_order_id, sorted(e.documents), sorted(e.charges), e.revision]
        for key, e in alto.ledger.items()
    }
    state = [sim.fixflo.history, alto.works_orders, alto.documents, alto.charges, ledger]
    return json.dumps(state, sort_keys=True, default=str)


def scenario_yaml(steps: list[Step], problems: list[str]) -> str:
    """The steps as a scenario file `rulebridge simulate` replays."""
    import yaml  # a dump of plain data only

    lines = []
    for step in steps:
        item: dict[str, Any] = (
            {"event": step.event} if step.event else {"redeliver": step.redeliver}
        )
        if step.details:
            item["with"] = dict(step.details)
        if step.event and not step.deliver:
            item["deliver"] = False
        lines.append(item)
    data = {"scenario": "counterexample", "summary": "; ".join(problems), "steps": lines}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)
