"""Run a decision case: one record of one entity, its decision against the expectation.

The record is decided with its related records (its own source holds it too), the case's
settings and ``as_of``. Each expectation is compared with the decision: ``included``,
``skipped_by`` (the first include rule that failed), ``fields`` (a subset of the mapped
fields), ``archived_by`` (exactly the archive rules that hold) and ``branches`` (``case``
branches that chose a mapped value). A failing case carries the decision's explanation:
every ``because`` line, and the same in words.

Example:
    >>> from simulator.testing._rulesets import Rulesets
    >>> from engine import load_ruleset
    >>> rulesets = Rulesets(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
    >>> case = Case("a sale", "decision", "t.yaml", 1, entity="property",
    ...             record={"inventoryId": "1", "recordType": "Sale"},
    ...             expect={"skipped_by": "P-02"})
    >>> run_decision(case, rulesets).failures[0].message()
    "t.yaml:1: case a sale: expected skipped_by 'P-02', got skipped by P-01"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import RulebridgeError
from engine.explain import Decision, in_words
from engine.language import CompiledRuleset, Context, Entity
from engine.language.paths import flatten
from simulator.testing._match import same, shown
from simulator.testing._rulesets import Rulesets, case_fields, chosen_branch
from simulator.testing.cases import Case, CaseResult, Failure

__all__ = ["explanation", "run_decision"]


def run_decision(case: Case, rulesets: Rulesets) -> CaseResult:
    """Decide the case's record and compare the decision with what the case expects.

    Never raises for a rulebridge error: a case that cannot run (e.g. a rule compares
    with ``as_of`` and none is given) is a result with `CaseResult.error`.
    """
    try:
        ruleset = rulesets.get(case.settings)
        entity = ruleset.entity(str(case.entity))
        record = dict(case.record or {})
        context = _context(ruleset, entity, record, case)
        decision = entity.evaluate(record, context)
        return _compare(case, entity, record, context, decision)
    except RulebridgeError as exc:
        return CaseResult(case, error=str(exc))


def _context(ruleset: CompiledRuleset, entity: Entity, record: Any, case: Case) -> Context:
    records: dict[str, list[Any]] = {name: list(rows) for name, rows in case.related.items()}
    records[entity.source] = [record, *records.get(entity.source, [])]
    return ruleset.context(records, as_of=case.as_of)


def _compare(
    case: Case, entity: Entity, record: Any, context: Context, decision: Decision
) -> CaseResult:
    expect = case.expect
    failures: list[Failure] = []
    covered: set[str] = set()
    outcome = _outcome(decision)
    if "included" in expect and bool(expect["included"]) != decision.included:
        failures.append(_fail(case, "included", shown(expect["included"]), outcome))
    if "skipped_by" in expect:
        failing = None if decision.included else _first_failing(decision)
        if failing == expect["skipped_by"]:
            covered.add(f"rule:{failing}")
        else:
            failures.append(_fail(case, "skipped_by", shown(expect["skipped_by"]), outcome))
    branches = _branches(entity, record, context)
    if "fields" in expect:
        failures.extend(_fields(case, decision, covered, branches))
    if "archived_by" in expect:
        wanted = _ids(expect["archived_by"])
        held = [rule.id for rule in entity.archive if rule.check.test(record, context)]
        if sorted(wanted) == sorted(held):
            covered.update(f"rule:{rule}" for rule in held)
        else:
            got = ", ".join(held) or "no archive rule holds"
            failures.append(_fail(case, "archived_by", shown(wanted), got))
    if "branches" in expect:
        wanted = _ids(expect["branches"])
        missing = [branch for branch in wanted if branch not in branches.values()]
        if missing:
            chosen = ", ".join(f"{path}: {b}" for path, b in branches.items()) or "none"
            failures.append(_fail(case, "branches", shown(wanted), f"branches chosen: {chosen}"))
        else:
            covered.update(f"rule:{branch}" for branch in wanted)
    return CaseResult(
        case,
        tuple(failures),
        explanation(decision) if failures else (),
        frozenset(covered) if not failures else frozenset(),
    )


def _fields(
    case: Case, decision: Decision, covered: set[str], branches: Mapping[str, str]
) -> list[Failure]:
    if not decision.included:
        wanted = shown(dict(case.expect["fields"]))
        return [_fail(case, "fields", wanted, _outcome(decision))]
    have = dict(flatten(dict(decision.fields)))
    failures = []
    for path, value in flatten(dict(case.expect["fields"])):
        actual = have.get(path)
        if not same(value, actual):
            line = case.line_of(f"expect.fields.{path.split('.')[0]}")
            failures.append(Failure(case, line, f"field {path}", shown(value), shown(actual)))
        elif path in branches:
            covered.add(f"rule:{branches[path]}")
    return failures


def _branches(entity: Entity, record: Any, context: Context) -> dict[str, str]:
    chosen = {}
    for path, value in case_fields(entity).items():
        branch = chosen_branch(value, record, context)
        if branch is not None:
            chosen[path] = branch
    return chosen


def explanation(decision: Decision) -> tuple[str, ...]:
    """The decision's ``because`` lines, each followed by the same in words.

    Example:
        >>> from engine import load_ruleset
        >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
        >>> explanation(ruleset.evaluate("property", {"recordType": "Sale"}))[0]
        "because P-01: recordType = 'Sale', not = 'Rent'"
    """
    lines: list[str] = []
    for because in decision.because:
        lines.append(f"because {because}")
        lines.append(f"  in words: {in_words(because)}")
    return tuple(lines)


def _first_failing(decision: Decision) -> str | None:
    rules = decision.deciding_rules
    return rules[0] if rules else None


def _outcome(decision: Decision) -> str:
    if decision.included:
        return "included"
    return f"skipped by {_first_failing(decision)}"


def _fail(case: Case, what: str, expected: str, actual: str) -> Failure:
    return Failure(case, case.line_of(f"expect.{what}"), what, expected, actual)


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value] if isinstance(value, list) else []
