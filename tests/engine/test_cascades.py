"""One mistake, one error: single mutations of the shipped rulesets and what each deserves.

Each case changes one thing in a shipped ruleset and expects exactly the errors that change
deserves (one, at or naming its line): not also an "undeclared setting" wherever a setting
with a bad default is used, nor an "unknown field" at every reader of a misspelt field.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine import load_ruleset
from engine.errors import RulesetError, RulesetErrors

ROOT = Path(__file__).resolve().parents[2]
ALTO = ROOT / "rulesets/alto-fixflo/v2.yaml"
JUPIX = ROOT / "rulesets/jupix-alto/v1.yaml"


def mutate(tmp_path: Path, shipped: Path, old: str, new: str) -> tuple[list[RulesetError], int]:
    """The errors of `shipped` with the first `old` replaced by `new`, and the line changed."""
    text = shipped.read_text("utf-8")
    assert old in text, old
    at = text.index(old)
    line = text.count("\n", 0, at) + 1 + len(re.match(r"\n*", old).group())  # type: ignore[union-attr]
    path = tmp_path / shipped.name
    path.write_text(text.replace(old, new, 1), "utf-8")
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(path)
    return caught.value.errors, line


def only(errors: list[RulesetError]) -> RulesetError:
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def test_a_bad_default_is_one_error_not_also_an_undeclared_setting_at_each_use(
    tmp_path: Path,
) -> None:
    """P-05's setting: its bad default used to make P-05 say the setting is undeclared."""
    errors, line = mutate(tmp_path, ALTO, "default: [Residential]", "default: [Residental]")
    error = only(errors)
    assert (error.line, error.code) == (line, "bad-default")
    assert "did you mean 'Residential'" in error.message


def test_a_bad_default_of_a_setting_used_in_gaps_and_the_lifecycle(tmp_path: Path) -> None:
    errors, line = mutate(
        tmp_path,
        ALTO,
        "    default: Landlord\n    summary: >\n      CH-02",
        "    default: Lanlord\n    summary: >\n      CH-02",
    )
    assert [(error.line, error.code) for error in errors] == [(line, "bad-default")]


def test_a_setting_of_an_unknown_type_is_one_error(tmp_path: Path) -> None:
    errors, line = mutate(
        tmp_path, ALTO, "  paying_party:\n    type: string", "  paying_party:\n    type: strin"
    )
    error = only(errors)
    assert (error.line, error.code) == (line + 1, "invalid-value")


def test_a_misspelt_setting_declaration_is_one_error_at_it(tmp_path: Path) -> None:
    """Used by a gap and a charge rule: one error at the declaration naming both lines."""
    errors, line = mutate(
        tmp_path, ALTO, "\n  paying_party:\n    type:", "\n  paying_partie:\n    type:"
    )
    error = only(errors)
    assert (error.line, error.code) == (line, "unknown-setting")
    assert "'paying_partie' is declared but never used" in error.message
    assert re.search(r"'paying_party' is used on lines \d+, \d+", error.message)


def test_a_misspelt_setting_reference_is_one_error_at_it(tmp_path: Path) -> None:
    errors, line = mutate(
        tmp_path, ALTO, "in: {setting: property_categories}", "in: {setting: property_categorie}"
    )
    error = only(errors)
    assert (error.line, error.code) == (line, "unknown-setting")
    assert "did you mean 'property_categories'" in error.message


def test_a_misspelt_source_field_declaration_is_one_error_at_it(tmp_path: Path) -> None:
    """P-02 and the management-type gap read managementType: one error, at the list."""
    errors, line = mutate(
        tmp_path, ALTO, " managementType, maintenanceType,", " managementTyp, maintenanceType,"
    )
    error = only(errors)
    assert (error.line, error.code) == (line, "unknown-field")
    assert "field 'managementTyp' is declared but never used" in error.message


def test_a_misspelt_field_in_a_rule_is_one_error_at_it(tmp_path: Path) -> None:
    errors, line = mutate(tmp_path, ALTO, "field: managementType,", "field: managementTyp,")
    assert [(error.line, error.code) for error in errors] == [(line, "unknown-field")]


