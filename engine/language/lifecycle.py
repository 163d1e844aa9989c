"""The compiled issue lifecycle: statuses, what the target must hold in each, the events
that move a record between statuses, warnings and charge policies.

Built by `engine.language.compiler._lifecycle` from a ruleset's ``lifecycle:`` and ``charges:``
sections; immutable. The simulator, the explorer and `engine.issues.reconcile` read the legal moves
and the desired target state from here, never from code.

Example:
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> issue = {"Id": "I1", "Status": "Reported"}
    >>> [e.name for e in ruleset.lifecycle.legal_events(issue, ruleset.context())]
    ['request_quotes', 'instruct', 'close_without_job']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.language.context import Context
from engine.language.operators.conditions import Check
from engine.language.operators.transforms import Value
from engine.language.paths import Reader
from engine.language.rule import Rule

__all__ = ["AttachRule", "ChargePolicy", "Event", "Lifecycle", "LifecycleWarning", "StatusSpec"]

Fields = tuple[tuple[str, Value], ...]


@dataclass(frozen=True, slots=True)
class Event:
    """An event a person performs: from which statuses, to which, under which guard."""

    name: str
    summary: str
    sources: tuple[str, ...]
    to: str
    guard: Check | None
    sets: tuple[str, ...]

    @property
    def creates(self) -> bool:
        """Whether the event creates the record (it has no `from` statuses)."""
        return not self.sources


@dataclass(frozen=True, slots=True)
class StatusSpec:
    """What the target must hold while the record is at one status."""

    name: str
    id: str
    summary: str
    works_order: str | None
    set: Fields
    attach: tuple[str, ...]
    charge: str | None


@dataclass(frozen=True, slots=True)
class AttachRule:
    """A kind of document attached to the works order: `names` gives one name or a list."""

    name: str
    id: str
    summary: str
    names: Value

    def documents(self, record: Any, context: Context) -> tuple[str, ...]:
        """The document names this attachment gives for `record` (empty ones dropped)."""
        found = self.names.get(record, context)
        items = found if isinstance(found, list) else [found]
        return tuple(str(item) for item in items if item not in (None, ""))


@dataclass(frozen=True, slots=True)
class ChargePolicy:
    """A charge: every `require` rule must hold for it to be posted; `fields` map it."""

    name: str
    summary: str
    require: tuple[Rule, ...]
    fields: Fields


@dataclass(frozen=True, slots=True)
class LifecycleWarning:
    """A warning shown while the record is at one of `at` and `check` holds."""

    id: str
    summary: str
    at: frozenset[str]
    check: Check


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """The compiled lifecycle of one source's records (e.g. Fixflo issues)."""

    source: str
    status_field: str
    read_status: Reader
    read_revision: Reader | None
    read_key: Reader
    start: str
    final: frozenset[str]
    statuses: Mapping[str, StatusSpec]
    events: Mapping[str, Event]
    works_order_statuses: tuple[str, ...]
    works_order_require: tuple[Rule, ...]
    works_order_fields: Fields
    attachments: Mapping[str, AttachRule]
    warnings: tuple[LifecycleWarning, ...]
    charges: Mapping[str, ChargePolicy]
    revision_field: str | None = None

    def status_of(self, record: Any) -> str | None:
        """The record's status, or None for a record not yet created."""
        status = self.read_status(record) if record is not None else None
        return None if status is None else str(status)

    def allows(self, event: Event, record: Any, context: Context) -> bool:
        """Whether `event` may happen to `record` (None: the record does not exist yet)."""
        status = self.status_of(record)
        if status is None:
            return event.creates
        if status not in event.sources:
            return False
        return event.guard is None or event.guard.test(record, context)

    def legal_events(self, record: Any, context: Context) -> list[Event]:
        """Every event that may happen to `record` now, in declaration order."""
        return [event for event in self.events.values() if self.allows(event, record, context)]

    def rank(self, works_order_status: Any) -> int:
        """The position of a works order status in the declared order (-1: unknown)."""
        statuses = self.works_order_statuses
        return statuses.index(works_order_status) if works_order_status in statuses else -1
