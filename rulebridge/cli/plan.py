"""`rulebridge plan`: what the nightly sync would change in Fixflo, and why."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from engine import load_ruleset
from engine.sync.planner import make_plan
from rulebridge._snapshots import load_snapshots
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import failing_cleanly
from rulebridge.cli._plan_table import print_plan

__all__ = ["plan"]

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("plan", context_settings=CONTEXT)
@click.option("--ruleset", "ruleset_path", required=True, type=EXISTING, help="The ruleset file.")
@click.option("--alto", required=True, type=EXISTING, help="An Alto snapshot (JSON).")
@click.option("--fixflo", type=EXISTING, help="A Fixflo snapshot; without it Fixflo is empty.")
@click.option("--settings", type=EXISTING, help="The agency's settings file.")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The run's date (default: the day the Alto snapshot was taken).",
)
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
    and the values it read. Exit codes: 0 no changes, 2 changes planned, 1 error.

    Example:

        rulebridge plan --ruleset rulesets/alto-fixflo/v1.yaml --alto alto.json --fixflo fixflo.json
    """
    with failing_cleanly():
        made = _make(ruleset_path, alto, fixflo, settings, as_of.date() if as_of else None)
    _write(made, output, out)
    for rejected in made.rejected[:20]:
        click.echo(f"warning: {rejected['where']}: {rejected['message']}", err=True)
    sys.exit(2 if made.has_changes else 0)


def _make(
    ruleset_path: Path, alto: Path, fixflo: Path | None, settings: Path | None, as_of: date | None
) -> Any:
    ruleset = load_ruleset(ruleset_path, settings=settings)
    loaded = load_snapshots(alto, fixflo)
    when = as_of or date.fromisoformat(loaded.headers["alto"].taken_at[:10])
    rejected = [
        {"where": error.where, "record_id": error.record_id, "message": error.message}
        for error in loaded.rejected
    ]
    return make_plan(ruleset, loaded.records, as_of=when, inputs=loaded.inputs(), rejected=rejected)


def _write(made: Any, output: str, out: Path | None) -> None:
    if output == "json":
        text = json.dumps(made.to_json(), indent=2, ensure_ascii=False, default=str) + "\n"
        if out is None:
            click.echo(text, nl=False)
        else:
            _atomic_write(out, text)
        return
    if out is None:
        console = Console()
        print_plan(made, console if console.is_terminal else Console(width=140))
    else:
        with out.open("w", encoding="utf-8") as handle:
            print_plan(made, Console(file=handle, width=160))


def _atomic_write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, "utf-8")
    partial.replace(path)
