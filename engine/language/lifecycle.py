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
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from engine.explain import Because
from engine.language.context import Context
from engine.language.operators.conditions import Check
from engine.language.operators.transforms import Value
from engine.language.paths import Reader
from engine.language.rule import Rule

__all__ = [
    "AttachRule",
    "ChargePolicy",
    "ChargeRoute",
    "Event",
    "InvoiceDocument",
    "Lifecycle",
    "LifecycleWarning",
    "Part",
    "StatusCase",
    "StatusSpec",
]

Fields = tuple[tuple[str, Value], ...]
ISSUE_REPORT = "IssueReport"
"""The attachment source that is the issue's own report (not a part)."""


class _Programs(Protocol):
    """What the generated code of a lifecycle answers (each as its closures would)."""

    def first_case(self, status: StatusSpec, record: Any, context: Any) -> int: ...

    def first_route(self, policy: ChargePolicy, record: Any, context: Any) -> int: ...

    def warns(self, warning: LifecycleWarning, record: Any, context: Any) -> bool: ...

    def mapped(
        self, fields: Fields, record: Any, context: Any
    ) -> tuple[dict[str, Any], tuple[tuple[Any, Because | None], ...]]: ...


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
class Part:
    """A sub-resource of the source's records, read from its own endpoint.

    Attributes:
        name: the key the part sits under in a record (never a field of the record).
        read: the request the adapter reads it with, as the ruleset states it.
        gap: the declared gap it answers, if any.
        line: where the ruleset declares it.
    """

    name: str
    read: str
    gap: str | None
    line: int


@dataclass(frozen=True, slots=True)
class StatusCase:
    """A variant of a status: when `check` holds, the keys in `changes` replace the
    status's own (``works_order``, ``set``, ``attach``, ``charge``)."""

    id: str
    summary: str
    check: Check
    changes: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class StatusSpec:
    """What the target must hold while the record is at one status.

    `unchanged`: a target already holding a works order gets no operation at all at this
    status (one holding none gets it created as the status says). `cases` are tried in
    order by `resolve`.
    """

    name: str
    id: str
    summary: str
    works_order: str | None
    set: Fields
    attach: tuple[str, ...]
    charge: str | None
    unchanged: bool = False
    cases: tuple[StatusCase, ...] = ()

    def resolve(self, record: Any, context: Context) -> tuple[StatusSpec, StatusCase | None]:
        """The status as it applies to `record`: the first case whose `when` holds replaces
        the keys it gives (that case is returned too); with none, the status itself."""
        for position, case in enumerate(self.cases):
            if case.check.test(record, context):
                return self.with_case(position)
        return self, None

    def with_case(self, position: int) -> tuple[StatusSpec, StatusCase | None]:
        """The status as its case at `position` changes it, and that case (-1: none: the
        status itself)."""
        if position < 0:
            return self, None
        case = self.cases[position]
        return replace(self, id=case.id, summary=case.summary, **dict(case.changes)), case


@dataclass(frozen=True, slots=True)
class AttachRule:
    """A kind of document attached to the works order: `names` gives one name or a list;
    `from_` is where the bytes come from (``IssueReport`` or a part such as CompletionDocs)."""

    name: str
    id: str
    summary: str
    names: Value
    from_: str = ISSUE_REPORT

    def documents(self, record: Any, context: Context) -> tuple[str, ...]:
        """The document names this attachment gives for `record` (empty ones dropped)."""
        found = self.names.get(record, context)
        items = found if isinstance(found, list) else [found]
        return tuple(str(item) for item in items if item not in (None, ""))


@dataclass(frozen=True, slots=True)
class ChargeRoute:
    """Where a charge goes (CH-02): the first route whose `check` holds (None: always).

    ``post: tenancy`` - to the tenancy at the works order's property holding the contact
    `tenant` gives, that tenancy's tenant id in the charge field `tenant_field`;
    ``post: property`` - to the works order's property.
    """

    id: str
    summary: str
    check: Check | None
    post: Literal["tenancy", "property"]
    tenant: Value | None = None
    tenant_field: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """The invoice document sent with a charge: its part (`from_`) and its `name`."""

    from_: str
    name: Value


@dataclass(frozen=True, slots=True)
class ChargePolicy:
    """A charge: every `require` rule must hold for it to be posted; `fields` map it.

    `routes` decide where it is posted; `property_field` is the works-order field naming
    the property; `link` the charge field that receives the works order's id (W-10).
    """

    name: str
    summary: str
    require: tuple[Rule, ...]
    fields: Fields
    routes: tuple[ChargeRoute, ...] = ()
    property_field: str = "propertyId"
    link: str | None = None
    invoice_document: InvoiceDocument | None = None

    def route(self, record: Any, context: Context) -> ChargeRoute | None:
        """The first route whose `when` holds for `record`, or None."""
        for route in self.routes:
            if route.check is None or route.check.test(record, context):
                return route
        return None


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
    works_order_identity: tuple[str, ...] = ()
    document_link: str = "WorkOrder"
    quiet: frozenset[str] = frozenset()
    """Ids of works-order `require` rules that, unmet, are silent (no warning)."""
    parts: Mapping[str, Part] = field(default_factory=dict)
    parts_by_status: Mapping[str, frozenset[str]] = field(default_factory=dict)
    programs: _Programs | None = field(default=None, compare=False, repr=False)
    """The generated code of the statuses, warnings and charges (attached by the compiler,
    `engine.language.compiler._codegen_lifecycle`); None: the closures serve."""

    def parts_read(self, status: str) -> frozenset[str]:
        """The parts any rule applying at `status` reads (empty for an unknown status).

        Example:
            >>> from engine import load_ruleset
            >>> lifecycle = load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle
            >>> sorted(lifecycle.parts_read("Reported"))
            []
        """
        return self.parts_by_status.get(status, frozenset())

    def status_of(self, record: Any) -> str | None:
        """The record's status, or None for a record not yet created."""
        status = self.read_status(record) if record is not None else None
        return None if status is None else str(status)

    def allows(self, event: Event, record: Any, context: Context) -> bool:
        """Whether `event` may happen to `record` (None: the record does not exist yet)."""
        return _allowed(event, self.status_of(record), record, context)

    def legal_events(self, record: Any, context: Context) -> list[Event]:
        """Every event that may happen to `record` now, in declaration order."""
        status = self.status_of(record)  # read once, not once an event
        return [event for event in self.events.values() if _allowed(event, status, record, context)]

    def rank(self, works_order_status: Any) -> int:
        """The position of a works order status in the declared order (-1: unknown)."""
        statuses = self.works_order_statuses
        return statuses.index(works_order_status) if works_order_status in statuses else -1


def _allowed(event: Event, status: str | None, record: Any, context: Context) -> bool:
    """Whether `event` may happen to `record`, whose status is `status` (None: the record
    does not exist yet)."""
    if status is None:
        return event.creates
    if status not in event.sources:
        return False
    return event.guard is None or event.guard.test(record, context)
