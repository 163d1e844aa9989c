"""`rulebridge history` and `rulebridge report latest|RUN`: the runs of an agency, and one
run's report as tables, JSON, Markdown or an HTML page."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.table import Table

from engine import RulebridgeError
from engine.store import Run, Store
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import CONFIG, FORMAT, STORE, store_of
from rulebridge.runner.report import (
    changes_of,
    iso_time,
    kind_of,
    render_html,
    render_markdown,
    render_report,
)

__all__ = ["history", "report"]

KINDS = ("night", "live", "apply", "adopt")


def _console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=140)


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(ExitCode.FAILURE)


@click.command("history", context_settings=CONTEXT)
@STORE
@CONFIG
@click.option("--limit", type=click.IntRange(1), default=30, show_default=True)
@FORMAT
def history(store_path: Path | None, config_path: Path | None, limit: int, output: str) -> None:
    """List the agency's runs, newest first: when, how long, status, what changed.

    Each run's kind (night, live, apply, adopt), start (ISO 8601 with its offset),
    seconds, status, exit code, changes (as `rulebridge report` and the demo count them),
    items for a person, API calls and dead letters.

    Exit codes: 0 listed, 1 error, 64 usage error.

    Example:

        rulebridge history --config agencies/acme.yaml
    """
    try:
        with Store.open(store_of(store_path, config_path)) as store:
            runs = store.runs(limit=limit)
    except RulebridgeError as exc:
        _fail(str(exc))
    rows = [history_row(run) for run in runs]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table()
    columns = ("run", "kind", "started", "seconds", "status", "exit", "changes", "for a person")
    for name in (*columns, "api calls", "dead"):
        table.add_column(name, justify="left" if name in ("kind", "started", "status") else "right")
    for row in rows:
        status = str(row["status"]) + (" (dry run)" if row["dry_run"] else "")
        cells = (
            row["run"],
            row["kind"],
            row["started"],
            row["seconds"],
            status,
            row["exit"],
            row["changes"],
            row["manual"],
            row["api_calls"],
            row["dead"],
        )
        table.add_row(*(str(cell) for cell in cells))
    _console().print(table)


def history_row(run: Run) -> dict[str, Any]:
    """One run as `rulebridge history` lists it; ``changes`` is `changes_of` its report
    (the number `rulebridge report` and the demo show)."""
    report = run.report or {}
    head = report.get("run") or {}
    reference = report.get("reference") or {}
    return {
        "run": run.id,
        "kind": kind_of(report, run),
        "started": iso_time(run.started),
        "finished": iso_time(run.finished) if run.finished else None,
        "seconds": head.get("seconds", "-"),
        "status": run.status,
        "dry_run": run.dry_run,
        "exit": head.get("exit_code", "-"),
        "changes": changes_of(report or None, run.counts),
        "manual": reference.get("manual", 0),
        "api_calls": (report.get("api") or {}).get("total", "-"),
        "dead": len(report.get("dead_letters") or []),
    }


@click.command("report", context_settings=CONTEXT)
@click.argument("which", metavar="latest|RUN")
@STORE
@CONFIG
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    help="With `latest`: the newest run of this kind (default: of any kind).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json", "md", "html"]),
    default="table",
    show_default=True,
    help="Tables on the terminal, the report as stored (JSON), Markdown to attach to a "
    "ticket, or a standalone HTML page.",
)
@click.option(
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the report to this file instead of standard output.",
)
def report(
    which: str,
    store_path: Path | None,
    config_path: Path | None,
    kind: str | None,
    output: str,
    output_path: Path | None,
) -> None:
    """Show one run: counts per entity and action, skips by rule, warnings, dead letters,
    API calls per endpoint, retries and duration.

    Also the run's status, exit code and what it means, kind, ruleset, times with their
    offsets and phases; every item for a person with what to do; drift; issues; dead
    letters grouped by reason; the alert. As tables, JSON (as stored), Markdown (to attach
    to a ticket) or a standalone HTML page.

    `latest` is the newest finished run (of --kind, if given); a run still running
    (the live server's, or a night in progress) has no report yet and is passed over.

    Exit codes: 0 shown, 1 no such run (or it has no report: it was killed; see history),
    64 usage error.

    Example:

        rulebridge report latest --config agencies/acme.yaml --format html --output run.html
    """
    if kind is not None and which != "latest":
        raise click.UsageError("--kind goes with `latest`, not with a run id")
    try:
        with Store.open(store_of(store_path, config_path)) as store:
            run = _chosen(store, which, kind)
    except RulebridgeError as exc:
        _fail(str(exc))
    if run.report is None:
        _fail(
            f"run {run.id} is {run.status} and left no report (it was stopped before it "
            f"finished); its effects so far: {json.dumps(run.counts)}"
        )
    _show(run, output, output_path)


def _chosen(store: Store, which: str, kind: str | None) -> Run:
    if which != "latest":
        try:
            return store.run(int(which))
        except ValueError:
            raise click.BadParameter(
                f"{which!r} is neither `latest` nor a run id", param_hint="latest|RUN"
            ) from None
    runs = [run for run in store.runs() if kind is None or kind_of(run.report, run) == kind]
    finished = [run for run in runs if run.status != "running"]
    if not finished:
        what = f"no {kind} run" if kind else "no finished run"
        _fail(f"{store.path}: {what} yet; see `rulebridge history`")
    if runs[0].status == "running":
        click.echo(
            f"note: run {runs[0].id} ({kind_of(runs[0].report, runs[0])}) is still running; "
            f"showing run {finished[0].id}",
            err=True,
        )
    return finished[0]


def _show(run: Run, output: str, path: Path | None) -> None:
    report = run.report or {}
    if output == "table" and path is None:
        render_report(report, _console(), counts=run.counts)
        return
    if output == "table":
        shown = io.StringIO()
        render_report(report, Console(file=shown, width=140), counts=run.counts)
        text = shown.getvalue()
    elif output == "json":
        text = json.dumps(report, indent=2) + "\n"
    elif output == "md":
        text = render_markdown(report, counts=run.counts)
    else:
        text = render_html(report, counts=run.counts)
    if path is None:
        click.echo(text, nl=False)
        return
    try:
        path.write_text(text, "utf-8")
    except OSError as exc:
        _fail(f"{path}: cannot write the report ({exc.strerror})")
