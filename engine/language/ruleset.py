"""The compiled ruleset: immutable, and evaluated as a pure function of its inputs.

Example:
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> decision = ruleset.evaluate("property", {"id": "1", "recordType": "Sale"})
    >>> decision.included, str(decision.because[0])
    (False, "P-01: recordType = 'Sale', not = 'Rent'")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any, Protocol

from engine.documents.suggest import did_you_mean
from engine.errors import EvaluationError
from engine.explain import Because, Decision, condition_in_words
from engine.language._declarations import SourceDecl
from engine.language._settings import SettingDecl
from engine.language.checklist import ChecklistTask
from engine.language.context import Context, Relation
from engine.language.dedupe import DedupePolicy
from engine.language.gaps import Gap
from engine.language.lifecycle import Lifecycle
from engine.language.operators.transforms import Value
from engine.language.paths import Reader, set_path
from engine.language.policies import (
    Departed,
    Link,
    MergePolicy,
    NearPolicy,
    TargetDecl,
    Unmatched,
)
from engine.language.rule import Rule

__all__ = ["CompiledRuleset", "Entity", "Program"]


class Program(Protocol):
    """One entity's include rules and map as generated code (see `Entity.program`)."""

    def tests(self, record: Any, context: Context) -> int:
        """The position of the first include rule that fails, -1 when every one holds."""
        ...

    def fields(self, record: Any, context: Context) -> dict[str, Any]:
        """The mapped target fields, as `Entity.map_closures` gives them."""
        ...

    def decide(self, record: Any, context: Context) -> Decision:
        """`Entity.evaluate`: the decision, its reasons built when first read."""
        ...


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity: which source records it includes and how they map to the target."""

    name: str
    source: str
    target: str | None
    summary: str
    include: tuple[Rule, ...]
    archive: tuple[Rule, ...]
    fields: tuple[tuple[tuple[str, ...], Value], ...]
    read_key: Reader
    ref: str | None = None
    merge: tuple[MergePolicy, ...] = ()
    near: NearPolicy | None = None
    unmatched: Unmatched | None = None
    on_create: tuple[tuple[tuple[str, ...], Value], ...] = ()
    dedupe: DedupePolicy | None = None
    role: str = "record"
    departed: Departed | None = None
    program: Program | None = field(default=None, compare=False, repr=False)
    """The generated code of the include rules and the map (`engine.language.compiler`
    attaches it); None evaluates by the closures alone."""

    def includes(self, record: Any, context: Context) -> bool:
        """Whether every include rule holds (stops at the first that fails)."""
        program = self.program
        if program is not None:
            return program.tests(record, context) < 0
        for rule in self.include:  # noqa: SIM110 - a plain loop: no generator frame on the hot path
            if not rule.check.test(record, context):
                return False
        return True

    def first_failing(self, record: Any, context: Context) -> int:
        """The position (in `include`) of the first include rule that does not hold for
        `record`, or -1 when every one holds.

        Example:
            >>> from engine import load_ruleset
            >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
            >>> entity = ruleset.entity("property")
            >>> entity.include[entity.first_failing({"recordType": "Sale"}, ruleset.context())].id
            'P-01'
        """
        program = self.program
        if program is not None:
            return program.tests(record, context)
        for position, rule in enumerate(self.include):
            if not rule.check.test(record, context):
                return position
        return -1

    def evaluate(self, record: Any, context: Context) -> Decision:
        """The decision for `record`: included or not, mapped fields and reasons.

        The reasons are built when the decision's `because` is first read, by the rules'
        `explain` (the reference), from this record and context.
        """
        program = self.program
        if program is None:
            return self.evaluate_closures(record, context)
        return program.decide(record, context)

    def evaluate_closures(self, record: Any, context: Context) -> Decision:
        """`evaluate` by the compiled closures alone, every reason built at once: the
        reference the generated code is checked against."""
        reasons: list[Because] = []
        for rule in self.include:
            held, because = rule.check.explain(record, context)
            reasons.extend(because)
            if not held:
                return Decision(self.name, self.key_of(record), False, {}, tuple(reasons))
        return Decision(
            self.name,
            self.key_of(record),
            True,
            self.map_closures(record, context),
            tuple(reasons),
        )

    def map(self, record: Any, context: Context) -> dict[str, Any]:
        """The target fields for `record` (nested by dotted target path)."""
        program = self.program
        if program is not None:
            return program.fields(record, context)
        return self.map_closures(record, context)

    def map_closures(self, record: Any, context: Context) -> dict[str, Any]:
        """`map` by the compiled closures alone (the reference)."""
        mapped: dict[str, Any] = {}
        for path, value in self.fields:
            key = value.key
            if key is not None and type(record) is dict and key in record:
                found = record[key]  # a plain top-level field: read inline (hot path)
            else:
                found = value.get(record, context)
            if len(path) == 1:
                mapped[path[0]] = found
            else:
                set_path(mapped, path, found)
        return mapped

    def value_of(self, target: str, record: Any, context: Context) -> Any:
        """The mapped value of one target field (e.g. the reference) for any record."""
        wanted = tuple(target.split("."))
        for path, value in self.fields:
            if path == wanted:
                return value.get(record, context)
        raise EvaluationError(f"entity {self.name} maps no field {target!r}")

    def create_fields(self, record: Any, context: Context) -> dict[str, Any]:
        """The fields sent only when the record is created."""
        extra: dict[str, Any] = {}
        for path, value in self.on_create:
            set_path(extra, path, value.get(record, context))
        return extra

    def archive_reasons(self, record: Any, context: Context) -> tuple[Because, ...]:
        """The archive rules that hold for `record`, with what they read (empty: keep)."""
        reasons: list[Because] = []
        for rule in self.archive:
            held, because = rule.check.explain(record, context)
            if held:
                reasons.extend(because)
        return tuple(reasons)

    def key_of(self, record: Any) -> str | None:
        """The record's key as text."""
        key = self.read_key(record)
        return None if key is None else str(key)


