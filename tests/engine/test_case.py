"""The ``case``, ``as_of``, ``digits``, ``extract`` and ``list`` transforms: values and
located errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine import RulesetErrors, load_ruleset
from engine.language.operators.case import CaseValue
from tests.engine.rulesets import ruleset_data, write

THING = {
    "id": "7",
    "kind": "rent",
    "status": "Let",
    "size": 3,
    "name": "Ann Lee",
    "phones": [{"number": "+44 (0)113 496-0000"}],
    "tags": ["Gas", ""],
}
PARTS = [{"id": "p1", "thingId": "7", "size": 9, "kind": "nut"}]
STATUS_CASE = {
    "case": [
        {"id": "S-1", "when": {"field": "kind", "eq": "sale"}, "value": {"const": "ForSale"}},
        {
            "id": "S-2",
            "when": {"related": "parts", "any": {"field": "size", "gt": 5}},
            "value": {"const": "Big"},
        },
    ],
    "else": "status",
}


def value_of(tmp_path: Path, spec: Any, record: Any = THING, **extra: Any) -> Any:
    tmp_path.mkdir(parents=True, exist_ok=True)
    ruleset = load_ruleset(write(tmp_path, ruleset_data(map_={"Out": spec}, **extra)))
    context = ruleset.context({"alto.parts": PARTS}, as_of=date(2025, 6, 2))
    return ruleset.evaluate("thing", record, context).fields["Out"]


def errors(tmp_path: Path, spec: Any) -> list[str]:
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(write(tmp_path, ruleset_data(map_={"Out": spec})))
    return [f"{error.code}: {error.message}" for error in caught.value.errors]


@pytest.mark.parametrize(
    ("record", "expected"),
    [({**THING, "kind": "sale"}, "ForSale"), (THING, "Big"), ({**THING, "id": "8"}, "Let")],
)
def test_case_gives_the_first_branch_that_holds_else_the_else(
    tmp_path: Path, record: Any, expected: str
) -> None:
    assert value_of(tmp_path, STATUS_CASE, record) == expected


def test_case_without_else_is_missing_and_takes_a_default(tmp_path: Path) -> None:
    spec = {"case": [{"when": {"field": "kind", "eq": "sale"}, "value": "id"}]}
    assert value_of(tmp_path, spec) is None
    assert value_of(tmp_path / "d", {**spec, "default": "none"}) == "none"


def test_case_explains_which_rule_decided(tmp_path: Path) -> None:
    ruleset = load_ruleset(write(tmp_path, ruleset_data(map_={"Out": STATUS_CASE})))
    ((_, value),) = ruleset.entity("thing").fields
    assert isinstance(value, CaseValue)
    context = ruleset.context({"alto.parts": PARTS})
    found, because = value.explain(THING, context)
    assert found == "Big"
    assert because is not None
    assert because.rule == "S-2"
    assert "'Big'" in str(because)
    assert value.explain({**THING, "id": "8"}, context) == ("Let", None)


def test_as_of_digits_and_list(tmp_path: Path) -> None:
    assert value_of(tmp_path / "a", {"as_of": "%d/%m/%Y"}) == "02/06/2025"
    assert value_of(tmp_path / "b", {"digits": "phones[0].number"}) == "4401134960000"
    assert value_of(tmp_path / "c", {"list": ["name", "tags"]}) == ["Ann Lee", "Gas"]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"extract": "name", "pattern": "^(\\w+)"}, "Ann"),  # the first group
        ({"extract": "name", "pattern": "L\\w+"}, "Lee"),  # no group: the whole match
        ({"extract": "name", "pattern": "(x)?(Lee)"}, "Lee"),  # the first group that matched
        ({"extract": "name", "pattern": "^Bob"}, None),  # no match: nothing
        ({"extract": "name", "pattern": "^Bob", "default": "?"}, "?"),
        ({"extract": "tags", "pattern": "^(.)"}, ["G", None]),  # each item of a list
        ({"extract": "size", "pattern": "3"}, 3),  # not text: as it is
    ],
)
def test_extract_takes_the_part_a_pattern_finds(tmp_path: Path, spec: Any, expected: Any) -> None:
    assert value_of(tmp_path, spec) == expected


@pytest.mark.req("G-02")
def test_extract_reads_the_alto_id_out_of_an_id_oid_reference(tmp_path: Path) -> None:
    spec = {"extract": "id", "pattern": "^([^/]+)"}
    assert value_of(tmp_path / "a", spec, {**THING, "id": "100020/OID-000020"}) == "100020"
    assert value_of(tmp_path / "b", spec, {**THING, "id": "100020"}) == "100020"


def test_as_of_marks_the_ruleset_as_needing_a_date(tmp_path: Path) -> None:
    ruleset = load_ruleset(write(tmp_path, ruleset_data(map_={"Out": {"as_of": "%Y"}})))
    assert ruleset.uses_as_of


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"case": [{"when": {"field": "kind", "eq": "x"}}]}, "missing-key: missing key 'value'"),
        (
            {"case": [{"when": {"field": "kind", "eq": "x"}, "value": "id", "vlaue": 1}]},
            "did you mean",
        ),
        (
            {"case": [{"when": {"field": "knid", "eq": "x"}, "value": "id"}]},
            "unknown-field: alto.things has no field 'knid' (did you mean 'kind'?)",
        ),
        (
            {"case": [{"id": "R1", "when": {"field": "kind", "eq": "x"}, "value": "id"}]},
            "duplicate-rule-id",
        ),
        (
            {"case": [{"when": {"field": "kind", "eq": "x"}, "value": "id"}], "els": "id"},
            "did you mean 'else'",
        ),
        ({"as_of": "%Q"}, "bad-date-format"),
        ({"digits": "nmae"}, "did you mean 'name'"),
        ({"extract": "name"}, "missing-pattern: 'extract' needs 'pattern:'"),
        ({"extract": "name", "pattern": "(a+)+"}, "slow-regex"),
        ({"extract": "name", "pattern": "(unclosed"}, "bad-regex"),
        ({"extract": "nmae", "pattern": "x"}, "did you mean 'name'"),
        ({"list": ["id", {"lowr": "name"}]}, "lower"),
    ],
)
def test_misuse_is_a_located_error_with_a_hint(tmp_path: Path, spec: Any, expected: str) -> None:
    data = ruleset_data(
        [{"id": "R1", "when": {"field": "id", "present": True}}], map_={"Out": spec}
    )
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(write(tmp_path, data))
    messages = [f"{error.code}: {error.message}" for error in caught.value.errors]
    assert any(expected in message for message in messages), messages
    assert all(error.line > 1 for error in caught.value.errors)


def test_two_branches_may_not_share_an_id(tmp_path: Path) -> None:
    branch = {"id": "B-1", "when": {"field": "kind", "eq": "x"}, "value": "id"}
    messages = errors(tmp_path, {"case": [branch, branch]})
    assert any("duplicate-rule-id" in message and "B-1" in message for message in messages)
