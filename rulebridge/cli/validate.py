"""`rulebridge validate`: check rulesets, settings files, agency configs and ruleset test files,
every error located; as text, JSON or GitHub workflow annotations."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import click

from engine import (
    CheckResult,
    CompiledRuleset,
    RulesetError,
    RulesetErrors,
    check_paths,
    load_ruleset,
)
from engine.documents.document import Document, load_document
from engine.language.load import ruleset_files
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT

__all__ = ["Checked", "check_files", "github_escape", "summary_line", "validate"]


@dataclass(frozen=True)
class Checked:
    """One file's outcome, whatever its kind.

    Attributes:
        path: the file as named on the command line (or found under a folder).
        kind: ``ruleset``, ``settings``, ``agency``, ``tests``, ``scenario`` or ``unknown``
            (not YAML one can read).
        summary: what a valid file is (``ruleset alto-fixflo v2, ...``), or how many errors.
        errors: every error, located (some may lie in the files this one names).
        notes: lines for people about a valid file (the gaps a ruleset declares).
        notices: the same notes, located, for annotations.
    """

    path: str
    kind: str
    summary: str
    errors: tuple[RulesetError, ...] = ()
    notes: tuple[str, ...] = ()
    notices: tuple[RulesetError, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when the file has no errors."""
        return not self.errors


@click.command("validate", context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="text for people; json for tools (one document); github for workflow annotations.",
)
@click.option(
    "--show-source/--no-show-source",
    default=None,
    help="Show the offending line with a caret under each error (default: in a terminal, "
    "and for YAML syntax errors always).",
)
def validate(paths: tuple[Path, ...], output: str, show_source: bool | None) -> None:
    """Check rulesets, settings files, agency configs and ruleset test files (files or
    folders, searched for *.yaml).

    Each file is recognised by its keys: a ruleset (ruleset:), an agency settings file
    (settings_for:), an agency config (agency: without settings_for:; its ruleset and
    settings are checked too), a ruleset test file (tests_for:) or a scenario (scenario:,
    checked against a ruleset with a lifecycle named in the same command). Prints one line
    per valid file, with a note for each gap a ruleset declares, and every error as
    path:line:column: code: message, sorted. --format json prints one document
    {files: [{path, kind, ok, summary, errors: [...]}], errors: N}; --format github prints
    ::error annotations. Exit codes: 0 all is well, 1 a file has an error, 64 usage error.

    Example:

        rulebridge validate rulesets/ --format github
    """
    files = ruleset_files(paths)
    if not files:
        click.echo(f"no .yaml or .yml files under {', '.join(map(str, paths))}", err=True)
        sys.exit(ExitCode.FAILURE)
    checked = check_files(files)
    errors = sorted(error for result in checked for error in result.errors)
    if output == "json":
        click.echo(json.dumps(as_json(checked), indent=2))
    elif output == "github":
        for line in github_lines(checked):
            click.echo(line)
    else:
        _print_text(checked, errors, show_source)
    if errors:
        failed = sum(not result.ok for result in checked)
        click.echo(
            f"{len(errors)} error{'s' * (len(errors) != 1)} in {failed} of "
            f"{len(checked)} file{'s' * (len(checked) != 1)}",
            err=True,
        )
        sys.exit(ExitCode.FAILURE)


def check_files(files: Iterable[Path]) -> list[Checked]:
    """Check each file by its kind, in the order given.

    Example:
        >>> [result.summary[:24] for result in check_files([Path("rulesets/alto-fixflo/v2.yaml")])]
        ['ruleset alto-fixflo v2, ']
    """
    files = list(files)
    kinds = {file: _kind(file) for file in files}
    engine_files = [file for file in files if kinds[file][0] in {"ruleset", "settings"}]
    read = {file: document for file, (_, document) in kinds.items() if document is not None}
    by_path = {result.path: result for result in check_paths(engine_files, read)}
    results: dict[Path, Checked] = {
        file: _from_engine(by_path[str(file)]) for file in engine_files if str(file) in by_path
    }
    lifecycle = [
        result.path
        for result in map(results.get, engine_files)
        if result is not None and result.kind == "ruleset" and result.ok
    ]
    for file in files:
        kind, document = kinds[file]
        if kind == "agency":
            results[file] = _check_agency(file)
        elif kind == "tests":
            results[file] = _check_tests(file)
        elif kind == "scenario" and document is not None:
            results[file] = _check_scenario(file, document, lifecycle)
    return [results[file] for file in files if file in results]


def _kind(file: Path) -> tuple[str, Document | None]:
    """What `file` is, by its top-level keys (``ruleset`` also for files that do not load:
    `check_paths` reports why)."""
    try:
        document = load_document(file, partial=True)
    except RulesetErrors:
        return "ruleset", None
    data = document.data if isinstance(document.data, Mapping) else {}
    if "settings_for" in data:
        return "settings", document
    for key, kind in (("tests_for", "tests"), ("scenario", "scenario"), ("agency", "agency")):
        if key in data:
            return kind, document
    return "ruleset", document


def summary_line(result: CheckResult) -> str:
    """One line for a valid ruleset or settings file: what it is and how to recognise it."""
    return f"{result.path}: ok: {_from_engine(result).summary}"


