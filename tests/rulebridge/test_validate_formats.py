"""`rulebridge validate` for a CI and an editor: JSON, GitHub annotations, every kind of file.

A file is recognised by its keys: rulesets, settings files (``settings_for:`` may name a
version), agency configs (checked as configs, with the ruleset and settings they name),
ruleset test files (through the simulator's loader) and scenarios.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import click.testing
import pytest
from click.testing import CliRunner

from engine import check_paths, load_ruleset
from engine.errors import RulesetErrors
from rulebridge.cli import main
from rulebridge.cli.validate import github_escape

ROOT = Path(__file__).resolve().parents[2]
ALTO = ROOT / "rulesets/alto-fixflo/v2.yaml"
SETTINGS = ROOT / "rulesets/alto-fixflo/agency.example.yaml"
CONFIG = """\
agency: acme
ruleset: {ruleset}
settings: {settings}
fixflo:
  base_url: https://acme.fixflo.com/api/v2
  token_env: ACME_FIXFLO_TOKEN
"""


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, ["validate", *args])


def broken(tmp_path: Path, name: str = "v1.yaml") -> Path:
    path = tmp_path / name
    path.write_text("ruleset: demo\nversion: 1\nsumary: '50% done'\n", "utf-8")
    return path


def test_json_is_one_document_with_every_file_and_error(tmp_path: Path) -> None:
    bad = broken(tmp_path)
    result = run("--format", "json", str(ALTO), str(bad))
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["errors"] == 1
    good, failed = document["files"]
    assert good["path"] == str(ALTO)
    assert good["kind"] == "ruleset"
    assert good["ok"] is True
    assert good["errors"] == []
    assert good["summary"].startswith("ruleset alto-fixflo v2, ")
    assert failed["ok"] is False
    assert failed["summary"] == "1 error"
    assert failed["errors"] == [  # not also "missing key 'summary'": the hint says it
        {
            "path": str(bad),
            "line": 3,
            "column": 1,
            "code": "unknown-key",
            "message": "unknown key 'sumary' (did you mean 'summary'?)",
        },
    ]


def test_json_of_valid_files_exits_0() -> None:
    result = run("--format", "json", str(ALTO.parent))
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["errors"] == 0
    assert {file["kind"] for file in document["files"]} >= {"ruleset", "settings"}


def test_github_annotations_escape_data_and_properties(tmp_path: Path) -> None:
    """GitHub's rules: %, CR and LF in the message; and also : and , in a property."""
    folder = tmp_path / "a,b:c"
    folder.mkdir()
    bad = folder / "v1.yaml"
    bad.write_text("ruleset: demo\nversion: 1\nsummary: s\n'50%': 1\n'50%': 2\n", "utf-8")
    result = run("--format", "github", str(bad))
    assert result.exit_code == 1
    escaped = str(bad).replace(":", "%3A").replace(",", "%2C")
    lines = result.stdout.splitlines()
    assert (
        f"::error file={escaped},line=5,col=1,title=duplicate-key::"
        "key '50%25' is already set on line 4; keep one"
    ) in lines
    assert all(line.startswith(f"::error file={escaped},line=") for line in lines)
    assert "2 errors in 1 of 1 file" in result.stderr


def test_github_escape_follows_the_toolkit() -> None:
    assert github_escape("a%b\r\nc:d,e") == "a%25b%0D%0Ac:d,e"
    assert github_escape("a%b\r\nc:d,e", in_property=True) == "a%25b%0D%0Ac%3Ad%2Ce"


def test_github_lists_the_gaps_of_a_valid_ruleset_as_notices() -> None:
    result = run("--format", "github", str(ALTO))
    assert result.exit_code == 0
    notices = result.stdout.splitlines()
    assert notices
    assert all(re.match(r"::notice file=.+,line=\d+,col=1,title=gap::gap\.", n) for n in notices)


def test_a_syntax_error_is_in_plain_words_with_a_caret(tmp_path: Path) -> None:
    bad = tmp_path / "v1.yaml"
    bad.write_text("ruleset: demo\nsummary: a: b\n", "utf-8")
    result = run(str(bad))
    assert result.exit_code == 1
    first, source, caret = result.stdout.splitlines()
    assert first == (
        f"{bad}:2:11: yaml-syntax: a mapping value is not allowed here: is a colon missing a "
        "space after it, is the line indented too far, or should the value be quoted?"
    )
    assert source == "    2 | summary: a: b"
    assert caret.index("^") == source.index("a: b") + 1


