"""`rulebridge migrate`: migrate a Jupix export into Alto records, with its two reports."""

from __future__ import annotations

import sys
import tempfile
from contextlib import ExitStack, closing
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from adapters.jupix import ExportError, JupixExport
from adapters.jupix.records import export_records
from engine import CompiledRuleset, RecordError, RulebridgeError, RulesetErrors, load_ruleset
from engine.migration import Emit, Migration, migrate
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._migrate_out import (
    CollectionWriter,
    ListingSpill,
    OutFolder,
    OutFolderError,
    SpillJournal,
    atomic_folder,
    check_out_folder,
    collection_name,
    write_text,
)
from rulebridge.cli._migrate_since import BaselineError, CatchUp, open_since, since_kind

__all__ = ["migrate_command"]

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
FOLDER = click.Path(file_okay=False, path_type=Path)


@click.command("migrate", context_settings=CONTEXT)
@click.option(
    "--ruleset",
    "ruleset_path",
    required=True,
    type=EXISTING_FILE,
    help="The migration ruleset, e.g. rulesets/jupix-alto/v1.yaml.",
)
@click.option("--jupix", required=True, type=FOLDER, help="The Jupix export folder.")
@click.option(
    "--as-of",
    "as_of",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="The migration date (YYYY-MM-DD): expiry checks and note dates use it.",
)
@click.option(
    "--out",
    type=FOLDER,
    help="The folder to write: new, empty, or written by an earlier migrate (replaced as a "
    "whole). Optional with --check.",
)
@click.option("--settings", type=EXISTING_FILE, help="The agency's settings file.")
@click.option(
    "--check",
    is_flag=True,
    help="Only the pre-migration housekeeping report (J-17); writes no records.",
)
@click.option(
    "--since",
    type=FOLDER,
    help="What was loaded before: an earlier --out folder (preferred) or an earlier export. "
    "Writes only the added and changed records and new manual actions, and catch-up.{md,json}.",
)
def migrate_command(
    ruleset_path: Path,
    jupix: Path,
    as_of: datetime,
    out: Path | None,
    settings: Path | None,
    check: bool,
    since: Path | None,
) -> None:
    """Migrate a Jupix export into Alto records, with reconciliation and manual actions.

    Writes one JSON file per Alto collection (contacts, applicants, inventory, tenancies,
    offers, sales, timeline, media) and reconciliation.{md,json} (every Jupix record
    accounted for once, every difference by rule and record) and manual-actions.{md,json}
    (what to re-enter by hand) into --out, atomically and readable by you only. Bad rows are
    reported as file:line and counted as "not migrated: unreadable".

    --out is replaced as a whole, so it must be a new or empty folder, or one an earlier
    migrate wrote (marked by .rulebridge-output.json, holding nothing else); never the
    export, a folder holding it, or the current folder.

    Exit codes: 0 done; 1 the ruleset or the export cannot be read or the output cannot be
    written; 64 an option is refused (usage error).

    Example:

        rulebridge migrate --ruleset rulesets/jupix-alto/v1.yaml --jupix export/
        --as-of 2025-06-02 --out alto/

        rulebridge migrate --ruleset rulesets/jupix-alto/v1.yaml --jupix export/
        --as-of 2025-06-02 --check
    """
    if out is None and not check:
        raise click.UsageError("--out is required unless --check is given")
    inputs = {"--jupix": jupix, "--since": since, "--ruleset": ruleset_path, "--settings": settings}
    target = _out_folder(out, inputs)
    if since is not None and not check:
        since_kind(since)
    ruleset = _load(ruleset_path, settings)
    export = _open(jupix)
    try:
        if check:
            _housekeeping(ruleset, export, as_of.date(), target)
        else:
            assert target is not None
            _migrate(ruleset, export, as_of.date(), target, since)
    except (ExportError, OutFolderError, BaselineError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the output ({exc}); the output folder was not replaced")


def _out_folder(out: Path | None, inputs: dict[str, Path | None]) -> OutFolder | None:
    if out is None:
        return None
    try:
        return check_out_folder(out, inputs)
    except OutFolderError as exc:
        raise click.UsageError(str(exc)) from None


def _load(path: Path, settings: Path | None) -> CompiledRuleset:
    try:
        return load_ruleset(path, settings=settings)
    except RulesetErrors as exc:
        for error in exc.errors:
            click.echo(str(error), err=True)
        _fail(f"{len(exc.errors)} error(s) in the ruleset; nothing migrated")


def _open(folder: Path) -> JupixExport:
    try:
        export = JupixExport(folder)
    except ExportError as exc:
        _fail(str(exc))
    problems = export.check()
    broken = [problem for problem in problems if isinstance(problem, ExportError)]
    for problem in broken or problems:
        click.echo(f"{'error' if problem in broken else 'warning'}: {problem}", err=True)
    if broken:
        _fail(f"the export {folder} cannot be read; nothing migrated")
    return export


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _run(ruleset: CompiledRuleset, export: JupixExport, as_of: date, **options: Any) -> Migration:
    try:
        return migrate(ruleset, export_records(export, ruleset.sources), as_of=as_of, **options)
    except ExportError:
        raise
    except RulebridgeError as exc:
        _fail(str(exc))


def _housekeeping(
    ruleset: CompiledRuleset, export: JupixExport, as_of: date, out: OutFolder | None
) -> None:
    title = f"Housekeeping before go-live, as of {as_of}"
    head = {"as_of": as_of.isoformat()}
    with tempfile.TemporaryDirectory() as scratch:
        with closing(ListingSpill(Path(scratch), "housekeeping", "check")) as spill:
            _run(ruleset, export, as_of, check=True, emit=lambda _target, record: spill(record))
        if out is None:
            markdown = Path(scratch) / "housekeeping.md"
            spill.write(Path(scratch) / "housekeeping.json", markdown, title, head, "checks")
            with markdown.open(encoding="utf-8") as lines:
                for line in lines:
                    click.echo(line, nl=False)
            return
        with atomic_folder(out, _warn) as work:
            spill.write(work / "housekeeping.json", work / "housekeeping.md", title, head, "checks")
    click.echo(f"{sum(spill.groups.values())} housekeeping item(s) written to {out.given}")


def _migrate(
    ruleset: CompiledRuleset,
    export: JupixExport,
    as_of: date,
    out: OutFolder,
    since: Path | None,
) -> None:
    collections = sorted(
        {
            collection_name(entity.target)
            for entity in ruleset.entities.values()
            if entity.role == "record" and entity.target
        }
    )
    with ExitStack() as stack:
        catch_up = None
        if since is not None:
            catch_up = stack.enter_context(open_since(since, ruleset, as_of, collections, _warn))
        _migrate_into(ruleset, export, as_of, out, collections, catch_up)


def _migrate_into(
    ruleset: CompiledRuleset,
    export: JupixExport,
    as_of: date,
    out: OutFolder,
    collections: list[str],
    catch_up: CatchUp | None,
) -> None:
    with atomic_folder(out, _warn) as work:
        writer = CollectionWriter(work)
        journal = SpillJournal(work)
        manual = ListingSpill(work, "manual-actions", "action")
        emit = _router(ruleset, writer, manual)
        try:
            result = _run(
                ruleset,
                export,
                as_of,
                emit=catch_up.filter(emit) if catch_up else emit,
                journal=journal,
                excluded=catch_up.excluded if catch_up else None,
            )
        finally:
            writer.close(collections)
            journal.close()
            manual.close()
        snapshot = _snapshot(export, as_of)
        summary = {**result.reconciliation.summary_json(), "snapshot": snapshot}
        journal.write_report(work / "reconciliation.json", summary)
        write_text(
            work / "reconciliation.md",
            result.reconciliation.to_markdown().replace(
                "\n",
                f"\n\nSnapshot: {snapshot['agency']}, exported {snapshot['exported_at']} "
                "(J-15: changes made in Jupix after it are not migrated).\n",
                1,
            ),
        )
        manual.write(
            work / "manual-actions.json",
            work / "manual-actions.md",
            f"Manual actions after the migration of {as_of}",
            {"as_of": as_of.isoformat()},
            "actions",
        )
        if catch_up is not None:
            unreadable = {str(item.record) for item in result.reconciliation.unreadable}
            catch_up.write(work, unreadable)
    _summary(result, out.given, sum(manual.groups.values()))
    if catch_up is not None:
        click.echo(catch_up.summary())


def _snapshot(export: JupixExport, as_of: date) -> dict[str, str]:
    """The export's manifest: when it was taken (J-15) and for whom; warns if after as_of."""
    manifest = export.manifest()
    if manifest.exported_at[:10] > as_of.isoformat():
        click.echo(
            f"warning: the export was taken {manifest.exported_at}, after the migration date "
            f"{as_of}; records changed in between are migrated as of the export",
            err=True,
        )
    return {"exported_at": manifest.exported_at, "agency": manifest.agency}


def _router(ruleset: CompiledRuleset, writer: CollectionWriter, manual: ListingSpill) -> Emit:
    listed = {entity.target for entity in ruleset.entities.values() if entity.role != "record"}

    def emit(target: str, record: dict[str, Any]) -> None:
        if target in listed:
            manual(record)
        else:
            writer(target, record)

    return emit


def _warn(message: str) -> None:
    click.echo(message, err=True)


def _summary(result: Migration, out: str, manual: int) -> None:
    bad = result.reconciliation.unreadable
    for item in bad:
        click.echo(str(RecordError(item.where or "?", item.record, item.detail)), err=True)
    counts = result.reconciliation.outcome_counts()
    total = sum(sum(found.values()) for found in counts.values())
    click.echo(
        f"{total} Jupix record(s) accounted for ({len(bad)} unreadable); "
        f"{manual} manual action(s); written to {out}"
    )
