"""`rulebridge migrate --since`: the catch-up against what was loaded before go-live.

The baseline is either an earlier ``migrate --out`` folder (it has `MARK`; preferred: it is
what was loaded) or an earlier Jupix export (it has ``manifest.json``; re-migrated as today,
with the current ruleset and migration date, into a private scratch folder, so it shows what
the export *would* give today, not what was loaded: the weaker comparison).

Only fingerprints are held (`engine.migration.Baseline`, 16 bytes a record): the earlier
collection files are streamed one record per line, the format `CollectionWriter` writes, and
anything else is refused with the file and line. After the new run, a second pass over them
finds the removed and no-longer-wanted records and the old versions of the changed ones
(kept in a scratch SQLite file, not in memory) to name the fields that changed.

Example::

    with open_since(Path("alto-loaded"), ruleset, as_of, collections, listed) as catch_up:
        emit = catch_up.filter(emit)
        migrate(..., emit=emit, excluded=catch_up.excluded)
        catch_up.write(work, unreadable=set())
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

import click

from adapters.jupix import ExportError, JupixExport
from adapters.jupix.records import export_records
from engine import CompiledRuleset, RulebridgeError
from engine.migration import (
    Baseline,
    CatchUpItem,
    Difference,
    Emit,
    catch_up_markdown,
    changed_fields,
    fingerprint,
    migrate,
    section_of,
)
from engine.migration.catch_up import (
    ADDED,
    CHANGED,
    MANUAL,
    MANUAL_CHANGED,
    NEW,
    NO_LONGER_NEEDED,
    NO_LONGER_WANTED,
    REMOVED,
    SECTIONS,
    UNCHANGED,
)
from rulebridge.cli._migrate_out import (
    MARK,
    CollectionWriter,
    NullJournal,
    collection_name,
    private_text,
)

__all__ = ["BaselineError", "CatchUp", "open_since", "read_collection", "since_kind"]

CATCH_UP = "catch-up"
_FIX = (
    "it is not as rulebridge migrate writes it (one record per line); restore the folder "
    "you loaded, or give --since the earlier export instead"
)
_HEAD_LINES = 400
_JSON_KEYS = {
    ADDED: "added",
    CHANGED: "changed",
    REMOVED: "removed",
    NO_LONGER_WANTED: "no_longer_wanted",
    NEW: "new_manual_actions",
    MANUAL_CHANGED: "changed_manual_actions",
    NO_LONGER_NEEDED: "no_longer_needed",
}
_WEAKER = (
    "Compared with an earlier export re-migrated today (current ruleset and migration "
    "date), not with what was loaded: records the ruleset now maps differently are not "
    "shown as changed. Give --since the output folder you loaded for the exact comparison."
)


class BaselineError(RulebridgeError):
    """The --since baseline cannot be read; the message names the file, line and fix."""


def since_kind(path: Path) -> str:
    """``output`` or ``export``: what the --since folder is.

    Raises:
        click.UsageError: it is neither, or it is a catch-up output (it holds only a delta).
    """
    if (path / MARK).is_file():
        if (path / f"{CATCH_UP}.json").exists():
            raise click.UsageError(
                f"--since {path}: this output is itself a catch-up: it holds only the records "
                "changed since its own baseline, not everything loaded. Give the full output "
                "you first loaded (what this catch-up listed is then listed again; loading a "
                "record twice gives the same record), or the latest export you loaded"
            )
        return "output"
    if (path / "manifest.json").is_file():
        return "export"
    raise click.UsageError(
        f"--since {path}: neither an output folder of rulebridge migrate (no {MARK}) nor a "
        "Jupix export (no manifest.json); give the folder you loaded into Alto, or the "
        "earlier export"
    )


def read_collection(path: Path, key: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each record of a collection file the writer wrote, with its line number.

    Args:
        path: a ``<collection>.json`` (``[``, one object per line ending in ``,`` but the
            last, ``]``), or manual-actions.json when `key` is ``"actions"`` (the records
            are the lines of that array).
        key: the array to read inside an object, or None for a top-level array.

    Raises:
        BaselineError: the file cannot be read or a line is not in that format.
    """
    try:
        with path.open("rb") as stream:
            yield from _records(path, stream, key)
    except OSError as exc:
        raise BaselineError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _records(
    path: Path, stream: IO[bytes], key: str | None
) -> Iterator[tuple[int, dict[str, Any]]]:
    lines = enumerate(stream, 1)
    opening = "[" if key is None else f'"{key}": ['
    number, text = 0, ""
    for number, raw in lines:
        text = _text(path, number, raw)
        if text in (opening, opening + "]") or key is None:
            break
    if text == opening + "]":
        _end(path, lines, key)
        return
    if text != opening:
        where = f"{path}:{number or 1}"
        raise BaselineError(f"{where}: expected {opening!r}, found {text[:40]!r}; {_FIX}")
    expect, seen = True, False
    for number, raw in lines:
        text = _text(path, number, raw)
        if text == "]":
            if seen and expect:
                raise BaselineError(f"{path}:{number}: a record ends in ',' before ']'; {_FIX}")
            break
        if not expect:
            raise BaselineError(f"{path}:{number}: the record before it has no ','; {_FIX}")
        expect, seen = text.endswith(","), True
        yield number, _record(path, number, text[:-1] if expect else text, key is None)
    else:
        raise BaselineError(f"{path}:{number}: the file ends before its closing ']'; {_FIX}")
    _end(path, lines, key)


