"""Run a migration: every source record, every entity that reads it, one outcome each.

A migration is the one-off cousin of a plan (`engine.sync.planner`): there is no target to
compare with, so each record an entity includes is mapped and written. An entity's
``role`` says what its records are: ``record`` (migrated into the target), ``manual``
(listed for a person to re-enter) or ``check`` (housekeeping reported before go-live; run
with ``check=True`` alone, or beside the others with ``housekeeping=True``). The result
carries the written records (unless `emit` takes them as they come) and the
`MigrationReport`: counts, every difference by rule and record, and one outcome per source
record. A source's ``label:`` (a contact's name, a property's full address) is evaluated
once for each record a report lists: on its differences, its outcome unless plainly
migrated, and every manual or check record (as ``label``, when the source declares one).

Memory stays bounded: the sources that relations reach are written to private temporary
files (`engine.sync.tables.RecordTable`) and indexed by position, so memory holds their keys,
not their rows; every source is streamed, each record decided for every entity reading it,
then dropped. A source an entity de-duplicates is read three times (match keys, merged
records, decisions). A source that can be iterated only once is held, compacted.

Example:
    >>> from datetime import date
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/jupix-alto/v1.yaml")
    >>> records = {"jupix.contacts": [{"contactID": "C1", "roles": ["landlord"]}]}
    >>> result = migrate(ruleset, records, as_of=date(2025, 6, 2))
    >>> result.records["alto.contacts"][0]["contactType"]
    'Client'
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from engine.canonical import content_hash
from engine.documents.suggest import did_you_mean
from engine.errors import EvaluationError, RecordError
from engine.explain import in_words
from engine.language.context import Context
from engine.language.dedupe import group_duplicates
from engine.language.operators.transforms import as_text
from engine.language.ruleset import CompiledRuleset, Entity
from engine.migration._held import Replay, compact, readable
from engine.migration._rows import fill, first_failure, map_explained, members, would_be_id
from engine.migration.report import Difference, EntityCount, Journal, MigrationReport, Outcome
from engine.sync.tables import RecordTable

__all__ = ["Emit", "Excluded", "Migration", "fingerprint", "migrate"]

Emit = Callable[[str, dict[str, Any]], None]
Excluded = Callable[[str, str | None, Difference], None]
"""Called ``(target, would_be_id, difference)`` for each record a ``record`` entity does not
write: an include rule leaves it out (change ``not migrated``) or its ``dedupe`` policy merges
it into another (change ``merged``). `would_be_id` is the entity's ``id`` field evaluated on
the row, only that field (None when the entity maps no ``id`` or it is empty); `difference`
is the reconciliation's own, naming the rule and the reason."""


@dataclass(slots=True)
class Migration:
    """What a migration wrote and why.

    Attributes:
        records: target name to the records written (empty when `emit` took them).
        manual: the records of ``manual`` entities, each with its ``entity`` (ditto).
        checks: the records of ``check`` entities, only with ``check=True`` (ditto).
        reconciliation: counts, differences and outcomes (empty with ``check=True``).
    """

    ruleset: str
    as_of: date
    check: bool
    reconciliation: MigrationReport
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    manual: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)


def fingerprint(record: Mapping[str, Any]) -> str:
    """A short hash of a written record's content, to find what changed between runs.

    Example:
        >>> fingerprint({"id": "C1", "n": 2}) == fingerprint({"n": 2, "id": "C1"})
        True
    """
    return content_hash(record, 20)


def migrate(
    ruleset: CompiledRuleset,
    records: Mapping[str, Iterable[Any]],
    *,
    as_of: date,
    check: bool = False,
    housekeeping: bool = False,
    emit: Emit | None = None,
    journal: Journal | None = None,
    excluded: Excluded | None = None,
) -> Migration:
    """Migrate `records` (source name to rows; a `RecordError` row is unreadable).

    Args:
        ruleset: the compiled migration ruleset.
        records: each source's rows, iterated once (sources that relations reach are held).
        as_of: the migration date, for rules and values that use ``as_of``.
        check: run only the ``check`` entities (pre-migration housekeeping) and write nothing.
        housekeeping: also run the ``check`` entities in a normal run, in the same pass: their
            records go to `emit` (or `Migration.checks`); they never change a source record's
            outcome, and the reconciliation neither counts nor lists them.
        emit: called with ``(target, record)`` for each record written (manual and check
            records carry their ``entity``) instead of keeping it in the `Migration`, so a
            large migration can stream to files.
        journal: takes the reconciliation's outcomes and differences as they come instead
            of keeping them (see `MigrationReport`).
        excluded: called ``(target, would_be_id, difference)`` for each record a ``record``
            entity does not write (see `Excluded`), so a catch-up can tell a record it
            loaded before that a rule now leaves out ("no longer wanted") and by which rule.

    Raises:
        EvaluationError: `records` names a source the ruleset does not declare.

    Example:
        >>> from engine import load_ruleset
        >>> ruleset = load_ruleset("rulesets/jupix-alto/v1.yaml")
        >>> records = {"jupix.contacts": [{"contactID": "C1"}, {"contactID": "C2"}]}
        >>> result = migrate(ruleset, records, as_of=date(2025, 6, 2))
        >>> result.reconciliation.outcome_counts()["jupix.contacts"]["migrated"]
        2
    """
    unknown = [name for name in records if name not in ruleset.sources]
    if unknown:
        hint = did_you_mean(unknown[0], ruleset.sources)
        raise EvaluationError(f"ruleset {ruleset.name} declares no source {unknown[0]!r}{hint}")
    runner = _Runner(ruleset, as_of, check, emit, journal, excluded, housekeeping=housekeeping)
    with tempfile.TemporaryDirectory(prefix="rulebridge-migrate-") as scratch:
        try:
            runner.hold(records, Path(scratch))
            for source in ruleset.sources:
                runner.run_source(source, runner.held.get(source, records.get(source, ())))
        finally:
            runner.close()
    return runner.result


