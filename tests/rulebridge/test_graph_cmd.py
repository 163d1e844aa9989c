"""`rulebridge graph`: the three formats, the docs page kept current, clean errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import load_ruleset
from engine.language.diagram import mermaid
from rulebridge.cli import main
from rulebridge.cli.graph import BEGIN, END, graph_command

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
DOC = ROOT / "docs" / "lifecycle.md"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(graph_command, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_help_has_an_example() -> None:
    code, out, _ = _run("--help")
    assert code == 0
    assert "Example:" in out


@pytest.mark.parametrize(
    ("output", "start"),
    [("mermaid", "stateDiagram-v2\n"), ("dot", "digraph lifecycle {\n"), ("text", "Lifecycle of")],
)
def test_each_format_draws_the_shipped_lifecycle(output: str, start: str) -> None:
    code, out, _ = _run(str(RULESET), "--format", output)
    assert code == 0
    assert out.startswith(start)
    assert "JobCompleted" in out
    assert "close_without_job" in out


def test_mermaid_is_the_default_format_and_v2_the_default_ruleset() -> None:
    lifecycle = load_ruleset(RULESET).lifecycle
    assert lifecycle is not None
    assert _run() == (0, mermaid(lifecycle), "")


def test_the_docs_page_holds_the_current_diagram() -> None:
    lifecycle = load_ruleset(RULESET).lifecycle
    assert lifecycle is not None
    page = DOC.read_text("utf-8")
    found = re.search(rf"{re.escape(BEGIN)}\n```mermaid\n(.*?)```\n{re.escape(END)}", page, re.S)
    assert found, f"{DOC} lost its diagram markers"
    assert found.group(1) == mermaid(lifecycle), (
        f"{DOC} is out of date: run rulebridge graph {RULESET.relative_to(ROOT)} "
        f"--update {DOC.relative_to(ROOT)}"
    )


def test_update_rewrites_only_the_block_between_the_markers(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\nBefore.\n\n{BEGIN}\nstale\n{END}\n\nAfter.\n", "utf-8")
    code, out, _ = _run(str(RULESET), "--format", "text", "--update", str(page))
    assert code == 0
    assert "page.md: the text diagram" in out
    written = page.read_text("utf-8")
    assert written.startswith(f"# Title\n\nBefore.\n\n{BEGIN}\n```text\nLifecycle of")
    assert written.endswith(f"(final)\n```\n{END}\n\nAfter.\n")
    assert "stale" not in written
    again = _run(str(RULESET), "--format", "text", "--update", str(page))
    assert again[0] == 0
    assert page.read_text("utf-8") == written


def test_update_without_markers_says_what_is_missing(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# No markers here\n", "utf-8")
    code, _, err = _run(str(RULESET), "--update", str(page))
    assert code == 1
    assert f"{page}: needs exactly one line '{BEGIN}'" in err
    assert "Traceback" not in err
    assert page.read_text("utf-8") == "# No markers here\n"


def test_a_ruleset_without_a_lifecycle_is_a_clear_error() -> None:
    code, out, err = _run(str(ROOT / "rulesets" / "jupix-alto" / "v1.yaml"))
    assert code == 1
    assert out == ""
    assert "declares no 'lifecycle:', so there is nothing to draw" in err


def test_a_broken_ruleset_gives_located_errors_not_a_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "v2.yaml"
    broken.write_text(RULESET.read_text("utf-8").replace("to: JobAwarded", "to: JobAwardd"))
    code, _, err = _run(str(broken))
    assert code == 1
    assert f"{broken}:" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [["--format", "svg"], ["no/such/ruleset.yaml"]])
def test_usage_errors_exit_64(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["graph", *args])
    assert result.exit_code == 64
    assert "Traceback" not in result.output
