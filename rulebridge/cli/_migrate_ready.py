"""Is the agency ready to go live? The readiness summary of `rulebridge migrate`.

One pass of the full migration (records, manual actions and housekeeping together:
``migrate(..., housekeeping=True)``) feeds a `Tally`, which counts what would be written
and passes listed records on. `assess` then weighs the export, every file's rows, the
housekeeping due and the counts, and gives a verdict:

**READY** when all of these hold, **NOT READY** (with a reason and its fix for each that
fails) otherwise:

1. no housekeeping item is due (J-17: every ``check`` entity lists nothing);
2. no row of the export is unreadable (each would be left out of the migration);
3. no problem between rows (an id used twice in a file, a reference to a row that does not
   exist), which `JupixExport.check` finds;
4. the export is not older than the day before the go-live date (``--as-of``): J-15 takes
   the copy the day before; an older one misses every change made since.

An export taken after the go-live date is a warning, not a reason (``--as-of`` is probably
not the go-live date). Manual actions are the normal product of every migration, re-entered
after go-live: they are counted, never a reason.

Example::

    tally = Tally(ruleset)
    result = migrate(ruleset, records, as_of=as_of, housekeeping=True, emit=tally)
    readiness = assess(manifest, as_of, result.reconciliation, problems, tally)
    readiness.verdict  # 'READY'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.jupix import TABLES, Manifest
from adapters.jupix.records import PREFIX
from engine import RecordError
from engine.migration import MigrationReport
from rulebridge._exits import ExitCode
from rulebridge.cli._migrate_tally import HousekeepingCount, Tally
from rulebridge.cli._out_folder import write_json, write_text

__all__ = ["Readiness", "Reason", "RowProblem", "assess", "write_readiness"]

_PRINTED = 20
"""Rows listed per file in the printed and Markdown summaries (the JSON has every one)."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One row a person must fix: where (``file:line``), the record id, the message."""

    where: str
    record: str | None
    message: str

    def __str__(self) -> str:
        return str(RecordError(self.where, self.record, self.message))

    def to_json(self) -> dict[str, Any]:
        """``{where, record, message}``."""
        return {"where": self.where, "record": self.record, "message": self.message}


