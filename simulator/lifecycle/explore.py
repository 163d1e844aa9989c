"""Explore every sequence of lifecycle events up to a depth, checking the invariants.

Breadth first over a small world (one issue by default), with a few variants of each
event's details (no occupier, an unknown property, instructed to the landlord, a zero
invoice, no invoice document), lost webhooks and late or repeated deliveries of earlier
snapshots, under each of a few agency settings (`SETTINGS`: who pays, who invoices are
addressed to). Legal moves come from the ruleset (``cancel_job`` among them). Equal states
are explored once; the first violation found is on a shortest sequence.

Each move is played on a `Simulation.fork` of the state it leaves (copy-on-write), and a
state is known by `state_key`, a 128-bit digest of its parts; the invariants are checked
once per state (a state reached again held them when first reached).

**Symmetry reduction** (over two or more issues, unless ``reduce=False``): issues nobody
has touched yet are interchangeable (the simulation treats an issue id as a name: what it
derives from the id, such as ``J-I2`` or a media id, it derives alike for any id), so a
move on an untouched issue is tried only on the first untouched one. A state so skipped
is the same as one explored but for the names of the issues, and its violations are theirs
under the same renaming: no violation is missed and the shortest counterexample is as short
(it may name the issues the other way round). States and sequences are then fewer; over one
issue nothing changes.

Example:
    >>> from engine import load_ruleset
    >>> result = explore(load_ruleset("rulesets/alto-fixflo/v2.yaml"), depth=3)
    >>> result.counterexample is None
    True
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.documents import dump_yaml
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle._canon import Fingerprints, canonical
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
    *,
    reduce: bool = True,
) -> Exploration:
    """Every sequence of moves on `issues` issues up to `depth`, breadth first, under each
    of `settings` in turn; stops at the first violation (so the counterexample is a
    shortest one under its settings). Counts add up over the settings. `reduce`: apply the
    symmetry reduction (see the module's text; it changes nothing over one issue)."""
    total = Exploration(depth)
    for variant in settings:
        found = _explore(ruleset_for(ruleset, variant), depth, issues, reduce=reduce)
        total.states += found.states
        total.sequences += found.sequences
        if found.counterexample is not None:
            total.counterexample, total.problems = found.counterexample, found.problems
            total.settings = dict(variant)
            break
    return total


def _explore(
    ruleset: CompiledRuleset,
    depth: int,
    issues: int,
    *,
    reduce: bool = True,
    paths: dict[bytes, list[Step]] | None = None,
) -> Exploration:
    """One setting's exploration; `paths`, when given, gets the path to each state seen."""
    result = Exploration(depth)
    names = [f"I{number}" for number in range(1, issues + 1)]
    start = Simulation(ruleset)
    prints = Fingerprints()  # shared: a snapshot digested for a reconcile is known for a key
    start.remember_reconciles(prints)  # equal snapshots meet equal holdings in many states
    seen = {state_key(start, prints)}
    if paths is not None:
        paths.update({key: [] for key in seen})
    queue: deque[tuple[Simulation, list[Step]]] = deque([(start, [])])
    while queue:
        sim, path = queue.popleft()
        if len(path) >= depth:
            continue
        for step in (move for name in _movable(sim, names, reduce) for move in _moves(sim, name)):
            after = sim.fork()
            _play(after, step)
            result.sequences += 1
            key = state_key(after, prints)
            if key in seen:
                continue  # its invariants held when it was first seen
            problems = violations(after.fixflo, after.alto, ruleset.settings)
            if problems:
                result.counterexample, result.problems = [*path, step], problems
                result.states = len(seen)
                return result
            seen.add(key)
            queue.append((after, [*path, step]))
            if paths is not None:
                paths[key] = [*path, step]
    result.states = len(seen)
    return result


def _movable(sim: Simulation, names: list[str], reduce: bool) -> list[str]:
    """The issues to try moves on: all, or (`reduce`) the touched ones and the first
    untouched one (untouched issues are interchangeable: see the module's text)."""
    if not reduce:
        return names
    touched = sim.fixflo.history
    fresh = [name for name in names if name not in touched]
    return [name for name in names if name in touched or name == fresh[0]]


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


def state_key(sim: Simulation, prints: Fingerprints | None = None) -> bytes:
    """A 128-bit digest of what tells one explored state from another: each issue's Fixflo
    snapshots, Alto's works orders, documents, charges, updates and refusals, and the
    ledger. Two states have the same key exactly when the JSON of those parts (keys sorted)
    is the same. `prints` digests each shared record once (the worlds of forks share them).

    Example:
        >>> from engine import load_ruleset
        >>> sim = Simulation(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
        >>> _ = sim.perform("report", "I1")
        >>> state_key(sim) == state_key(sim.fork()) and len(state_key(sim))
        16
    """
    prints = Fingerprints() if prints is None else prints
    of, each = prints.of, prints.each
    alto = sim.alto
    ledger = tuple(  # ids and names are text (or None): their repr tells them apart
        (str(key), e.works_order_id, tuple(sorted(e.documents)), tuple(sorted(e.charges)),
         canonical(e.revision))
        for key, e in sorted(alto.ledger.items(), key=_by_key)
    )  # fmt: skip
    state = (
        tuple(
            (str(issue), each(snapshots))
            for issue, snapshots in sorted(sim.fixflo.history.items(), key=_by_key)
        ),
        tuple(
            (str(key), of(order)) for key, order in sorted(alto.works_orders.items(), key=_by_key)
        ),
        each(alto.documents),  # lists only appended to, as histories: remembered runs
        each(alto.charges),
        tuple(alto.updates),  # (works order id, status) pairs of text
        tuple(alto.refused),  # sentences
        ledger,
    )
    return hashlib.blake2b(repr(state).encode(), digest_size=16).digest()  # text, digests


def _by_key(item: tuple[Any, Any]) -> str:
    return str(item[0])


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
