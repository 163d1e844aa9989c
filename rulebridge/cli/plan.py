"""`rulebridge plan`: what the nightly sync would change in Fixflo, and why.

Planned in flat memory: the snapshots are read into file-backed tables in a private
temporary folder (removed afterwards), the planner streams them, and the plan goes out item
by item (`engine.sync.plan_writer.PlanWriter` for JSON, `PlanDigest` for the table).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from engine import CompiledRuleset, load_ruleset
from engine.sync.plan import PlanHead
from engine.sync.plan_writer import PlanWriter, Writable
from engine.sync.planner import plan_into
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AS_OF, EXISTING, failing_cleanly
from rulebridge.cli._plan_input import SpilledSnapshots, spilled_snapshots
from rulebridge.cli._plan_table import PlanDigest

__all__ = ["plan"]


@click.command("plan", context_settings=CONTEXT)
@click.option("--ruleset", "ruleset_path", required=True, type=EXISTING, help="The ruleset file.")
@click.option("--alto", required=True, type=EXISTING, help="An Alto snapshot (JSON).")
@click.option("--fixflo", type=EXISTING, help="A Fixflo snapshot; without it Fixflo is empty.")
@click.option("--settings", type=EXISTING, help="The agency's settings file.")
@AS_OF
@click.option(
    "--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the plan here instead of standard output.",
)
def plan(
    ruleset_path: Path,
    alto: Path,
    fixflo: Path | None,
    settings: Path | None,
    as_of: Any,
    output: str,
    out: Path | None,
) -> None:
    """Plan the changes that make Fixflo agree with Alto, without changing anything.

    Every operation, skipped record, merge and manual action names the rule that decided it
    and the values it read. Exit codes: 0 no changes, 2 changes planned, 1 error, 64 usage
    error.

    Example:

        rulebridge plan --ruleset rulesets/alto-fixflo/v2.yaml --alto alto.json --fixflo fixflo.json
    """
    with failing_cleanly(), tempfile.TemporaryDirectory(prefix="rulebridge-plan-") as folder:
        ruleset = load_ruleset(ruleset_path, settings=settings)
        with spilled_snapshots(alto, fixflo, Path(folder)) as loaded:
            head, changes = _plan(
                ruleset, loaded, loaded.run_date(as_of), output, out, Path(folder)
            )
    for rejected in head.rejected[:20]:
        click.echo(f"warning: {rejected['where']}: {rejected['message']}", err=True)
    sys.exit(2 if changes else 0)


def _plan(
    ruleset: CompiledRuleset,
    loaded: SpilledSnapshots,
    when: date,
    output: str,
    out: Path | None,
    folder: Path,
) -> tuple[PlanHead, int]:
    """Plan into the sink `output` needs, write it; the head and the number of changes."""
    rejected = [
        {"where": error.where, "record_id": error.record_id, "message": error.message}
        for error in loaded.rejected
    ]
    sink = PlanWriter(folder) if output == "json" else PlanDigest()
    head = plan_into(
        ruleset, loaded.records, sink, as_of=when, inputs=loaded.inputs(), rejected=rejected
    )
    if isinstance(sink, PlanWriter):
        _write(out, lambda handle: sink.write_to(head, handle))
        sink.close()
    elif out is None:
        console = Console()
        sink.show(head, console if console.is_terminal else Console(width=140))
    else:
        with out.open("w", encoding="utf-8") as handle:
            sink.show(head, Console(file=handle, width=160))
    return head, sink.changes


def _write(out: Path | None, write: Callable[[Writable], None]) -> None:
    """Write the plan JSON to `out` atomically (a partial file renamed), or to stdout."""
    if out is None:
        write(_Echo())
        click.echo()
        return
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        write(handle)
        handle.write("\n")
    partial.replace(out)


class _Echo:
    """Standard output as a file `PlanWriter.write_to` can write to (through click, so
    tests capture it)."""

    def write(self, text: str) -> int:
        click.echo(text, nl=False)
        return len(text)