@dataclass(frozen=True, slots=True)
class CompiledRuleset:
    """A validated, compiled ruleset. Build it with `engine.load_ruleset`."""

    name: str
    version: int
    summary: str
    path: str
    content_hash: str
    settings: Mapping[str, Any]
    settings_declared: Mapping[str, SettingDecl]
    sources: Mapping[str, SourceDecl]
    relations: Mapping[str, Relation]
    entities: Mapping[str, Entity]
    rules: Mapping[str, Rule]
    uses_as_of: bool
    targets: Mapping[str, TargetDecl] = field(default_factory=lambda: MappingProxyType({}))
    links: tuple[Link, ...] = ()
    preflight_source: str | None = None
    preflight: tuple[Rule, ...] = ()
    lifecycle: Lifecycle | None = None
    gaps: tuple[Gap, ...] = ()
    checklist: tuple[ChecklistTask, ...] = ()
    summaries: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Every id of the ruleset (rules, case branches, policies, gaps, tasks) to its summary."""
    dependencies: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    """Every rule id (entity and preflight rules, and the lifecycle's statuses, cases,
    warnings, requires, attachments and charge routes) to the sorted ``rule:ID``,
    ``entity:NAME`` and ``setting:NAME`` it reads (see `dependents` for the reverse)."""

    @property
    def rule_count(self) -> int:
        """How many rules (include and archive) the ruleset has."""
        return len(self.rules)

    def rule_summary(self, rule_id: str) -> str | None:
        """What rule `rule_id` does, in a person's words: its declared ``summary:``, else (a
        condition rule without one) its condition in plain words; None for an unknown id or one with
        nothing to say.

        Covers include, archive and preflight rules, ``case`` branches, de-duplication and
        sync policies, links, gaps and checklist tasks.

        Example:
            >>> from engine import load_ruleset
            >>> ruleset = load_ruleset("rulesets/jupix-alto/v1.yaml")
            >>> ruleset.rule_summary("J-10")
            'No personal To Do note migrates; every one is listed instead.'
            >>> ruleset.rule_summary("no-such-rule") is None
            True
        """
        summary = self.summaries.get(rule_id)
        if summary:
            return summary
        rule = self.rules.get(rule_id)
        return None if rule is None else condition_in_words(rule.text)

    def dependents(self, rule_id: str) -> tuple[str, ...]:
        """The ids of the rules that read rule `rule_id` (sorted; the reverse of
        `dependencies`).

        Example:
            >>> from engine import load_ruleset
            >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
            >>> "W-09" in ruleset.dependents("CH-05")
            True
        """
        wanted = f"rule:{rule_id}"
        return tuple(sorted(key for key, reads in self.dependencies.items() if wanted in reads))

    def entity(self, name: str) -> Entity:
        """The entity called `name`.

        Raises:
            EvaluationError: there is no such entity (with a "did you mean").
        """
        found = self.entities.get(name)
        if found is None:
            hint = did_you_mean(name, self.entities)
            raise EvaluationError(
                f"ruleset {self.name} has no entity {name!r}{hint}; it has "
                f"{', '.join(self.entities)}"
            )
        return found

    def context(
        self,
        records: Mapping[str, Sequence[Any]] | None = None,
        as_of: date | None = None,
        *,
        indexes_from: Context | None = None,
    ) -> Context:
        """A context over the records of each source (by source name) and the run's date.

        `indexes_from`: another context (of any ruleset) whose relation indexes this one
        reuses for the tables both read (the same table objects), so that evaluating one set
        of records under two rulesets, as `rulebridge diff` does, indexes them once.

        Example:
            >>> from engine import load_ruleset
            >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
            >>> tenancies = [{"id": "T1", "propertyId": "100002", "status": "Current"}]
            >>> context = ruleset.context({"alto.tenancies": tenancies}, as_of=date(2026, 11, 22))
        """
        unknown = [name for name in records or {} if name not in self.sources]
        if unknown:
            hint = did_you_mean(unknown[0], self.sources)
            raise EvaluationError(f"ruleset {self.name} declares no source {unknown[0]!r}{hint}")
        return Context(
            relations=self.relations,
            include_tests=MappingProxyType(
                {name: entity.includes for name, entity in self.entities.items()}
            ),
            rule_tests=MappingProxyType(
                {rule_id: rule.check.test for rule_id, rule in self.rules.items()}
            ),
            rule_explains=MappingProxyType(
                {rule_id: rule.check.explain for rule_id, rule in self.rules.items()}
            ),
            records=records or {},
            as_of=as_of,
            indexes_from=indexes_from,
        )

    def evaluate(self, entity: str, record: Any, context: Context | None = None) -> Decision:
        """Evaluate one record for `entity`.

        Without a context, no related records exist and rules that need `as_of` fail.

        Example:
            >>> from engine import load_ruleset
            >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
            >>> record = {"id": "1", "recordType": "Rent", "managementType": "Managed"}
            >>> ruleset.evaluate("property", record, ruleset.context()).included
            False
            >>> str(ruleset.evaluate("property", record).because[-1])
            "P-03: maintenanceType = None, not = 'MaintainedByUs'"
        """
        return self.entity(entity).evaluate(record, context or self.context())