@dataclass(slots=True)
class FileCheck:
    """One export file: rows the migration read, rows it could not read, other problems."""

    file: str
    source: str | None
    rows: int | None
    unreadable: list[RowProblem] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{file, source, rows, unreadable: [...], problems: [...]}``."""
        return {
            "file": self.file,
            "source": self.source,
            "rows": self.rows,
            "unreadable": [item.to_json() for item in self.unreadable],
            "problems": [item.to_json() for item in self.problems],
        }


@dataclass(frozen=True, slots=True)
class Reason:
    """Why the agency is not ready, and what to do about it."""

    kind: str
    reason: str
    fix: str

    def to_json(self) -> dict[str, str]:
        """``{kind, reason, fix}``."""
        return {"kind": self.kind, "reason": self.reason, "fix": self.fix}


@dataclass(slots=True)
class Readiness:
    """The readiness summary: the export, its files, housekeeping, counts and the verdict.

    Attributes:
        agency: the agency the export is for (from its manifest).
        exported_at: when the export was taken (ISO).
        as_of: the go-live (migration) date.
        files: every export file, in the export's order.
        housekeeping: the housekeeping items due, by check.
        collections: records the migration writes per Alto collection.
        manual: manual actions per action (after go-live; never a reason).
        reasons: why not ready (empty when ready).
        warnings: worth reading, but not a reason.
    """

    agency: str
    exported_at: str
    as_of: date
    files: list[FileCheck]
    housekeeping: list[HousekeepingCount]
    collections: dict[str, int]
    manual: dict[str, int]
    reasons: list[Reason]
    warnings: list[str]

    @property
    def ready(self) -> bool:
        """True when there is no reason not to go live."""
        return not self.reasons

    @property
    def verdict(self) -> str:
        """``READY`` or ``NOT READY``."""
        return "READY" if self.ready else "NOT READY"

    @property
    def days_before(self) -> int:
        """Whole days from the export's date to the go-live date (1: the day before)."""
        return (self.as_of - _taken(self.exported_at)).days

    def check_code(self) -> ExitCode:
        """The exit code of ``migrate --check``: 0 ready, 3 not ready."""
        return ExitCode.NOTHING if self.ready else ExitCode.ATTENTION

    def written_code(self) -> ExitCode:
        """The exit code of ``migrate --out``: 3 when rows were left out as unreadable."""
        unreadable = any(item.unreadable for item in self.files)
        return ExitCode.ATTENTION if unreadable else ExitCode.NOTHING

    def to_json(self) -> dict[str, Any]:
        """The summary for tools (and the agency's pack): every field, every row problem."""
        return {
            "verdict": self.verdict,
            "ready": self.ready,
            "reasons": [reason.to_json() for reason in self.reasons],
            "warnings": list(self.warnings),
            "export": {
                "agency": self.agency,
                "exported_at": self.exported_at,
                "as_of": self.as_of.isoformat(),
                "days_before": self.days_before,
            },
            "files": [item.to_json() for item in self.files],
            "housekeeping": {
                "total": sum(item.count for item in self.housekeeping),
                "by_check": [item.to_json() for item in self.housekeeping],
            },
            "would_migrate": {
                "collections": dict(self.collections),
                "manual_actions": dict(self.manual),
                "manual_total": sum(self.manual.values()),
            },
        }

    def to_markdown(self) -> str:
        """The summary for people: verdict and fixes first, then the evidence."""
        return "\n".join(self._markdown()) + "\n"

    def brief(self) -> list[str]:
        """A few lines for the terminal: the verdict and each reason with its fix."""
        lines = [f"Readiness for go-live on {self.as_of}: {self.verdict}"]
        lines += [f"  - {reason.reason}\n    fix: {reason.fix}" for reason in self.reasons]
        lines += [f"  warning: {warning}" for warning in self.warnings]
        return lines

    def _markdown(self) -> Iterator[str]:
        yield f"# Readiness for go-live: {self.verdict}"
        yield ""
        yield f"{self.agency}: export taken {self.exported_at}; go-live (--as-of) {self.as_of}"
        yield f"({_age(self.days_before)})."
        yield ""
        if self.reasons:
            yield "## Not ready: what to fix"
            yield ""
            for number, reason in enumerate(self.reasons, start=1):
                yield f"{number}. {reason.reason}  "
                yield f"   Fix: {reason.fix}"
        else:
            yield "## Ready: nothing to fix before go-live"
        if self.warnings:
            yield ""
            yield "## Warnings"
            yield ""
            yield from (f"- {warning}" for warning in self.warnings)
        yield from self._file_lines()
        yield from self._count_lines()

    def _file_lines(self) -> Iterator[str]:
        yield ""
        yield "## The export, file by file"
        yield ""
        yield "| file | rows read | unreadable | problems between rows |"
        yield "|---|---:|---:|---:|"
        for item in self.files:
            rows = "not read" if item.rows is None else str(item.rows)
            yield f"| {item.file} | {rows} | {len(item.unreadable)} | {len(item.problems)} |"
        for title, pick in (
            ("Unreadable rows (not migrated)", _unreadable),
            ("Problems between rows", _problems),
        ):
            found = [(item.file, pick(item)) for item in self.files if pick(item)]
            if found:
                yield ""
                yield f"### {title} ({sum(len(rows) for _, rows in found)})"
                yield ""
                yield from _row_lines(found)

    def _count_lines(self) -> Iterator[str]:
        yield ""
        yield f"## Housekeeping due in Jupix ({sum(i.count for i in self.housekeeping)})"
        yield ""
        if self.housekeeping:
            yield "| to do | rule | items |"
            yield "|---|---|---:|"
            for item in self.housekeeping:
                yield f"| {item.check} | {item.rule} | {item.count} |"
        else:
            yield "None."
        yield ""
        yield "## What the migration writes"
        yield ""
        yield "| Alto collection | records |"
        yield "|---|---:|"
        yield from (f"| {name} | {count} |" for name, count in sorted(self.collections.items()))
        yield ""
        yield f"Manual actions after go-live: {sum(self.manual.values())} (never a reason)."
        if self.manual:
            yield ""
            yield "| manual action | items |"
            yield "|---|---:|"
            yield from (f"| {name} | {count} |" for name, count in sorted(self.manual.items()))


def write_readiness(folder: Path, readiness: Readiness) -> None:
    """Write ``readiness.json`` and ``readiness.md`` into `folder` (owner-only)."""
    write_json(folder / "readiness.json", readiness.to_json())
    write_text(folder / "readiness.md", readiness.to_markdown())


def _unreadable(item: FileCheck) -> list[RowProblem]:
    return item.unreadable


def _problems(item: FileCheck) -> list[RowProblem]:
    return item.problems


def _row_lines(found: list[tuple[str, list[RowProblem]]]) -> Iterator[str]:
    for name, rows in found:
        yield from (f"- {row}" for row in rows[:_PRINTED])
        if len(rows) > _PRINTED:
            yield f"- ... and {len(rows) - _PRINTED} more in {name} (readiness.json has every one)"


