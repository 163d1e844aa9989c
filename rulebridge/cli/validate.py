"""`rulebridge validate`: check rulesets and agency settings files, every error located."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from engine import CheckResult, RulesetError, check_paths
from rulebridge.cli._help import CONTEXT

__all__ = ["validate"]


@click.command("validate", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--show-source/--no-show-source",
    default=None,
    help="Show the offending line with a caret under each error (default: only in a terminal).",
)
def validate(paths: tuple[Path, ...], show_source: bool | None) -> None:
    """Check rulesets and agency settings files (files or folders, searched for *.yaml).

    Prints one line per valid file, followed by a note for each gap the ruleset declares
    (a rule the vendors' contracts cannot fully observe, and what it does instead), and
    every error as path:line:column: code: message, sorted. Exit codes: 0 all is well, 1 a
    file has an error, 64 usage error.

    Example:

        rulebridge validate rulesets/
    """
    results = check_paths(paths)
    if not results:
        click.echo(f"no .yaml or .yml files under {', '.join(map(str, paths))}", err=True)
        sys.exit(1)
    for result in results:
        if result.ok:
            click.echo(summary_line(result))
            for note in gap_notes(result):
                click.echo(note)
    errors = sorted(error for result in results for error in result.errors)
    source = sys.stdout.isatty() if show_source is None else show_source
    for error in errors:
        click.echo(str(error))
        if source:
            click.echo(source_excerpt(error), nl=False)
    if errors:
        failed = sum(not result.ok for result in results)
        click.echo(
            f"{len(errors)} error{'s' * (len(errors) != 1)} in {failed} of "
            f"{len(results)} file{'s' * (len(results) != 1)}",
            err=True,
        )
        sys.exit(1)


def summary_line(result: CheckResult) -> str:
    """One line for a valid file: what it is and how to recognise it (with the number of
    checklist tasks when the ruleset has any)."""
    if result.ruleset is not None:
        ruleset = result.ruleset
        tasks = len(ruleset.checklist)
        checklist = f"{tasks} checklist task{'s' * (tasks != 1)}, " if tasks else ""
        return (
            f"{result.path}: ok: ruleset {ruleset.name} v{ruleset.version}, "
            f"{ruleset.rule_count} rules, {len(ruleset.entities)} entities, {checklist}"
            f"sha256:{ruleset.content_hash[:12]}"
        )
    return (
        f"{result.path}: ok: settings for {result.settings_for}, "
        f"{result.overrides} override{'s' * (result.overrides != 1)}"
    )


def gap_notes(result: CheckResult) -> list[str]:
    """One indented note per gap a valid ruleset declares, located by its line."""
    if result.ruleset is None:
        return []
    return [f"  note: gap {gap.note()} (line {gap.line})" for gap in result.ruleset.gaps]


def source_excerpt(error: RulesetError) -> str:
    """The line an error points at, with a caret under its column."""
    try:
        lines = Path(error.path).read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    if not 1 <= error.line <= len(lines):
        return ""
    text = lines[error.line - 1].expandtabs(1)
    gutter = f"{error.line:>5} | "
    caret = " " * (len(gutter) - 2) + "| " + " " * max(error.column - 1, 0) + "^"
    return f"{gutter}{text}\n{click.style(caret, fg='red')}\n"
