"""`rulebridge run --config AGENCY.yaml`: the nightly job (see `rulebridge.runner`)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import click
from rich.console import Console

from rulebridge._config import load_agency_config
from rulebridge._exits import ExitCode, signal_code
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AGENCY, STORE_TO_BE, bounded, default_store, failing_cleanly
from rulebridge.runner import RunLog, RunOptions, render_report, run_nightly
from rulebridge.runner.stop import Interrupted, signal_name, stopping

__all__ = ["run_command"]


@click.command("run", context_settings=CONTEXT)
@AGENCY
@STORE_TO_BE
@click.option("--dry-run", is_flag=True, help="Read, plan and reconcile; write nothing.")
@click.option(
    "--plan-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the plan (JSON) for `rulebridge apply`.",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The date the rules compare with (default: today, UTC).",
)
@bounded("--keep-runs", 1, 1000, 7, "Keep the snapshots of this many latest runs beside the store.")
@click.option("--quiet", is_flag=True, help="Print no report at the end (it is stored anyway).")
def run_command(
    config_path: Path,
    store_path: Path | None,
    dry_run: bool,
    plan_out: Path | None,
    as_of: datetime | None,
    keep_runs: int,
    quiet: bool,
) -> None:
    """Run the nightly job for one agency: snapshot Alto and Fixflo, plan, apply the
    changed records to Fixflo, reconcile Fixflo issues into Alto, report.

    Only one run per agency at a time: a second one exits at once. It first checks both
    APIs and their credentials as `rulebridge check` does, so a wrong token fails in
    seconds. A progress bar on a terminal, JSON log lines on standard error otherwise; the
    report is printed at the end and kept (`rulebridge history`, `rulebridge report RUN`).
    SIGTERM or Ctrl-C stops it after the effect in progress (a second one at once): the
    run is recorded as interrupted and the next run resumes.

    Exit codes (docs/runner.md): 0 no changes, 2 changes applied (or, with --dry-run, to
    apply), 3 succeeded but left items for a person or dead letters (`rulebridge report
    latest`), 1 failure (run it again: it resumes), 64 usage error, 130 interrupted by
    SIGINT, 143 by SIGTERM (both resume).

    Example:

        rulebridge run --config agencies/acme.yaml
    """
    log = RunLog()  # every log record one JSON line off a terminal (or the progress bar)
    with failing_cleanly(say=said_by(log)):
        config = load_agency_config(config_path)
        options = RunOptions(
            config,
            store_path or default_store(config_path),
            dry_run=dry_run,
            plan_out=plan_out,
            as_of=as_of.date() if as_of else None,
            keep_runs=keep_runs,
        )
        # Until the process exits: a signal after the run (while the report prints) is
        # still an interruption, never the default death by signal.
        with stopping():
            try:
                with log:
                    outcome = run_nightly(options, log)
                if not quiet:
                    console = Console()
                    wide = console if console.is_terminal else Console(width=140)
                    render_report(outcome.report, wide)
            except (Interrupted, KeyboardInterrupt) as exc:  # outside the recorded run
                _interrupted(log, exc.signum if isinstance(exc, Interrupted) else signal.SIGINT)
            if outcome.exit_code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
                stopped = ExitCode(outcome.exit_code) == ExitCode.TERMINATED
                _interrupted(log, signal.SIGTERM if stopped else signal.SIGINT)
            sys.exit(outcome.exit_code)


def said_by(log: RunLog) -> Callable[[str], None] | None:
    """How a scheduled command says an error outside its run: on a terminal as a plain
    line (None: `failing_cleanly`'s own), otherwise as the log's ``error`` event, so that
    standard error stays one JSON object per line."""
    if log.terminal:
        return None
    return lambda message: log.event("error", message=message)


def _interrupted(log: RunLog, signum: int) -> NoReturn:
    message = (
        f"interrupted by {signal_name(signum)}: every effect made so far is recorded; the "
        "next run resumes where this one stopped"
    )
    say = said_by(log)
    if say is None:
        click.echo(message, err=True)
    else:
        log.event("stopped", signal=signal_name(signum), message=message)
    sys.exit(signal_code(signum))
