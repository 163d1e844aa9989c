"""`rulebridge demo`: the main job end to end on the embedded default."""

from __future__ import annotations

import io
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from engine import RulebridgeError, check_paths
from engine.store import Store
from rulebridge._config import load_agency_config
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import bounded
from rulebridge.cli.validate import summary_line
from rulebridge.runner import RunLog, RunOptions, RunOutcome, render_report, run_nightly
from rulebridge.runner.report import changes_of, exit_words
from rulebridge.runner.serve import LiveServer, ServeOptions
from simulator.fake.loopback import FakeAgency, agreement, fake_agency, play_issues
from simulator.testing import run_tests

__all__ = ["demo"]

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"


@click.command("demo", context_settings=CONTEXT)
@bounded("--size", 10, 100_000, 300, "Properties in the generated agency.")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/demo"),
    show_default=True,
    help="Where the files go.",
)
def demo(size: int, seed: int, out_dir: Path) -> None:
    """Run the main job on the embedded default and print what it did.

    Validates the shipped rulesets, serves a generated agency from a fake Alto and a fake
    Fixflo on 127.0.0.1, runs the nightly job (`rulebridge run`) against them, then plays
    repairs through Fixflo during the day: one before the live server (`rulebridge serve`)
    starts, six while it runs (their webhooks make works orders in Alto within seconds).
    The second night does what the webhooks missed and prints its report; a third run shows
    nothing is written when nothing changed. Exit codes: 0 done, 1 a run failed or did not
    converge.

    Example:

        rulebridge demo --size 500 --seed 3
    """
    console = Console() if Console().is_terminal else Console(width=140)
    try:
        _validate(console)
        _run(console, size, seed, out_dir)
    except RulebridgeError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


def _validate(console: Console) -> None:
    console.rule("1. The shipped rulesets")
    results = check_paths([RULESETS])
    for result in results:
        console.print(
            summary_line(result) if result.ok else "\n".join(map(str, result.errors)),
            markup=False,
            highlight=False,
        )
    if not all(result.ok for result in results):
        raise click.ClickException("a shipped ruleset does not validate")
    tests = run_tests([RULESETS])
    failed = len(tests.failed) + len(tests.errors)
    console.print(
        f"their own tests (rulebridge test rulesets/): {len(tests.results)} cases, "
        f"{len(tests.results) - len(tests.failed)} passed; coverage "
        + ", ".join(
            f"{Path(found.ruleset).parent.name}/{Path(found.ruleset).name} {found.percent:.1f}% "
            f"of {found.total} items"
            for found in tests.coverage
        ),
        markup=False,
        highlight=False,
    )
    if failed:
        raise click.ClickException(
            "a shipped ruleset fails its tests: run rulebridge test rulesets/"
        )


def _run(console: Console, size: int, seed: int, out_dir: Path) -> None:
    night_dir = out_dir / "night"
    shutil.rmtree(night_dir, ignore_errors=True)  # every demo starts from a new agency
    console.rule(f"2. A generated agency ({size} properties, seed {seed}) on the fake servers")
    with fake_agency(night_dir, size=size, seed=seed, webhooks=True) as agency:
        _say(
            console,
            f"fake Alto {agency.alto_url}, fake Fixflo {agency.fixflo_url}; "
            f"config {agency.config_path}",
        )
        config = load_agency_config(agency.config_path)
        home = night_dir / "home"  # a new agency each demo: its own locks and witness
        options = RunOptions(config, agency.store_path, state_home=home)
        console.rule("3. The first night: everything that should be in Fixflo is sent")
        first = _night(console, options)
        console.rule("4. During the day: repairs reported and worked on in Fixflo")
        _say(console, "Before the live server starts, one repair (its webhook finds nobody):")
        missed = play_issues(agency, 1, seed=seed)
        _show_issues(console, agency, missed)
        agency.fixflo.webhooks.drain(30)  # Fixflo's retries end: that delivery is lost
        live = _live_phase(console, agency, ServeOptions(config, agency.store_path, home), seed)
        console.rule("5. The second night: what the webhooks missed becomes works orders")
        second = _night(console, options)
        render_report(second.report, console)
        _handled(console, second.report, missed, live)
        console.rule("6. The third night: nothing changed, so nothing is written")
        third = _night(console, options)
        problems = agreement(agency)
    _summary(console, [first, second, third], problems, agency.store_path)
    # Converged: the third night wrote nothing (items for a person may stay: exit code 3).
    converged = third.exit_code in (ExitCode.NOTHING, ExitCode.ATTENTION)
    if problems or not converged or third.report["run"]["changes"]:
        raise click.ClickException("the nightly job did not converge (see above)")