def test_a_relation_to_an_unknown_source_is_one_error(tmp_path: Path) -> None:
    errors, line = mutate(
        tmp_path, ALTO, "tenancies: {to: alto.tenancies,", "tenancies: {to: alto.tenancie,"
    )
    error = only(errors)
    assert (error.line, error.code) == (line, "unknown-source")


def test_a_misspelt_relation_declaration_used_three_times_is_one_error(tmp_path: Path) -> None:
    """alto.tenancy_tenants' relation 'tenancy' is followed by three rules."""
    errors, line = mutate(
        tmp_path, ALTO, "      tenancy: {to: alto.tenancies", "      tenancx: {to: alto.tenancies"
    )
    error = only(errors)
    assert (error.line, error.code) == (line, "unknown-relation")
    assert "'tenancx' is declared but never used" in error.message


def test_a_misspelt_source_declaration_is_one_error(tmp_path: Path) -> None:
    """The relations into it and the rules following them are not reported again."""
    errors, line = mutate(tmp_path, ALTO, "\n  alto.tenancies:\n", "\n  alto.tenancie:\n")
    error = only(errors)
    assert (error.line, error.code) == (line, "unknown-source")


def test_a_bad_entity_target_is_one_error(tmp_path: Path) -> None:
    errors, line = mutate(
        tmp_path,
        ALTO,
        "from: alto.contacts\n    to: fixflo.tenants",
        "from: alto.contacts\n    to: fixflo.tenant",
    )
    error = only(errors)
    assert (error.line, error.code) == (line + 1, "unknown-target")
    assert "did you mean 'fixflo.tenants'" in error.message


def test_an_entity_reading_an_unknown_source_is_one_error(tmp_path: Path) -> None:
    """Rules including related occupiers and properties are not "unknown entity" too."""
    for old in ("from: alto.contacts\n    to: fixflo.tenants", "    from: alto.inventory\n"):
        errors, line = mutate(tmp_path, ALTO, old, old.replace("from: alto.", "from: alto.x"))
        error = only(errors)
        assert (error.line, error.code) == (line, "unknown-source")


def test_a_misspelt_key_is_not_also_a_missing_key(tmp_path: Path) -> None:
    errors, line = mutate(tmp_path, ALTO, "\n    type: boolean\n", "\n    typ: boolean\n")
    error = only(errors)
    assert (error.line, error.code) == (line, "unknown-key")
    assert "did you mean 'type'" in error.message


def test_jupix_a_misspelt_entity_source_hides_none_of_its_rules(tmp_path: Path) -> None:
    """J-01 belongs to the applicants' entity: not also "no rule has the id 'J-01'"."""
    errors, line = mutate(tmp_path, JUPIX, "from: jupix.applicants", "from: jupix.applicantx")
    assert [(error.line, error.code) for error in errors] == [(line, "unknown-source")]


def test_jupix_a_bad_date_default_is_one_error(tmp_path: Path) -> None:
    errors, line = mutate(tmp_path, JUPIX, 'default: "2019-01-01"', 'default: "2019-13-01"')
    assert [(error.line, error.code) for error in errors] == [(line, "bad-default")]


def test_jupix_a_misspelt_list_field_declaration_is_one_error(tmp_path: Path) -> None:
    """Read as ``ownerContactIDs[]`` and as ``ownerContactIDs``: one field, one error."""
    text = JUPIX.read_text("utf-8")
    declared = re.search(r"ownerContactIDs(?:\[\])?(?=[,\]\s])", text)
    assert declared is not None
    errors, line = mutate(tmp_path, JUPIX, declared.group(), declared.group().replace("IDs", "IDx"))
    error = only(errors)
    assert (error.line, error.code) == (line, "unknown-field")


def test_an_attachment_from_an_unknown_part_is_one_error(tmp_path: Path) -> None:
    """W-09's completion documents: the status attaching them does not echo the mistake."""
    errors, line = mutate(
        tmp_path,
        ALTO,
        "      from: CompletionDocs\n      names:",
        "      from: CompletionDocx\n      names:",
    )
    error = only(errors)
    assert (error.line, error.code) == (line, "unknown-document-source")
