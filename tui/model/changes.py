"""What one step changed: Alto's works order, documents, charges and refusals, and the
Fixflo issue's fields and parts, from the frame before the step to the frame after it.

Data only (no Textual, no rich): the Alto and Fixflo panes highlight what is here, and the
Alto pane's first line sums it up. Nested fields are compared leaf by leaf under their
dotted paths (``reporterDetails.type``, ``Job.JobCompleted``); a list of records (a part
such as ``CompletionDocs``, the ``Quotes``) by its count and the names of its items.

Example:
    >>> from engine import load_ruleset
    >>> from tui.model.session import Session
    >>> session = Session(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
    >>> _ = session.perform("report"), session.perform("instruct")
    >>> changes = step_changes(session.frames[1], session.frames[2], "I1")
    >>> changes.works_order_created, changes.nothing
    (True, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from engine.issues.reconcile import IssueOps
from engine.language.paths import flatten
from tui.model.session import Frame

__all__ = ["ChargePosted", "FieldChange", "ListChange", "StepChanges", "step_changes"]

_NAMES: Final = ("ShortDescription", "InvoiceNumber", "fileName", "DisplayName", "id", "Id")
"""The key that names an item of a list of records, the first one it has."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field at dotted `path`: ``added`` (`before` is None), ``changed`` or ``removed``
    (`after` is None)."""

    path: str
    kind: Literal["added", "changed", "removed"]
    before: Any = None
    after: Any = None


@dataclass(frozen=True, slots=True)
class ListChange:
    """A list of records at `path` (``CompletionDocs``, ``Quotes``): how many before and
    after, and the names of the items added and removed."""

    path: str
    before: int
    after: int
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChargePosted:
    """A charge Alto took at this step: its record (``{"id", "post", "targetId", **form}``)
    and the charge route that sent it (a rule id such as ``CH-02.landlord``; None when the
    step's decision does not name it)."""

    charge: Mapping[str, Any]
    route: str | None = None


@dataclass(frozen=True, slots=True)
class StepChanges:
    """What changed at one step, Alto's side and the Fixflo issue's.

    `refused` is the frame's refusal (the step was not legal there: nothing changed).
    """

    works_order_created: bool = False
    works_order_removed: bool = False
    works_order: tuple[FieldChange, ...] = ()
    documents_added: tuple[Mapping[str, Any], ...] = ()
    documents_removed: tuple[Mapping[str, Any], ...] = ()
    charges: tuple[ChargePosted, ...] = ()
    refusals: tuple[str, ...] = ()
    fixflo: tuple[FieldChange, ...] = ()
    fixflo_lists: tuple[ListChange, ...] = ()
    refused: str = ""

    @property
    def nothing(self) -> bool:
        """True when nothing changed in Alto at this step."""
        return not (
            self.works_order_created
            or self.works_order_removed
            or self.works_order
            or self.documents_added
            or self.documents_removed
            or self.charges
            or self.refusals
        )

    def field(self, path: str) -> FieldChange | None:
        """The works order's change at `path`, if it changed."""
        return next((change for change in self.works_order if change.path == path), None)

    def fixflo_field(self, path: str) -> FieldChange | None:
        """The Fixflo issue's change at `path` (``Status``, ``Job.JobCompleted``), if any."""
        return next((change for change in self.fixflo if change.path == path), None)

    def fixflo_list(self, path: str) -> ListChange | None:
        """The change of the Fixflo list of records at `path` (``CompletionDocs``), if any."""
        return next((change for change in self.fixflo_lists if change.path == path), None)


def step_changes(before: Frame | None, after: Frame, issue_id: str) -> StepChanges:
    """What the step of `after` changed for `issue_id`, against `before` (None: the start,
    where nothing was held). A refused frame changed nothing.

    Example:
        >>> from engine import load_ruleset
        >>> from tui.model.session import Session
        >>> session = Session(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
        >>> frame = session.perform("report")
        >>> [change.path for change in step_changes(None, frame, "I1").fixflo][:2]
        ['Id', 'Created']
    """
    refused = str(getattr(after, "refused", "") or "")
    if refused:
        return StepChanges(refused=refused)
    alto_then = before.sim.alto if before is not None else None
    alto = after.sim.alto
    works_then = alto_then.works_order_of(issue_id) if alto_then is not None else None
    works_now = alto.works_order_of(issue_id)
    docs_then = alto_then.documents_of(issue_id) if alto_then is not None else []
    charges_then = alto_then.charges_of(issue_id) if alto_then is not None else []
    refused_then = set(alto_then.refused) if alto_then is not None else set()
    issue_then = before.sim.fixflo.issues.get(issue_id) if before is not None else None
    issue_now = after.sim.fixflo.issues.get(issue_id)
    fields, lists = _record_changes(issue_then or {}, issue_now or {})
    return StepChanges(
        works_order_created=works_then is None and works_now is not None,
        works_order_removed=works_then is not None and works_now is None,
        works_order=tuple(_record_changes(works_then or {}, works_now or {})[0]),
        documents_added=_new(docs_then, alto.documents_of(issue_id)),
        documents_removed=_new(alto.documents_of(issue_id), docs_then),
        charges=tuple(
            ChargePosted(charge, _route(after.result, charge))
            for charge in _new(charges_then, alto.charges_of(issue_id))
        ),
        refusals=tuple(
            item
            for item in alto.refused
            if item.startswith(f"issue {issue_id}:") and item not in refused_then
        ),
        fixflo=tuple(fields),
        fixflo_lists=tuple(lists),
    )


def _new(
    then: Sequence[Mapping[str, Any]], now: Sequence[Mapping[str, Any]]
) -> tuple[Mapping[str, Any], ...]:
    """The records of `now` that `then` does not hold (by id, else by value)."""
    seen = [_identity(record) for record in then]
    return tuple(record for record in now if _identity(record) not in seen)


def _identity(record: Mapping[str, Any]) -> Any:
    return record.get("id") if record.get("id") is not None else dict(record)


def _route(result: IssueOps | None, charge: Mapping[str, Any]) -> str | None:
    """The route of the step's charge operation that made `charge` (by its charge type)."""
    if result is None:
        return None
    posts = [op for op in result.operations if op.op == "post" and op.kind == "charge"]
    for op in posts:
        if op.fields.get("chargeType") == charge.get("chargeType") or len(posts) == 1:
            route = op.target.get("route")
            return None if route is None else str(route)
    return None


def _record_changes(
    then: Mapping[str, Any], now: Mapping[str, Any]
) -> tuple[list[FieldChange], list[ListChange]]:
    """Field by field (dotted paths) what changed from `then` to `now`; lists of records
    apart, by count and item names. Paths keep `now`'s order, removed ones come last."""
    old, new = dict(flatten(then)), dict(flatten(now))
    fields: list[FieldChange] = []
    lists: list[ListChange] = []
    for path in [*new, *(path for path in old if path not in new)]:
        was, value = old.get(path), new.get(path)
        if path in old and path in new and was == value:
            continue
        if _unfolded(path, old, new) or _unfolded(path, new, old):
            continue  # an empty value became a record (Job: None -> Job.id ...) or back
        if _records(was) or _records(value):
            lists.append(_list_change(path, was, value))
        elif path not in old:
            fields.append(FieldChange(path, "added", None, value))
        elif path not in new:
            fields.append(FieldChange(path, "removed", was, None))
        else:
            fields.append(FieldChange(path, "changed", was, value))
    return fields, lists


def _unfolded(path: str, gone: Mapping[str, Any], there: Mapping[str, Any]) -> bool:
    """Whether `path`, an empty leaf of `gone` only, is a record with fields in `there`."""
    if path in there or gone.get(path, 0) not in (None, "", {}):
        return False
    return any(other.startswith(path + ".") for other in there)


def _records(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(item, Mapping) for item in value)


def _list_change(path: str, then: Any, now: Any) -> ListChange:
    old = [_name(item) for item in then] if isinstance(then, list) else []
    new = [_name(item) for item in now] if isinstance(now, list) else []
    added = tuple(name for name in new if name not in old)
    removed = tuple(name for name in old if name not in new)
    return ListChange(path, len(old), len(new), added, removed)


def _name(item: Any) -> str:
    """The name an item of a list goes by: its first naming key, else its text."""
    if isinstance(item, Mapping):
        for key in _NAMES:
            if item.get(key) not in (None, ""):
                return str(item[key])
    return str(item)
