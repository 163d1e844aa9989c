"""`rulebridge diff`: what a ruleset change would do to an agency's data, before it ships.

The snapshots are read once into file-backed tables in a private temporary folder (as
`rulebridge plan` reads them), every record is decided under both rulesets
(`engine.sync.impact`), the changed records are spilled to that folder and the report is
written from it; the folder is removed afterwards, whatever happens.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

import simulator
from engine import CompiledRuleset, RulebridgeError, load_ruleset
from engine.sync.impact import Impact, impact_of, write_json, write_markdown
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AS_OF, EXISTING, failing_cleanly
from rulebridge.cli._plan_input import SpilledSnapshots, spilled_snapshots
from simulator.lifecycle.compare import compare_scenarios, scenario_files

__all__ = ["diff"]

SCENARIOS = Path(simulator.__file__).resolve().parent / "scenarios"


@click.command("diff", context_settings=CONTEXT)
@click.argument("old_path", metavar="OLD.yaml", type=EXISTING)
@click.argument("new_path", metavar="NEW.yaml", type=EXISTING)
@click.option("--alto", required=True, type=EXISTING, help="An Alto snapshot (JSON).")
@click.option(
    "--fixflo",
    type=EXISTING,
    help="A Fixflo snapshot: both rulesets are also planned against it, so 'created' and "
    "'archived' are the operations each plan makes.",
)
@click.option("--settings", type=EXISTING, help="The agency's settings file (for both).")
@AS_OF
@click.option(
    "--scenarios",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of lifecycle scenarios played under both (default: the shipped ones).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
)
@click.option(
    "--limit",
    type=click.IntRange(0, 10_000),
    default=10,
    show_default=True,
    help="Sample records shown per group in Markdown (JSON lists every record).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report here (owner-only) instead of standard output.",
)
def diff(
    old_path: Path,
    new_path: Path,
    alto: Path,
    fixflo: Path | None,
    settings: Path | None,
    as_of: Any,
    scenarios: Path | None,
    output: str,
    limit: int,
    out: Path | None,
) -> None:
    """Show what changing ruleset OLD.yaml into NEW.yaml would do to the snapshot's records.

    Every record whose decision changes, per entity and grouped by the rule that causes it:
    created (the OLD rule that skipped it), no longer synced (the NEW rule that skips it),
    archived, and fields that now map differently (map:PATH), with counts; then the
    lifecycle scenarios whose outcome changes. Records are named by key and label only.
    Exit codes: 0 no change, 2 changes, 1 error, 64 usage error.

    Example:

        rulebridge diff rulesets/alto-fixflo/v2.yaml my-v2.yaml --alto alto.json --out impact.md
    """
    with failing_cleanly(), tempfile.TemporaryDirectory(prefix="rulebridge-diff-") as folder:
        old = load_ruleset(old_path, settings=settings)
        new = load_ruleset(new_path, settings=settings)
        with spilled_snapshots(alto, fixflo, Path(folder)) as loaded:
            when = loaded.run_date(as_of)
            impact = _impact(old, new, loaded, when, (fixflo is not None, Path(folder), limit))
            _lifecycle(impact, old, new, scenarios)
            writer = write_json if output == "json" else write_markdown
            _write(out, lambda handle: writer(impact, handle), newline=output == "json")
    for rejected in impact.rejected[:20]:
        click.echo(f"warning: {rejected['where']}: {rejected['message']}", err=True)
    sys.exit(ExitCode.CHANGES if impact.changes else ExitCode.NOTHING)


def _impact(
    old: CompiledRuleset,
    new: CompiledRuleset,
    loaded: SpilledSnapshots,
    when: date,
    how: tuple[bool, Path, int],
) -> Impact:
    """The records' impact; `how` is (a Fixflo snapshot was given, the spill folder, the
    sample limit)."""
    target_given, folder, limit = how
    rejected = [
        {"where": error.where, "record_id": error.record_id, "message": error.message}
        for error in loaded.rejected
    ]
    return impact_of(
        old,
        new,
        loaded.records,
        as_of=when,
        target_given=target_given,
        folder=folder,
        limit=limit,
        inputs=loaded.inputs(),
        rejected=rejected,
    )


def _lifecycle(
    impact: Impact, old: CompiledRuleset, new: CompiledRuleset, scenarios: Path | None
) -> None:
    """Play the scenarios under both rulesets (when both have a lifecycle)."""
    folder = scenarios or SCENARIOS
    if old.lifecycle is None or new.lifecycle is None or not folder.is_dir():
        return
    compared = compare_scenarios(old, new, scenario_files(folder))
    impact.scenarios, impact.lifecycle = compared.played, compared.changes
    for unplayable in compared.unplayable:
        click.echo(f"warning: scenario {unplayable} (under both rulesets)", err=True)


class _Echo:
    """Standard output as a file the report writers can write to (through click, so tests
    capture it)."""

    def write(self, text: str, /) -> int:
        click.echo(text, nl=False)
        return len(text)


def _write(out: Path | None, write: Callable[[Any], None], *, newline: bool) -> None:
    """Write the report to `out` (owner-only, atomically: a partial file renamed) or to
    standard output."""
    if out is None:
        write(_Echo())
        if newline:
            click.echo()
        return
    partial = out.with_name(out.name + ".partial")
    try:
        partial.unlink(missing_ok=True)
        handle = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(handle, "w", encoding="utf-8") as text:
            write(text)
            if newline:
                text.write("\n")
        partial.replace(out)
    except OSError as exc:
        raise RulebridgeError(f"{out}: cannot write the report ({exc.strerror})") from exc
