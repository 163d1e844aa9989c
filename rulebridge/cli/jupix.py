"""`rulebridge jupix check|rehash EXPORT`: check a Jupix export as `migrate` reads it, and
re-hash its manifest after a hand edit.

A hand-corrected row changes its file's SHA-256, and the reader then refuses the export as
"changed since the export was taken" (`adapters.jupix.manifest`). ``rehash`` writes the
manifest again over the files as they are now (atomically: ``write_manifest``), keeping
when and for whom the export was taken unless told otherwise, says which hashes changed and
checks the result, so the person who made the edit sees at once whether it reads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from adapters.jupix import TABLES, ExportError, JupixExport, Manifest, write_manifest
from adapters.jupix.manifest import read_manifest
from adapters.jupix.spec import MANIFEST
from engine.errors import RecordError
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT

__all__ = ["IsoDateTime", "jupix"]

EXPORT = click.Path(exists=True, file_okay=False, path_type=Path)
_KNOWN = frozenset({MANIFEST, *(spec.file for spec in TABLES.values())})


class IsoDateTime(click.ParamType[datetime]):
    """An ISO date and time (``2025-06-01T18:00``; a date alone is its midnight)."""

    name = "ISO"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The value as a `datetime`, or a usage error naming the expected form."""
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO date and time, e.g. 2025-06-01T18:00", param, ctx)


@click.group("jupix", context_settings=CONTEXT)
def jupix() -> None:
    """Check a Jupix export as migrate reads it, or re-hash its manifest after a hand edit.

    See docs/jupix-export.md for the format and every message.

    Example:

        rulebridge jupix check exports/acme

        rulebridge jupix rehash exports/acme
    """


@jupix.command("check", context_settings=CONTEXT)
@click.argument("export", type=EXPORT)
def check_command(export: Path) -> None:
    """Check a Jupix export: every file, every row, unique ids and references between rows.

    Prints each problem as file:line (record id): message, naming the fix. Reads every file
    once, streaming; changes nothing.

    Exit codes: 0 the export reads cleanly; 3 rows with problems (a bad row, an id used
    twice, a reference to a missing row: migrate leaves such rows out or reports them); 1 a
    whole file cannot be read, is missing, unknown or changed since its manifest (migrate
    refuses the export); 64 usage error (EXPORT is not a folder).

    Example:

        rulebridge jupix check exports/acme
    """
    problems = _problems(export)
    _print(problems)
    if any(isinstance(problem, ExportError) for problem in problems):
        sys.exit(int(ExitCode.FAILURE))
    sys.exit(int(ExitCode.ATTENTION if problems else ExitCode.NOTHING))


@jupix.command("rehash", context_settings=CONTEXT)
@click.argument("export", type=EXPORT)
@click.option("--agency", "agency_name", help="The agency's name (default: the manifest's).")
@click.option(
    "--exported-at",
    type=IsoDateTime(),
    help="When the export was taken, ISO (default: the manifest's), e.g. 2025-06-01T18:00.",
)
def rehash(export: Path, agency_name: str | None, exported_at: datetime | None) -> None:
    """Re-hash a Jupix export's manifest after a hand edit, then check the export.

    Writes manifest.json again (atomically) with the SHA-256 of every export file as it is
    now, keeping its agency and exported_at unless --agency or --exported-at are given, and
    prints each file whose hash changed. A folder without a manifest needs both options.
    Files that are not export files are reported, not hashed.

    Exit codes: 0 re-hashed and the export reads cleanly; 3 re-hashed, but the export has
    problems (listed); 1 cannot re-hash (no export file, a manifest that cannot be read, a
    file that cannot be written); 64 usage error.

    Example:

        rulebridge jupix rehash exports/acme

        rulebridge jupix rehash exports/acme --agency "Acme Lettings"
        --exported-at 2025-06-01T18:00
    """
    if agency_name is not None and not agency_name.strip():
        raise click.BadParameter("give the agency's name, or leave it out", param_hint="--agency")
    if not any((export / name).is_file() for name in _KNOWN - {MANIFEST}):
        _fail(
            f"{export} holds no export file ({', '.join(sorted(_KNOWN - {MANIFEST})[:3])}, ...); "
            "give the folder the export was unpacked to"
        )
    old = _old_manifest(export, agency_name, exported_at)
    agency = agency_name or (old.agency if old else None)
    when = exported_at or (datetime.fromisoformat(old.exported_at) if old else None)
    assert agency is not None  # no old manifest: both options were given
    assert when is not None
    try:
        new = write_manifest(export, agency=agency, exported_at=when)
    except (OSError, ExportError) as exc:
        _fail(f"{export / MANIFEST}: cannot write it ({exc}); the old manifest is unchanged")
    for line in _changes(old, new):
        click.echo(line)
    unknown = _unknown(export)
    if unknown:
        click.echo(f"not hashed, not export files: {', '.join(unknown)}")
    problems = _problems(export)
    _print(problems)
    sys.exit(int(ExitCode.ATTENTION if problems else ExitCode.NOTHING))


def _old_manifest(
    folder: Path, agency: str | None, exported_at: datetime | None
) -> Manifest | None:
    """The manifest there now; None when a new one is to be written from the options."""
    if not (folder / MANIFEST).is_file():
        if agency is None or exported_at is None:
            raise click.UsageError(
                f"{folder} has no {MANIFEST}: give --agency NAME and --exported-at ISO "
                "(when the export was taken) to write a new one"
            )
        return None
    try:
        return read_manifest(folder)
    except ExportError as exc:
        if agency is not None and exported_at is not None:
            click.echo(
                f"warning: {exc}; writing a new one from --agency and --exported-at", err=True
            )
            return None
        _fail(
            f"{exc}; to write a new manifest, give --agency NAME and --exported-at ISO "
            "(when the export was taken)"
        )


def _changes(old: Manifest | None, new: Manifest) -> Iterator[str]:
    if old is None:
        yield f"wrote a new {MANIFEST}: {new.agency}, exported {new.exported_at}"
        yield from (f"{name}: hashed {digest[:12]}" for name, digest in sorted(new.files.items()))
        return
    yield f"re-hashed {MANIFEST}: {new.agency}, exported {new.exported_at}"
    if (old.agency, old.exported_at) != (new.agency, new.exported_at):
        yield f"  was: {old.agency}, exported {old.exported_at}"
    changed = list(_changed_files(old.files, new.files))
    yield from changed or [f"no file changed since {MANIFEST} was written"]


def _changed_files(old: Mapping[str, str], new: Mapping[str, str]) -> Iterator[str]:
    for name in sorted({*old, *new}):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        was = before[:12] if before else "(not listed)"
        now = after[:12] if after else "(missing: no longer listed)"
        yield f"{name}: {was} -> {now}"


def _unknown(folder: Path) -> list[str]:
    return sorted(
        name for name in os.listdir(folder) if name not in _KNOWN and not name.startswith(".")
    )


def _problems(folder: Path) -> list[RecordError | ExportError]:
    try:
        return JupixExport(folder).check(rows=True)
    except OSError as exc:
        _fail(f"{folder}: cannot be read ({exc.strerror or exc})")


def _print(problems: list[RecordError | ExportError]) -> None:
    for problem in problems:
        click.echo(str(problem))
    if not problems:
        click.echo("the export reads cleanly")
        return
    whole = sum(isinstance(problem, ExportError) for problem in problems)
    click.echo(
        f"{len(problems)} problem(s): {whole} with a whole file, {len(problems) - whole} "
        "with rows; fix them in Jupix and export again, or fix the file and run "
        "rulebridge jupix rehash"
    )


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(int(ExitCode.FAILURE))
