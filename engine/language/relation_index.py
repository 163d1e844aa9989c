"""Relation indexes kept on disk: joined value -> positions in a large table, so a context
over file-backed tables (`engine.sync.tables.RecordTable`) holds no key in memory.

`DiskIndex` keeps its entries in a private temporary SQLite database (``sqlite3.connect("")``:
SQLite creates the file, unlinks it at once and deletes it when the connection closes,
which happens when the index is dropped), with a page cache of a fixed size, so memory
stays the same however many keys there are. Keys are stored as their UTF-8 bytes (lone
surrogates kept), so a lookup finds exactly the keys equal to the one asked for.

`position_index` chooses: a table of up to `DISK_AT` records is indexed in a dict (fast,
small), a larger one on disk. Both answer ``get(key)`` with a position (an int), the
positions in ascending order (a list) or None.

Example:
    >>> index = DiskIndex([("a", 0), ("b", 1), ("a", 2)])
    >>> index.get("a"), index.get("b"), index.get("c")
    ([0, 2], [1], None)
    >>> index.close()
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

__all__ = ["DISK_AT", "DiskIndex", "Lookup", "position_index"]

DISK_AT = 4096
"""Tables with more records than this are indexed on disk."""

_CACHE_KIB = 512  # SQLite page cache of one index
_BATCH = 4096  # rows inserted at a time

Lookup = Any
"""What an index's ``get`` gives: an int, a list of ints (ascending) or None."""


class DiskIndex:
    """Text key -> ascending positions, in an anonymous temporary SQLite database.

    Args:
        entries: (key, position) pairs, positions ascending (as one pass over a table
            gives them); a key may come with several positions.

    Example:
        >>> with DiskIndex([("x", 3)]) as index:
        ...     index.get("x")
        [3]
    """

    def __init__(self, entries: Iterable[tuple[str, int]]) -> None:
        import sqlite3  # only a context over file-backed tables needs it

        db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db: sqlite3.Connection | None = db
        self._lock = threading.Lock()
        self._close = weakref.finalize(self, db.close)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE"):
            db.execute(f"PRAGMA {pragma}")
        db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        db.execute("CREATE TABLE entries (key BLOB NOT NULL, position INTEGER NOT NULL)")
        db.execute("BEGIN")
        for batch in _batches(entries):
            db.executemany("INSERT INTO entries VALUES (?, ?)", batch)
        db.execute("COMMIT")
        db.execute("CREATE INDEX by_key ON entries (key, position)")
        self._query = "SELECT position FROM entries WHERE key = ? ORDER BY position"

    def get(self, key: str) -> list[int] | None:
        """The positions whose record has `key`, ascending; None when there are none.

        Raises:
            ValueError: the index is closed.
        """
        db = self._db
        if db is None:
            raise ValueError("the index is closed")
        with self._lock:
            rows = db.execute(self._query, (_encode(key),)).fetchall()
        return [row[0] for row in rows] if rows else None

    def close(self) -> None:
        """Delete the database (also done when the index is dropped)."""
        self._db = None
        self._close()

    def __enter__(self) -> DiskIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def position_index(
    table: Iterable[Any], read: Callable[[Any], Any], size: int, *, disk_at: int | None = None
) -> dict[str, Any] | DiskIndex:
    """Joined value -> position(s) over `table` (`size` records), in one pass: a dict for
    a small table, a `DiskIndex` past `disk_at` records (default `DISK_AT`). `read` gives
    a record's joined value (a list stands for each of its items); values `index_key`
    refuses are left out.

    Example:
        >>> small = position_index([{"id": 1}, {"id": "1"}], lambda row: row["id"], 2)
        >>> small
        {'1': [0, 1]}
        >>> position_index([{"id": 1}], lambda row: row["id"], 1, disk_at=0).get("1")
        [0]
    """
    entries = _entries(table, read)
    if size > (DISK_AT if disk_at is None else disk_at):
        return DiskIndex(entries)
    index: dict[str, Any] = {}
    for key, position in entries:
        found = index.get(key)
        if found is None:
            index[key] = position
        elif type(found) is int:
            index[key] = [found, position]
        else:
            found.append(position)
    return index


def index_key(value: Any) -> str | None:
    """The text a joined value is indexed under (ids may arrive as numbers or text)."""
    if value is None or isinstance(value, (bool, dict, list)):
        return None
    return str(value)


def _entries(table: Iterable[Any], read: Callable[[Any], Any]) -> Iterator[tuple[str, int]]:
    for position, record in enumerate(table):
        value = read(record)
        for item in value if type(value) is list else (value,):
            key = item if type(item) is str else index_key(item)
            if key is not None:
                yield key, position


def _encode(key: str) -> bytes:
    return key.encode("utf-8", "surrogatepass")


def _batches(entries: Iterable[tuple[str, int]]) -> Iterator[list[tuple[bytes, int]]]:
    batch: list[tuple[bytes, int]] = []
    for key, position in entries:
        batch.append((_encode(key), position))
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
