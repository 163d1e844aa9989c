"""What `rulebridge migrate` writes into its output folder: one JSON array per Alto
collection, streamed; the reconciliation's spilled lists; the listings (manual actions,
housekeeping) spilled to a private SQLite file; the agency's pack. Every file is owner-only
(`rulebridge.cli._out_folder`, which also owns the folder's safe replacement).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import IO, Any

from engine import CompiledRuleset
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
from rulebridge.cli._out_folder import private_text, write_text

__all__ = [
    "CollectionWriter",
    "ListingSpill",
    "NullJournal",
    "SpillJournal",
    "collection_name",
    "role_targets",
    "write_agency_pack",
]


def collection_name(target: str) -> str:
    """``alto.timeline`` -> ``timeline`` (the file is ``timeline.json``)."""
    return target.split(".", 1)[-1]


def role_targets(ruleset: CompiledRuleset, role: str) -> set[str]:
    """The targets of the ruleset's entities of `role` (``record``, ``manual``, ``check``);
    an entity without ``to:`` is its own target."""
    return {
        entity.target or entity.name for entity in ruleset.entities.values() if entity.role == role
    }


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