def _from_engine(result: CheckResult) -> Checked:
    if not result.ok:
        return _failed(result.path, result.kind, result.errors)
    if result.ruleset is None:
        summary = (
            f"settings for {result.settings_for}, "
            f"{result.overrides} override{'s' * (result.overrides != 1)}"
        )
        return Checked(result.path, "settings", summary)
    ruleset = result.ruleset
    tasks = len(ruleset.checklist)
    checklist = f"{tasks} checklist task{'s' * (tasks != 1)}, " if tasks else ""
    summary = (
        f"ruleset {ruleset.name} v{ruleset.version}, {ruleset.rule_count} rules, "
        f"{len(ruleset.entities)} entities, {checklist}sha256:{ruleset.content_hash[:12]}"
    )
    notes = tuple(f"gap {gap.note()} (line {gap.line})" for gap in ruleset.gaps)
    notices = tuple(
        RulesetError(result.path, gap.line, 1, "gap", gap.note()) for gap in ruleset.gaps
    )
    return Checked(result.path, "ruleset", summary, notes=notes, notices=notices)


def _failed(path: str, kind: str, errors: Iterable[RulesetError]) -> Checked:
    found = tuple(sorted(set(errors)))
    return Checked(path, kind, f"{len(found)} error{'s' * (len(found) != 1)}", found)


def _check_agency(file: Path) -> Checked:
    """An agency config: its schema and rules (`load_agency_config`), then the ruleset and
    settings it names, compiled together."""
    from rulebridge._config import load_agency_config  # the adapters: only when needed

    try:
        config = load_agency_config(file)
    except RulesetErrors as exc:
        return _failed(str(file), "agency", exc.errors)
    systems = " and ".join(config.apis) or "no API"
    if config.ruleset is None:
        return Checked(str(file), "agency", f"agency config {config.agency}, reaches {systems}")
    document = load_document(file)
    missing = [
        document.error((key,), "missing-file", f"{key} file {str(path)!r} does not exist")
        for key, path in (("ruleset", config.ruleset), ("settings", config.settings))
        if path is not None and not path.is_file()
    ]
    if missing:
        return _failed(str(file), "agency", missing)
    try:
        ruleset = load_ruleset(config.ruleset, settings=config.settings)
    except RulesetErrors as exc:
        return _failed(str(file), "agency", exc.errors)
    summary = (
        f"agency config {config.agency}, reaches {systems}, runs {ruleset.name} "
        f"v{ruleset.version}" + (f" with {config.settings.name}" if config.settings else "")
    )
    return Checked(str(file), "agency", summary)


def _check_tests(file: Path) -> Checked:
    from simulator.testing import load_tests  # the simulator: only for test files

    try:
        loaded = load_tests(file)
    except RulesetErrors as exc:
        return _failed(str(file), "tests", exc.errors)
    cases = len(loaded.cases)
    summary = f"tests for {loaded.ruleset_path}, {cases} case{'s' * (cases != 1)}"
    return Checked(str(file), "tests", summary)


@cache
def _compiled(path: str) -> CompiledRuleset:
    return load_ruleset(path)


def _check_scenario(file: Path, document: Document, rulesets: list[str]) -> Checked:
    """A scenario, against the first ruleset with a lifecycle checked in the same command."""
    from simulator.lifecycle.scenario import load_scenario

    for path in rulesets:
        ruleset = _compiled(path)
        if ruleset.lifecycle is None:
            continue
        try:
            scenario = load_scenario(file, ruleset)
        except RulesetErrors as exc:
            return _failed(str(file), "scenario", exc.errors)
        steps = len(scenario.steps)
        summary = f"scenario {scenario.name}, {steps} step{'s' * (steps != 1)}, for {path}"
        return Checked(str(file), "scenario", summary)
    message = (
        "a scenario is checked against a ruleset's lifecycle: name the ruleset too, e.g. "
        f"rulebridge validate rulesets/alto-fixflo/v2.yaml {file}"
    )
    return _failed(str(file), "scenario", [document.error((), "no-lifecycle", message)])


def _print_text(checked: list[Checked], errors: list[RulesetError], show: bool | None) -> None:
    for result in checked:
        if result.ok:
            click.echo(f"{result.path}: ok: {result.summary}")
            for note in result.notes:
                click.echo(f"  note: {note}")
    terminal = sys.stdout.isatty() if show is None else show
    for error in errors:
        click.echo(str(error))
        if terminal or (show is None and error.code == "yaml-syntax"):
            click.echo(source_excerpt(error), nl=False)


def as_json(checked: list[Checked]) -> dict[str, Any]:
    """The ``--format json`` document: every file with its kind, outcome and errors."""
    return {
        "files": [
            {
                "path": result.path,
                "kind": result.kind,
                "ok": result.ok,
                "summary": result.summary,
                "errors": [error.to_json() for error in result.errors],
            }
            for result in checked
        ],
        "errors": sum(len(result.errors) for result in checked),
    }


def github_lines(checked: list[Checked]) -> list[str]:
    """``::error`` workflow commands for every error, ``::notice`` for every declared gap."""
    lines = []
    for result in checked:
        for level, found in (("notice", result.notices), ("error", result.errors)):
            for error in found:
                properties = ",".join(
                    f"{name}={github_escape(str(value), in_property=True)}"
                    for name, value in (
                        ("file", error.path),
                        ("line", error.line),
                        ("col", error.column),
                        ("title", error.code),
                    )
                )
                lines.append(f"::{level} {properties}::{github_escape(error.message)}")
    return lines


def github_escape(text: str, *, in_property: bool = False) -> str:
    """`text` escaped as GitHub's workflow commands require (actions/toolkit's
    ``escapeData`` and ``escapeProperty``): ``%``, CR and LF always; ``:`` and ``,`` too in
    a property.

    Example:
        >>> github_escape("50% done\\nnext")
        '50%25 done%0Anext'
        >>> github_escape("a:b,c", in_property=True)
        'a%3Ab%2Cc'
    """
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return escaped.replace(":", "%3A").replace(",", "%2C") if in_property else escaped


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
