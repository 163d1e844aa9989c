"""One record's whole decision, every rule of it: what `rulebridge explain` shows.

Unlike a decision (which stops at the first include rule that fails), a trace evaluates
every include rule in order, marks the one that decided, and says what each read, held or
failed (and the same in words); then every archive rule (which act on a skipped record
only), the ``case`` branches that chose a mapped value, and the mapped payload with the
fields sent only on create.

Example:
    >>> from datetime import date
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> record = {"inventoryId": "7", "recordType": "Rent", "managementType": "LetOnly",
    ...     "maintenanceType": "MaintainedByUs", "categoryType": "Residential", "status": "Let"}
    >>> found = trace(ruleset, "property", record, ruleset.context(as_of=date(2026, 11, 22)))
    >>> found.included, found.deciding
    (False, 'P-02')
    >>> [(rule.id, rule.held) for rule in found.include]
    [('P-01', True), ('P-02', False), ('P-03', True), ('P-05', True), ('P-06', True)]
    >>> found.to_json()["include"][1]["in_words"][0]
    'P-02: management type is LetOnly, not one of Managed, FullyManaged or PartManaged'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from engine.errors import EvaluationError
from engine.explain import Because, in_words
from engine.language.context import Context
from engine.language.operators.case import CaseValue
from engine.language.rule import Rule
from engine.language.ruleset import CompiledRuleset, Entity

__all__ = ["BranchTrace", "RuleTrace", "Trace", "trace"]


@dataclass(frozen=True, slots=True)
class RuleTrace:
    """One rule evaluated: whether it held, whether it decided, and what it read."""

    id: str
    summary: str
    line: int
    held: bool
    deciding: bool
    because: tuple[Because, ...]

    def to_json(self) -> dict[str, Any]:
        """``{id, summary, line, held, deciding, because: [...], in_words: [...]}``."""
        return {
            "id": self.id,
            "summary": self.summary,
            "line": self.line,
            "held": self.held,
            "deciding": self.deciding,
            "because": [item.to_json() for item in self.because],
            "in_words": [f"{item.rule}: {in_words(item)}" for item in self.because],
        }


@dataclass(frozen=True, slots=True)
class BranchTrace:
    """A ``case`` branch with a rule id that chose the value of target path `path`."""

    path: str
    rule: str
    value: Any
    because: Because

    def to_json(self) -> dict[str, Any]:
        """``{path, rule, value, because}``."""
        return {
            "path": self.path,
            "rule": self.rule,
            "value": self.value,
            "because": str(self.because),
        }


@dataclass(frozen=True, slots=True)
class Trace:
    """Everything that decides one record of one entity.

    Attributes:
        entity: the entity.
        key: the record's key, as text.
        label: the record's ``label:`` if its source declares one.
        included: True when every include rule holds.
        deciding: the include rule that decided a skip (the first that failed), else None.
        include: every include rule, in order.
        archive: every archive rule (they act on a skipped record only).
        branches: the ``case`` branches (with ids) that chose a mapped value.
        payload: the mapped target fields of an included record (None when skipped).
        on_create: the fields sent only when the record is created (None when skipped).
    """

    entity: str
    key: str | None
    label: str | None
    included: bool
    deciding: str | None
    include: tuple[RuleTrace, ...]
    archive: tuple[RuleTrace, ...]
    branches: tuple[BranchTrace, ...] = ()
    payload: Mapping[str, Any] | None = None
    on_create: Mapping[str, Any] | None = None
    planned: tuple[Mapping[str, Any], ...] = field(default=())
    """What a plan decided for the record (filled by a caller that planned; JSON items)."""

    @property
    def archived_by(self) -> tuple[str, ...]:
        """The archive rules that hold for a skipped record (empty for an included one)."""
        if self.included:
            return ()
        return tuple(rule.id for rule in self.archive if rule.held)

    def to_json(self) -> dict[str, Any]:
        """The trace as JSON (`rulebridge explain --format json`)."""
        return {
            "entity": self.entity,
            "key": self.key,
            "label": self.label,
            "included": self.included,
            "deciding": self.deciding,
            "include": [rule.to_json() for rule in self.include],
            "archive": [rule.to_json() for rule in self.archive],
            "archived_by": list(self.archived_by),
            "branches": [branch.to_json() for branch in self.branches],
            "payload": None if self.payload is None else dict(self.payload),
            "on_create": None if self.on_create is None else dict(self.on_create),
            "planned": [dict(item) for item in self.planned],
        }


def trace(ruleset: CompiledRuleset, entity: str, record: Any, context: Context) -> Trace:
    """Evaluate every rule of `entity` for `record` and say what each read.

    Raises:
        EvaluationError: `entity` is not one of the ruleset's (with a "did you mean"), or a
            rule cannot be evaluated (e.g. it needs an as_of date the context lacks).
    """
    found = ruleset.entity(entity)
    include = _rules(found.include, record, context)
    first = next((index for index, rule in enumerate(include) if not rule.held), None)
    if first is not None:
        include = (*include[:first], replace(include[first], deciding=True), *include[first + 1 :])
    included = first is None
    archive = _rules(found.archive, record, context)
    if not included:  # archive rules act on a skipped record: each that holds decides
        archive = tuple(replace(rule, deciding=rule.held) for rule in archive)
    payload = on_create = None
    if included:
        payload, on_create = found.map(record, context), found.create_fields(record, context)
    return Trace(
        found.name,
        found.key_of(record),
        _label(ruleset, found, record, context),
        included,
        None if first is None else include[first].id,
        include,
        archive,
        _branches(found, record, context) if included else (),
        payload,
        on_create,
    )


def _rules(rules: tuple[Rule, ...], record: Any, context: Context) -> tuple[RuleTrace, ...]:
    """Each rule evaluated (none marked deciding yet)."""
    traced = []
    for rule in rules:
        held, because = rule.check.explain(record, context)
        traced.append(RuleTrace(rule.id, rule.summary, rule.line, held, False, tuple(because)))
    return tuple(traced)


def _branches(entity: Entity, record: Any, context: Context) -> tuple[BranchTrace, ...]:
    found = []
    for path, value in (*entity.fields, *entity.on_create):
        if isinstance(value, CaseValue):
            chosen, because = value.explain(record, context)
            if because is not None:
                found.append(BranchTrace(".".join(path), because.rule, chosen, because))
    return tuple(found)


def _label(ruleset: CompiledRuleset, entity: Entity, record: Any, context: Context) -> str | None:
    declared = ruleset.sources[entity.source].label
    if declared is None:
        return None
    try:
        value = declared.get(record, context)
    except EvaluationError:
        return None
    return None if value in (None, "") else str(value)
