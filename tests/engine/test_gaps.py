"""Declared gaps (``gaps:``): validated references, did-you-mean, located errors, the
compiled `Gap` and `rulebridge validate`'s notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import load_ruleset
from rulebridge.cli import main
from tests.engine.rulesets import ruleset_data, write
from tests.engine.test_ruleset_errors import errors_of

RULESET = Path(__file__).resolve().parents[2] / "rulesets" / "alto-fixflo" / "v2.yaml"


def with_gap(**changes: Any) -> dict[str, Any]:
    """A ruleset with one rule (R1), one setting and one gap changed by `changes`."""
    data = ruleset_data(
        [{"id": "R1", "when": {"field": "kind", "eq": "A"}}],
        settings={"kinds": {"type": "list", "allowed": ["A", "B"], "default": ["A"]}},
    )
    gap = {
        "id": "gap.size",
        "rules": ["G-02", "R1"],
        "missing": "A size on parts.",
        "instead": "The thing's size is read.",
        "uses": {"field": "alto.things.size"},
    }
    data["gaps"] = [{**gap, **changes}]
    return data


def test_a_gap_compiles_with_its_rules_and_what_it_uses(tmp_path: Path) -> None:
    (gap,) = load_ruleset(write(tmp_path, with_gap())).gaps
    assert (gap.id, gap.rules, gap.uses) == (
        "gap.size",
        ("G-02", "R1"),
        ("field", "alto.things.size"),
    )
    assert gap.line > 1
    assert gap.note() == (
        "gap.size (G-02, R1): missing: A size on parts. Instead: The thing's size is read. "
        "Uses field alto.things.size."
    )


@pytest.mark.parametrize(
    ("uses", "expected"),
    [
        ({"setting": "kinds"}, ("setting", "kinds")),
        ({"listing": "R1"}, ("listing", "R1")),
        ({"none": True}, ("none", "")),
    ],
)
def test_a_gap_may_use_a_setting_a_listing_or_nothing(
    tmp_path: Path, uses: dict[str, Any], expected: tuple[str, str]
) -> None:
    (gap,) = load_ruleset(write(tmp_path, with_gap(uses=uses))).gaps
    assert gap.uses == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"rules": ["R2"]}, "unknown-rule: no rule 'R2' in this ruleset (did you mean 'R1'?)"),
        ({"rules": ["g-02"]}, "unknown-rule: no rule 'g-02' in this ruleset"),
        (
            {"uses": {"field": "alto.things.sise"}},
            "unknown-field: alto.things has no field 'sise' (did you mean 'size'?)",
        ),
        (
            {"uses": {"field": "alto.thing.size"}},
            "unknown-source: no source 'alto.thing' is declared (did you mean 'alto.things'?)",
        ),
        (
            {"uses": {"setting": "kind"}},
            "unknown-setting: no setting 'kind' (did you mean 'kinds'?)",
        ),
        ({"uses": {"listing": "R9"}}, "unknown-rule: no rule 'R9' (did you mean 'R1'?)"),
        (
            {"uses": {"none": False}},
            "wrong-type: expected one of {field: system.collection.path}, {setting: name}, "
            "{listing: rule-id}, {none: true}, got a mapping",
        ),
        ({"missing": ""}, "invalid-value: the text is empty"),
        ({"id": "R1"}, "duplicate-rule-id: rule id 'R1' is already used on line"),
    ],
)
def test_a_mistake_in_a_gap_is_located_with_a_hint(
    tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    errors = errors_of(write(tmp_path, with_gap(**changes)))
    assert any(expected in error for error in errors), errors


def test_a_gap_without_what_it_uses_is_a_schema_error(tmp_path: Path) -> None:
    data = with_gap()
    del data["gaps"][0]["uses"]
    assert any("uses" in error for error in errors_of(write(tmp_path, data)))


def test_the_shipped_ruleset_declares_every_gap_of_the_contracts() -> None:
    gaps = {gap.id: gap for gap in load_ruleset(RULESET).gaps}
    covered = {rule for gap in gaps.values() for rule in gap.rules}
    # OID, supplier active flag and people, welcome emails, G-07 settings, tenancy status,
    # the tenant id, the landlord lookup (contracts/ and the issue-13 design).
    assert {"G-02", "P-07", "C-03", "C-01", "G-06", "G-07", "T-01", "T-03", "G-04"} <= covered
    assert gaps["gap.welcome-email"].uses == ("none", "")
    assert gaps["gap.fixflo-settings"].uses[0] == "setting"


def test_validate_prints_each_gap_as_a_note_under_the_ok_line() -> None:
    result = CliRunner().invoke(main, ["validate", str(RULESET)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert ": ok: ruleset alto-fixflo v2" in lines[0]
    notes = [line for line in lines[1:] if line.startswith("  note: gap ")]
    assert len(notes) == len(load_ruleset(RULESET).gaps) == len(lines) - 1
    assert any("gap.oid (G-02, P-07, C-03): missing: Alto's OID" in note for note in notes)
