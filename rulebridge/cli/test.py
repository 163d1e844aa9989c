"""`rulebridge test`: run ruleset test files, report failures and coverage, write JUnit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import failing_cleanly
from simulator.testing import find_test_files, run_tests, write_junit
from simulator.testing.report import run_json, run_text

__all__ = ["run_tests_command"]


@click.command("test", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--ruleset",
    "ruleset_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Run every test file against this ruleset file instead of its tests_for: "
    "(another version, or an edited copy).",
)
@click.option("--coverage", "show_coverage", is_flag=True, help="Report coverage per kind.")
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 100),
    help="Fail (exit 1) when coverage, all kinds together, is below N percent.",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the results as JUnit XML to this file (one testcase per case).",
)
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def run_tests_command(
    paths: tuple[Path, ...],
    ruleset_path: Path | None,
    show_coverage: bool,
    min_coverage: float | None,
    junit_path: Path | None,
    output: str,
) -> None:
    """Run the ruleset test files under PATHS (default rulesets/) and report every failure.

    A test file is YAML whose top level has tests_for: (the ruleset version it tests);
    folders are searched for them. Each failure reads file:line: case NAME: expected X,
    got Y, followed by the decision's explanation. The format: docs/ruleset-tests.md.
    Exit codes: 0 every case passed (and coverage met --min-coverage), 1 a case failed,
    coverage was below the minimum or a test file is invalid, 64 usage error.

    Example:

        rulebridge test rulesets/ --coverage --min-coverage 100 --junit out/tests.xml
    """
    roots = paths or (Path("rulesets"),)
    if not find_test_files(roots):
        click.echo(
            f"no test files (YAML with tests_for:) under {', '.join(map(str, roots))}", err=True
        )
        sys.exit(ExitCode.USAGE)
    with failing_cleanly():
        run = run_tests(roots, ruleset=ruleset_path)
        if junit_path is not None:
            write_junit(run, junit_path)
    if output == "json":
        click.echo(run_json(run))
    else:
        click.echo(run_text(run, coverage=show_coverage or min_coverage is not None), nl=False)
    below = min_coverage is not None and run.percent < min_coverage
    if below and output == "text":
        click.echo(f"coverage {run.percent:.1f}% is below the minimum {min_coverage:g}%")
    sys.exit(ExitCode.FAILURE if below or not run.passed else ExitCode.NOTHING)
