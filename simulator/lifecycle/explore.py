"""Explore every sequence of lifecycle events up to a depth, checking the invariants.

Breadth first over a small world (one issue by default), with a few variants of each
event's details (no occupier, an unknown property, instructed to the landlord, a zero
invoice, no invoice document), lost webhooks and late or repeated deliveries of earlier
snapshots, under each of a few agency settings (`SETTINGS`: who pays, who invoices are
addressed to). Legal moves come from the ruleset (``cancel_job`` among them). Equal states
are explored once; the first violation found is on a shortest sequence.

Example:
    >>> from engine import load_ruleset
    >>> result = explore(load_ruleset("rulesets/alto-fixflo/v2.yaml"), depth=3)
    >>> result.counterexample is None
    True
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.documents import dump_yaml
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle.invariants import violations
from simulator.lifecycle.scenario import Step, ruleset_for
from simulator.lifecycle.simulation import Simulation

__all__ = ["Exploration", "explore", "scenario_yaml"]

_ZERO = {
    "Job.PriceAgencyPayableNet": 0,
    "Job.PriceAgencyPayableTax": 0,
    "Job.PriceAgencyPayableGross": 0,
}
_NO_INVOICE_DOCUMENT: dict[str, Any] = {"CompletionDocs": []}
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "report": [{}, {"TenantId": None, "FixfloTenant": None}, {"FixfloProperty": None}],
    "instruct": [{}, {"Job.Contractor": None}],
    "complete_job": [{}, _ZERO, _NO_INVOICE_DOCUMENT],
}
"""Details of each event tried besides the defaults (an event not listed: defaults only)."""
SETTINGS: tuple[dict[str, Any], ...] = (
    {},
    {"paying_party": "Tenant"},
    {"invoice_recipient": "Other"},
)
"""The agency settings each exploration is run under (over the ruleset's own)."""


@dataclass
class Exploration:
    """What `explore` found: counts, and the shortest counterexample if any."""

    depth: int
    states: int = 0
    sequences: int = 0
    counterexample: list[Step] | None = None
    problems: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


def explore(
    ruleset: CompiledRuleset,
    depth: int,
    issues: int = 1,
    settings: tuple[Mapping[str, Any], ...] = SETTINGS,
) -> Exploration:
    """Every sequence of moves on `issues` issues up to `depth`, breadth first, under each
    of `settings` in turn; stops at the first violation (so the counterexample is a
    shortest one under its settings). Counts add up over the settings."""
    total = Exploration(depth)
    for variant in settings:
        found = _explore(ruleset_for(ruleset, variant), depth, issues)
        total.states += found.states
        total.sequences += found.sequences
        if found.counterexample is not None:
            total.counterexample, total.problems = found.counterexample, found.problems
            total.settings = dict(variant)
            break
    return total


def _explore(ruleset: CompiledRuleset, depth: int, issues: int) -> Exploration:
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
            problems = violations(after.fixflo, after.alto, ruleset.settings)
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
    for index in range(len(sim.fixflo.history.get(issue, []))):
        moves.append(Step(issue, redeliver=index))
    return moves


def _play(sim: Simulation, step: Step) -> None:
    if step.event is None:
        sim.deliver(step.issue, step.redeliver)
    else:
        sim.perform(step.event, step.issue, step.details, deliver=step.deliver)


def _clone(sim: Simulation) -> Simulation:
    """A copy whose Alto recognises orders in the copied Fixflo and stamps by the copied
    clock (the new Simulation binds both)."""
    alto = copy.deepcopy(dataclasses.replace(sim.alto, identify=None, stamp=None))
    return Simulation(sim.ruleset, copy.deepcopy(sim.fixflo), alto, copy.copy(sim.clock))


def _key(sim: Simulation) -> str:
    alto = sim.alto
    ledger = {
        key: [e.works_order_id, sorted(e.documents), sorted(e.charges), e.revision]
        for key, e in alto.ledger.items()
    }
    state = [
        sim.fixflo.history,
        alto.works_orders,
        alto.documents,
        alto.charges,
        alto.updates,
        alto.refused,
        ledger,
    ]
    return json.dumps(state, sort_keys=True, default=str)


def scenario_yaml(
    steps: list[Step], problems: list[str], settings: Mapping[str, Any] | None = None
) -> str:
    """The steps (under agency `settings`) as a scenario file `rulebridge simulate` replays."""

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
    data: dict[str, Any] = {"scenario": "counterexample", "summary": "; ".join(problems)}
    if settings:
        data["settings"] = dict(settings)
    data["steps"] = lines
    return dump_yaml(data, sort_keys=False, default_flow_style=None, width=100)
