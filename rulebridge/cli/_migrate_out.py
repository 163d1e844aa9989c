"""Where `rulebridge migrate` writes: one JSON array per Alto collection, streamed, in a
temporary folder that replaces the output folder only once everything is written."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from engine.migration import fingerprint
from engine.migration.report import Difference, Outcome, listing_line

__all__ = [
    "CollectionWriter",
    "Fingerprints",
    "ListingSpill",
    "NullJournal",
    "SpillJournal",
    "atomic_folder",
    "collection_name",
    "write_json",
    "write_text",
]


def collection_name(target: str) -> str:
    """``alto.timeline`` -> ``timeline`` (the file is ``timeline.json``)."""
    return target.split(".", 1)[-1]


class CollectionWriter:
    """Streams records into ``<collection>.json`` files, each a JSON array.

    With `skip` (``{(target, id): fingerprint}`` of an earlier run), a record whose
    fingerprint is unchanged is counted but not written (the cut-over catch-up).
    """

    def __init__(self, folder: Path, skip: Mapping[tuple[str, str], str] | None = None) -> None:
        self.folder = folder
        self.skip = skip
        self.files: dict[str, IO[str]] = {}
        self.written: dict[str, int] = {}
        self.unchanged: dict[str, int] = {}
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, target: str, record: dict[str, Any]) -> None:
        name = collection_name(target)
        if self.skip is not None:
            key = (name, str(record.get("id")))
            self.seen.add(key)
            if self.skip.get(key) == fingerprint(record):
                self.unchanged[name] = self.unchanged.get(name, 0) + 1
                return
        out = self.files.get(name)
        if out is None:
            out = self.files[name] = (self.folder / f"{name}.json").open("w", encoding="utf-8")
            out.write("[")
        out.write(",\n" if self.written.get(name) else "\n")
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True))
        self.written[name] = self.written.get(name, 0) + 1

    def close(self, collections: list[str]) -> None:
        """End every array; collections with no record get an empty file."""
        for name in collections:
            if name not in self.files:
                (self.folder / f"{name}.json").write_text("[]\n", encoding="utf-8")
        for out in self.files.values():
            out.write("\n]\n")
            out.close()

    def removed(self) -> list[tuple[str, str]]:
        """Records of the earlier run that this run no longer writes."""
        return sorted(key for key in (self.skip or {}) if key not in self.seen)


class Fingerprints:
    """An `emit` that keeps only ``{(collection, id): fingerprint}`` of each record."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}

    def __call__(self, target: str, record: dict[str, Any]) -> None:
        self.seen[(collection_name(target), str(record.get("id")))] = fingerprint(record)


class SpillJournal:
    """A reconciliation journal spilling outcomes and differences to JSON-lines files, then
    joining them into one JSON report, so the report never sits in memory."""

    def __init__(self, folder: Path) -> None:
        self.paths = {name: folder / f".{name}.jsonl" for name in ("differences", "records")}
        self.files = {name: path.open("w", encoding="utf-8") for name, path in self.paths.items()}

    def outcome(self, item: Outcome) -> None:
        """Spill one outcome."""
        self.files["records"].write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")

    def difference(self, item: Difference) -> None:
        """Spill one difference."""
        self.files["differences"].write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")

    def write_report(self, path: Path, summary: Mapping[str, Any]) -> None:
        """Write `summary` plus the spilled lists as one JSON object, and drop the spills."""
        self.close()
        with path.open("w", encoding="utf-8") as out:
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


class ListingSpill:
    """Listed records (manual actions) streamed to JSON lines, then written as one JSON
    document and as Markdown grouped by `group`, a pass over the spill per group."""

    def __init__(self, folder: Path, name: str, group: str) -> None:
        self.path = folder / f".{name}.jsonl"
        self.file = self.path.open("w", encoding="utf-8")
        self.group = group
        self.groups: dict[str, int] = {}

    def __call__(self, record: Mapping[str, Any]) -> None:
        name = str(record.get(self.group, ""))
        self.groups[name] = self.groups.get(name, 0) + 1
        self.file.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")

    def write(
        self, json_path: Path, markdown_path: Path, title: str, head: Mapping[str, Any], key: str
    ) -> None:
        """Write ``{**head, key: [...]}`` and the grouped Markdown; drop the spill."""
        self.file.close()
        with json_path.open("w", encoding="utf-8") as out:
            out.write(json.dumps(dict(head), indent=2, ensure_ascii=False)[:-2])
            out.write(f',\n  "{key}": [')
            for number, line in enumerate(self._lines()):
                out.write(("," if number else "") + "\n    " + line.rstrip("\n"))
            out.write("\n  ]\n}\n")
        with markdown_path.open("w", encoding="utf-8") as out:
            out.write(f"# {title} ({sum(self.groups.values())})\n")
            for name, size in self.groups.items():
                out.write(f"\n## {name} ({size})\n\n")
                for line in self._lines():
                    item = json.loads(line)
                    if str(item.get(self.group, "")) == name:
                        out.write(listing_line(item) + "\n")
        self.path.unlink()

    def _lines(self) -> Iterator[str]:
        with self.path.open(encoding="utf-8") as lines:
            yield from lines


class NullJournal:
    """A journal that keeps nothing (the earlier run of a catch-up needs only fingerprints)."""

    def outcome(self, item: Outcome) -> None:
        """Drop one outcome."""

    def difference(self, item: Difference) -> None:
        """Drop one difference."""


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside `out` that replaces `out` when the block ends cleanly."""
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    work.chmod(0o777 & ~_umask())  # mkdtemp makes it private; the output folder is not
    try:
        yield work
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    old = out.with_name(f".{out.name}.old")
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    work.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, data: Any) -> None:
    """`data` as indented JSON."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    """`text` as UTF-8."""
    path.write_text(text, encoding="utf-8")