def _end(path: Path, lines: Iterator[tuple[int, bytes]], key: str | None) -> None:
    closing_lines = ("}",) if key is not None else ()
    for number, raw in lines:
        text = _text(path, number, raw)
        if text and text not in closing_lines:
            raise BaselineError(f"{path}:{number}: unexpected {text[:40]!r} after ']'; {_FIX}")


def _text(path: Path, number: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise BaselineError(f"{path}:{number}: not UTF-8 ({exc.reason}); {_FIX}") from exc


def _record(path: Path, number: int, text: str, with_id: bool) -> dict[str, Any]:
    try:
        record = json.loads(text) if text.startswith("{") else None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path}:{number}: not a JSON record ({exc.msg}); {_FIX}") from exc
    if not isinstance(record, dict) or (with_id and record.get("id") in (None, "")):
        raise BaselineError(f"{path}:{number}: not a record with an id; {_FIX}")
    return record


@dataclass(slots=True)
class _Source:
    """Where the baseline's records are (an output folder, or the scratch re-migration)."""

    folder: Path
    kind: str
    given: str
    as_of: str | None
    exported_at: str | None
    collections: list[str]

    def records(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """``(collection, id, record)`` of every earlier record, streamed."""
        for name in self.collections:
            path = self.folder / f"{name}.json"
            if path.exists():
                for _, record in read_collection(path):
                    yield name, str(record["id"]), record

    def manual(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(id, record)`` of every manual action listed before."""
        path = self.folder / "manual-actions.json"
        if path.exists():
            for _, record in read_collection(path, "actions"):
                yield _manual_id(record), record

    def fingerprints(self) -> Iterator[tuple[str, str, str]]:
        for name, record_id, record in self.records():
            yield name, record_id, fingerprint(record)
        for record_id, record in self.manual():
            yield MANUAL, record_id, fingerprint(record)


@contextmanager
def open_since(
    path: Path,
    ruleset: CompiledRuleset,
    as_of: date,
    collections: list[str],
    warn: Callable[[str], None],
) -> Iterator[CatchUp]:
    """The catch-up against `path` (see `since_kind`), with a private scratch folder.

    Raises:
        BaselineError: the baseline cannot be read (the message is located).
    """
    with tempfile.TemporaryDirectory(prefix="rulebridge-since-") as scratch:
        if since_kind(path) == "export":
            source = _remigrate(path, ruleset, as_of, collections, Path(scratch))
        else:
            source = _Source(path, "output", str(path), *_head(path), collections)
            missing = [name for name in collections if not (path / f"{name}.json").exists()]
            if missing:
                warn(
                    f"warning: --since {path} has no {', '.join(missing)}.json; every such "
                    "record is counted as added"
                )
        with closing(CatchUp(source, ruleset, as_of, Path(scratch))) as catch_up:
            yield catch_up


def _head(folder: Path) -> tuple[str | None, str | None]:
    """The earlier run's as_of and export time, from the head of its reconciliation.json."""
    found: dict[str, str] = {}
    path = folder / "reconciliation.json"
    if not path.exists():
        return None, None
    with path.open("rb") as stream:
        for number, raw in enumerate(stream):
            match = re.match(rb'\s*"(as_of|exported_at)": "([^"]{1,40})"', raw)
            if match:
                found.setdefault(match[1].decode(), match[2].decode("utf-8", "replace"))
            if number > _HEAD_LINES or raw.startswith(b'  "differences"'):
                break
    return found.get("as_of"), found.get("exported_at")


def _remigrate(
    path: Path, ruleset: CompiledRuleset, as_of: date, collections: list[str], scratch: Path
) -> _Source:
    """The earlier export migrated today into `scratch`, in the output folder's format."""
    try:
        export = JupixExport(path)
        broken = [problem for problem in export.check() if isinstance(problem, ExportError)]
        if broken:
            raise BaselineError(f"--since {path}: the export cannot be read: {broken[0]}")
        exported_at = export.manifest().exported_at
        listed = _listed(ruleset)
        writer = CollectionWriter(scratch)
        with private_text(scratch / "manual-actions.json") as manual:
            manual.write('{\n  "actions": [')
            count = 0

            def emit(target: str, record: dict[str, Any]) -> None:
                nonlocal count
                if target in listed:
                    text = json.dumps(record, ensure_ascii=False, sort_keys=True)
                    manual.write(("," if count else "") + "\n    " + text)
                    count += 1
                else:
                    writer(target, record)

            try:
                records = export_records(export, ruleset.sources)
                migrate(ruleset, records, as_of=as_of, emit=emit, journal=NullJournal())
            finally:
                writer.close(collections)
            manual.write("\n  ]\n}\n")
    except ExportError as exc:
        raise BaselineError(f"--since {path}: {exc}") from exc
    except BaselineError:
        raise
    except RulebridgeError as exc:
        raise BaselineError(f"--since {path}: re-migrating it failed: {exc}") from exc
    return _Source(scratch, "export", str(path), as_of.isoformat(), exported_at, collections)


def _listed(ruleset: CompiledRuleset) -> set[str]:
    return {
        entity.target or entity.name
        for entity in ruleset.entities.values()
        if entity.role != "record"
    }


class CatchUp:
    """One catch-up run: compares what the new migration writes with the baseline.

    Memory: the `Baseline` (16 bytes and one byte a record) and counts; the no-longer-wanted
    candidates and the old versions of changed records go to a scratch SQLite file.
    """

    def __init__(
        self, source: _Source, ruleset: CompiledRuleset, as_of: date, scratch: Path
    ) -> None:
        self.source, self.ruleset, self.as_of = source, ruleset, as_of
        self.baseline = Baseline(source.fingerprints())
        self.listed = _listed(ruleset)
        self.db = sqlite3.connect(scratch / "catch-up.sqlite")
        self.db.execute("CREATE TABLE wanted (collection, id, item, PRIMARY KEY (collection, id))")
        self.db.execute("CREATE TABLE old (collection, id, record, PRIMARY KEY (collection, id))")
        self.spills = {name: scratch / f"{name}.jsonl" for name, _, _ in SECTIONS}
        self.files = {name: private_text(path) for name, path in self.spills.items()}
        self.counts: dict[str, Counter[str]] = {name: Counter() for name in source.collections}
        self.counts[MANUAL] = Counter()

    def filter(self, take: Emit) -> Emit:
        """An `emit` in front of `take` that passes on only the added and changed records
        (and new and changed manual actions), comparing each with the baseline."""

        def emit(target: str, record: dict[str, Any]) -> None:
            if target in self.listed:
                record_id = _manual_id(record)
                found = self.baseline.compare(MANUAL, record_id, fingerprint(record))
                category = NEW if found == ADDED else found
                self.counts[MANUAL][category] += 1
                if found != UNCHANGED:
                    self._spill(_manual_item(category, record_id, record))
            else:
                collection = collection_name(target)
                record_id = str(record.get("id"))
                found = self.baseline.compare(collection, record_id, fingerprint(record))
                self.counts.setdefault(collection, Counter())[found] += 1
            if found != UNCHANGED:
                take(target, record)

        return emit

    def excluded(self, target: str, record_id: str | None, difference: Difference) -> None:
        """The `excluded` hook: a loaded record a rule now leaves out is kept aside."""
        collection = collection_name(target)
        if record_id is None or (collection, record_id) not in self.baseline:
            return
        item = CatchUpItem(
            NO_LONGER_WANTED,
            collection,
            record_id,
            label=getattr(difference, "label", None),
            rule=difference.rule,
            summary=_rule_summary(self.ruleset, difference.rule),
            reason=difference.detail.removeprefix(f"{difference.rule}: "),
        )
        self.db.execute(
            "INSERT OR IGNORE INTO wanted VALUES (?, ?, ?)",
            (collection, record_id, json.dumps(item.to_json(), ensure_ascii=False)),
        )

    def write(self, work: Path, unreadable: set[str]) -> dict[str, Counter[str]]:
        """Sort every earlier and new record into its section and write catch-up.{md,json}
        into `work` (the new output); returns the counts.

        Args:
            work: the new output folder, whose collection files hold only added and changed
                records.
            unreadable: source ids of the new export's unreadable rows: an earlier record
                with that id (or ending ``/<id>``) is noted as perhaps only unreadable.
        """
        self._gone(unreadable)
        self._new(work)
        for stream in self.files.values():
            stream.close()
        head = {
            "since": self.source.given,
            "baseline": self.source.kind,
            "baseline_as_of": self.source.as_of,
            "baseline_exported_at": self.source.exported_at,
            "as_of": self.as_of.isoformat(),
        }
        return self._render(work, head)

    def _gone(self, unreadable: set[str]) -> None:
        for collection, record_id, record in self.source.records():
            status = self.baseline.status(collection, record_id)
            if status == "changed":
                self.db.execute(
                    "INSERT OR REPLACE INTO old VALUES (?, ?, ?)",
                    (collection, record_id, json.dumps(record, ensure_ascii=False)),
                )
            elif status == "gone":
                self._spill(self._gone_item(collection, record_id, unreadable))
        for record_id, record in self.source.manual():
            if self.baseline.status(MANUAL, record_id) == "gone":
                self._spill(_manual_item(NO_LONGER_NEEDED, record_id, record))

    def _gone_item(self, collection: str, record_id: str, unreadable: set[str]) -> CatchUpItem:
        row = self.db.execute(
            "SELECT item FROM wanted WHERE collection = ? AND id = ?", (collection, record_id)
        ).fetchone()
        if row is not None:
            return CatchUpItem.from_json(json.loads(row[0]))
        note = None
        if record_id in unreadable or record_id.rsplit("/", 1)[-1] in unreadable:
            note = "its row is unreadable in the new export: fix the row rather than delete"
        return CatchUpItem(REMOVED, collection, record_id, note=note)

    def _new(self, work: Path) -> None:
        for collection in self.source.collections:
            path = work / f"{collection}.json"
            if not path.exists():
                continue
            for _, record in read_collection(path):
                record_id = str(record["id"])
                if self.baseline.status(collection, record_id) is None:
                    self._spill(CatchUpItem(ADDED, collection, record_id))
                    continue
                row = self.db.execute(
                    "SELECT record FROM old WHERE collection = ? AND id = ?",
                    (collection, record_id),
                ).fetchone()
                old = json.loads(row[0]) if row is not None else {}
                fields, shown = changed_fields(old, record)
                self._spill(CatchUpItem(CHANGED, collection, record_id, fields=fields, shown=shown))

    def _spill(self, item: CatchUpItem) -> None:
        section = section_of(item)
        self.files[section].write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
        if item.category in (REMOVED, NO_LONGER_WANTED, NO_LONGER_NEEDED):
            self.counts.setdefault(item.collection, Counter())[item.category] += 1

    def _items(self, section: str) -> Iterator[CatchUpItem]:
        with self.spills[section].open(encoding="utf-8") as lines:
            for line in lines:
                yield CatchUpItem.from_json(json.loads(line))

    def _render(self, work: Path, head: dict[str, Any]) -> dict[str, Counter[str]]:
        counts = {name: dict(found) for name, found in self.counts.items()}
        if self.source.kind == "export":
            head["weaker"] = _WEAKER
        with private_text(work / f"{CATCH_UP}.md") as out:
            sections = {name: self._items(name) for name, _, _ in SECTIONS}
            for line in catch_up_markdown(head, counts, sections):
                out.write(line + "\n")
        with private_text(work / f"{CATCH_UP}.json") as out:
            out.write(json.dumps({**head, "counts": counts}, indent=2, ensure_ascii=False)[:-2])
            for name, _, _ in SECTIONS:
                out.write(f',\n  "{_JSON_KEYS[name]}": [')
                for number, item in enumerate(self._items(name)):
                    text = json.dumps(item.to_json(), ensure_ascii=False)
                    out.write(("," if number else "") + "\n    " + text)
                out.write("\n  ]")
            out.write("\n}\n")
        return self.counts

    def close(self) -> None:
        """Close the scratch files (the scratch folder goes with `open_since`)."""
        for stream in self.files.values():
            stream.close()
        self.db.close()


def _manual_id(record: dict[str, Any]) -> str:
    """A manual action's id (its fingerprint when its entity maps none)."""
    return str(record.get("id") or fingerprint(record))


def _manual_item(category: str, record_id: str, record: dict[str, Any]) -> CatchUpItem:
    action, detail = record.get("action"), record.get("detail")
    reason = ": ".join(str(part) for part in (action, detail) if part)
    return CatchUpItem(
        category,
        MANUAL,
        record_id,
        label=record.get("label") or None,
        rule=record.get("rule") or None,
        reason=reason or None,
    )


def _rule_summary(ruleset: CompiledRuleset, rule_id: str) -> str | None:
    """The rule's summary: the ruleset's own lookup when it has one, else its include rules
    and de-duplication policies."""
    own = getattr(ruleset, "rule_summary", None)
    if callable(own):
        found = own(rule_id)
        return str(found) if found else None
    rule = ruleset.rules.get(rule_id)
    if rule is not None:
        return " ".join(rule.summary.split()) or None
    for entity in ruleset.entities.values():
        if entity.dedupe is not None and entity.dedupe.id == rule_id:
            return " ".join(entity.dedupe.summary.split()) or None
    return None
