"""Where `rulebridge migrate` writes: one JSON array per Alto collection, streamed, in a
private temporary folder that replaces the output folder only once everything is written.

The output holds personal data, so the folder is 0700 and every file 0600. It carries a
mark, `MARK`, listing what it wrote; `check_out_folder` refuses any path whose replacement
could destroy something the command did not write (the export itself, a folder holding it,
the current folder, a non-empty folder without the mark, or one holding other files), and
`atomic_folder` removes of the old folder only the files its mark lists.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from engine import CompiledRuleset
from engine.errors import RulebridgeError
from engine.migration import (
    Difference,
    MigrationReport,
    Outcome,
    Pack,
    RuleSummary,
    listing_lines,
    rule_summaries,
    write_listing_csv,
    write_pack,
)

__all__ = [
    "MARK",
    "CollectionWriter",
    "ListingSpill",
    "NullJournal",
    "OutFolder",
    "OutFolderError",
    "SpillJournal",
    "atomic_folder",
    "check_out_folder",
    "collection_name",
    "write_agency_pack",
    "write_json",
    "write_text",
]

MARK = ".rulebridge-output.json"
"""The file that marks a folder as written by `rulebridge migrate`, listing what it wrote."""
_MARK_FORMAT = "rulebridge.migrate-output/1"
_MARK_LIMIT = 1_000_000


def private_text(path: Path, newline: str | None = None) -> IO[str]:
    """`path` created (or truncated) for writing UTF-8 text, readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(descriptor, "w", encoding="utf-8", newline=newline)


def collection_name(target: str) -> str:
    """``alto.timeline`` -> ``timeline`` (the file is ``timeline.json``)."""
    return target.split(".", 1)[-1]


