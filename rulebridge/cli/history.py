"""`rulebridge history` and `rulebridge report RUN`: the runs of an agency, and one run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from engine import RulebridgeError
from engine.store import Run, Store
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import CONFIG, FORMAT, STORE, store_of
from rulebridge.runner import render_report

__all__ = ["history", "report"]


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=140)


@click.command("history", context_settings=CONTEXT)
@STORE
@CONFIG
@click.option("--limit", type=click.IntRange(1), default=30, show_default=True)
@FORMAT
def history(store_path: Path | None, config_path: Path | None, limit: int, output: str) -> None:
    """List the agency's runs, newest first: when, how long, status, what changed.

    Exit codes: 0 listed, 1 error.

    Example:

        rulebridge history --config agencies/acme.yaml
    """
    try:
        with Store.open(store_of(store_path, config_path)) as store:
            runs = store.runs()[:limit]
    except RulebridgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if output == "json":
        click.echo(json.dumps([_row(run) for run in runs], indent=2))
        return
    table = Table()
    for name in ("run", "started", "seconds", "status", "exit", "changes", "api calls", "dead"):
        table.add_column(name, justify="right" if name != "status" else "left")
    for run in runs:
        row = _row(run)
        table.add_row(*(str(row[key]) for key in row))
    _console().print(table)


def _row(run: Run) -> dict[str, object]:
    report = run.report or {}
    head = report.get("run", {})
    changes = sum(n for counts in run.counts.values() for n in counts.values())
    status = (
        run.status
        + (" (dry run)" if run.dry_run else "")
        + (" (live)" if run.kind == "live" else "")
    )
    return {
        "run": run.id,
        "started": run.started[:19].replace("T", " "),
        "seconds": head.get("seconds", "-"),
        "status": status,
        "exit": head.get("exit_code", "-"),
        "changes": changes,
        "api_calls": (report.get("api") or {}).get("total", "-"),
        "dead": len(report.get("dead_letters") or []),
    }


@click.command("report", context_settings=CONTEXT)
@click.argument("run_id", metavar="RUN", type=int)
@STORE
@CONFIG
@FORMAT
def report(run_id: int, store_path: Path | None, config_path: Path | None, output: str) -> None:
    """Show one run: counts per entity and action, skips by rule, warnings, dead letters,
    API calls per endpoint, retries and duration.

    Exit codes: 0 shown, 1 no such run (or it has no report: it was killed; see history).

    Example:

        rulebridge report 12 --config agencies/acme.yaml
    """
    try:
        with Store.open(store_of(store_path, config_path)) as store:
            run = store.run(run_id)
    except RulebridgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if run.report is None:
        click.echo(
            f"error: run {run_id} is {run.status} and left no report (it was stopped before "
            f"it finished); its effects so far: {json.dumps(run.counts)}",
            err=True,
        )
        sys.exit(1)
    if output == "json":
        click.echo(json.dumps(run.report, indent=2))
        return
    render_report(run.report, _console())
