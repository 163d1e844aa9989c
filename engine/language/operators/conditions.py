"""Compile conditions (a closed set of operators in data) into closures.

A condition is one of:

- logical: ``all: [...]``, ``any: [...]``, ``none: [...]``, ``not: {...}``;
- a comparison of a field: ``{field: F, OP: V}`` with OP one of eq, ne, in, not_in,
  present, absent, gt, ge, lt, le, before, after, matches (``ignore_case: true`` for text);
- a relation quantifier: ``{related: R, any|all|none: {...}}`` over the related records;
- a list quantifier: ``{within: L, any|all|none: {...}}`` over the items of the list field
  L, the inner condition reading each item's fields (``{within: CompletionDocs, any:
  {field: MediaTypeDescription, eq: Invoice}}``);
- a setting: ``{setting: NAME, eq: V}`` or ``{setting: NAME, in: [V, ...]}``, decided by the
  agency's settings alone;
- ``{included: R}``: a record related through R is included by its own entity's rules;
- ``{rule: ID}``: another rule on the same source holds.

A field holding a list satisfies a positive comparison when any item does; ``ne`` and
``not_in`` hold when no item matches. Each compiled condition has a fast `test` and an
`explain` that says what was read and expected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from engine.documents.document import Document, JsonPath
from engine.documents.suggest import did_you_mean
from engine.errors import RulesetError
from engine.explain import Because
from engine.language._declarations import Declarations
from engine.language.context import Context
from engine.language.operators.comparisons import LEAF_OPERATORS, Leaf, compile_leaf
from engine.language.paths import compile_path

__all__ = ["Check", "ConditionCompiler"]

Test = Callable[[Any, Context], bool]
Explain = Callable[[Any, Context], tuple[bool, list[Because]]]

_LOGICAL = ("all", "any", "none", "not")
_QUANTIFIERS = ("any", "all", "none")


@dataclass(frozen=True, slots=True)
class Check:
    """A compiled condition: `test` decides, `explain` says why, `text` describes it."""

    test: Test
    explain: Explain
    text: str
    leaf: Leaf | None = None
    conjuncts: tuple[Check, ...] = field(default=())
    shape: tuple[Any, ...] = ()
    """What it is, for code generation: ``("all", *checks)``, ``("any", *checks)``,
    ``("not", check)``, ``("setting", held)``, ``("rule", id)``; empty for the rest."""


class ConditionCompiler:
    """Compiles the conditions of one document, collecting every error it finds."""

    def __init__(
        self, document: Document, declarations: Declarations, errors: list[RulesetError]
    ) -> None:
        self.document = document
        self.decls = declarations
        self.errors = errors
        self.references: list[tuple[str, str, JsonPath]] = []
        self._reading: list[set[str]] = []

    @contextmanager
    def recording(self) -> Iterator[set[str]]:
        """Collect the fields of declared sources that what is compiled inside reads."""
        found: set[str] = set()
        self._reading.append(found)
        try:
            yield found
        finally:
            self._reading.pop()

    def compile(self, condition: Any, path: JsonPath, source: str, rule: str) -> Check | None:
        """Compile `condition` (at `path`) read against `source`, on behalf of `rule`."""
        if not isinstance(condition, Mapping) or not condition:
            return None
        if "related" in condition:
            return self._related(condition, path, source, rule)
        if "within" in condition:
            return self._within(condition, path, source, rule)
        if "included" in condition:
            return self._included(condition, path, source, rule)
        if "rule" in condition:
            return self._rule_ref(condition, path, source, rule)
        if "setting" in condition:
            return self._setting(condition, path, rule)
        if "field" in condition:
            return self._comparison(condition, path, source, rule)
        return self._logical(condition, path, source, rule)

    def fail(self, path: JsonPath, code: str, message: str, *, at_key: bool = False) -> None:
        self.errors.append(self.document.error(path, code, message, at_key=at_key))

    def _only(
        self, condition: Mapping[str, Any], path: JsonPath, allowed: set[str], what: str
    ) -> bool:
        extra = [key for key in condition if key not in allowed]
        for key in extra:
            self.fail(
                (*path, key),
                "conflicting-operators",
                f"{key!r} cannot be combined with {what} in one condition; put each under 'all:'",
                at_key=True,
            )
        return not extra

    def _comparison(
        self, condition: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Check | None:
        operators = [key for key in condition if key in LEAF_OPERATORS]
        if len(operators) != 1:
            self._operator_count(condition, path, operators)
            return None
        operator = operators[0]
        if not self._only(condition, path, {"field", operator, "ignore_case"}, f"'{operator}'"):
            return None
        reference = self.declared_field(condition["field"], (*path, "field"), source)
        if reference is None:
            return None
        leaf = compile_leaf(
            self.document, self.decls, self.errors, path, condition, operator, reference, source
        )
        return None if leaf is None else _leaf_check(leaf, rule)

    def _setting(self, condition: Mapping[str, Any], path: JsonPath, rule: str) -> Check | None:
        """``{setting: NAME, eq: V}`` or ``{setting: NAME, in: [V, ...]}``: decided by the
        agency's settings alone, once, here."""
        if not self._only(condition, path, {"setting", "eq", "in"}, "'setting'"):
            return None
        name = condition["setting"]
        operators = [key for key in ("eq", "in") if key in condition]
        if len(operators) != 1:
            self.fail(
                path,
                "missing-operator",
                "'setting' needs exactly one of 'eq:' (a value) or 'in:' (a list of values)",
                at_key=True,
            )
            return None
        if name not in self.decls.settings:
            hint = did_you_mean(str(name), self.decls.settings) or "; declare it under 'settings:'"
            self.fail((*path, "setting"), "unknown-setting", f"no setting {name!r}{hint}")
            return None
        value = self.decls.effective.get(name)
        if operators[0] == "eq":
            expected = condition["eq"]
            held = type(value) is type(expected) and value == expected
            text = f"= {expected!r}"
        else:
            allowed = condition["in"] if isinstance(condition["in"], list) else []
            held = any(type(value) is type(item) and value == item for item in allowed)
            text = f"in {allowed!r}"
        return _setting_check(Because(rule, f"setting {name}", value, text, held), held)

    def _operator_count(
        self, condition: Mapping[str, Any], path: JsonPath, operators: list[str]
    ) -> None:
        if not operators:
            self.fail(
                path,
                "missing-operator",
                "this condition names a 'field' but no test; "
                f"add one of: {', '.join(sorted(LEAF_OPERATORS))}",
                at_key=True,
            )
        else:
            self.fail(
                (*path, operators[1]),
                "conflicting-operators",
                f"{operators[0]!r} and {operators[1]!r} are both here; put each under 'all:'",
                at_key=True,
            )

    def declared_field(self, reference: Any, path: JsonPath, source: str) -> str | None:
        """The canonical path of a declared field of `source`, or None after an error."""
        if not isinstance(reference, str):
            return None
        declared = self.decls.source(source)
        if declared is None or declared.knows(reference):
            if source in self.decls.sources:
                for found in self._reading:
                    found.add(reference)
            return reference
        hint = (
            did_you_mean(reference, declared.fields)
            or f"; declare it under sources: {source}: fields"
        )
        self.fail(path, "unknown-field", f"{source} has no field {reference!r}{hint}")
        return None

    def _logical(
        self, condition: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Check | None:
        operators = [key for key in condition if key in _LOGICAL]
        comparison = [key for key in condition if key in LEAF_OPERATORS]
        if comparison and not operators:
            self.fail(
                (*path, comparison[0]),
                "missing-field",
                f"{comparison[0]!r} needs a 'field' to test, e.g. {{field: status, ...}}",
                at_key=True,
            )
            return None
        if len(operators) != 1:
            self._logical_count(condition, path)
            return None
        operator = operators[0]
        if not self._only(condition, path, {operator}, f"'{operator}'"):
            return None
        body = condition[operator]
        if operator == "not":
            inner = self.compile(body, (*path, "not"), source, rule)
            return None if inner is None else _negate(inner)
        if not isinstance(body, list):
            self.fail(
                (*path, operator),
                "wrong-type",
                f"'{operator}' takes a list of conditions "
                "here; use it with 'related:' to quantify over related records",
            )
            return None
        return self._combine(operator, body, (*path, operator), source, rule)

    def _logical_count(self, condition: Mapping[str, Any], path: JsonPath) -> None:
        present = [key for key in condition if key in _LOGICAL]
        if present:
            self.fail(
                (*path, present[1]),
                "conflicting-operators",
                f"{present[0]!r} and {present[1]!r} are both here; nest one inside the other",
                at_key=True,
            )

    def _combine(
        self, operator: str, body: list[Any], path: JsonPath, source: str, rule: str
    ) -> Check | None:
        parts = [
            self.compile(item, (*path, index), source, rule) for index, item in enumerate(body)
        ]
        checks = [part for part in parts if part is not None]
        if len(checks) != len(body):
            return None
        if operator == "all":
            return _all(checks)
        return _any(checks) if operator == "any" else _negate(_any(checks), "none of")

    def _related(
        self, condition: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Check | None:
        found = self._quantifier(
            condition,
            path,
            "related",
            "{related: tenancies, any: {field: status, eq: Active}}",
            lambda: self.declared_relation(condition["related"], (*path, "related"), source),
        )
        if found is None:
            return None
        quantifier, relation, body = found
        inner = self.compile(body, (*path, quantifier), relation.target, rule)
        return (
            None
            if inner is None
            else _quantified(
                quantifier,
                relation.id,
                relation.name,
                inner,
                rule,
                self.decls.key_reader(relation.target),
            )
        )

    def _within(
        self, condition: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Check | None:
        found = self._quantifier(
            condition,
            path,
            "within",
            "{within: CompletionDocs, any: {field: MediaTypeDescription, eq: Invoice}}",
            lambda: self.declared_list(condition["within"], (*path, "within"), source),
        )
        if found is None:
            return None
        quantifier, items, body = found
        inner = self.compile(body, (*path, quantifier), items.name, rule)
        if inner is None:
            return None
        return _within_check(quantifier, str(condition["within"]), inner, rule)

    def _quantifier(
        self,
        condition: Mapping[str, Any],
        path: JsonPath,
        word: str,
        example: str,
        resolve: Callable[[], Any],
    ) -> tuple[str, Any, Mapping[str, Any]] | None:
        """The one quantifier of a ``related``/``within`` condition, what `resolve` finds
        (the relation or the list's items) and the quantified condition; None after an
        error (no or several quantifiers, another key, nothing found, a list body)."""
        quantifiers = [key for key in condition if key in _QUANTIFIERS]
        if len(quantifiers) != 1:
            self.fail(
                path,
                "missing-operator",
                f"'{word}' needs exactly one of any, all or none, e.g. {example}",
                at_key=True,
            )
            return None
        quantifier = quantifiers[0]
        if not self._only(condition, path, {word, quantifier}, f"'{word}'"):
            return None
        target = resolve()
        body = condition[quantifier]
        if target is None or not isinstance(body, Mapping):
            if target is not None:
                self.fail(
                    (*path, quantifier),
                    "wrong-type",
                    f"with '{word}', '{quantifier}' takes one condition (a mapping), not a list",
                )
            return None
        return quantifier, target, body

    def declared_list(self, reference: Any, path: JsonPath, source: str) -> Any:
        """The items of the declared list field `reference` of `source` (a `SourceDecl`), or
        None after an error (not declared, or declared but no list)."""
        field_name = self.declared_field(reference, path, source)
        if field_name is None:
            return None
        items = self.decls.item_source(source, field_name)
        if items is None:
            declared = self.decls.source(source)
            lists = sorted(declared.list_fields) if declared else []
            hint = did_you_mean(field_name, lists) or f"; the list fields are {lists}"
            self.fail(
                path,
                "not-a-list",
                f"{source} field {field_name!r} is not a list (declare its items as "
                f"'{field_name}[].NAME'){hint}",
            )
        return items

    def declared_relation(self, name: Any, path: JsonPath, source: str) -> Any:
        """The declared relation `name` of `source`, or None after an error."""
        if not isinstance(name, str):
            return None
        relations = self.decls.relations_of(source)
        if name in relations:
            return relations[name]
        hint = did_you_mean(name, relations) or f"; declare it under sources: {source}: relations"
        self.fail(path, "unknown-relation", f"{source} has no relation {name!r}{hint}")
        return None

    def _included(
        self, condition: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Check | None:
        if not self._only(condition, path, {"included", "entity"}, "'included'"):
            return None
        relation = self.declared_relation(condition["included"], (*path, "included"), source)
        if relation is None:
            return None
        entity = self._entity_for(condition.get("entity"), relation, path)
        if entity is None:
            return None
        self.references.append((f"rule:{rule}", f"entity:{entity}", path))
        return _included_check(
            relation.id, relation.name, entity, rule, self.decls.key_reader(relation.target)
        )

    def _entity_for(self, named: Any, relation: Any, path: JsonPath) -> str | None:
        entities = self.decls.entity_sources
        if isinstance(named, str):
            if entities.get(named) == relation.target:
                return named
            reading = [name for name, src in entities.items() if src == relation.target]
            hint = (
                did_you_mean(named, reading)
                or f"; entities reading {relation.target}: {', '.join(reading) or 'none'}"
            )
            self.fail(
                (*path, "entity"),
                "unknown-entity",
                f"no entity {named!r} reads {relation.target}{hint}",
            )
            return None
        candidates = [name for name, src in entities.items() if src == relation.target]
        if len(candidates) == 1:
            return candidates[0]
        problem = "no entity reads" if not candidates else "several entities read"
        self.fail(
            (*path, "included"),
            "unknown-entity",
            f"{problem} {relation.target}; name the one meant with 'entity:'"
            if candidates
            else f"{problem} {relation.target}, so nothing related can be included",
        )
        return None

    def _rule_ref(
        self, condition: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Check | None:
        if not self._only(condition, path, {"rule"}, "'rule'"):
            return None
        target = condition["rule"]
        if not isinstance(target, str):
            return None
        declared = self.decls.rule_sources
        if target not in declared:
            hint = did_you_mean(target, declared)
            self.fail((*path, "rule"), "unknown-rule", f"no rule has the id {target!r}{hint}")
            return None
        if declared[target] != source:
            self.fail(
                (*path, "rule"),
                "rule-source-mismatch",
                f"rule {target!r} reads {declared[target]}, not {source}; it cannot be tested here",
            )
            return None
        self.references.append((f"rule:{rule}", f"rule:{target}", path))
        return _rule_check(target, rule)


def _leaf_check(leaf: Leaf, rule: str) -> Check:
    test = leaf.test

    def explain(record: Any, context: Context) -> tuple[bool, list[Because]]:
        value = leaf.read(record)
        held = test(record, context)
        return held, [Because(rule, leaf.field, value, leaf.describe(context), held)]

    return Check(test, explain, f"{leaf.field} {leaf.text}", leaf=leaf)


def _all(checks: list[Check]) -> Check:
    tests = tuple(check.test for check in checks)

    def test(record: Any, context: Context) -> bool:
        for each in tests:  # noqa: SIM110 - a plain loop: no generator frame on the hot path
            if not each(record, context):
                return False
        return True

    def explain(record: Any, context: Context) -> tuple[bool, list[Because]]:
        reasons: list[Because] = []
        for check in checks:
            held, because = check.explain(record, context)
            if not held:
                return False, because
            reasons.extend(because)
        return True, reasons

    return Check(
        test,
        explain,
        " and ".join(_group(check.text) for check in checks),
        conjuncts=tuple(checks),
        shape=("all", *checks),
    )


def _any(checks: list[Check]) -> Check:
    tests = tuple(check.test for check in checks)

    def test(record: Any, context: Context) -> bool:
        for each in tests:  # noqa: SIM110 - a plain loop: no generator frame on the hot path
            if each(record, context):
                return True
        return False

    def explain(record: Any, context: Context) -> tuple[bool, list[Because]]:
        reasons: list[Because] = []
        for check in checks:
            held, because = check.explain(record, context)
            if held:
                return True, because
            reasons.extend(because)
        return False, reasons

    text = " or ".join(_group(check.text) for check in checks)
    return Check(test, explain, text, shape=("any", *checks))


def _negate(inner: Check, word: str = "not") -> Check:
    inner_test = inner.test

    def test(record: Any, context: Context) -> bool:
        return not inner_test(record, context)

    def explain(record: Any, context: Context) -> tuple[bool, list[Because]]:
        held, because = inner.explain(record, context)
        flipped = [
            Because(item.rule, item.field, item.value, f"{word} ({item.expected})", not item.held)
            for item in because
        ]
        return not held, flipped

    return Check(test, explain, f"{word} ({inner.text})", shape=("not", inner))


def _quantified(
    quantifier: str,
    relation_id: str,
    name: str,
    inner: Check,
    rule: str,
    read_key: Callable[[Any], Any],
) -> Check:
    inner_test = inner.test
    text = f"{quantifier} {name}: {inner.text}"

    def test(record: Any, context: Context) -> bool:
        wanted = quantifier != "all"
        for item in context.related(relation_id, record):
            if inner_test(item, context) is wanted:
                return quantifier == "any"
        return quantifier != "any"

    def explain(record: Any, context: Context) -> tuple[bool, list[Because]]:
        keys = [read_key(item) for item in context.related(relation_id, record)]
        held = test(record, context)
        return held, [
            Because(rule, name, keys, f"{quantifier} related matching: {inner.text}", held)
        ]

    return Check(test, explain, text)


def _setting_check(because: Because, held: bool) -> Check:
    def test(record: Any, context: Context) -> bool:
        return held

    def explain(record: Any, context: Context) -> tuple[bool, list[Because]]:
        return held, [because]

    return Check(test, explain, f"{because.field} {because.expected}", shape=("setting", held))


def _within_check(quantifier: str, name: str, inner: Check, rule: str) -> Check:
    inner_test = inner.test
    read = compile_path(name)
    text = f"{quantifier} {name}: {inner.text}"

    def items(record: Any) -> list[Any]:
        found = read(record)
        return found if isinstance(found, list) else []

    def test(record: Any, context: Context) -> bool:
        wanted = quantifier != "all"
        for item in items(record):
            if inner_test(item, context) is wanted:
                return quantifier == "any"
        return quantifier != "any"

    def explain(record: Any, context: Context) -> tuple[bool, list[Because]]:
        held = test(record, context)
        count = len(items(record))
        return held, [
            Because(rule, name, f"{count} item(s)", f"{quantifier} matching: {inner.text}", held)
        ]

    return Check(test, explain, text)


def _included_check(
    relation_id: str, name: str, entity: str, rule: str, read_key: Callable[[Any], Any]
) -> Check:
    def test(record: Any, context: Context) -> bool:
        for item in context.related(relation_id, record):  # noqa: SIM110 - a plain loop: no generator frame on the hot path
            if context.included(entity, item):
                return True
        return False

    def explain(record: Any, context: Context) -> tuple[bool, list[Because]]:
        related = context.related(relation_id, record)
        keys = [read_key(item) for item in related if context.included(entity, item)] or [
            read_key(item) for item in related
        ]
        held = test(record, context)
        return held, [Because(rule, name, keys, f"a related record included as {entity}", held)]

    return Check(test, explain, f"{name} included as {entity}")


def _rule_check(target: str, rule: str) -> Check:
    def test(record: Any, context: Context) -> bool:
        return context.rule(target, record)

    def explain(record: Any, context: Context) -> tuple[bool, list[Because]]:
        held, because = context.explain_rule(target, record)
        return held, [Because(rule, f"rule {target}", held, "holds", held), *because]

    return Check(test, explain, f"rule {target} holds", shape=("rule", target))


def _group(text: str) -> str:
    return f"({text})" if " and " in text or " or " in text else text
