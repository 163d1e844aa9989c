"""`rulebridge generate`: write a generated agency's Alto and Fixflo snapshots."""

from __future__ import annotations

from pathlib import Path

import click

from engine.errors import RulebridgeError
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import bounded
from simulator.agency import MAX_SIZE, AgencyGenerator

__all__ = ["generate"]


@click.command("generate", context_settings=CONTEXT)
@bounded(
    "--size",
    1,
    MAX_SIZE,
    200,
    "Number of Alto inventory records (properties); the other collections scale with it.",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Any whole number; the same size and seed always give byte-identical files.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write alto.json and fixflo.json into; made if missing.",
)
def generate(size: int, seed: int, out_dir: Path) -> None:
    """Generate a realistic agency: an Alto snapshot, and the Fixflo records it must merge with.

    The Fixflo side holds records from an earlier nightly run (some out of date), people
    and properties made by hand that match Alto by email or address, near-duplicates and
    records that match nothing. Records are streamed to disk, so large sizes are fine.

    Example:

        rulebridge generate --size 2000 --seed 7 --out build/agency
    """
    try:
        written = AgencyGenerator(size, seed).write(out_dir)
    except RulebridgeError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"{out_dir}: cannot create the folder ({exc.strerror})") from exc
    for snapshot in written:
        counts = ", ".join(f"{count} {name}" for name, count in snapshot.counts.items())
        click.echo(f"wrote {snapshot.path}: {counts}")
