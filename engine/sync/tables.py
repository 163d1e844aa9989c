"""Records kept in a file and read back one at a time, so planning a large agency holds
neither records nor (past a few thousand records) their offsets in memory.

A `RecordTable` is a read-only `Sequence` of records: ``table[i]`` reads record *i* from
its file (the last few hundred read are cached), and iterating streams the file in order,
each record a fresh ``dict``. `engine.language.context.Context` indexes such a source by
position, and the planner (`engine.sync.planner`) streams its sources and indexes its
targets by position, so memory grows with the keys relations and merges need only.

The file is JSON lines, written owner-only; put it in a private temporary folder and
`close` the table when done (the folder's removal deletes it). Where each line starts is
kept in `Offsets`: in memory for the last `OFFSETS_IN_MEMORY` records, the rest in an
anonymous temporary file (8 bytes a record, one ``pread`` per lookup, gone with the table).

Example::

    table = RecordTable.write(folder / "inventory.jsonl", records)
    len(table), table[0]["id"]
    # (2000, '100001')
    table.close()
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, overload

__all__ = ["OFFSETS_IN_MEMORY", "Offsets", "RecordTable"]

_CACHE = 256  # records kept after a read by position (a lookup often reads one again)

OFFSETS_IN_MEMORY = 4096
"""`Offsets` keeps this many of the newest values in memory, the older ones in a file."""


class RecordTable(Sequence[dict[str, Any]]):
    """Records in a JSON-lines file, by position. Read them; never change what is returned.

    Args:
        path: the file (written by `RecordTable.write`).
        offsets: where each record's line starts (`write` keeps them in `Offsets`).
    """

    def __init__(self, path: Path, offsets: Sequence[int]) -> None:
        self.path, self._offsets = path, offsets
        self._reader: IO[bytes] | None = None
        self._cache: OrderedDict[int, dict[str, Any]] = OrderedDict()

    @classmethod
    def write(
        cls, path: str | os.PathLike[str], records: Iterable[Mapping[str, Any]]
    ) -> RecordTable:
        """Write `records` (JSON values only) to a new owner-only file at `path`.

        Raises:
            FileExistsError: `path` exists (a table never overwrites a file).
        """
        file, offsets = Path(path), Offsets()
        handle = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(handle, "wb") as out:
            for record in records:
                offsets.append(out.tell())
                out.write(_encode(record))
        return cls(file, offsets)

    def __len__(self) -> int:
        return len(self._offsets)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"record {index} of {len(self)}")
        cached = self._cache.get(position)
        if cached is not None:
            self._cache.move_to_end(position)
            return cached
        record = self._read(position)
        self._cache[position] = record
        if len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return record

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Every record in order, streamed from the file (each a new object)."""
        with self.path.open("rb") as lines:
            for line in lines:
                yield json.loads(line)

    def __enter__(self) -> RecordTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file handle used for reads by position (the table can be read again)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._cache.clear()

    def _read(self, position: int) -> dict[str, Any]:
        if self._reader is None:
            self._reader = self.path.open("rb")
        self._reader.seek(self._offsets[position])
        record: dict[str, Any] = json.loads(self._reader.readline())
        return record


class Offsets(Sequence[int]):
    """64-bit integers appended one at a time: the newest (up to `OFFSETS_IN_MEMORY`) in
    memory, the earlier ones in an anonymous temporary file (owner-only, never named on
    disk, closed when dropped), 8 bytes each, read back by position with one ``pread``.

    Example:
        >>> offsets = Offsets(in_memory=2)
        >>> for value in (0, 120, 250):
        ...     offsets.append(value)
        >>> len(offsets), offsets.in_file, offsets[1], offsets[-1], list(offsets)
        (3, 2, 120, 250, [0, 120, 250])
    """

    def __init__(self, *, in_memory: int | None = None) -> None:
        self._limit = max(1, OFFSETS_IN_MEMORY if in_memory is None else in_memory)
        self._tail = array("q")
        self._fd = -1
        self.in_file = 0
        """How many of the values are in the file (the oldest ones)."""

    def append(self, value: int) -> None:
        """Add `value` at the end.

        Raises:
            OSError: the temporary file could not be made or written.
        """
        self._tail.append(value)
        if len(self._tail) >= self._limit:
            self._store()

    def _store(self) -> None:
        if self._fd < 0:
            handle = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the offsets
            weakref.finalize(self, handle.close)
            self._fd = handle.fileno()
        data, at = memoryview(self._tail.tobytes()), self.in_file * 8
        while data:  # a short write goes on where it stopped; a failed one raises OSError
            written = os.pwrite(self._fd, data, at)
            data, at = data[written:], at + written
        self.in_file += len(self._tail)
        del self._tail[:]

    def __len__(self) -> int:
        return self.in_file + len(self._tail)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> list[int]: ...
    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError(f"offset {index} of {len(self)}")
        if position >= self.in_file:
            return self._tail[position - self.in_file]
        return int.from_bytes(os.pread(self._fd, 8, position * 8), sys.byteorder, signed=True)


def _encode(record: Mapping[str, Any]) -> bytes:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8") + b"\n"
