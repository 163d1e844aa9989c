"""`rulebridge fleet run|worker|status|serve --agencies DIR`: many agencies' nights on durable
queues (`rulebridge.fleet`, docs/fleet.md)."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import FORMAT, failing_cleanly
from rulebridge.cli.run import said_by
from rulebridge.runner import RunLog

__all__ = ["fleet"]

AGENCIES = click.option(
    "--agencies",
    "folder",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    required=True,
    help="The fleet's folder: agency configs (*.yaml, */agency.yaml) and fleet.yaml.",
)


@click.group("fleet", context_settings=CONTEXT)
def fleet() -> None:
    """Run many agencies' nights side by side on durable queues, on one machine or several.

    Each agency-night is one durable workflow (id AGENCY:NIGHT) whose steps are the
    nightly run's: check, snapshot, plan, apply in batches, issues, report. One night per
    agency at a time; a worker that dies has its nights resumed by another from the first
    step not recorded. The queues live in SQLite beside the agencies (one machine) or in
    Postgres (RULEBRIDGE_FLEET_DATABASE_URL: several machines). See docs/fleet.md.

    Example:

        \b
        rulebridge fleet run --agencies fleet/
        rulebridge fleet worker --agencies fleet/
        rulebridge fleet status --agencies fleet/
    """


@fleet.command("run", context_settings=CONTEXT)
@AGENCIES
@click.option(
    "--night",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="The night to run (default: today in the fleet's time zone).",
)
@click.option("--agency", "only", multiple=True, help="Only this agency (repeatable).")
@click.option(
    "--no-wait",
    is_flag=True,
    help="Only enqueue the nights (the fleet's workers run them); print their ids.",
)
@click.option("--quiet", is_flag=True, help="Print no table at the end.")
def run(
    folder: Path, night: datetime | None, only: tuple[str, ...], no_wait: bool, quiet: bool
) -> None:
    """Enqueue tonight for every agency and work until each of those nights has ended.

    A night already enqueued (by a schedule or an earlier `fleet run`) is the same
    workflow: it runs once. Other workers of the fleet take part. SIGTERM or Ctrl-C drains
    this worker: its nights stop after the effect in progress and another worker (or the
    next `fleet run`) resumes them.

    With --no-wait it only enqueues (a worker must have created the fleet's database).

    Exit codes: the worst of the nights' (docs/runner.md): 0 no changes, 2 changes, 3
    items for a person, 1 a night failed; 64 usage error.

    Example:

        rulebridge fleet run --agencies fleet/ --night 2026-12-07
    """
    log = RunLog()
    with failing_cleanly(say=said_by(log)):
        from rulebridge.fleet import load_fleet, night_of

        fleet_config = load_fleet(folder)
        names = list(only) or None
        if names:
            for name in names:
                fleet_config.agency(name)  # an unknown agency: its error
        chosen = night.date() if night else night_of(datetime.now(UTC), fleet_config.time_zone)
        if no_wait:
            from rulebridge.fleet.client import enqueue_nights, fleet_client

            with fleet_client(fleet_config) as client:
                for workflow in enqueue_nights(client, fleet_config, chosen, names):
                    click.echo(workflow)
            return
        with log:
            outcomes = _nights(fleet_config, log, chosen, names)
        if not quiet:
            _print_outcomes(outcomes, chosen)
        sys.exit(max((_order(o["exit_code"]) for o in outcomes), default=0) % 100)


@fleet.command("worker", context_settings=CONTEXT)
@AGENCIES
def worker(folder: Path) -> None:
    """Join the fleet: run nights (and live reconciles) from its queues until SIGTERM.

    The queues' database comes from RULEBRIDGE_FLEET_DATABASE_URL (or the variable
    fleet.yaml names, or its secrets file); without one, the SQLite file
    state/fleet.sqlite in the folder. Keeps each agency's nightly schedule
    (fleet.yaml `nightly:`, default 01:30 Europe/London). SIGTERM drains: the steps in
    progress stop after their effect in progress, record nothing, and another worker
    resumes them; exit 0.

    Example:

        \b
        export RULEBRIDGE_FLEET_DATABASE_URL=postgresql://rb@db.internal/fleet
        rulebridge fleet worker --agencies /srv/fleet
    """
    log = RunLog()
    with failing_cleanly(say=said_by(log)):
        from rulebridge.fleet import Worker, load_fleet

        fleet_config = load_fleet(folder)
        with log:
            member = Worker(fleet_config, log)
            member.start()
            sys.exit(member.wait())


@fleet.command("status", context_settings=CONTEXT)
@AGENCIES
@FORMAT
def status(folder: Path, output: str) -> None:
    """Show per agency its last night and how it ended, the night running, the nights
    queued; and the workers.

    Example:

        rulebridge fleet status --agencies fleet/ --format json
    """
    with failing_cleanly():
        from rulebridge.fleet import fleet_status, load_fleet

        rows, workers = fleet_status(load_fleet(folder))
    if output == "json":
        click.echo(json.dumps({"agencies": rows, "workers": workers}, indent=2))
        return
    console = Console() if Console().is_terminal else Console(width=140)
    table = Table("agency", "last night", "outcome", "running", "queued")
    for row in rows:
        last = row["last_night"] or {}
        outcome = f"{last.get('status')} (exit {last.get('exit_code')})" if last else "no night yet"
        running_now = ", ".join(
            f"{item['night']} on {item['worker']} ({item['steps_done']} steps done)"
            for item in row["running"]
        )
        table.add_row(
            row["agency"],
            last.get("night", "-"),
            outcome,
            running_now or "-",
            ", ".join(row["queued"]) or "-",
        )
    console.print(table)
    console.print(
        f"{len(workers)} worker(s): "
        + (
            ", ".join(
                f"{w['executor_id']}{' (draining)' if w['draining'] else ''}" for w in workers
            )
            or "none"
        )
    )


@fleet.command("serve", context_settings=CONTEXT)
@AGENCIES
@click.option(
    "--listen",
    default="127.0.0.1:8787",
    show_default=True,
    help="host:port to listen on, behind the TLS proxy Fixflo posts to.",
)
@click.option("--no-subscribe", is_flag=True, help="Do not subscribe to Fixflo's webhooks.")
def serve(folder: Path, listen: str, no_subscribe: bool) -> None:
    """Receive Fixflo's webhooks for every agency and queue each issue's reconcile.

    One server for the fleet: POST /AGENCY/TOKEN is AGENCY's delivery (its path token,
    its signature, claimed once in its store); the reconcile of the issue goes on the
    fleet's queue, one per issue at a time, run by the workers (`rulebridge fleet
    worker`) within the agency's rate limit, shared with its night. Each agency's
    webhook.public_url must route to /AGENCY/ of this server. GET /healthz, /readyz (the
    queues' database answers), /status (per agency counts). SIGTERM stops it.

    Example:

        rulebridge fleet serve --agencies fleet/ --listen 127.0.0.1:8787
    """
    log = RunLog()
    with failing_cleanly(say=said_by(log)):
        from rulebridge.fleet import FleetServer, load_fleet

        with log:
            server = FleetServer(load_fleet(folder), log, listen=listen,
                                 subscribe=not no_subscribe)  # fmt: skip
            sys.exit(server.serve_forever())


def _nights(fleet_config: Any, log: RunLog, night: date, names: list[str] | None) -> list[Any]:
    """Run `night` for `names` as the fleet's worker and end when the queues are empty; on
    a SQLite fleet whose worker runs already, enqueue them for it and wait (becoming the
    worker if it goes away first)."""
    from rulebridge.fleet import TERMINAL, Worker
    from rulebridge.fleet.client import enqueue_nights, fleet_client
    from rulebridge.fleet.status import night_outcome
    from rulebridge.fleet.worker import FleetBusyError

    member = Worker(fleet_config, log, schedules=False)
    ids: list[str] | None = None
    while True:
        try:
            member.start()
        except FleetBusyError:  # another process is the SQLite fleet's worker: it runs them
            with fleet_client(fleet_config) as client:
                if ids is None:
                    ids = enqueue_nights(client, fleet_config, night, names)
                    click.echo(f"the fleet's worker runs {len(ids)} night(s); waiting", err=True)
                found = {wf.workflow_id: wf for wf in client.list_workflows(workflow_ids=ids)}
            if all(wid in found and found[wid].status in TERMINAL for wid in ids):
                return [night_outcome(wid, found.get(wid)) for wid in ids]
            time.sleep(1.0)
            continue
        try:
            mine = member.enqueue(night, names)

            def done(mine: list[str] = mine) -> bool:
                states = member.status_of(mine)
                ended = all(wid in states and states[wid].status in TERMINAL for wid in mine)
                return ended and member.idle()

            member.wait(done)
            states = member.status_of(mine)
            return [night_outcome(wid, states.get(wid)) for wid in mine]
        finally:
            member.stop()


def _order(code: Any) -> int:
    """Worst first: 1 (failure) > 3 (attention) > 2 (changes) > 0; as 101, 3, 2, 0."""
    return 101 if code not in (0, 2, 3) else int(code)


def _print_outcomes(outcomes: list[dict[str, Any]], night: date) -> None:
    console = Console() if Console().is_terminal else Console(width=140)
    table = Table("night", "status", "exit", "changes", "error", title=f"fleet night {night}")
    for item in outcomes:
        table.add_row(
            item["night"],
            str(item.get("status")),
            str(item.get("exit_code")),
            str(item.get("changes", "")),
            (item.get("error") or "")[:80],
        )
    console.print(table)
