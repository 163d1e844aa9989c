"""`rulebridge generate [agency|jupix]`: a generated agency (Alto and Fixflo snapshots), or a
generated Jupix export.

``agency`` is the default, so ``rulebridge generate --size 10 --seed 1 --out x`` still
writes an agency. ``jupix`` writes an export in the format `adapters.jupix` reads and
leaves a mark, `GENERATED`, listing its files: a later ``generate jupix`` replaces a folder
holding that mark and nothing else, and refuses any other non-empty folder (a real export
among them), so it never overwrites what it did not write.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import click

from adapters.jupix import TABLES
from adapters.jupix.spec import MANIFEST
from engine.errors import RulebridgeError
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import bounded
from rulebridge.cli.jupix import IsoDateTime
from simulator.agency import MAX_SIZE, AgencyGenerator
from simulator.jupix import EXPORTED_AT, write_jupix_export

__all__ = ["GENERATED", "generate"]

GENERATED = ".rulebridge-generated.json"
"""The mark `generate jupix` leaves in an export it wrote: the files it wrote (the reader
ignores files whose names start with a dot)."""
_FORMAT = "rulebridge.generated-jupix/1"
_FILES = (*(spec.file for spec in TABLES.values()), MANIFEST)
JUPIX_MAX = 1_000_000
OUT = click.Path(file_okay=False, path_type=Path)


class _AgencyByDefault(click.Group):
    """A group whose first word may be left out before an option of ``agency``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        options = {name for param in self.commands["agency"].params for name in param.opts}
        if args and args[0].split("=", 1)[0] in options:
            args = ["agency", *args]
        return super().parse_args(ctx, args)


@click.group("generate", cls=_AgencyByDefault, context_settings=CONTEXT)
def generate() -> None:
    """Generate a realistic agency (Alto and Fixflo snapshots) or a Jupix export.

    The first word is agency (the default, so it may be left out) or jupix. The same size
    and seed always give byte-identical files; records are streamed to disk, so large sizes
    are fine.

    Exit codes: 0 written; 1 the folder cannot be written; 64 an option is refused (usage
    error), e.g. a jupix --out folder holding files it did not write.

    Example:

        rulebridge generate --size 2000 --seed 7 --out build/agency

        rulebridge generate jupix --size 500 --seed 3 --out build/jupix
    """


SEED = click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Any whole number; the same size and seed always give byte-identical files.",
)
"""The ``--seed`` option both kinds take."""


@generate.command("agency", context_settings=CONTEXT)
@bounded(
    "--size",
    1,
    MAX_SIZE,
    200,
    "Number of Alto inventory records (properties); the other collections scale with it.",
)
@SEED
@click.option(
    "--out",
    "out_dir",
    type=OUT,
    required=True,
    help="Folder to write alto.json and fixflo.json into; made if missing.",
)
def agency(size: int, seed: int, out_dir: Path) -> None:
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


@generate.command("jupix", context_settings=CONTEXT)
@bounded("--size", 1, JUPIX_MAX, 200, "Number of properties; the other tables scale with it.")
@SEED
@click.option(
    "--out",
    "out_dir",
    type=OUT,
    required=True,
    help="The export folder: new, empty, or an export generate jupix wrote (replaced).",
)
@click.option(
    "--agency", "agency_name", help="The agency's name (made up from the seed if not given)."
)
@click.option(
    "--exported-at",
    type=IsoDateTime(),
    default=EXPORTED_AT.isoformat(),
    show_default=True,
    help="When the export says it was taken; dates in it are relative to this.",
)
def jupix(
    size: int, seed: int, out_dir: Path, agency_name: str | None, exported_at: datetime
) -> None:
    """Generate a realistic Jupix export: properties.xml, the CSV files and manifest.json.

    Every property follows one of the generator's scenarios, which between them exercise
    every J rule (docs/jupix-export.md). --out must be a new or empty folder, or one an
    earlier generate jupix wrote (it is marked); any other folder is refused, so a real
    export is never overwritten.

    Example:

        rulebridge generate jupix --size 500 --seed 3 --out build/jupix
        --agency "Acme Lettings" --exported-at 2025-06-01T18:00
    """
    if agency_name is not None and not agency_name.strip():
        raise click.BadParameter(
            "give the agency's name, or leave --agency out", param_hint="--agency"
        )
    previous = _previous(out_dir)
    try:
        _clear(out_dir, previous)
        out_dir.mkdir(parents=True, exist_ok=True)
        mark = {"format": _FORMAT, "files": list(_FILES)}
        (out_dir / GENERATED).write_text(json.dumps(mark, indent=2) + "\n", encoding="utf-8")
        manifest = write_jupix_export(
            out_dir, size, seed, agency=agency_name, exported_at=exported_at
        )
    except OSError as exc:
        click.echo(f"error: {out_dir}: cannot write the export ({exc.strerror or exc})", err=True)
        sys.exit(int(ExitCode.FAILURE))
    counts = _counts(out_dir, size)
    click.echo(
        f"wrote {out_dir}: a Jupix export for {manifest.agency}, taken {manifest.exported_at}"
    )
    click.echo("  " + ", ".join(f"{count} {name}" for name, count in counts.items()))


def _previous(out: Path) -> tuple[str, ...]:
    """What an earlier `generate jupix` wrote in `out` (to replace); a usage error when `out`
    holds anything else."""
    if not out.exists() and not out.is_symlink():
        return ()
    if not out.is_dir():
        raise click.BadParameter(f"{out} is a file, not a folder", param_hint="--out")
    entries = sorted(os.listdir(out))
    if not entries:
        return ()
    if GENERATED not in entries:
        raise click.BadParameter(
            f"{out} is not empty and generate jupix did not write it (it has no {GENERATED}); "
            "give a new or empty folder, so that no export or file is overwritten",
            param_hint="--out",
        )
    listed = _listed(out / GENERATED)
    foreign = [
        name
        for name in entries
        if name != GENERATED and not (name in listed and _plain_file(out / name))
    ]
    if foreign:
        raise click.BadParameter(
            f"{out} holds files generate jupix did not write ({_shown(foreign)}); move them out "
            "or give a new folder",
            param_hint="--out",
        )
    return tuple(name for name in listed if name in entries)


def _listed(mark: Path) -> tuple[str, ...]:
    try:
        document = json.loads(mark.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(f"{mark} cannot be read ({exc})", param_hint="--out") from exc
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise click.BadParameter(f"{mark} is not one generate jupix writes", param_hint="--out")
    files = document.get("files")
    if not isinstance(files, list):
        raise click.BadParameter(f"{mark} is not one generate jupix writes", param_hint="--out")
    return tuple(name for name in files if isinstance(name, str) and name in _FILES)


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _shown(names: Sequence[str]) -> str:
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return ", ".join(names[:5]) + more


def _clear(out: Path, previous: tuple[str, ...]) -> None:
    """Remove the earlier export's files (the manifest first, so a half-replaced folder is
    never taken for a whole export)."""
    for name in sorted(previous, key=lambda name: name != MANIFEST):
        (out / name).unlink()


def _counts(out: Path, size: int) -> dict[str, int]:
    counts = {"properties": size}
    for table, spec in TABLES.items():
        if spec.file.endswith(".csv"):
            with (out / spec.file).open(encoding="utf-8", newline="") as stream:
                counts[table] = max(sum(1 for _ in csv.reader(stream)) - 1, 0)
    return counts
