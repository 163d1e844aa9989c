"""`rulebridge migrate`: migrate a Jupix export into Alto records, with its reports and a
go-live readiness verdict (`--check`)."""

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
from engine.migration import Migration, migrate, rule_summaries
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._migrate_out import (
    CollectionWriter,
    ListingSpill,
    NullJournal,
    SpillJournal,
    collection_name,
    write_agency_pack,
)
from rulebridge.cli._migrate_ready import assess, write_readiness
from rulebridge.cli._migrate_since import BaselineError, CatchUp, open_since, since_kind
from rulebridge.cli._migrate_tally import Tally
from rulebridge.cli._out_folder import (
    OutFolder,
    OutFolderError,
    atomic_folder,
    check_out_folder,
    write_text,
)

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
    offers, sales, timeline, media), reconciliation.{md,json} (every Jupix record accounted
    for once, every difference by rule and record), manual-actions.{md,json} (what to
    re-enter by hand), housekeeping.{md,json} (what to tidy in Jupix before go-live) and
    readiness.{md,json} (the go-live verdict) into --out, atomically and readable by you
    only, in one pass over the export. Bad rows are reported as file:line and counted as
    "not migrated: unreadable".

    --check writes no records: it runs the same pass, counts what the migration would write,
    and prints (or writes into --out) the housekeeping and the readiness summary: READY when
    no housekeeping is due, every row reads, no two rows clash and the export was taken no
    earlier than the day before the go-live date (--as-of, J-15); NOT READY with each reason
    and its fix otherwise.

    --out is replaced as a whole, so it must be a new or empty folder, or one an earlier
    migrate wrote (marked by .rulebridge-output.json, holding nothing else); never the
    export, a folder holding it, or the current folder.

    Exit codes: with --check, 0 ready, 3 not ready (the summary says why); with --out (and
    --since), 0 written, 3 written but some rows were unreadable and left out (a person must
    fix them; manual actions and housekeeping never make it 3); 1 the ruleset or the export
    cannot be read or the output cannot be written; 64 an option is refused (usage error).

    Example:

        rulebridge migrate --ruleset rulesets/jupix-alto/v1.yaml --jupix export/
        --as-of 2025-06-02 --out alto/

        rulebridge migrate --ruleset rulesets/jupix-alto/v1.yaml --jupix export/
        --as-of 2025-06-02 --check
    """
    if out is None and not check:
        raise click.UsageError("--out is required unless --check is given")
    if check and since is not None:
        raise click.UsageError("--check reads one export: give --since without --check")
    inputs = {"--jupix": jupix, "--since": since, "--ruleset": ruleset_path, "--settings": settings}
    target = _out_folder(out, inputs)
    if since is not None and not check:
        since_kind(since)
    ruleset = _load(ruleset_path, settings)
    export, problems = _open_checked(jupix)
    try:
        if check:
            code = _check(ruleset, export, problems, as_of.date(), target)
        else:
            assert target is not None
            code = _migrate(ruleset, export, problems, as_of.date(), target, since)
    except (ExportError, OutFolderError, BaselineError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot write the output ({exc}); the output folder was not replaced")
    sys.exit(int(code))


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
    return _open_checked(folder)[0]


def _open_checked(folder: Path) -> tuple[JupixExport, list[RecordError]]:
    """The export, and its problems between rows (printed as warnings); a problem with a
    whole file (missing, changed since the manifest, unreadable) stops the command (1)."""
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
    return export, [problem for problem in problems if isinstance(problem, RecordError)]


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(int(ExitCode.FAILURE))


def _run(ruleset: CompiledRuleset, export: JupixExport, as_of: date, **options: Any) -> Migration:
    try:
        return migrate(ruleset, export_records(export, ruleset.sources), as_of=as_of, **options)
    except ExportError:
        raise
    except RulebridgeError as exc:
        _fail(str(exc))


def _check(
    ruleset: CompiledRuleset,
    export: JupixExport,
    problems: list[RecordError],
    as_of: date,
    out: OutFolder | None,
) -> ExitCode:
    """The housekeeping and readiness of a full migration's one pass, writing no records."""
    title = f"Housekeeping before go-live, as of {as_of}"
    head = {"as_of": as_of.isoformat()}
    with tempfile.TemporaryDirectory() as scratch:
        summary = rule_summaries(ruleset)
        with closing(ListingSpill(Path(scratch), "housekeeping", "check", summary)) as spill:
            tally = Tally(ruleset, checks=spill)
            result = _run(
                ruleset, export, as_of, housekeeping=True, emit=tally, journal=NullJournal()
            )
        readiness = assess(export.manifest(), as_of, result.reconciliation, problems, tally)
        if out is None:
            markdown = Path(scratch) / "housekeeping.md"
            spill.write(Path(scratch) / "housekeeping.json", markdown, title, head, "checks")
            with markdown.open(encoding="utf-8") as lines:
                for line in lines:
                    click.echo(line, nl=False)
            spill.discard()
            click.echo("")
            click.echo(readiness.to_markdown(), nl=False)
            return readiness.check_code()
        with atomic_folder(out, _warn) as work:
            spill.write(work / "housekeeping.json", work / "housekeeping.md", title, head, "checks")
            write_readiness(work, readiness)
            write_agency_pack(
                work, ruleset, as_of, readiness=readiness.to_json(), housekeeping=spill
            )
    click.echo(f"{sum(spill.groups.values())} housekeeping item(s) written to {out.given}")
    click.echo("\n".join(readiness.brief()))
    return readiness.check_code()