def assess(
    manifest: Manifest,
    as_of: date,
    report: MigrationReport,
    problems: Iterable[RecordError],
    tally: Tally,
) -> Readiness:
    """The readiness of a migration that ran with ``housekeeping=True`` into `tally`.

    Args:
        manifest: the export's manifest (agency, when it was taken).
        as_of: the go-live date the migration ran as of.
        report: the migration's reconciliation (rows read and unreadable, per source).
        problems: `JupixExport.check`'s problems between rows (the export's whole-file
            errors stop a migration before this).
        tally: what the migration wrote, counted.

    Example::

        readiness = assess(export.manifest(), as_of, result.reconciliation, [], tally)
        print(readiness.to_markdown())
    """
    files = _files(report, problems, tally.sources)
    housekeeping = sorted(tally.checks.values(), key=lambda item: (-item.count, item.check))
    readiness = Readiness(
        manifest.agency,
        manifest.exported_at,
        as_of,
        files,
        housekeeping,
        dict(tally.collections),
        dict(tally.manual),
        [],
        [],
    )
    readiness.reasons.extend(_housekeeping_reasons(housekeeping))
    readiness.reasons.extend(_row_reasons(files))
    _timing(readiness)
    return readiness


def _files(
    report: MigrationReport, problems: Iterable[RecordError], sources: frozenset[str]
) -> list[FileCheck]:
    counts = report.outcome_counts()
    files: dict[str, FileCheck] = {}
    for table, spec in TABLES.items():
        source = PREFIX + table
        if source in sources:
            rows = sum(counts.get(source, {}).values())
            files[spec.file] = FileCheck(spec.file, source, rows)
        else:
            files[spec.file] = FileCheck(spec.file, None, None)
    for item in report.unreadable:
        where = item.where or item.source
        _file_of(files, where).unreadable.append(RowProblem(where, item.record, item.detail))
    for error in problems:
        problem = RowProblem(error.where, error.record_id, error.message)
        _file_of(files, error.where).problems.append(problem)
    return list(files.values())


def _file_of(files: dict[str, FileCheck], where: str) -> FileCheck:
    name = where.split(":", 1)[0]
    found = files.get(name)
    if found is None:
        found = files[name] = FileCheck(name, None, None)
    return found


def _housekeeping_reasons(items: list[HousekeepingCount]) -> Iterator[Reason]:
    for item in items:
        rule = f" ({item.rule})" if item.rule else ""
        what = item.summary or item.check
        yield Reason(
            "housekeeping",
            f"{item.count} housekeeping item(s) due in Jupix{rule}: {what}",
            f"in Jupix, for each item housekeeping.md lists: {item.check}; then take the "
            "export again and run migrate --check on it",
        )


def _row_reasons(files: list[FileCheck]) -> Iterator[Reason]:
    for item in files:
        if item.unreadable:
            shown = ", ".join(row.where for row in item.unreadable[:3])
            more = ", ..." if len(item.unreadable) > 3 else ""
            yield Reason(
                "unreadable",
                f"{item.file}: {len(item.unreadable)} row(s) cannot be read and would not "
                f"migrate ({shown}{more})",
                "correct each row in Jupix as its message says (readiness.md lists them) and "
                "export again; after a hand edit of the file, rulebridge jupix rehash EXPORT",
            )
        if item.problems:
            yield Reason(
                "problems",
                f"{item.file}: {len(item.problems)} problem(s) between rows (an id used twice, "
                "or a reference to a row that does not exist)",
                "correct the records in Jupix (readiness.md lists each) and export again",
            )


def _timing(readiness: Readiness) -> None:
    taken, as_of = _taken(readiness.exported_at), readiness.as_of
    day_before = as_of - timedelta(days=1)
    if taken < day_before:
        readiness.reasons.append(
            Reason(
                "export-age",
                f"the export was taken {taken}, {_age(readiness.days_before)}; J-15: the copy "
                "is taken the day before go-live, and changes made in Jupix after it are lost",
                f"take the export again on {day_before} (the day before go-live) and run "
                "migrate --check on it",
            )
        )
    elif taken > as_of:
        readiness.warnings.append(
            f"the export was taken {readiness.exported_at}, after the go-live date {as_of}: "
            "expiry dates are judged as of --as-of; give --as-of the go-live date"
        )


def _taken(exported_at: str) -> date:
    return datetime.fromisoformat(exported_at).date()


def _age(days: int) -> str:
    if days == 1:
        return "the day before go-live, as J-15 expects"
    if days == 0:
        return "on the go-live day"
    if days < 0:
        return f"{-days} day(s) after the go-live date"
    return f"{days} days before go-live"
