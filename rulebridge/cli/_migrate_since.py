"""`rulebridge migrate --since`: the catch-up against what was loaded before go-live.

The baseline is an earlier ``migrate --out`` folder (preferred: it is what was loaded) or an
earlier Jupix export, re-migrated as today into a private scratch folder: the weaker
comparison (`rulebridge.cli._since_baseline` reads either).

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
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from engine import CompiledRuleset
from engine.migration import (
    Baseline,
    CatchUpItem,
    Difference,
    Emit,
    catch_up_markdown,
    changed_fields,
    fingerprint,
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
from rulebridge.cli._migrate_out import collection_name, role_targets
from rulebridge.cli._out_folder import private_text
from rulebridge.cli._since_baseline import (
    CATCH_UP,
    BaselineError,
    BaselineSource,
    manual_id,
    read_baseline,
    read_collection,
    since_kind,
)

__all__ = ["BaselineError", "CatchUp", "open_since", "since_kind"]

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
        click.UsageError: `path` is neither an output folder nor an export, or a catch-up.
        BaselineError: the baseline cannot be read (the message is located).
    """
    with tempfile.TemporaryDirectory(prefix="rulebridge-since-") as scratch:
        source = read_baseline(path, ruleset, as_of, collections, Path(scratch), warn)
        with closing(CatchUp(source, ruleset, as_of, Path(scratch))) as catch_up:
            yield catch_up


class CatchUp:
    """One catch-up run: compares what the new migration writes with the baseline.

    Memory: the `Baseline` (16 bytes and one byte a record) and counts; the no-longer-wanted
    candidates and the old versions of changed records go to a scratch SQLite file.
    """

    def __init__(
        self, source: BaselineSource, ruleset: CompiledRuleset, as_of: date, scratch: Path
    ) -> None:
        self.source, self.ruleset, self.as_of = source, ruleset, as_of
        self.baseline = Baseline(source.fingerprints())
        self.listed = role_targets(ruleset, "manual")  # housekeeping items are not compared
        self.checks = role_targets(ruleset, "check")
        self.db = sqlite3.connect(scratch / "catch-up.sqlite")
        self.db.execute("CREATE TABLE wanted (collection, id, item, PRIMARY KEY (collection, id))")
        self.db.execute("CREATE TABLE old (collection, id, record, PRIMARY KEY (collection, id))")
        self.spills = {name: scratch / f"{name}.jsonl" for name, _, _ in SECTIONS}
        self.files = {name: private_text(path) for name, path in self.spills.items()}
        self.counts: dict[str, Counter[str]] = {name: Counter() for name in source.collections}
        self.counts[MANUAL] = Counter()
        self.summaries: dict[str, str | None] = {}

    def _summary_of(self, rule: str) -> str | None:
        if rule not in self.summaries:
            self.summaries[rule] = _rule_summary(self.ruleset, rule)
        return self.summaries[rule]

    def filter(self, take: Emit) -> Emit:
        """An `emit` in front of `take` that passes on only the added and changed records
        (and new and changed manual actions), comparing each with the baseline; housekeeping
        items pass unchanged."""

        def emit(target: str, record: dict[str, Any]) -> None:
            if target in self.checks:  # housekeeping is about the new export alone
                take(target, record)
                return
            if target in self.listed:
                record_id = manual_id(record)
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
            label=difference.label,
            rule=difference.rule,
            summary=self._summary_of(difference.rule),
            reason=difference.words or difference.detail.removeprefix(f"{difference.rule}: "),
        )
        with _scratch():
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
        with _scratch():
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

    def summary(self) -> str:
        """One line for the terminal: how many of each category (after `write`)."""
        totals: Counter[str] = Counter()
        for name, found in self.counts.items():
            if name != MANUAL:
                totals.update(found)
        manual = self.counts[MANUAL]
        return (
            f"catch-up since {self.source.given}: {totals[ADDED]} added, {totals[CHANGED]} "
            f"changed, {totals[REMOVED]} removed from Jupix, {totals[NO_LONGER_WANTED]} no "
            f"longer wanted, {totals[UNCHANGED]} unchanged; manual actions: {manual[NEW]} new, "
            f"{manual[CHANGED]} changed, {manual[NO_LONGER_NEEDED]} no longer needed "
            "(catch-up.md)"
        )

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
                record_id = str(record.get("id"))
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


@contextmanager
def _scratch() -> Iterator[None]:
    """SQLite errors on the scratch file (a full disk) as a `BaselineError`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise BaselineError(f"the catch-up's scratch file cannot be written ({exc})") from exc


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
