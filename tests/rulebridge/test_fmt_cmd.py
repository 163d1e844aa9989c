"""`rulebridge fmt`: --check, --diff, writing in place, errors located, the shipped rulesets
already formatted."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from engine.documents import load_document
from rulebridge.cli import main
from rulebridge.cli.fmt import fmt_command

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"
MESSY = """# the modeline stays first
version: 1
ruleset: demo
summary: A ruleset laid out by hand.
settings:
  colour: {summary: The colour., default: red,    type: string}   # kept
"""
TIDY = """# the modeline stays first
ruleset: demo
version: 1
summary: A ruleset laid out by hand.
settings:
  colour: {type: string, default: red, summary: The colour.}      # kept
"""


def _run(*args: str) -> Result:
    return CliRunner().invoke(fmt_command, list(args))


def test_help_has_an_example() -> None:
    result = _run("--help")
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_the_shipped_rulesets_are_formatted() -> None:
    result = _run("--check", str(RULESETS))
    assert result.exit_code == 0, result.output
    assert "0 files would be reformatted" in result.stderr


def test_check_lists_the_files_to_change_and_fails_without_writing(tmp_path: Path) -> None:
    messy, tidy = tmp_path / "messy.yaml", tmp_path / "tidy.yaml"
    messy.write_text(MESSY, "utf-8")
    tidy.write_text(TIDY, "utf-8")
    result = _run("--check", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout == f"would reformat {messy}\n"
    assert "1 file would be reformatted, 1 left as formatted" in result.stderr
    assert messy.read_text("utf-8") == MESSY


def test_diff_prints_a_unified_diff_and_writes_nothing(tmp_path: Path) -> None:
    messy = tmp_path / "messy.yaml"
    messy.write_text(MESSY, "utf-8")
    result = _run("--diff", str(messy))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"--- {messy} (as it is)\n+++ {messy} (formatted)\n@@")
    assert "\n-ruleset: demo\n" in result.stdout or "\n-version: 1\n" in result.stdout
    assert "+  colour: {type: string, default: red, summary: The colour.}      # kept\n" in (
        result.stdout
    )
    assert messy.read_text("utf-8") == MESSY


def test_without_options_the_file_is_rewritten_keeping_its_mode(tmp_path: Path) -> None:
    messy = tmp_path / "messy.yaml"
    messy.write_text(MESSY, "utf-8")
    messy.chmod(0o600)
    result = _run(str(messy))
    assert result.exit_code == 0
    assert result.stdout == f"reformatted {messy}\n"
    assert messy.read_text("utf-8") == TIDY
    assert stat.S_IMODE(messy.stat().st_mode) == 0o600
    assert load_document(messy).data["settings"]["colour"]["default"] == "red"
    assert list(tmp_path.iterdir()) == [messy]  # no temporary file left behind
    again = _run(str(messy))
    assert (again.exit_code, again.stdout) == (0, "")


def test_a_shipped_ruleset_with_its_sections_moved_is_put_back(tmp_path: Path) -> None:
    shuffled, original = tmp_path / "shuffled" / "v2.yaml", tmp_path / "original" / "v2.yaml"
    for path in (shuffled, original):
        path.parent.mkdir()
        shutil.copy(RULESETS / "alto-fixflo" / "v2.yaml", path)
    text = original.read_text("utf-8")
    head, _, rest = text.partition("\ngaps:")
    moved = head.replace("ruleset: alto-fixflo\n", "") + "\ngaps:" + rest
    shuffled.write_text(moved + "ruleset: alto-fixflo\n", "utf-8")
    assert _run(str(shuffled), str(original)).exit_code == 0
    assert shuffled.read_text("utf-8") == original.read_text("utf-8")
    assert shuffled.read_text("utf-8").splitlines()[1] == "ruleset: alto-fixflo"


def test_broken_yaml_is_a_located_error_not_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("ruleset: demo\nversion: [1\n", "utf-8")
    result = _run(str(broken))
    assert result.exit_code == 1
    assert f"{broken}:3:1: yaml-syntax:" in result.stderr
    assert "Traceback" not in result.output
    assert broken.read_text("utf-8") == "ruleset: demo\nversion: [1\n"


def test_a_named_file_of_another_kind_is_refused_and_folders_skip_them(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("scenario: x\nsteps: []\n", "utf-8")
    result = _run(str(scenario))
    assert result.exit_code == 1
    assert f"{scenario}:1:1: fmt: not a ruleset" in result.stderr
    assert _run("--check", str(tmp_path)).exit_code == 0


@pytest.mark.parametrize("args", [["--bogus"], ["no/such/folder"]])
def test_usage_errors_exit_64(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["fmt", *args])
    assert result.exit_code == 64
    assert "Traceback" not in result.output