class CollectionWriter:
    """Streams records into ``<collection>.json`` files, each a JSON array with one record
    per line: ``[``, the records separated by ``,`` and a newline, ``]``. The catch-up reads
    an earlier output back in exactly this form (`rulebridge.cli._migrate_since`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, IO[str]] = {}
        self.written: dict[str, int] = {}

    def __call__(self, target: str, record: dict[str, Any]) -> None:
        name = collection_name(target)
        out = self.files.get(name)
        if out is None:
            out = self.files[name] = private_text(self.folder / f"{name}.json")
            out.write("[")
        out.write(",\n" if self.written.get(name) else "\n")
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True))
        self.written[name] = self.written.get(name, 0) + 1

    def close(self, collections: list[str]) -> None:
        """End every array; collections with no record get an empty file."""
        for name in collections:
            if name not in self.files:
                write_text(self.folder / f"{name}.json", "[]\n")
        for out in self.files.values():
            out.write("\n]\n")
            out.close()
        self.files = {}


class SpillJournal:
    """A reconciliation journal spilling outcomes and differences to JSON-lines files, then
    joining them into one JSON report, so the report never sits in memory."""

    def __init__(self, folder: Path) -> None:
        self.paths = {name: folder / f".{name}.jsonl" for name in ("differences", "records")}
        self.files = {name: private_text(path) for name, path in self.paths.items()}

    def outcome(self, item: Outcome) -> None:
        """Spill one outcome."""
        self.files["records"].write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")

    def difference(self, item: Difference) -> None:
        """Spill one difference."""
        self.files["differences"].write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")

    def write_report(self, path: Path, summary: Mapping[str, Any]) -> None:
        """Write `summary` plus the spilled lists as one JSON object, and drop the spills."""
        self.close()
        with private_text(path) as out:
            out.write(json.dumps(dict(summary), indent=2, ensure_ascii=False)[:-2])
            for name, spill in self.paths.items():
                out.write(f',\n  "{name}": [')
                with spill.open(encoding="utf-8") as lines:
                    for number, line in enumerate(lines):
                        out.write(("," if number else "") + "\n    " + line.rstrip("\n"))
                out.write("\n  ]")
            out.write("\n}\n")
        self.discard()

    def close(self) -> None:
        """Close the spill files."""
        for stream in self.files.values():
            stream.close()

    def discard(self) -> None:
        """Close and remove the spill files."""
        self.close()
        for spill in self.paths.values():
            spill.unlink(missing_ok=True)


_ALL_GROUPED = "SELECT body FROM items ORDER BY grp, has_sale, length(sale), sale, seq"
_ONE_GROUP = "SELECT body FROM items WHERE grp = ? ORDER BY grp, has_sale, length(sale), sale, seq"


class ListingSpill:
    """Listed records (manual actions, housekeeping) streamed into a private SQLite file,
    then written as one JSON document, as Markdown and CSV grouped by `key`, and read by the
    agency's pack (`write_agency_pack`): an `engine.migration.Listing`.

    Memory holds only the counts per group and rule; the items are read back a group at a
    time through an index, those of a sale together, so grouping never sorts in memory.
    """

    def __init__(
        self, folder: Path, name: str, group: str, summary: RuleSummary | None = None
    ) -> None:
        self.path = folder / f".{name}.sqlite"
        self.key = group
        self.summary: RuleSummary = summary or (lambda _rule, _entity: None)
        self.groups: dict[str, int] = {}
        self._index: dict[str, int] = {}
        self._rules: dict[str, Counter[str]] = {}
        os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute(
            "CREATE TABLE items (seq INTEGER PRIMARY KEY, grp INTEGER NOT NULL, "
            "has_sale INTEGER NOT NULL, sale TEXT, body TEXT NOT NULL)"
        )
        self._open = True

    @property
    def group(self) -> str:
        """The field that groups the items (``action`` or ``check``)."""
        return self.key

    def __call__(self, record: Mapping[str, Any]) -> None:
        name = str(record.get(self.key, ""))
        self.groups[name] = self.groups.get(name, 0) + 1
        index = self._index.setdefault(name, len(self._index))
        self._rules.setdefault(name, Counter())[str(record.get("rule", ""))] += 1
        sale = record.get("saleId")
        self.db.execute(
            "INSERT INTO items (grp, has_sale, sale, body) VALUES (?, ?, ?, ?)",
            (
                index,
                sale is not None,
                None if sale is None else str(sale),
                json.dumps(record, ensure_ascii=False, sort_keys=True),
            ),
        )

    def group_sizes(self) -> dict[str, int]:
        """Each group's size, in the order groups first appeared."""
        return dict(self.groups)

    def rules(self, group: str) -> dict[str, int]:
        """The rules `group`'s items name, with how many items name each."""
        return dict(self._rules.get(group, {}))

    def items(self, group: str | None = None) -> Iterator[dict[str, Any]]:
        """A pass over `group`'s items (all, group by group, when None), sale by sale."""
        self.close()
        if group is None:
            rows = self.db.execute(_ALL_GROUPED)
        elif group in self._index:
            rows = self.db.execute(_ONE_GROUP, (self._index[group],))
        else:
            return
        for (body,) in rows:
            yield json.loads(body)

    def write(
        self, json_path: Path, markdown_path: Path, title: str, head: Mapping[str, Any], key: str
    ) -> None:
        """Write ``{**head, key: [...]}`` (items as they came), the grouped Markdown and,
        beside the JSON, the CSV (`engine.migration.write_listing_csv`); the spill stays for
        the pack, which drops it (or `discard`)."""
        self.close()
        with private_text(json_path) as out:
            out.write(json.dumps(dict(head), indent=2, ensure_ascii=False)[:-2])
            out.write(f',\n  "{key}": [')
            rows = self.db.execute("SELECT body FROM items ORDER BY seq")
            for number, (body,) in enumerate(rows):
                out.write(("," if number else "") + "\n    " + body)
            out.write("\n  ]\n}\n")
        with private_text(markdown_path) as out:
            out.writelines(listing_lines(self, title, self.summary))
        with private_text(json_path.with_suffix(".csv"), newline="") as out:
            write_listing_csv(out, self, self.summary)

    def close(self) -> None:
        """Finish the spill: what came is kept for reading (`write` does this too)."""
        if self._open:
            self._open = False
            self.db.commit()
            self.db.execute(
                "CREATE INDEX grouped ON items (grp, has_sale, length(sale), sale, seq)"
            )
            self.db.commit()

    def discard(self) -> None:
        """Close the spill and remove its file."""
        self.close()
        self.db.close()
        self.path.unlink(missing_ok=True)


