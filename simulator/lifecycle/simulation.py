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

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EvaluationError
from engine.issues.reconcile import IssueOps, reconcile
from engine.language.context import Context
from engine.language.lifecycle import Event, Lifecycle
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle._canon import Fingerprints
from simulator.lifecycle.clock import Clock
from simulator.lifecycle.events import defaults, new_record, write_details
from simulator.lifecycle.worlds import AltoWorld, FixfloWorld, LedgerEntry

__all__ = ["Simulation"]

_NO_ENTRY = LedgerEntry()  # an issue the ledger does not know (read, never changed)


@dataclass
class Simulation:
    """Fixflo and Alto for one ruleset; events go to Fixflo, then Alto is reconciled.

    Alto defaults to `AltoWorld.seeded` (the agency the default event details name). Alto
    recognises a works order's issue through `FixfloWorld.issue_for_order` and stamps its
    writes with the clock, unless the worlds given say otherwise.

    A step never changes a record in place: it stores new ones (see `simulator.lifecycle.
    worlds`), so `fork` is cheap and the fork and this simulation never see each other's
    steps.
    """

    ruleset: CompiledRuleset
    fixflo: FixfloWorld = field(default_factory=FixfloWorld)
    alto: AltoWorld = field(default_factory=AltoWorld.seeded)
    clock: Clock = field(default_factory=Clock)
    _binds: tuple[bool, bool] = field(default=(False, False), init=False, repr=False, compare=False)
    _context: Context | None = field(default=None, init=False, repr=False, compare=False)
    _memo: dict[tuple[Any, ...], IssueOps] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _prints: Fingerprints | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        identify, stamp = self.alto.identify is None, self.alto.stamp is None
        if identify:
            self.alto.identify = self.fixflo.issue_for_order
        if stamp:
            self.alto.stamp = lambda: self.clock.text()
        self._binds = (identify, stamp)

    def fork(self, ruleset: CompiledRuleset | None = None) -> Simulation:
        """A simulation that starts where this one is and then goes its own way: what either
        does later the other never sees, as with a deep copy, but the records neither
        changes are shared (copy-on-write). Hooks this simulation bound (Alto recognising
        orders in its Fixflo, stamping by its clock) are bound to the fork's own; hooks
        given with the worlds are kept. Fixflo's listeners stay with this simulation. The
        fork reconciles with `ruleset` when given (a timeline replayed after a reload).

        Example:
            >>> from engine import load_ruleset
            >>> sim = Simulation(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
            >>> _ = sim.perform("report", "I1")
            >>> other = sim.fork()
            >>> _ = other.perform("close_without_job", "I1")
            >>> sim.fixflo.issues["I1"]["Status"], other.fixflo.issues["I1"]["Status"]
            ('Reported', 'Closed')
        """
        identify, stamp = self._binds
        alto = self.alto.fork(
            None if identify else self.alto.identify, None if stamp else self.alto.stamp
        )
        rules = self.ruleset if ruleset is None else ruleset
        clock = self.clock  # a plain Clock rebuilt directly (copy.copy costs more)
        clock = (
            Clock(clock.start, clock.step, clock.ticks)
            if type(clock) is Clock
            else copy.copy(clock)
        )
        forked = Simulation(rules, self.fixflo.fork(), alto, clock)
        if rules is self.ruleset:
            forked._context, forked._memo, forked._prints = self._context, self._memo, self._prints
        return forked

    def remember_reconciles(self, prints: Fingerprints | None = None) -> None:
        """Remember each reconcile by the content of the snapshot delivered and of what Alto
        holds for the issue, for this simulation and its later forks: an explorer delivers
        equal snapshots against equal holdings again and again, on many paths. Records are
        known by their `Fingerprints` digests (`prints`, when given: the explorer shares its
        own), which equate exactly the records whose JSON is the same; so the records must
        be JSON-like, as events make them. Sound because no step changes a record in place;
        do not call it on a simulation whose records you change by hand.
        """
        if self._memo is None:
            self._memo = {}
            self._prints = Fingerprints() if prints is None else prints

    def context(self) -> Context:
        """The ruleset's evaluation context (no records: the lifecycle reads only the
        issue), made once per simulation and shared with its forks."""
        if self._context is None:
            self._context = self.ruleset.context()
        return self._context

    @property
    def lifecycle(self) -> Lifecycle:
        """The ruleset's lifecycle (the ruleset must declare one)."""
        if self.ruleset.lifecycle is None:
            raise EvaluationError(f"ruleset {self.ruleset.name} declares no 'lifecycle:'")
        return self.ruleset.lifecycle

    def legal(self, issue_id: str) -> list[Event]:
        """The events that may happen to `issue_id` now (creating events for a new one)."""
        issue = self.fixflo.issues.get(issue_id)
        return self.lifecycle.legal_events(issue, self.context())

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
        now = self.clock.text()
        held = self.fixflo.issues.get(issue_id)
        # a new record, never the held one changed: a fork may share it (copy-on-write)
        issue = new_record(issue_id, now) if spec.creates or not held else dict(held)
        given = copy.deepcopy(dict(details)) if details else {}
        values = {**defaults(event, issue_id, issue, now), **given}
        _unshare(issue, values)
        write_details(spec, issue, values)
        issue[self.lifecycle.status_field] = spec.to
        issue["StatusChanged"] = self.clock.tick()
        self.fixflo.keep(issue)
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
        snapshot = history[-1 if index is None else index]  # read, never changed: no copy
        result = self._reconcile(issue_id, snapshot)
        self.alto.apply(result)
        return result

    def _reconcile(self, issue_id: str, snapshot: dict[str, Any]) -> IssueOps:
        memo, prints = self._memo, self._prints
        if memo is None or prints is None:
            return reconcile(self.ruleset, snapshot, self.alto.holding(issue_id), self.context())
        alto = self.alto
        entry = alto.ledger.get(issue_id, _NO_ENTRY)  # what `holding` reads, without copies
        order = alto.works_orders.get(entry.works_order_id or "")
        key = (
            issue_id,
            prints.of(snapshot),
            None if order is None else prints.of(order),
            frozenset(entry.documents),
            frozenset(entry.charges),
            repr(entry.revision),
        )
        known = memo.get(key)
        if known is None:
            known = memo[key] = reconcile(
                self.ruleset, snapshot, alto.holding(issue_id), self.context()
            )
        return known

    def _legal(self, event: str, issue_id: str) -> Event:
        spec = self.lifecycle.events.get(event)
        if spec is None:
            raise EvaluationError(
                f"no event {event!r}; the lifecycle has {', '.join(self.lifecycle.events)}"
            )
        legal = self.legal(issue_id)
        # by identity first: `in` would compare the events before it field by field
        if not any(event is spec for event in legal) and spec not in legal:
            status = self.lifecycle.status_of(self.fixflo.issues.get(issue_id))
            raise EvaluationError(
                f"event {event!r} is not legal for issue {issue_id} at status {status!r}"
            )
        return spec


def _unshare(issue: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Give `issue` (a shallow copy of a held record) copies of the mappings each dotted
    path of `values` writes into (``Job`` for ``Job.id``), so writing them changes nothing
    a fork shares."""
    copied: set[int] = set()
    for path in values:
        node = issue
        for key in path.split(".")[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                break
            if id(child) not in copied:
                child = node[key] = dict(child)
                copied.add(id(child))
            node = child
