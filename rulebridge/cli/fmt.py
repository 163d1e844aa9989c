"""`rulebridge fmt`: lay rulesets and settings files out canonically, comments kept."""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from engine import RulesetError, RulesetErrors
from engine.documents import load_document
from engine.documents.layout import format_text, kind_of
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT

__all__ = ["fmt_command"]

_SUFFIXES = (".yaml", ".yml")


@click.command("fmt", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--check", is_flag=True, help="Write nothing; list the files fmt would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print what would change.")
def fmt_command(paths: tuple[Path, ...], check: bool, show_diff: bool) -> None:
    """Lay out rulesets and settings files canonically, keeping every comment and value.

    Top-level keys in the order ruleset, version, summary, description, gaps, settings,
    tables, sources, targets, entities, links, preflight, lifecycle, charges, checklist;
    inside settings, sources, targets, entities, links, statuses, events and rules a fixed
    order too (a rule's id and summary first); flow style ({...}, [...]) kept only where it
    holds no comment and fits in 100 columns (wrapped between items where needed), block
    otherwise. The data read before and after is checked to be equal. PATHS are files or
    folders (searched for *.yaml and *.yml; files that are neither a ruleset nor a settings
    file are skipped); default rulesets/. Exit codes: 0 every file formatted already or now
    written, 1 --check or --diff found a file to change or a file has an error (located),
    64 usage error.

    Example:

        rulebridge fmt --check rulesets/

        rulebridge fmt --diff rulesets/alto-fixflo/v2.yaml
    """
    files, errors = _files(paths or (Path("rulesets"),))
    changed = 0
    for path, text in files:
        try:
            result = format_text(text, str(path))
        except RulesetErrors as exc:
            errors += exc.errors
            continue
        if result == text:
            continue
        changed += 1
        if show_diff:
            click.echo("".join(_diff(path, text, result)), nl=False)
        elif check:
            click.echo(f"would reformat {path}")
        else:
            _write(path, result)
            click.echo(f"reformatted {path}")
    for error in sorted(errors):
        click.echo(str(error), err=True)
    verb = "would be reformatted" if check or show_diff else "reformatted"
    click.echo(
        f"{changed} file{'s' * (changed != 1)} {verb}, {len(files) - changed} left as "
        f"{'they were' if errors else 'formatted'}"
        + (f"; {len(errors)} error{'s' * (len(errors) != 1)}" if errors else ""),
        err=True,
    )
    failed = bool(errors) or (changed > 0 and (check or show_diff))
    sys.exit(ExitCode.FAILURE if failed else ExitCode.NOTHING)


def _files(paths: tuple[Path, ...]) -> tuple[list[tuple[Path, str]], list[RulesetError]]:
    """The rulesets and settings files named or found under folders, with their text; an
    error for a named file of another kind, or one that cannot be read."""
    found: list[tuple[Path, str]] = []
    errors: list[RulesetError] = []
    for path, named in _candidates(paths):
        try:
            data = load_document(path, partial=True).data
            text = path.read_text("utf-8")
        except RulesetErrors as exc:
            errors += exc.errors
            continue
        if kind_of(data) is not None:
            found.append((path, text))
        elif named:
            errors.append(
                RulesetError(
                    str(path),
                    1,
                    1,
                    "fmt",
                    "not a ruleset (top-level 'ruleset:') or a settings file (top-level "
                    "'settings_for:'); fmt lays out only those",
                )
            )
    return found, errors


def _candidates(paths: tuple[Path, ...]) -> Iterator[tuple[Path, bool]]:
    for path in paths:
        if path.is_dir():
            for found in sorted(path.rglob("*")):
                if found.suffix in _SUFFIXES and found.is_file():
                    yield found, False
        else:
            yield path, True


def _diff(path: Path, before: str, after: str) -> Iterator[str]:
    return difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"{path} (as it is)",
        tofile=f"{path} (formatted)",
    )


def _write(path: Path, text: str) -> None:
    """Replace the file in one step (a crash leaves the old file or the new), keeping its
    permissions."""
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".fmt")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
