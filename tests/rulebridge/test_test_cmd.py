"""`rulebridge test`: exit codes, text and JSON output, coverage, --min-coverage, --junit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from rulebridge.cli.test import run_tests_command

ROOT = Path(__file__).resolve().parents[2]
ALTO = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
GOOD = """
cases:
  - name: a sale is not synced
    requirements: [P-01]
    entity: property
    record: {inventoryId: "1", recordType: Sale}
    expect: {skipped_by: P-01}
"""
BAD = """
cases:
  - name: a sale is included
    entity: property
    record: {inventoryId: "1", recordType: Sale}
    expect: {included: true}
"""


def write(folder: Path, body: str, name: str = "t.yaml") -> Path:
    path = folder / name
    path.write_text(f"tests_for: {ALTO}\n{body}", "utf-8")
    return path


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(run_tests_command, ["--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_passing_cases_exit_0_and_say_so(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(run_tests_command, [str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: ok: 1 of 1 cases passed" in result.output
    assert "1 case: 1 passed, 0 failed" in result.output


def test_a_failing_case_exits_1_with_its_located_failure(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    result = CliRunner().invoke(run_tests_command, [str(path)])
    assert result.exit_code == 1
    assert (
        f"{path}:7: case a sale is included: expected included True, got skipped by P-01"
        in result.output
    )
    assert "    because P-01: recordType = 'Sale', not = 'Rent'" in result.output
    assert "Traceback" not in result.output


def test_an_invalid_file_exits_1_with_every_error_located(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(f"tests_for: {ALTO}\ncases:\n  - name: x\n    entty: property\n", "utf-8")
    result = CliRunner().invoke(run_tests_command, [str(path)])
    assert result.exit_code == 1
    assert f"{path}:4:5: unknown-key: unknown key 'entty' (did you mean 'entity'?)" in (
        result.output
    )
    assert "1 test file could not be loaded" in result.output


def test_no_test_files_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("ruleset: x\n", "utf-8")
    result = CliRunner().invoke(run_tests_command, [str(tmp_path)])
    assert result.exit_code == 64
    assert "no test files" in result.output


def test_json_output_is_one_document(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, BAD, "u.yaml")
    result = CliRunner().invoke(run_tests_command, [str(tmp_path), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert (data["cases"], data["failed"], data["passed"]) == (2, 1, False)
    failed = next(case for case in data["results"] if not case["passed"])
    assert failed["failures"][0]["expected"] == "True"
    assert data["coverage"][0]["kinds"][0]["kind"] == "rule"


def line_of(rule: str) -> int:
    """The line of the ruleset that declares `rule` (``{id: RULE, ...}``)."""
    lines = Path(ALTO).read_text("utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if f"id: {rule}," in line)


def test_min_coverage_fails_below_it_and_lists_what_is_uncovered(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    low = CliRunner().invoke(run_tests_command, [str(tmp_path), "--min-coverage", "0"])
    assert low.exit_code == 0, low.output
    high = CliRunner().invoke(run_tests_command, [str(tmp_path), "--min-coverage", "50"])
    assert high.exit_code == 1
    assert "is below the minimum 50%" in high.output
    assert f"{ALTO}:{line_of('P-02')}: rule P-02 is not covered" in high.output
    assert "rule P-01 is not covered" not in high.output


def test_junit_is_written_for_ci(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    out = tmp_path / "reports" / "junit.xml"
    result = CliRunner().invoke(run_tests_command, [str(tmp_path), "--junit", str(out)])
    assert result.exit_code == 0, result.output
    case = ET.parse(out).getroot().find("testsuite/testcase")
    assert case is not None
    assert case.get("name") == "a sale is not synced"


def test_the_ruleset_option_runs_against_another_file(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    other = tmp_path / "edited.yaml"
    text = ALTO.read_text("utf-8").replace(
        "when: {field: recordType, eq: Rent}", "when: {field: recordType, eq: Sale}"
    )
    other.write_text(text, "utf-8")
    result = CliRunner().invoke(
        run_tests_command, [str(tmp_path / "t.yaml"), "--ruleset", str(other)]
    )
    assert result.exit_code == 1
    assert "expected skipped_by 'P-01', got skipped by P-02" in result.output


def test_the_schema_command_prints_the_tests_schema() -> None:
    from rulebridge.cli.schema import schema

    result = CliRunner().invoke(schema, ["tests"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["required"] == ["tests_for", "cases"]
    assert "skipped_by" in data["$defs"]["expect"]["properties"]
