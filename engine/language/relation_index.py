"""Relation indexes kept on disk: joined value -> positions in a large table, so a context
over file-backed tables (`engine.sync.tables.RecordTable`) holds no key in memory.

`DiskIndex` keeps its entries in a private temporary SQLite database (``sqlite3.connect("")``:
SQLite creates the file, unlinks it at once and deletes it when the connection closes,
which happens when the index is dropped), with a page cache of a fixed size, so memory
stays the same however many keys there are. Keys are stored as their UTF-8 bytes (lone
surrogates kept), so a lookup finds exactly the keys equal to the one asked for.

`DiskMap` is a dict on disk the same way (keys equal in Python are one key), for the
planner's indexes of a large target (`engine.sync.planner`) and the links' pairs.

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

import json
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

__all__ = ["DISK_AT", "DiskIndex", "DiskMap", "Lookup", "key_bytes", "position_index"]

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


class DiskMap:
    """A dict kept on disk (an anonymous temporary SQLite database, a fixed page cache),
    for hashable keys of text, numbers, booleans and tuples of them, and values of text,
    numbers or None. Keys equal in Python are one key here (``1``, ``1.0`` and ``True``
    alike, as in a dict); a key `key_bytes` cannot encode (a NaN, another type) is kept
    in a dict in memory instead, so every answer is the dict's.

    Example:
        >>> table = DiskMap()
        >>> table[("a", 1)] = 5
        >>> table.setdefault(("a", 1.0), 6), ("a", True) in table, table.get(("b",))
        (5, True, None)
        >>> del table[("a", 1)]
        >>> len(table)
        0
    """

    def __init__(self) -> None:
        import sqlite3

        db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db = db
        self._lock = threading.Lock()
        weakref.finalize(self, db.close)
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "temp_store = FILE"):
            db.execute(f"PRAGMA {pragma}")
        db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        db.execute("CREATE TABLE map (key BLOB PRIMARY KEY, value) WITHOUT ROWID")
        self._odd: dict[Any, Any] = {}
        self._size = 0

    def _run(self, sql: str, *args: Any) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def get(self, key: Any, default: Any = None) -> Any:
        """The value of `key`, or `default`."""
        encoded = key_bytes(key)
        if encoded is None:
            return self._odd.get(key, default)
        rows = self._run("SELECT value FROM map WHERE key = ?", encoded)
        return rows[0][0] if rows else default

    def __contains__(self, key: Any) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __getitem__(self, key: Any) -> Any:
        found = self.get(key, _MISSING)
        if found is _MISSING:
            raise KeyError(key)
        return found

    def __setitem__(self, key: Any, value: Any) -> None:
        encoded = key_bytes(key)
        if encoded is None:
            self._size += key not in self._odd
            self._odd[key] = value
            return
        self._size += key not in self
        self._run("INSERT OR REPLACE INTO map VALUES (?, ?)", encoded, value)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """The value of `key`; `default`, stored, when there is none."""
        found = self.get(key, _MISSING)
        if found is _MISSING:
            self[key] = found = default
        return found

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise KeyError(key)
        encoded = key_bytes(key)
        if encoded is None:
            del self._odd[key]
        else:
            self._run("DELETE FROM map WHERE key = ?", encoded)
        self._size -= 1

    def __len__(self) -> int:
        return self._size


_MISSING = object()


def key_bytes(key: Any) -> bytes | None:
    """`key` encoded so that keys equal in Python (``1 == 1.0 == True``, tuples item by
    item) and only those give the same bytes; None for what it cannot encode exactly
    (NaN, which is not even equal to itself, or a type other than text, numbers, booleans
    and tuples of them).

    Example:
        >>> key_bytes((1, "a")) == key_bytes((1.0, "a")), key_bytes(("1",)) == key_bytes((1,))
        (True, False)
        >>> key_bytes((float("nan"),)) is None
        True
    """
    parts: list[Any] = []
    if not _canonical(key, parts):
        return None
    return json.dumps(parts, separators=(",", ":")).encode("ascii")


def _canonical(value: Any, parts: list[Any]) -> bool:
    kind = type(value)
    if kind is str:
        parts.append(value)  # json.dumps escapes lone surrogates: still one text per value
    elif kind is bool or kind is int:
        parts.append(["i", str(int(value))])
    elif kind is float:
        if value != value:  # NaN
            return False
        number = int(value) if value.is_integer() else None
        parts.append(["i", str(number)] if number is not None else ["f", repr(value)])
    elif kind is tuple:
        inner: list[Any] = []
        if not all(_canonical(item, inner) for item in value):
            return False
        parts.append(["t", inner])
    else:
        return False
    return True


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
