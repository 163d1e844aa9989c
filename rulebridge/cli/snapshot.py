"""`rulebridge snapshot`: read Alto or Fixflo through its adapter into a snapshot file."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from adapters.http import Deadline
from engine.errors import RecordError
from rulebridge._config import AgencyConfig, load_agency_config
from rulebridge._snapshot_io import take_snapshot
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AGENCY, failing_cleanly
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.wiring import Wire, snapshot_reader

__all__ = ["snapshot"]


@click.command("snapshot", context_settings=CONTEXT)
@click.argument("system", type=click.Choice(["alto", "fixflo"]))
@AGENCY
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The snapshot file to write (replaced atomically).",
)
def snapshot(system: str, config_path: Path, out: Path) -> None:
    """Read every collection of SYSTEM (alto or fixflo) into a snapshot file.

    Credentials come from the environment variables the config names (or its secrets file),
    never from the command line. Requests keep to the config's rate limit and are retried on
    429, 5xx and network failures, and the whole read ends within the config's
    limits.snapshot_seconds. Items of a listing that are not usable records are left out and
    listed on stderr with their endpoint and index. Exit codes: 0 written, 1 error, 64 usage
    error.

    Example:

        rulebridge snapshot fixflo --config agencies/acme.yaml --out fixflo.json
    """
    retries = _RetryCounter()
    rejected: list[RecordError] = []
    with failing_cleanly():
        config = load_agency_config(config_path)
        with retries.counting():
            counts = _run(config, system, out, rejected)
    for error in rejected:
        click.echo(f"left out: {error}", err=True)
    total = sum(counts.values())
    parts = ", ".join(f"{name} {count}" for name, count in counts.items())
    plural = "" if len(rejected) == 1 else "s"
    left_out = f"; {len(rejected)} unusable record{plural} left out" if rejected else ""
    click.echo(
        f"wrote {out}: {total} records ({parts}); {retries.count} requests retried{left_out}"
    )


class _RetryCounter(logging.Handler):
    """Counts stamina's retry messages instead of printing them over the progress bar."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        logger = logging.getLogger("stamina")
        propagate, logger.propagate = logger.propagate, False
        logger.addHandler(self)
        try:
            yield
        finally:
            logger.removeHandler(self)
            logger.propagate = propagate


def _run(
    config: AgencyConfig, system: str, out: Path, rejected: list[RecordError]
) -> dict[str, int]:
    api = config.api(system)
    config.auth(system)  # a missing secret fails here, before any request
    taken_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    seconds = config.snapshot_seconds
    deadline = Deadline.after(seconds, "the snapshot", "limits.snapshot_seconds")
    open_source = snapshot_reader(
        Wire(config, ApiCalls()), system, deadline=deadline, rejected=rejected
    )

    console = Console(stderr=True)
    if not console.is_terminal:
        return take_snapshot(out, system, open_source, taken_at=taken_at, agency_ref=api.agency_ref)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"reading {system}", total=None)
        seen = {"records": 0}

        def tick(name: str) -> None:
            seen["records"] += 1
            if seen["records"] % 100 == 0:
                progress.update(task, description=f"reading {system}: {name}, {seen['records']}")

        return take_snapshot(
            out, system, open_source, taken_at=taken_at, agency_ref=api.agency_ref, on_record=tick
        )
