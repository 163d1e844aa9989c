"""Each operator of the condition language, evaluated through a compiled ruleset."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine import EvaluationError
from tests.engine.rulesets import compile_rules

THING = {
    "id": "1",
    "kind": "Rent",
    "status": "Let",
    "size": 3,
    "created": "2018-06-30T10:00:00Z",
    "name": "Flat 2",
    "tags": ["Gas", "Plumbing"],
    "owner": {"name": "Ann"},
    "phones": [{"number": "0113"}, {"number": "0114"}],
    "archived": False,
}

CASES: list[tuple[dict[str, Any], bool]] = [
    ({"field": "kind", "eq": "Rent"}, True),
    ({"field": "kind", "eq": "rent"}, False),
    ({"field": "kind", "eq": "rent", "ignore_case": True}, True),
    ({"field": "kind", "ne": "Sale"}, True),
    ({"field": "size", "eq": 3}, True),
    ({"field": "size", "eq": "3"}, False),
    ({"field": "archived", "eq": False}, True),
    ({"field": "archived", "eq": 0}, False),
    ({"field": "status", "in": ["Let", "LetAgreed"]}, True),
    ({"field": "status", "not_in": ["Let", "LetAgreed"]}, False),
    ({"field": "tags", "in": ["Gas"]}, True),
    ({"field": "tags", "in": ["gas"], "ignore_case": True}, True),
    ({"field": "tags", "not_in": ["Gas"]}, False),
    ({"field": "tags", "ne": "Oil"}, True),
    ({"field": "owner.name", "eq": "Ann"}, True),
    ({"field": "phones[].number", "eq": "0114"}, True),
    ({"field": "phones[1].number", "eq": "0114"}, True),
    ({"field": "phones[0].number", "eq": "0114"}, False),
    ({"field": "name", "present": True}, True),
    ({"field": "missing_ok", "absent": True}, True),
    ({"field": "size", "gt": 2}, True),
    ({"field": "size", "ge": 3}, True),
    ({"field": "size", "lt": 3}, False),
    ({"field": "size", "le": 3}, True),
    ({"field": "status", "gt": 1}, False),
    ({"field": "created", "lt": "2019-01-01"}, True),
    ({"field": "created", "before": "2018-06-30"}, False),
    ({"field": "created", "after": "2018-06-29"}, True),
    ({"field": "name", "matches": "^Flat \\d+$"}, True),
    ({"field": "name", "matches": "^flat", "ignore_case": True}, True),
    ({"field": "size", "matches": "3"}, False),
    ({"all": [{"field": "kind", "eq": "Rent"}, {"field": "size", "gt": 5}]}, False),
    ({"any": [{"field": "kind", "eq": "Sale"}, {"field": "size", "gt": 2}]}, True),
    ({"none": [{"field": "kind", "eq": "Sale"}, {"field": "size", "gt": 5}]}, True),
    ({"not": {"field": "kind", "eq": "Rent"}}, False),
]


@pytest.mark.parametrize(("condition", "expected"), CASES)
def test_operator(tmp_path: Path, condition: dict[str, Any], expected: bool) -> None:
    if "missing_ok" in str(condition):
        condition = {"field": "owner.name", "absent": True}
        expected = False
    ruleset = compile_rules(tmp_path, condition)
    decision = ruleset.evaluate("thing", THING)
    assert decision.included is expected
    assert decision.because[-1].rule == "R1"
    assert decision.because[-1].held is expected


def test_missing_field_reads_as_none_and_fails_comparisons(tmp_path: Path) -> None:
    ruleset = compile_rules(tmp_path, {"field": "size", "gt": 0})
    decision = ruleset.evaluate("thing", {"id": "2"})
    assert not decision.included
    assert str(decision.because[0]) == "R1: size = None, not > 0"


def test_keys_are_read_case_insensitively(tmp_path: Path) -> None:
    ruleset = compile_rules(tmp_path, {"field": "kind", "eq": "Rent"})
    assert ruleset.evaluate("thing", {"ID": "3", "Kind": "Rent"}).included


def test_as_of_comes_from_the_context(tmp_path: Path) -> None:
    ruleset = compile_rules(tmp_path, {"field": "created", "before": "as_of"})
    assert ruleset.uses_as_of
    early = ruleset.context(as_of=date(2018, 6, 29))
    late = ruleset.context(as_of=date(2018, 7, 1))
    assert not ruleset.evaluate("thing", THING, early).included
    decision = ruleset.evaluate("thing", THING, late)
    assert decision.included
    assert decision.because[0].expected == "before as_of (2018-07-01)"


def test_as_of_missing_is_a_clear_error(tmp_path: Path) -> None:
    ruleset = compile_rules(tmp_path, {"field": "created", "after": "as_of"})
    with pytest.raises(EvaluationError, match="no as_of date was given"):
        ruleset.evaluate("thing", THING)


def test_setting_supplies_the_list(tmp_path: Path) -> None:
    settings = {"kinds": {"type": "list", "allowed": ["Rent", "Sale"], "default": ["Sale"]}}
    ruleset = compile_rules(
        tmp_path, {"field": "kind", "in": {"setting": "kinds"}}, settings=settings
    )
    decision = ruleset.evaluate("thing", THING)
    assert not decision.included
    assert str(decision.because[0]) == "R1: kind = 'Rent', not in [Sale] (setting kinds)"


PARTS = [
    {"id": "p1", "thingId": "1", "size": 1, "kind": "bolt"},
    {"id": "p2", "thingId": "1", "size": 9, "kind": "nut"},
    {"id": "p3", "thingId": 2, "size": 9, "kind": "nut"},
]


@pytest.mark.parametrize(
    ("quantifier", "condition", "expected"),
    [
        ("any", {"field": "size", "gt": 5}, True),
        ("all", {"field": "size", "gt": 5}, False),
        ("none", {"field": "size", "gt": 50}, True),
        ("all", {"field": "size", "gt": 0}, True),
    ],
)
def test_relation_quantifiers(
    tmp_path: Path, quantifier: str, condition: dict[str, Any], expected: bool
) -> None:
    ruleset = compile_rules(tmp_path, {"related": "parts", quantifier: condition})
    context = ruleset.context({"alto.parts": PARTS})
    decision = ruleset.evaluate("thing", THING, context)
    assert decision.included is expected
    assert decision.because[0].value == ["p1", "p2"]


def test_relation_keys_join_text_and_numbers(tmp_path: Path) -> None:
    ruleset = compile_rules(tmp_path, {"related": "parts", "any": {"field": "kind", "eq": "nut"}})
    context = ruleset.context({"alto.parts": PARTS})
    assert ruleset.evaluate("thing", {"id": 2}, context).included


def test_quantifiers_over_no_related_records(tmp_path: Path) -> None:
    ruleset = compile_rules(
        tmp_path,
        {"related": "parts", "all": {"field": "size", "gt": 0}},
        {"related": "parts", "none": {"field": "size", "gt": 0}},
    )
    assert ruleset.evaluate(
        "thing", {"id": "none"}, ruleset.context({"alto.parts": PARTS})
    ).included


def test_included_uses_the_related_entitys_rules(tmp_path: Path) -> None:
    ruleset = compile_rules(
        tmp_path,
        {"included": "parts"},
        part_include=[{"id": "P1", "when": {"field": "kind", "eq": "nut"}}],
    )
    context = ruleset.context({"alto.parts": PARTS})
    decision = ruleset.evaluate("thing", THING, context)
    assert decision.included
    assert decision.because[0].value == ["p2"]
    assert not ruleset.evaluate("thing", {"id": "9"}, context).included


def test_rule_reference(tmp_path: Path) -> None:
    rules = [{"id": "R1", "when": {"field": "kind", "eq": "Rent"}}]
    archive = [{"id": "A1", "when": {"not": {"rule": "R1"}}}]
    from engine import load_ruleset
    from tests.engine.rulesets import ruleset_data, write

    ruleset = load_ruleset(write(tmp_path, ruleset_data(rules, archive=archive)))
    entity, context = ruleset.entity("thing"), ruleset.context()
    assert entity.archive_reasons(THING, context) == ()
    reasons = entity.archive_reasons({**THING, "kind": "Sale"}, context)
    assert [str(reason) for reason in reasons] == [
        "A1: rule R1 = False, not (holds)",
        "R1: kind = 'Sale', not (= 'Rent')",
    ]


def test_skip_names_the_first_failing_rule_only(tmp_path: Path) -> None:
    ruleset = compile_rules(
        tmp_path,
        {"field": "kind", "eq": "Rent"},
        {"field": "size", "gt": 10},
        {"field": "status", "eq": "Nope"},
    )
    decision = ruleset.evaluate("thing", THING)
    assert decision.deciding_rules == ("R2",)
    assert [item.rule for item in decision.because] == ["R1", "R2"]
    assert decision.fields == {}


def test_unknown_entity_is_a_clear_error(tmp_path: Path) -> None:
    ruleset = compile_rules(tmp_path)
    with pytest.raises(EvaluationError, match=r"no entity 'thin' .*did you mean 'thing'"):
        ruleset.evaluate("thin", THING)