class _Runner:
    def __init__(
        self,
        ruleset: CompiledRuleset,
        as_of: date,
        check: bool,
        emit: Emit | None,
        journal: Journal | None,
        excluded: Excluded | None = None,
        *,
        housekeeping: bool = False,
    ) -> None:
        self.ruleset, self.check, self.emit, self.excluded = ruleset, check, emit, excluded
        self.entities = [
            entity
            for entity in ruleset.entities.values()
            if (entity.role == "check" if check else entity.role != "check" or housekeeping)
        ]
        self.result = Migration(
            ruleset.name, as_of, check, MigrationReport(ruleset.name, as_of, journal)
        )
        self.counts = {
            entity.name: EntityCount(entity.name, entity.source, entity.target, entity.role)
            for entity in self.entities
        }
        self.result.reconciliation.entities.extend(
            count for count in self.counts.values() if check or count.role != "check"
        )
        self.held: dict[str, Iterable[Any]] = {}
        self.tables: list[RecordTable] = []
        self.context: Context = ruleset.context({}, as_of=as_of)
        self.labelled: tuple[Any, str | None] = (None, None)
        """The last row labelled and its label: each row is labelled at most once."""

    def hold(self, records: Mapping[str, Iterable[Any]], scratch: Path) -> None:
        """Index the sources that relations reach, and keep those entities de-duplicate.

        A source that can be read again (an export's table) is written to a `RecordTable`
        in `scratch` and indexed by position, so memory holds its keys, not its rows; its
        entities read it again from the source. A source that can be read only once is
        held in memory, compacted.
        """
        wanted = {relation.target for relation in self.ruleset.relations.values()}
        again = {entity.source for entity in self.entities if entity.dedupe is not None}
        indexed: dict[str, Sequence[Any]] = {}
        for number, name in enumerate(self.ruleset.sources):
            rows = records.get(name)
            if rows is None:
                continue
            once = iter(rows) is rows
            if name in wanted and not once:
                unreadable: list[tuple[int, Any]] = []
                table = RecordTable.write(scratch / f"{number}.jsonl", readable(rows, unreadable))
                self.tables.append(table)
                indexed[name] = table
                self.held[name] = Replay(table, unreadable)  # not read from the source again
            elif name in wanted or (name in again and once):
                held = self.held[name] = [compact(row) for row in rows]
                indexed[name] = [row for row in held if not isinstance(row, RecordError)]
        self.context = self.ruleset.context(indexed, as_of=self.result.as_of)

    def close(self) -> None:
        """Close the files of the tables `hold` wrote."""
        for table in self.tables:
            table.close()

    def run_source(self, source: str, rows: Iterable[Any]) -> None:
        entities = [entity for entity in self.entities if entity.source == source]
        if self.check and not entities:
            return
        merges = {
            entity.name: self.duplicates(entity, rows)
            for entity in entities
            if entity.dedupe is not None
        }
        kept: dict[str, dict[str, list[Any]]] = {
            entity.name: members(merges[entity.name], rows, entity, self.context)
            for entity in entities
            if entity.name in merges
        }
        for row in rows:
            if isinstance(row, RecordError):
                self.unreadable(source, row)
                continue
            decided = [
                self.decide(entity, row, merges.get(entity.name, {}), kept.get(entity.name, {}))
                for entity in entities
            ]
            if not self.check:
                self.account(source, row, *_accounted(entities, decided))

    def duplicates(self, entity: Entity, rows: Iterable[Any]) -> dict[str, str]:
        assert entity.dedupe is not None
        included = (
            (entity.key_of(row) or "", row)
            for row in rows
            if not isinstance(row, RecordError) and entity.includes(row, self.context)
        )
        return group_duplicates(entity.dedupe, included, self.context)

    def decide(
        self, entity: Entity, row: Any, merged: Mapping[str, str], kept: Mapping[str, list[Any]]
    ) -> tuple[str, tuple[str, ...]]:
        """Decide `row` for `entity`: ``(status, rules)``, writing what it includes."""
        self.counts[entity.name].source_count += 1
        key = entity.key_of(row)
        failing = first_failure(entity, row, self.context)
        if failing:
            failed = failing[0]
            if entity.role == "record":
                words = "; ".join(dict.fromkeys(in_words(item) for item in failing))
                difference = self.differ(
                    entity, row, failed.rule, key, "not migrated", str(failed), words
                )
                self.left_out(entity, row, difference)
            return "excluded", (failed.rule,)
        if key is not None and key in merged and entity.dedupe is not None:
            difference = self.differ(
                entity,
                row,
                entity.dedupe.id,
                key,
                "merged",
                f"merged into {merged[key]} (same {entity.dedupe.text})",
            )
            self.left_out(entity, row, difference)
            return "merged", (entity.dedupe.id,)
        fields, reasons = map_explained(entity, row, self.context)
        for twin in kept.get(key or "", ()):
            fill(fields, twin)
        for because in reasons:
            self.differ(entity, row, because.rule, key, "changed", str(because), in_words(because))
        self.write(entity, fields, row)
        decided = [rule.id for rule in entity.include] + [because.rule for because in reasons]
        return "included", tuple(decided)

    def left_out(self, entity: Entity, row: Any, difference: Difference) -> None:
        """Tell the `excluded` hook of a record `entity` does not write."""
        if self.excluded is not None and entity.role == "record":
            would_be = would_be_id(entity, row, self.context)
            self.excluded(entity.target or entity.name, would_be, difference)

    def write(self, entity: Entity, fields: dict[str, Any], row: Any) -> None:
        self.counts[entity.name].target_count += 1
        if entity.role != "record":
            fields = {"entity": entity.name, **fields}
            if self.ruleset.sources[entity.source].label is not None:
                fields.setdefault("label", self.label(entity.source, row))
        if self.emit is not None:
            self.emit(entity.target or entity.name, fields)
        elif entity.role == "manual":
            self.result.manual.append(fields)
        elif entity.role == "check":
            self.result.checks.append(fields)
        else:
            self.result.records.setdefault(entity.target or entity.name, []).append(fields)

    def differ(
        self,
        entity: Entity,
        row: Any,
        rule: str,
        key: str | None,
        change: Any,
        detail: str,
        words: str | None = None,
    ) -> Difference:
        label = self.label(entity.source, row)
        difference = Difference(entity.name, rule, key, change, detail, label, words)
        self.result.reconciliation.add_difference(difference)
        return difference

    def label(self, source: str, row: Any) -> str | None:
        """The row's label as text (None when its source declares none or it is empty);
        computed once per row, only for rows a report lists."""
        last, label = self.labelled
        if last is row:
            return label
        value = self.ruleset.sources[source].label
        label = None
        if value is not None:
            try:
                label = as_text(value.get(row, self.context)).strip() or None
            except EvaluationError:
                label = None
        self.labelled = (row, label)
        return label

    def account(
        self,
        source: str,
        row: Any,
        entities: list[Entity],
        decided: list[tuple[str, tuple[str, ...]]],
    ) -> None:
        key = entity_key(self.ruleset, source)(row)
        by_status: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
        for entity, (status, rules) in zip(entities, decided, strict=True):
            role = "record" if entity.role == "record" else "manual"
            by_status.setdefault((role, status), []).append((entity.name, rules))
        for (role, status), kind in _PRECEDENCE:
            found = by_status.get((role, status))
            if found:
                label = None if kind == "migrated" else self.label(source, row)
                self.outcome(source, key, kind, found, label=label)
                return
        failed = by_status.get(("record", "excluded"), [])
        detail = "" if entities else f"no entity reads {source}"
        self.outcome(source, key, "not migrated", failed, detail, self.label(source, row))

    def outcome(
        self,
        source: str,
        key: str | None,
        kind: Any,
        found: list[tuple[str, tuple[str, ...]]],
        detail: str = "",
        label: str | None = None,
    ) -> None:
        names = tuple(name for name, _ in found)
        rules = tuple(dict.fromkeys(rule for _, ids in found for rule in ids))
        self.result.reconciliation.add_outcome(
            Outcome(source, key, kind, names, rules, detail=detail, label=label)
        )

    def unreadable(self, source: str, error: RecordError) -> None:
        if not self.check:
            self.result.reconciliation.add_outcome(
                Outcome(
                    source, error.record_id, "unreadable", where=error.where, detail=error.message
                )
            )


_PRECEDENCE: tuple[tuple[tuple[str, str], Any], ...] = (
    (("record", "included"), "migrated"),
    (("record", "merged"), "merged"),
    (("manual", "included"), "manual"),
)


def _accounted(
    entities: list[Entity], decided: list[tuple[str, tuple[str, ...]]]
) -> tuple[list[Entity], list[tuple[str, tuple[str, ...]]]]:
    """The entities that decide a record's outcome, with their decisions (not ``check``)."""
    pairs = [pair for pair in zip(entities, decided, strict=True) if pair[0].role != "check"]
    return [entity for entity, _ in pairs], [status for _, status in pairs]


def entity_key(ruleset: CompiledRuleset, source: str) -> Callable[[Any], str | None]:
    """The key of a `source` record as text (None when it has none)."""
    declared = ruleset.sources[source]

    def read(row: Any) -> str | None:
        value = row.get(declared.key) if isinstance(row, Mapping) else None
        return None if value is None else str(value)

    return read
