"""How a migration reads again the sources relations reach, and the rows it must hold.

`Replay` gives a source read once back in its order: its readable rows from the file they
were written to (a `RecordTable`), each unreadable row in its place. `compact` keeps a row
held in memory (a source that can be read only once) with its short texts interned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from sys import intern
from typing import Any

from engine.errors import RecordError

__all__ = ["Replay", "compact", "readable"]

_INTERNED = 24
"""Texts up to this length are interned: statuses, dates, short ids and codes repeat."""


def compact(row: Any) -> Any:
    """A held row with its short texts interned: statuses and dates repeat a lot."""
    if not isinstance(row, dict):
        return row
    return {
        name: intern(value) if isinstance(value, str) and len(value) <= _INTERNED else value
        for name, value in row.items()
    }


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
