"""Mistakes in a ruleset: every one located, coded, sorted, with a hint to fix it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import RulesetErrors, load_ruleset
from tests.engine.rulesets import ruleset_data, write

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"


def errors_of(path: Path) -> list[str]:
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(path)
    return [f"{error.line}: {error.code}: {error.message}" for error in caught.value.errors]


def test_three_mistakes_on_known_lines_give_exactly_three_errors(tmp_path: Path) -> None:
    lines = RULESET.read_text("utf-8").splitlines()
    edits = [
        ("field: managementType,", "field: managementTyp,"),
        ("eq: MaintainedByUs", "equals: MaintainedByUs"),
        ("setting: property_statuses}", "setting: property_status}"),
    ]
    expected_lines = []
    for old, new in edits:
        (index,) = [number for number, line in enumerate(lines) if old in line]
        lines[index] = lines[index].replace(old, new)
        expected_lines.append(index + 1)
    changed = lines
    path = tmp_path / "v2.yaml"
    path.write_text("\n".join(changed) + "\n", "utf-8")
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(path)
    found = caught.value.errors
    assert [error.line for error in found] == expected_lines
    assert [error.code for error in found] == [
        "unknown-field",
        "unknown-operator",
        "unknown-setting",
    ]
    assert "did you mean 'managementType'?" in found[0].message
    assert "did you mean 'eq'?" in found[1].message
    assert "did you mean 'property_statuses'?" in found[2].message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"summary": 3}, "wrong-type: expected text, got the number 3"),
        ({"version": "one"}, "wrong-type: expected a whole number, got the text 'one'"),
        (
            {"ruleset": "Not A Name"},
            "invalid-value: 'Not A Name' is not well formed: use a lower-case name",
        ),
        ({"sumary": "x"}, "unknown-key: unknown key 'sumary' (did you mean 'summary'?)"),
    ],
)
def test_top_level_schema_errors(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    data = {**ruleset_data(), **change}
    assert any(expected in error for error in errors_of(write(tmp_path, data)))


def test_missing_required_keys(tmp_path: Path) -> None:
    data = ruleset_data()
    del data["summary"]
    assert errors_of(write(tmp_path, data)) == ["1: missing-key: missing key 'summary'"]


BAD_CONDITIONS: list[tuple[Any, str]] = [
    ({"field": "kind", "eq": "A", "in": ["B"]}, "conflicting-operators"),
    ({"field": "kind"}, "missing-operator"),
    ({"eq": "A"}, "missing-field"),
    (
        {"field": "knd", "eq": "A"},
        "unknown-field: alto.things has no field 'knd' (did you mean 'kind'?)",
    ),
    (
        {"field": "kind", "inn": ["A"]},
        "unknown-operator: unknown operator 'inn' (did you mean 'in'?)",
    ),
    (
        {"field": "kind", "in": "A"},
        "wrong-type: expected a list or {setting: NAME}, got the text 'A'",
    ),
    ({"field": "kind", "matches": "(a+)+$"}, "slow-regex"),
    ({"field": "kind", "matches": "(x"}, "bad-regex: /(x/ is not a valid RE2 regular expression"),
    ({"field": "kind", "matches": "(a)\\1"}, "bad-regex"),
    ({"field": "kind", "in": {"setting": "nope"}}, "unknown-setting"),
    ({"field": "size", "gt": "soon"}, "bad-date"),
    ({"field": "size", "before": "2019-02-30"}, "bad-date"),
    ({"field": "size", "gt": 1, "ignore_case": True}, "'ignore_case' applies to eq"),
    ({"field": "kind", "present": False}, "write 'present: true'"),
    (
        {"related": "prts", "any": {"field": "size", "gt": 1}},
        "unknown-relation: alto.things has no relation 'prts' (did you mean 'parts'?)",
    ),
    ({"related": "parts", "any": [{"field": "size", "gt": 1}]}, "takes one condition"),
    ({"related": "parts"}, "missing-operator"),
    ({"related": "parts", "any": {"field": "colour", "eq": 1}}, "alto.parts has no field 'colour'"),
    (
        {"included": "parts", "entity": "thing"},
        "unknown-entity: no entity 'thing' reads alto.parts",
    ),
    ({"rule": "R11"}, "unknown-rule: no rule has the id 'R11' (did you mean 'R1'?)"),
    ({"rule": "P1"}, "rule-source-mismatch"),
    ({"all": {"field": "kind", "eq": "A"}}, "'all' takes a list of conditions here"),
    (
        {"all": [{"field": "kind", "eq": "A"}], "any": [{"field": "kind", "eq": "B"}]},
        "'all' and 'any' are both here",
    ),
    ({}, "the mapping is empty"),
]


@pytest.mark.parametrize(("condition", "expected"), BAD_CONDITIONS)
def test_bad_condition(tmp_path: Path, condition: Any, expected: str) -> None:
    rules = [{"id": "R1", "when": {"field": "kind", "eq": "A"}}, {"id": "R2", "when": condition}]
    part = [{"id": "P1", "when": {"field": "kind", "eq": "x"}}]
    found = errors_of(write(tmp_path, ruleset_data(rules, part_include=part)))
    assert len(found) == 1, found
    assert expected in found[0]


BAD_VALUES: list[tuple[Any, str]] = [
    ({"uper": "name"}, "unknown-transform: unknown transform 'uper' (did you mean 'upper'?)"),
    (
        {"lookup": "kind", "table": "colors"},
        "unknown-table: no table 'colors' (did you mean 'colours'?)",
    ),
    ({"lookup": "kind"}, "'lookup' needs 'table: NAME'"),
    ({"date": "created", "pattern": "%Q"}, "bad-date-format"),
    ({"format": "{id!r}"}, "bad-format"),
    ({"format": "{id"}, "bad-format"),
    ({"format": "{nme}"}, "unknown-field: alto.things has no field 'nme' (did you mean 'name'?)"),
    ({"upper": "name", "sep": ","}, "conflicting-transforms: 'sep' does not go with 'upper'"),
    ({"upper": "name", "lower": "name"}, "'upper' and 'lower' are both here"),
    ({"default": 1}, "missing-transform"),
    ({"related": "parts"}, "'related' needs 'value:'"),
    ("owner..name", "invalid-value: 'owner..name' is not well formed"),
]


@pytest.mark.parametrize(("spec", "expected"), BAD_VALUES)
def test_bad_value(tmp_path: Path, spec: Any, expected: str) -> None:
    data = ruleset_data(map_={"Out": spec}, tables={"colours": {"red": "R"}})
    found = errors_of(write(tmp_path, data))
    assert len(found) == 1, found
    assert expected in found[0]


def test_duplicate_rule_id_names_the_first(tmp_path: Path) -> None:
    rules = [
        {"id": "R1", "when": {"field": "kind", "eq": "A"}},
        {"id": "R1", "when": {"field": "size", "gt": 1}},
    ]
    (found,) = errors_of(write(tmp_path, ruleset_data(rules)))
    assert "duplicate-rule-id: rule id 'R1' is already used on line" in found


def test_cycle_through_included(tmp_path: Path) -> None:
    rules = [{"id": "R1", "when": {"included": "parts"}}]
    part = [{"id": "P1", "when": {"included": "thing"}}]
    (found,) = errors_of(write(tmp_path, ruleset_data(rules, part_include=part)))
    assert "cycle: this reference makes a cycle (R1 -> part -> P1 -> thing -> R1)" in found


def test_rules_that_can_never_hold_together(tmp_path: Path) -> None:
    rules = [
        {"id": "R1", "when": {"field": "kind", "eq": "Rent"}},
        {"id": "R2", "when": {"all": [{"field": "kind", "in": ["Sale", "Other"]}]}},
    ]
    (found,) = errors_of(write(tmp_path, ruleset_data(rules)))
    assert "contradiction: rule 'R2' can never hold together with rule 'R1'" in found


def test_list_fields_are_not_contradictions(tmp_path: Path) -> None:
    rules = [
        {"id": "R1", "when": {"field": "tags", "eq": "Gas"}},
        {"id": "R2", "when": {"field": "tags", "eq": "Oil"}},
    ]
    assert load_ruleset(write(tmp_path, ruleset_data(rules))).rule_count == 2


def test_conflicting_map_targets(tmp_path: Path) -> None:
    (found,) = errors_of(
        write(tmp_path, ruleset_data(map_={"Address": "name", "Address.Town": "name"}))
    )
    assert "conflicting-target: 'Address.Town' and 'Address' write the same place" in found


def test_version_must_match_the_file_name(tmp_path: Path) -> None:
    found = errors_of(write(tmp_path, ruleset_data(), name="v2.yaml"))
    assert found == [
        "2: version-mismatch: version is 1 but the file is named v2.yaml; rename "
        "the file or fix the version"
    ]


def test_unknown_source_and_relation_target(tmp_path: Path) -> None:
    data = ruleset_data()
    data["entities"]["thing"]["from"] = "alto.thing"
    data["sources"] = {
        **data["sources"],
        "alto.extra": {
            "key": "id",
            "fields": ["id"],
            "relations": {"x": {"to": "alto.prts", "field": "id", "to_field": "id"}},
        },
    }
    found = errors_of(write(tmp_path, data))
    assert any(
        "unknown-source: no source 'alto.thing' is declared (did you mean 'alto.things'?)" in e
        for e in found
    )
    assert any(
        "unknown-source: no source 'alto.prts' is declared (did you mean 'alto.parts'?)" in e
        for e in found
    )


def test_errors_are_sorted_and_unique(tmp_path: Path) -> None:
    rules = [{"id": f"R{n}", "when": {"field": f"nope{n}", "eq": 1}} for n in range(5)]
    found = errors_of(write(tmp_path, ruleset_data(list(reversed(rules)))))
    lines = [int(error.split(":")[0]) for error in found]
    assert lines == sorted(lines)
    assert len(set(found)) == len(found) == 5