class NullJournal:
    """A journal that keeps nothing (the earlier run of a catch-up needs only fingerprints)."""

    def outcome(self, item: Outcome) -> None:
        """Drop one outcome."""

    def difference(self, item: Difference) -> None:
        """Drop one difference."""


def write_agency_pack(
    work: Path,
    ruleset: CompiledRuleset,
    as_of: date,
    *,
    snapshot: Mapping[str, Any] | None = None,
    readiness: Mapping[str, Any] | None = None,
    housekeeping: ListingSpill | None = None,
    manual: ListingSpill | None = None,
    reconciliation: MigrationReport | None = None,
) -> None:
    """Write ``agency-pack.html`` into `work` (owner-only), then drop the listings' spills.

    Args:
        work: The output folder being written.
        ruleset: The migration ruleset: rule summaries and the checklist.
        as_of: The go-live (migration) date.
        snapshot: The export's ``agency`` and ``exported_at``.
        readiness: The readiness summary, when one was made.
        housekeeping: The housekeeping items, when evaluated.
        manual: The manual actions, when migrated.
        reconciliation: The migration's counts, when migrated.

    Example::

        write_agency_pack(work, ruleset, as_of, snapshot=snapshot, manual=manual)
    """
    pack = Pack(
        ruleset.name,
        as_of,
        rule_summaries(ruleset),
        checklist=ruleset.checklist,
        snapshot=snapshot,
        readiness=readiness,
        housekeeping=housekeeping,
        manual=manual,
        reconciliation=reconciliation,
    )
    try:
        with private_text(work / "agency-pack.html") as out:
            write_pack(out, pack)
    finally:
        for spill in (housekeeping, manual):
            if spill is not None:
                spill.discard()


def write_json(path: Path, data: Any) -> None:
    """`data` as indented JSON, owner-only."""
    write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_text(path: Path, text: str) -> None:
    """`text` as UTF-8, owner-only."""
    with private_text(path) as out:
        out.write(text)


# -- the output folder: refuse what could destroy, replace only what we wrote ---------------


class OutFolderError(RulebridgeError):
    """The output folder cannot be written or replaced safely; the message says why and how."""


@dataclass(frozen=True, slots=True)
class OutFolder:
    """A checked output path: where it is, and what an earlier run wrote there.

    Attributes:
        path: The absolute path, symbolic links resolved.
        given: The path as the user gave it, for messages.
        previous: The files an earlier run wrote (its mark lists them), or None when there is
            no folder yet; empty for an empty folder.
    """

    path: Path
    given: str
    previous: tuple[str, ...] | None


def check_out_folder(out: Path, inputs: Mapping[str, Path | None]) -> OutFolder:
    """`out` checked: replacing it can destroy nothing the command did not write.

    Args:
        out: The output folder as given.
        inputs: Each input by its option (``{"--jupix": Path("export")}``); None is skipped.

    Raises:
        OutFolderError: `out` is the current folder or holds it; is, holds or lies inside an
            input; is a file; is a non-empty folder without `MARK`; or holds files the mark
            does not list. The message names the fix.

    Example::

        check_out_folder(Path("alto"), {"--jupix": Path("export")}).previous
    """
    path = Path(os.path.abspath(out)).resolve()
    refuse = _refusal(str(out))
    here = Path.cwd().resolve()
    if path == here or path in here.parents:
        what = "is the current folder" if path == here else "holds the current folder"
        raise refuse(f"{what}, and the output folder is replaced as a whole")
    for option, given in inputs.items():
        if given is not None:
            _apart(path, option, given, refuse)
    return OutFolder(path, str(out), _previous(path, refuse))


def _refusal(given: str) -> Callable[[str], OutFolderError]:
    def refuse(why: str) -> OutFolderError:
        return OutFolderError(
            f"--out {given}: {why}; give a new or empty folder of its own, e.g. --out alto"
        )

    return refuse


def _apart(path: Path, option: str, given: Path, refuse: Callable[[str], OutFolderError]) -> None:
    other = Path(os.path.abspath(given)).resolve()
    if path == other:
        raise refuse(f"is the {option} input itself")
    if path in other.parents:
        raise refuse(f"holds the {option} input {given}, which replacing it would delete")
    if other in path.parents:
        raise refuse(f"is inside the {option} input {given}; write the output outside it")


