"""Rows a migration holds in memory, kept small: a read-only mapping over a tuple.

The sources that relations reach are held whole (their indexes point into them), and at
100,000 properties that is over a million rows. A dict of fourteen fields costs about 650
bytes before its values; a `HeldRow` costs a slot object and a tuple (about 200), its field
names shared by every row of the same shape (`Layout`). Short texts (statuses, dates, ids
that repeat) are interned, so equal ones are stored once.

A `HeldRow` reads like the dict it replaces: ``row["status"]``, ``row.get("status")``,
``"status" in row``, iteration in the original order, equality with a dict of the same
items. It cannot be changed.

Example:
    >>> rows = Rows()
    >>> row = rows.compact({"tenancyID": "T1", "status": "Active"})
    >>> row["status"], row.get("rent"), dict(row)
    ('Active', None, {'tenancyID': 'T1', 'status': 'Active'})
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from sys import intern
from typing import Any

from engine.errors import RecordError

__all__ = ["HeldRow", "Layout", "Replay", "Rows", "readable"]

_INTERNED = 24
"""Texts up to this length are interned: statuses, dates, short ids and codes repeat."""


class Layout:
    """The field names of rows of one shape, and where each sits in a row's tuple."""

    __slots__ = ("index", "names")

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.index = {name: position for position, name in enumerate(names)}


class HeldRow(Mapping[str, Any]):
    """A read-only row: a `Layout` shared with every row of its shape, and its values."""

    __slots__ = ("_layout", "_values")

    def __init__(self, layout: Layout, values: tuple[Any, ...]) -> None:
        self._layout = layout
        self._values = values

    def __getitem__(self, name: str) -> Any:
        return self._values[self._layout.index[name]]

    def get(self, name: str, default: Any = None) -> Any:
        """The field's value, or `default` when the row has no such field."""
        position = self._layout.index.get(name)
        return default if position is None else self._values[position]

    def __contains__(self, name: object) -> bool:
        return name in self._layout.index

    def __iter__(self) -> Iterator[str]:
        return iter(self._layout.names)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"HeldRow({dict(self)!r})"


class Rows:
    """Makes `HeldRow`s, sharing one `Layout` per shape of row."""

    def __init__(self) -> None:
        self.layouts: dict[tuple[str, ...], Layout] = {}

    def compact(self, row: Any) -> Any:
        """`row` as a `HeldRow` with its short texts interned (anything not a dict as is)."""
        if type(row) is not dict:
            return row
        names = tuple(row)
        layout = self.layouts.get(names)
        if layout is None:
            layout = self.layouts[names] = Layout(names)
        return HeldRow(
            layout,
            tuple(
                intern(value) if type(value) is str and len(value) <= _INTERNED else value
                for value in row.values()
            ),
        )


class Replay:
    """A source read once, replayed in its order: the readable rows from their
    `RecordTable` (`rows`), each unreadable row (a `RecordError`) back in its place.

    Example:
        >>> list(Replay([{"id": "A"}, {"id": "C"}], [(1, "bad row B")]))
        [{'id': 'A'}, 'bad row B', {'id': 'C'}]
    """

    def __init__(self, rows: Iterable[Any], unreadable: list[tuple[int, Any]]) -> None:
        self.rows = rows
        self.unreadable = unreadable
        """``(readable rows before it, the error)`` for each unreadable row, in order."""

    def __iter__(self) -> Iterator[Any]:
        pending = iter(self.unreadable)
        upcoming = next(pending, None)
        for count, row in enumerate(self.rows):
            while upcoming is not None and upcoming[0] == count:
                yield upcoming[1]
                upcoming = next(pending, None)
            yield row
        while upcoming is not None:
            yield upcoming[1]
            upcoming = next(pending, None)


def readable(rows: Iterable[Any], unreadable: list[tuple[int, Any]]) -> Iterator[Any]:
    """The readable rows of `rows`; each `RecordError` goes to `unreadable` with its place."""
    count = 0
    for row in rows:
        if isinstance(row, RecordError):
            unreadable.append((count, row))
        else:
            count += 1
            yield row
