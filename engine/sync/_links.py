"""Plan a link: a ``link`` operation for each pair of synced records its path reaches that
the target lacks, and, when the link says ``unlink:``, an ``unlink`` for each pair the
target holds that is no longer reached, between two records the integration manages
(their references are those of source records of the two entities, synced or not). A
link naming any other record is never removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.explain import Because
from engine.language import relation_index
from engine.language.context import Context
from engine.language.policies import Link
from engine.language.relation_index import DiskMap
from engine.language.ruleset import CompiledRuleset, Entity
from engine.sync._diff import read_field
from engine.sync.plan import Operation, PlanSink, idempotency_key

__all__ = ["LinkPlanner"]


class LinkPlanner:
    """Plans the links of one ruleset over one set of records, sending each operation to
    `sink` (links after every entity, as `engine.sync.planner` calls it)."""

    def __init__(
        self,
        ruleset: CompiledRuleset,
        records: Mapping[str, Sequence[Mapping[str, Any]]],
        context: Context,
        sink: PlanSink,
    ) -> None:
        self.ruleset, self.records, self.context, self.sink = ruleset, records, context, sink

    def plan(self, link: Link, included: Iterable[Any]) -> None:
        """Link each `included` record of the link's first entity to the included records
        its path reaches; with an unlink rule, then remove the links it no longer wants
        (`plan_unlinks`)."""
        source = self.ruleset.entities[link.source_entity]
        goal = self.ruleset.entities[link.target_entity]
        rows = self.records.get(link.target, ())
        existing = _pairs(rows)
        for row in rows:
            existing[_pair(row, link.keys)] = True
        wanted = _pairs(self.records.get(source.source, ()))
        for record in included:
            start = source.value_of(source.ref or "", record, self.context)
            for reached in self.follow(link, record):
                if self.context.included(goal.name, reached):
                    end = goal.value_of(goal.ref or "", reached, self.context)
                    self.add_link(link, source, record, start, end, existing)
                    wanted[(str(start), str(end))] = True
        if link.unlink is not None:
            self.plan_unlinks(link, source, goal, rows, wanted)

    def plan_unlinks(
        self,
        link: Link,
        source: Entity,
        goal: Entity,
        rows: Sequence[Any],
        wanted: _Pairs,
    ) -> None:
        """An ``unlink`` for each link the target holds that is not wanted, between two
        records the integration manages (their references are those of source records of
        the two entities, synced or not). A link naming any other record is left alone."""
        starts = self.references(source)
        ends = self.references(goal)
        seen = _pairs(rows)
        for row in rows:
            start, end = (read_field(row, key) for key in link.keys)
            if start in (None, "") or end in (None, ""):
                continue
            pair = (str(start), str(end))
            if pair in wanted or pair in seen or pair[0] not in starts or pair[1] not in ends:
                continue
            seen[pair] = True
            self.sink.add(self.unlink(link, source, row, pair, starts[pair[0]]))

    def references(self, entity: Entity) -> _Pairs:
        """Every reference the entity's source records map to, with the record's key."""
        records = self.records.get(entity.source, ())
        found = _pairs(records)
        for record in records:
            ref = entity.value_of(entity.ref or "", record, self.context)
            if ref not in (None, ""):
                found.setdefault(str(ref), entity.key_of(record))
        return found

    def unlink(
        self, link: Link, source: Entity, row: Any, pair: tuple[str, str], source_id: str | None
    ) -> Operation:
        assert link.unlink is not None
        target = self.ruleset.targets.get(link.target)
        because = (
            Because(
                link.unlink.id,
                link.keys[0],
                pair[0],
                f"no longer joined to {link.target_entity} {pair[1]} ({link.unlink.summary})",
                True,
            ),
        )
        return Operation(
            "unlink",
            source.name,
            link.target,
            source_id,
            None if target is None else target.read_key(row),
            pair[0],
            {link.keys[0]: pair[0], link.keys[1]: pair[1]},
            idempotency_key(self.ruleset.name, link.name, "unlink", pair),
            because,
            link=link.name,
            key=None if target is None else target.key,
        )

    def follow(self, link: Link, record: Any) -> list[Any]:
        current = [record]
        for step in link.via:
            current = [
                item
                for each in current
                for item in self.context.related(step.relation_id, each)
                if step.where is None or step.where(item, self.context)
            ]
        unique: dict[int, Any] = {id(item): item for item in current}
        return list(unique.values())

    def add_link(
        self,
        link: Link,
        source: Entity,
        record: Any,
        start: Any,
        end: Any,
        existing: _Pairs,
    ) -> None:
        pair = (str(start), str(end))
        if start is None or end is None or pair in existing:
            return
        existing[pair] = True
        fields = {link.keys[0]: pair[0], link.keys[1]: pair[1], **dict(link.constants)}
        because = (
            Because(
                link.id,
                link.keys[0],
                pair[0],
                f"joined to {link.target_entity} {pair[1]} ({link.summary})",
                True,
            ),
        )
        key = idempotency_key(self.ruleset.name, link.name, "link", pair)
        self.sink.add(
            Operation(
                "link",
                source.name,
                link.target,
                source.key_of(record),
                None,
                pair[0],
                fields,
                key,
                because,
                link=link.name,
            )
        )


_Pairs = dict[Any, Any] | DiskMap
"""A set (values True) or a mapping, kept on disk when it grows with a large table."""


def _pairs(rows: Sequence[Any]) -> _Pairs:
    """An empty table for what grows with `rows`: a dict, or a `DiskMap` when `rows` is a
    large file-backed table (memory stays flat; as `engine.sync.planner` does)."""
    if not isinstance(rows, list | tuple) and len(rows) > relation_index.DISK_AT:
        return DiskMap()
    return {}


def _pair(row: Any, keys: tuple[str, str]) -> tuple[str, str]:
    return (str(read_field(row, keys[0])), str(read_field(row, keys[1])))