def _live_phase(
    console: Console, agency: FakeAgency, options: ServeOptions, seed: int
) -> list[str]:
    """`rulebridge serve` in this process while six repairs are played; their ids."""
    server = LiveServer(options, RunLog(io.StringIO(), terminal=False))
    with server.running():
        _say(console, f"`rulebridge serve` listening on {server.url}; six more repairs:")
        started = time.monotonic()
        issues = play_issues(agency, 6, seed=seed + 1)
        reconciler = server.reconciler
        assert reconciler is not None
        deadline = started + 60
        while time.monotonic() < deadline and not _quiet(agency, server):
            time.sleep(0.05)
        seconds = time.monotonic() - started
        _show_issues(console, agency, issues)
        latency = reconciler.stats.to_json()["latency_seconds"]
        fates = reconciler.stats.fates
        _say(
            console,
            f"live: {fates['reconciled']} reconciles of {len(issues)} issues "
            f"({agency.fixflo.webhooks.sent} webhooks), all in Alto {seconds:.1f} s after "
            f"the first change; webhook-to-Alto latency p50 {latency['p50']} s, "
            f"p99 {latency['p99']} s",
        )
    return issues


def _quiet(agency: FakeAgency, server: LiveServer) -> bool:
    """Fixflo sent every webhook and the server's queue is empty."""
    return not agency.fixflo.webhooks.sender.pending() and server.idle()


def _show_issues(console: Console, agency: FakeAgency, issues: list[str]) -> None:
    orders = set(agency.simulation.alto.order_issue.values())
    for issue_id in issues:
        issue = agency.simulation.fixflo.issues[issue_id]
        where = (issue.get("FixfloProperty") or {}).get("ExternalPropertyRef")
        job = issue.get("Job") or {}
        in_alto = "works order in Alto" if issue_id in orders else "not in Alto"
        _say(
            console,
            f"issue {issue_id} {issue['Title']!r}: {issue['Status']} at property {where} "
            f"({_job_words(job, issue['Status'])}; {in_alto})",
        )


def _handled(console: Console, report: dict[str, Any], missed: list[str], live: list[str]) -> None:
    handled = report.get("issues", {}).get("handled") or {}
    _say(
        console,
        f"night 2: {handled.get('live', 0)} issues already handled live by the server, "
        f"{handled.get('night', 0)} only tonight (issue {', '.join(missed)}: its webhook "
        "was missed); the nightly run is the safety net",
    )


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False)


def _job_words(job: dict[str, Any], status: str) -> str:
    """Who does the job, in words (cancelled: closed before it was completed)."""
    if not job:
        return "no job"
    who = "a contractor" if job.get("Contractor") else "the landlord"
    return f"{who}, cancelled" if status == "Closed" and not job.get("JobCompleted") else who


def _night(console: Console, options: RunOptions) -> RunOutcome:
    log = RunLog() if console.is_terminal else RunLog(io.StringIO(), terminal=False)
    outcome = run_nightly(options, log)
    with Store.open(options.store_path) as store:  # the effects, as `history` counts them
        outcome.report["run"].setdefault(
            "changes", changes_of(outcome.report, store.run(outcome.report["run"]["id"]).counts)
        )
    _say(console, _counted(outcome.report))
    if outcome.exit_code == 1:
        run = outcome.report["run"]
        raise click.ClickException(f"run {run['id']} failed: {run.get('error')}")
    return outcome


def _counted(report: dict[str, Any]) -> str:
    """A run in the words and numbers of `rulebridge history` and `rulebridge report`:
    exit code and its meaning, changes, items for a person, API calls, dead letters."""
    run, api = report["run"], report.get("api") or {}
    manual = (report.get("reference") or {}).get("manual", 0)
    return (
        f"run {run['id']}: exit code {exit_words(run.get('exit_code'))}, "
        f"{changes_of(report)} changes, {manual} for a person, "
        f"{len(report.get('dead_letters') or [])} dead letters, "
        f"{api.get('total', 0)} API calls ({api.get('writes', 0)} writes), "
        f"{run.get('seconds', 0):.1f} s"
    )


def _summary(console: Console, nights: list[RunOutcome], problems: list[str], store: Path) -> None:
    console.rule("Summary")
    for number, night in enumerate(nights, 1):
        _say(console, f"night {number}: {_counted(night.report)}")
    if problems:
        for problem in problems:
            console.print(f"disagreement: {problem}", markup=False, highlight=False)
    else:
        console.print(
            "Alto agrees with every Fixflo issue (W-01..W-10, CH-01..CH-06); "
            f"see `rulebridge history --store {store}`",
            markup=False,
            highlight=False,
        )