def _previous(path: Path, refuse: Callable[[str], OutFolderError]) -> tuple[str, ...] | None:
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_dir():
        raise refuse("is a file, not a folder")
    entries = sorted(os.listdir(path))
    if not entries:
        return ()
    if MARK not in entries:
        raise refuse(
            f"is not empty and was not written by rulebridge migrate (it has no {MARK}), "
            "so replacing it could destroy files"
        )
    listed = _read_mark(path / MARK, refuse)
    foreign = [name for name in entries if name != MARK and not _ours(path, name, listed)]
    if foreign:
        more = f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        shown = ", ".join(foreign[:5]) + more
        raise refuse(f"holds files rulebridge migrate did not write ({shown}); move them out")
    return tuple(name for name in listed if name in entries)


def _ours(folder: Path, name: str, listed: tuple[str, ...]) -> bool:
    entry = folder / name
    return name in listed and entry.is_file() and not entry.is_symlink()


def _read_mark(path: Path, refuse: Callable[[str], OutFolderError]) -> tuple[str, ...]:
    try:
        with path.open("rb") as stream:
            document = json.loads(stream.read(_MARK_LIMIT + 1).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise refuse(f"its {MARK} cannot be read ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != _MARK_FORMAT:
        raise refuse(f"its {MARK} is not one rulebridge migrate writes")
    files = document.get("files")
    if not isinstance(files, list) or not all(isinstance(n, str) and _plain(n) for n in files):
        raise refuse(f"its {MARK} is not one rulebridge migrate writes")
    return tuple(files)


def _plain(name: str) -> bool:
    return name not in ("", ".", "..", MARK) and "/" not in name and "\0" not in name


@contextmanager
def atomic_folder(out: OutFolder, warn: Callable[[str], None] = print) -> Iterator[Path]:
    """A private (0700) temporary folder beside `out` that replaces it when the block ends.

    On an error in the block the temporary folder goes and `out` is untouched. At the end the
    folder gets its `MARK`, `out` is checked again (`check_out_folder`'s rules), and the old
    folder is swapped out; of it only the files its mark listed are removed. Anything else
    that appeared in it meanwhile is kept, beside `out`, and `warn` says where.

    Raises:
        OutFolderError: The temporary folder cannot be made, or `out` changed meanwhile so
            that replacing it is no longer safe (the new output is left where it was made).

    Example::

        with atomic_folder(check_out_folder(Path("alto"), {})) as work:
            write_text(work / "contacts.json", "[]\\n")
    """
    work = _make_work(out)
    try:
        yield work
        write_json(work / MARK, {"format": _MARK_FORMAT, "files": sorted(os.listdir(work))})
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _swap(out, work, warn)


def _make_work(out: OutFolder) -> Path:
    try:
        out.path.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.path.name}.", dir=out.path.parent))
    except OSError as exc:
        raise OutFolderError(
            f"--out {out.given}: cannot write beside it in {out.path.parent} "
            f"({exc.strerror or exc}); give a folder you can write"
        ) from exc


def _swap(out: OutFolder, work: Path, warn: Callable[[str], None]) -> None:
    try:
        previous = _previous(out.path, _refusal(out.given))
    except OutFolderError as exc:
        raise OutFolderError(f"{exc} (the new output is left in {work})") from None
    old = out.path.with_name(f".{out.path.name}.old-{secrets.token_hex(4)}")
    try:
        if previous is not None:
            out.path.rename(old)
        try:
            work.rename(out.path)
        except OSError:
            if previous is not None:
                old.rename(out.path)
            raise
    except OSError as exc:
        raise OutFolderError(
            f"--out {out.given}: cannot be replaced ({exc.strerror or exc}); "
            f"the new output is left in {work}"
        ) from exc
    if previous is not None:
        _remove_ours(old, previous, warn)


def _remove_ours(old: Path, listed: tuple[str, ...], warn: Callable[[str], None]) -> None:
    for name in (*listed, MARK):
        if _ours(old, name, (*listed, MARK)):
            (old / name).unlink()
    try:
        old.rmdir()
    except OSError:
        warn(f"warning: kept {old}: files appeared in the old output that it did not write")
