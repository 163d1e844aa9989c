"""Checks of a Jupix export as a whole: files, manifest hashes, unique ids, references.

Tables are read once each, in an order where every table comes after the tables it refers
to; only a table's references to itself (a tenancy renewed from another) wait for its end.
The id sets of referenced tables are the only state kept, as DESIGN.md section 8 allows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path

from engine.documents.suggest import did_you_mean
from engine.errors import RecordError

from ._coerce import ExportError, Row
from .manifest import read_manifest, sha256_file
from .spec import MANIFEST, TABLES, Reference, TableSpec

__all__ = ["check_export"]

Problem = RecordError | ExportError
LocatedSource = Callable[[str], Iterator[tuple[str, Row | RecordError]]]
_KNOWN_FILES = frozenset({MANIFEST, *(spec.file for spec in TABLES.values())})
_REFERENCED = frozenset(ref.table for spec in TABLES.values() for ref in spec.references)


def check_export(folder: Path, source: LocatedSource, *, rows: bool) -> list[Problem]:
    """Every whole-export problem of `folder` (and every row error when `rows`)."""
    problems: list[Problem] = [*_file_problems(folder), *_manifest_problems(folder)]
    keys: dict[str, AbstractSet[str] | None] = {}
    for spec in _dependency_order():
        if (folder / spec.file).is_file():
            problems.extend(_TablePass(spec, keys, rows).run(source))
    return problems


def _dependency_order() -> list[TableSpec]:
    ordered: list[TableSpec] = []
    pending = list(TABLES.values())
    while pending:
        done = {spec.name for spec in ordered}
        ready = next(s for s in pending if all(r.table in done | {s.name} for r in s.references))
        ordered.append(ready)
        pending.remove(ready)
    return ordered


def _file_problems(folder: Path) -> Iterator[Problem]:
    for entry in sorted(folder.iterdir()):
        if entry.name not in _KNOWN_FILES and not entry.name.startswith("."):
            hint = did_you_mean(entry.name, sorted(_KNOWN_FILES))
            yield ExportError(entry.name, f"unknown file{hint}; rename or remove it")
    for spec in TABLES.values():
        if not (folder / spec.file).is_file():
            message = "missing; an export has every file (header only when there are no rows)"
            yield ExportError(spec.file, message)


def _manifest_problems(folder: Path) -> Iterator[Problem]:
    try:
        listed = read_manifest(folder).files
    except ExportError as error:
        yield error
        return
    for name, digest in sorted(listed.items()):
        problem = _listed_file_problem(folder, name, digest)
        if problem is not None:
            yield problem
    for spec in TABLES.values():
        if spec.file not in listed and (folder / spec.file).is_file():
            yield ExportError(spec.file, f"not listed in {MANIFEST}; export again")


def _listed_file_problem(folder: Path, name: str, digest: str) -> ExportError | None:
    if name not in _KNOWN_FILES:
        return ExportError(MANIFEST, f"lists {name!r}, which is not an export file")
    if not (folder / name).is_file():
        return ExportError(MANIFEST, f"lists {name}, but the file is missing")
    try:
        actual = sha256_file(folder / name)
    except ExportError as error:
        return error
    return ExportError(name, _changed(actual, digest)) if actual != digest else None


def _changed(actual: str, expected: str) -> str:
    return (
        f"changed since the export was taken (SHA-256 {actual[:12]}…, "
        f"{MANIFEST} says {expected[:12]}…); use the files as exported, or export again"
    )


@dataclass(frozen=True, slots=True)
class _At:
    where: str
    record_id: str

    def error(self, message: str) -> RecordError:
        return RecordError(self.where, self.record_id, message)


@dataclass
class _TablePass:
    """One read of one table: its duplicate ids and its references to other tables."""

    spec: TableSpec
    keys: dict[str, AbstractSet[str] | None]
    rows: bool
    seen: dict[str, int] = field(default_factory=dict)  # id -> line first seen
    deferred: list[tuple[_At, Reference, str]] = field(default_factory=list)

    def run(self, source: LocatedSource) -> Iterator[Problem]:
        try:
            for where, item in source(self.spec.name):
                yield from self._item(where, item)
        except ExportError as error:
            yield error
            self.keys[self.spec.name] = None  # incomplete: refer to it without checking
            return
        self.keys[self.spec.name] = self.seen.keys() if self.spec.name in _REFERENCED else None
        for at, ref, target in self.deferred:
            if target not in self.seen:
                yield _missing(at, ref, target)

    def _item(self, where: str, item: Row | RecordError) -> Iterator[Problem]:
        if isinstance(item, RecordError):
            if item.record_id is not None:
                self.seen.setdefault(item.record_id, _line(where))
            if self.rows:
                yield item
            return
        at = _At(where, str(item[self.spec.key.name]))
        line = _line(where)
        first = self.seen.setdefault(at.record_id, line)
        if first != line:
            key, earlier = self.spec.key.name, f"{self.spec.file}:{first}"
            yield at.error(
                f"{key} {at.record_id!r} is already used at {earlier}; ids must be unique"
            )
        for ref in self.spec.references:
            yield from self._references(item, ref, at)

    def _references(self, row: Row, ref: Reference, at: _At) -> Iterator[Problem]:
        if ref.when is not None and row[ref.when[0]] != ref.when[1]:
            return
        value = row[ref.column]
        targets = value if isinstance(value, list) else [] if value is None else [str(value)]
        for target in targets:
            if ref.table == self.spec.name:
                self.deferred.append((at, ref, target))
                continue
            known = self.keys.get(ref.table)
            if known is not None and target not in known:
                yield _missing(at, ref, target)


def _missing(at: _At, ref: Reference, target: str) -> RecordError:
    spec = TABLES[ref.table]
    return at.error(f"{ref.column} {target!r} is not a {spec.key.name} in {spec.file}")


def _line(where: str) -> int:
    return int(where.rsplit(":", 1)[1])