def _migrate(
    ruleset: CompiledRuleset,
    export: JupixExport,
    problems: list[RecordError],
    as_of: date,
    out: OutFolder,
    since: Path | None,
) -> ExitCode:
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
        return _migrate_into(ruleset, export, problems, as_of, out, collections, catch_up)


def _migrate_into(
    ruleset: CompiledRuleset,
    export: JupixExport,
    problems: list[RecordError],
    as_of: date,
    out: OutFolder,
    collections: list[str],
    catch_up: CatchUp | None,
) -> ExitCode:
    with atomic_folder(out, _warn) as work:
        writer = CollectionWriter(work)
        journal = SpillJournal(work)
        said = rule_summaries(ruleset)
        manual = ListingSpill(work, "manual-actions", "action", said)
        checks = ListingSpill(work, "housekeeping", "check", said)
        tally = _tally(ruleset, writer, manual, checks, catch_up)
        try:
            result = _run(
                ruleset,
                export,
                as_of,
                housekeeping=True,
                emit=tally,
                journal=journal,
                excluded=catch_up.excluded if catch_up else None,
            )
        finally:
            writer.close(collections)
            journal.close()
            manual.close()
            checks.close()
        snapshot = _snapshot(export, as_of)
        summary = {**result.reconciliation.summary_json(), "snapshot": snapshot}
        journal.write_report(work / "reconciliation.json", summary)
        write_text(
            work / "reconciliation.md",
            result.reconciliation.to_markdown(said).replace(
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
        checks.write(
            work / "housekeeping.json",
            work / "housekeeping.md",
            f"Housekeeping before go-live, as of {as_of}",
            {"as_of": as_of.isoformat()},
            "checks",
        )
        readiness = assess(export.manifest(), as_of, result.reconciliation, problems, tally)
        write_readiness(work, readiness)
        if catch_up is not None:
            unreadable = {str(item.record) for item in result.reconciliation.unreadable}
            catch_up.write(work, unreadable)
        write_agency_pack(
            work,
            ruleset,
            as_of,
            snapshot=snapshot,
            readiness=readiness.to_json(),
            housekeeping=checks,
            manual=manual,
            reconciliation=result.reconciliation,
        )
    _summary(result, out.given, sum(manual.groups.values()))
    if catch_up is not None:
        click.echo(catch_up.summary())
    click.echo("\n".join(readiness.brief()))
    return readiness.written_code()


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


def _tally(
    ruleset: CompiledRuleset,
    writer: CollectionWriter,
    manual: ListingSpill,
    checks: ListingSpill,
    catch_up: CatchUp | None,
) -> Tally:
    """Counts the whole migration (readiness), and hands on what is written: everything,
    or with a catch-up only the added and changed records and manual actions."""
    if catch_up is None:
        return Tally(ruleset, records=writer, manual=manual, checks=checks)
    targets = {name: entity.target or name for name, entity in ruleset.entities.items()}

    def route(target: str, record: dict[str, Any]) -> None:
        if target in catch_up.listed:
            manual(record)
        else:
            writer(target, record)

    delta = catch_up.filter(route)
    return Tally(
        ruleset,
        records=delta,
        manual=lambda record: delta(targets[str(record.get("entity"))], dict(record)),
        checks=checks,
    )


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
