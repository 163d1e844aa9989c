"""What evaluation may consult besides the record itself: related records, other entities'
decisions, other rules, and the run's `as_of` date.

A context is built per run from the records of every source a relation reaches. Relation
indexes are built on first use (one pass over the related source, keyed by the joined
field), so no lookup ever scans; inclusion decisions are memoised per record.

A source given as a `list` or `tuple` is indexed by its records. Any other `Sequence` (such
as `engine.sync.tables.RecordTable`, records kept in a file) is indexed by position and its
records are fetched when a lookup finds them; past `relation_index.DISK_AT` records its
index is kept on disk too (`relation_index.DiskIndex`), so memory holds no key of it.
The memo of inclusion decisions keeps the records it has decided (an id is only reused once
its object is gone) and is bounded, so records read and dropped one at a time never pile up
in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.errors import EvaluationError
from engine.explain import Because
from engine.language.paths import Reader
from engine.language.relation_index import DiskIndex, index_key, position_index

__all__ = ["Context", "Relation", "index_key"]

_MEMO = 2048  # inclusion decisions remembered at once (cleared when full)

Test = Callable[[Any, "Context"], bool]
Explain = Callable[[Any, "Context"], "tuple[bool, list[Because]]"]


@dataclass(frozen=True, slots=True)
class Relation:
    """A declared relation: records of `target` whose `to_field` equals `field` here."""

    id: str
    name: str
    source: str
    target: str
    field: str
    to_field: str
    read_from: Reader
    read_to: Reader


class Context:
    """Related records, cached decisions and the run date for one evaluation run.

    Built by `CompiledRuleset.context()`; not meant to be constructed directly.
    """

    def __init__(
        self,
        *,
        relations: Mapping[str, Relation],
        include_tests: Mapping[str, Test],
        rule_tests: Mapping[str, Test],
        rule_explains: Mapping[str, Explain],
        records: Mapping[str, Sequence[Any]],
        as_of: date | None,
        indexes_from: Context | None = None,
    ) -> None:
        self._relations = relations
        self._include_tests = include_tests
        self._rule_tests = rule_tests
        self._rule_explains = rule_explains
        self._records = records
        self._as_of = as_of
        self._indexes: dict[str, dict[str, list[Any]]] = {}
        self._positions: dict[str, tuple[_PositionIndex, Sequence[Any]]] = {}
        # Indexes by (target source, joined field), each with the table it indexes: relations
        # alike share one, and so do contexts built with `indexes_from` over the same tables.
        self._shared: _Indexes = {} if indexes_from is None else indexes_from._shared  # noqa: SLF001
        self._included: dict[tuple[str, int], tuple[Any, bool]] = {}

    @property
    def as_of(self) -> date:
        """The run's date; an error if the run gave none but a rule needs it."""
        if self._as_of is None:
            raise EvaluationError(
                "a rule compares with 'as_of' but no as_of date was given; "
                "pass as_of= when building the context"
            )
        return self._as_of

    def related(self, relation_id: str, record: Any) -> list[Any]:
        """The records related to `record` through `relation_id`, in source order.

        The list returned may be shared with the index: read it, never change it.
        """
        positioned = self._positions.get(relation_id)
        if positioned is not None:
            return self._fetch(relation_id, record, *positioned)
        index = self._indexes.get(relation_id)
        relation = self._relations[relation_id]
        if index is None:
            table = self._records.get(relation.target, ())
            shared = (relation.target, relation.to_field)
            known = self._shared.get(shared)
            if not isinstance(table, list | tuple):
                if known is None or known[0] is not table:
                    positions = position_index(table, relation.read_to, len(table))
                    known = self._shared[shared] = (table, positions)
                self._positions[relation_id] = (known[1], table)
                return self.related(relation_id, record)
            if known is None or known[0] is not table:
                known = self._shared[shared] = (table, self._build_index(relation))
            index = known[1]  # records, not positions: the table is a list or tuple
            self._indexes[relation_id] = index
        value = relation.read_from(record)
        if type(value) is not list:
            key = index_key(value)
            return index.get(key, _NONE) if key is not None else _NONE
        found: list[Any] = []
        for key in _keys(value):
            found.extend(index.get(key, ()))
        return _unique(found) if len(found) > 1 else found

    def _fetch(
        self, relation_id: str, record: Any, index: _PositionIndex, table: Sequence[Any]
    ) -> list[Any]:
        """`related` for a source indexed by position: the positions found, then records."""
        value = self._relations[relation_id].read_from(record)
        positions: list[int] = []
        for key in _keys(value):
            found = index.get(key)
            if found is not None:
                positions.extend((found,) if type(found) is int else found)
        if type(value) is list and len(positions) > 1:  # as `related` does for records
            positions = list(dict.fromkeys(positions))
        return [table[position] for position in positions]

    def included(self, entity: str, record: Any) -> bool:
        """Whether `entity`'s include rules hold for `record` (memoised)."""
        memo_key = (entity, id(record))
        known = self._included.get(memo_key)
        if known is not None and known[0] is record:
            return bool(known[1])
        held = self._include_tests[entity](record, self)
        if len(self._included) >= _MEMO:
            self._included.clear()
        self._included[memo_key] = (record, held)
        return held

    def rule(self, rule_id: str, record: Any) -> bool:
        """Whether rule `rule_id`'s condition holds for `record`."""
        return self._rule_tests[rule_id](record, self)

    def explain_rule(self, rule_id: str, record: Any) -> tuple[bool, list[Because]]:
        """Whether rule `rule_id` holds for `record`, with what it read."""
        return self._rule_explains[rule_id](record, self)

    def _build_index(self, relation: Relation) -> dict[str, list[Any]]:
        index: dict[str, list[Any]] = {}
        read_to = relation.read_to
        for record in self._records.get(relation.target, ()):
            value = read_to(record)
            for item in value if type(value) is list else (value,):
                key = item if type(item) is str else index_key(item)
                if key is not None:
                    found = index.get(key)
                    if found is None:
                        index[key] = [record]
                    else:
                        found.append(record)
        return index


_PositionIndex = dict[str, Any] | DiskIndex
"""Joined value -> a position (an int) or positions (a list), in memory or on disk."""

_Indexes = dict[tuple[str, str], tuple[Sequence[Any], Any]]
"""(target source, joined field) -> (the table indexed, its index: of records for a list or
tuple, else a `_PositionIndex`)."""

_NONE: list[Any] = []  # shared empty answer; callers never change what `related` returns


def _keys(value: Any) -> Iterable[str]:
    values = value if isinstance(value, list) else [value]
    return [key for key in (index_key(item) for item in values) if key is not None]


def _unique(records: list[Any]) -> list[Any]:
    seen: set[int] = set()
    unique = []
    for record in records:
        if id(record) not in seen:
            seen.add(id(record))
            unique.append(record)
    return unique
