"""Settings: declared with type, allowed values and default; overridden per agency."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine import RulesetErrors, load_ruleset
from tests.engine.rulesets import ruleset_data, write

KINDS = {
    "kinds": {"type": "list", "allowed": ["Rent", "Sale"], "default": ["Rent"]},
    "limit": {"type": "integer", "default": 3},
    "since": {"type": "date", "default": "2019-01-01"},
}
RULES = [
    {"id": "R1", "when": {"field": "kind", "in": {"setting": "kinds"}}},
    {"id": "R2", "when": {"field": "size", "lt": {"setting": "limit"}}},
    {"id": "R3", "when": {"field": "created", "after": {"setting": "since"}}},
]
THING = {"id": "1", "kind": "Sale", "size": 5, "created": "2020-01-01"}


def settings_file(tmp_path: Path, values: object, settings_for: str = "demo") -> Path:
    path = tmp_path / "agency.yaml"
    path.write_text(yaml.safe_dump({"settings_for": settings_for, "settings": values}), "utf-8")
    return path


def test_defaults_apply_without_settings(tmp_path: Path) -> None:
    ruleset = load_ruleset(write(tmp_path, ruleset_data(RULES, settings=KINDS)))
    assert dict(ruleset.settings) == {"kinds": ["Rent"], "limit": 3, "since": "2019-01-01"}
    assert ruleset.evaluate("thing", THING).deciding_rules == ("R1",)


def test_settings_file_changes_the_decision(tmp_path: Path) -> None:
    path = write(tmp_path, ruleset_data(RULES, settings=KINDS))
    ruleset = load_ruleset(
        path, settings=settings_file(tmp_path, {"kinds": ["Rent", "Sale"], "limit": 10})
    )
    assert ruleset.evaluate("thing", THING).included


def test_mapping_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, ruleset_data(RULES, settings=KINDS))
    assert (
        load_ruleset(path, settings={"kinds": ["Sale"], "limit": 9})
        .evaluate("thing", THING)
        .included
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"kind": ["Rent"]},
            "unknown-setting: the ruleset declares no setting 'kind' (did you mean 'kinds'?)",
        ),
        (
            {"kinds": ["Rnet"]},
            "bad-setting: setting 'kinds': 'Rnet' is not allowed; allowed: Rent, Sale "
            "(did you mean 'Rent'?)",
        ),
        (
            {"kinds": "Rent"},
            "bad-setting: setting 'kinds': expected a list of string values, got 'Rent'",
        ),
        ({"limit": "3"}, "bad-setting: setting 'limit': expected integer, got '3'"),
        ({"since": "2019-13-01"}, "bad-setting: setting 'since': expected date, got '2019-13-01'"),
    ],
)
def test_bad_override_is_located_in_the_settings_file(
    tmp_path: Path, values: dict[str, object], message: str
) -> None:
    path = write(tmp_path, ruleset_data(RULES, settings=KINDS))
    settings = settings_file(tmp_path, values)
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(path, settings=settings)
    (error,) = caught.value.errors
    assert (error.path, error.line) == (
        str(settings),
        3 if isinstance(values.get("kinds"), list) else 2,
    )
    assert f"{error.code}: {error.message}" == message


def test_settings_for_another_ruleset(tmp_path: Path) -> None:
    path = write(tmp_path, ruleset_data(RULES, settings=KINDS))
    with pytest.raises(RulesetErrors, match="wrong-ruleset: these settings are for 'other'"):
        load_ruleset(path, settings=settings_file(tmp_path, {}, settings_for="other"))


@pytest.mark.parametrize(
    ("declaration", "code"),
    [
        ({"type": "list", "allowed": ["A"], "default": ["B"]}, "bad-default"),
        ({"type": "string", "allowed": ["A", 1], "default": "A"}, "bad-setting"),
        ({"type": "integer", "default": 1.5}, "bad-default"),
        ({"type": "colour", "default": "red"}, "invalid-value"),
    ],
)
def test_bad_declarations(tmp_path: Path, declaration: dict[str, object], code: str) -> None:
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(write(tmp_path, ruleset_data([], settings={"s": declaration})))
    assert [error.code for error in caught.value.errors] == [code]


def test_setting_of_the_wrong_kind_for_an_operator(tmp_path: Path) -> None:
    rules = [{"id": "R1", "when": {"field": "kind", "in": {"setting": "limit"}}}]
    with pytest.raises(
        RulesetErrors, match="setting-type: setting 'limit' is a integer; 'in' needs a list"
    ):
        load_ruleset(write(tmp_path, ruleset_data(rules, settings=KINDS)))
