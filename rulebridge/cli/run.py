"""`rulebridge run --config AGENCY.yaml`: the nightly job (see `rulebridge.runner`)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console

from rulebridge._config import load_agency_config
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AGENCY, STORE_TO_BE, bounded, default_store, failing_cleanly
from rulebridge.runner import RunLog, RunOptions, render_report, run_nightly

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

    Only one run per agency at a time: a second one exits at once. A progress bar on a
    terminal, JSON log lines on standard error otherwise; the report is printed at the end
    and kept (`rulebridge history`, `rulebridge report RUN`). Exit codes: 0 no changes,
    2 changes applied (or, with --dry-run, to apply), 1 failure (run it again: it resumes),
    130 interrupted (Ctrl-C; it resumes too).

    Example:

        rulebridge run --config agencies/acme.yaml
    """
    with failing_cleanly():
        config = load_agency_config(config_path)
        options = RunOptions(
            config,
            store_path or default_store(config_path),
            dry_run=dry_run,
            plan_out=plan_out,
            as_of=as_of.date() if as_of else None,
            keep_runs=keep_runs,
        )
        try:
            with RunLog() as log:  # every log record one JSON line (or the progress bar)
                outcome = run_nightly(options, log)
        except KeyboardInterrupt:
            click.echo(
                "interrupted: every effect made so far is recorded; the next run resumes "
                "where this one stopped",
                err=True,
            )
            sys.exit(130)
    if not quiet:
        console = Console()
        render_report(outcome.report, console if console.is_terminal else Console(width=140))
    sys.exit(outcome.exit_code)
