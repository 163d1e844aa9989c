"""Usage errors exit 64 (sysexits' EX_USAGE) on every command, with click's usual message.

click exits 2 on a usage error, and 2 is this project's "changes applied", which a systemd
unit counts as success: a mistyped option must never pass for a good night. The group does
the mapping once (`rulebridge.cli._lazy.LazyGroup.main`), so every command in the table
gets it, and --help, --version and a command's own codes are left as they are.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rulebridge._exits import ExitCode
from rulebridge.cli import main

ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stderr


@pytest.mark.parametrize("name", sorted(main.lazy))
def test_every_command_exits_64_on_an_unknown_option(name: str) -> None:
    code, said = invoke(name, "--no-such-option")
    assert code == ExitCode.USAGE
    assert "No such option '--no-such-option'" in said
    assert f"Try 'main {name} --help' for help." in said
    assert "Traceback" not in said


@pytest.mark.parametrize("name", sorted(main.lazy))
def test_every_command_still_answers_help_with_0(name: str) -> None:
    assert invoke(name, "--help")[0] == 0


def test_a_mistyped_option_of_run_exits_64_from_a_real_process(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rulebridge", "run", "--confg", "x"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 64
    assert "No such option '--confg'. Did you mean '--config'?" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_config_file_exits_64(tmp_path: Path) -> None:
    code, said = invoke("run", "--config", str(tmp_path / "missing.yaml"))
    assert code == 64
    assert "Invalid value for '--config'" in said
    assert "does not exist" in said


@pytest.mark.parametrize(
    "args",
    [
        ["nosuchcommand"],
        ["run"],  # --config is required
        ["history", "--format", "yaml"],  # a value outside the choices
        ["run", "--config"],  # an option without its value
        ["store", "adopt", "--bogus"],  # a subcommand of a group
        ["store", "--bogus"],
        ["run", "--as-of", "yesterday", "--config", "x"],
    ],
)
def test_other_usage_errors_exit_64(args: list[str]) -> None:
    code, said = invoke(*args)
    assert code == 64, said
    assert "Error: " in said
    assert "Traceback" not in said


def test_version_and_the_group_help_exit_0() -> None:
    assert invoke("--version")[0] == 0
    assert invoke("--help")[0] == 0


def test_no_command_shows_the_help_as_a_usage_error() -> None:
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 64  # click's 2: no command given is a usage error
    assert "Commands:" in result.output