def test_an_agency_config_is_validated_as_a_config(tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(CONFIG.format(ruleset=ALTO, settings=SETTINGS), "utf-8")
    result = run(str(config))
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"{config}: ok: agency config acme, reaches fixflo, runs alto-fixflo v2 with "
        "agency.example.yaml\n"
    )


def test_a_broken_agency_config_gets_config_errors_not_ruleset_errors(tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    text = CONFIG.format(ruleset=ALTO, settings=SETTINGS).replace("token_env", "tokn_env")
    config.write_text(text + "timeout_seconds: 0\n", "utf-8")
    result = run("--format", "json", str(config))
    assert result.exit_code == 1
    [file] = json.loads(result.stdout)["files"]
    assert file["kind"] == "agency"
    assert [(e["line"], e["code"]) for e in file["errors"]] == [
        (6, "unknown-key"),  # tokn_env (did you mean 'token_env'?): not also a missing key
        (7, "invalid-value"),
    ]


def test_an_agency_config_naming_a_missing_or_broken_ruleset(tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(CONFIG.format(ruleset="v9.yaml", settings=SETTINGS), "utf-8")
    result = run(str(config))
    assert result.exit_code == 1
    assert result.stdout.startswith(
        f"{config}:2:10: missing-file: ruleset file '{tmp_path / 'v9.yaml'}' does not exist"
    )
    bad = broken(tmp_path)
    config.write_text(CONFIG.format(ruleset=bad.name, settings=SETTINGS), "utf-8")
    result = run(str(config))
    assert result.exit_code == 1
    assert f"{bad}:3:1: unknown-key: unknown key 'sumary'" in result.stdout


def test_settings_for_may_name_a_version(tmp_path: Path) -> None:
    shutil.copy(ALTO, tmp_path / "v2.yaml")
    settings = tmp_path / "agency.yaml"
    text = SETTINGS.read_text("utf-8")
    settings.write_text(text.replace("settings_for: alto-fixflo", "settings_for: alto-fixflo/v2"))
    result = run(str(settings))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{settings}: ok: settings for alto-fixflo/v2, 10 overrides\n"
    assert load_ruleset(tmp_path / "v2.yaml", settings=settings).settings["paying_party"]


def test_an_unknown_version_is_a_located_error_listing_those_found(tmp_path: Path) -> None:
    shutil.copy(ALTO, tmp_path / "v2.yaml")
    settings = tmp_path / "agency.yaml"
    text = SETTINGS.read_text("utf-8")
    settings.write_text(text.replace("settings_for: alto-fixflo", "settings_for: alto-fixflo/v3"))
    [result] = check_paths([settings])
    [error] = result.errors
    assert (error.line, error.code) == (4, "unknown-ruleset")
    assert error.message.endswith("found: alto-fixflo/v2")
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(tmp_path / "v2.yaml", settings=settings)
    assert [e.code for e in caught.value.errors] == ["wrong-ruleset"]
    assert "not for ruleset 'alto-fixflo' v2" in caught.value.errors[0].message


def test_check_paths_leaves_test_files_and_scenarios_out(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(f"tests_for: {ALTO}\ncases: []\n", "utf-8")
    (tmp_path / "s.yaml").write_text("scenario: s\nsteps: [{event: report}]\n", "utf-8")
    assert check_paths([tmp_path]) == []


def test_a_ruleset_test_file_is_validated_by_the_test_loader(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        f"tests_for: {ALTO}\ncases:\n  - name: a sale is not synced\n    entity: property\n"
        "    record: {inventoryId: '1', recordType: Sale}\n    expect: {skipped_by: P-01}\n",
        "utf-8",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text("utf-8").replace("entity: property", "entity: proprety"))
    result = run(str(good), str(bad))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{good}: ok: tests for {ALTO}, 1 case"
    assert lines[1].startswith(f"{bad}:4:13: ")
    assert "did you mean 'property'" in lines[1]


def test_a_scenario_is_checked_against_the_lifecycle_named_with_it(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("scenario: s\nsteps: [{event: report}, {event: instrct}]\n", "utf-8")
    alone = run(str(scenario))
    assert alone.exit_code == 1
    assert f"{scenario}:1:1: no-lifecycle: " in alone.stdout
    result = run(str(ALTO), str(scenario))
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(scenario))}:2:\d+: \S+: .*'instrct'", result.stdout)
