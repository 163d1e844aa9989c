"""A plan's sections kept in a file past a threshold, read back as an immutable sequence.

`engine.sync.planner.make_plan` collects its operations, skips, merges and manual actions
through a `Section` each: the first `spill_at` items stay in a list; when one more arrives,
the section moves to an anonymous temporary file (JSON lines, one item a line, owner-only,
never named on disk: the operating system removes it when it is closed or the process
ends, even killed) and every later item is written there. `Section.freeze` then gives a
tuple (nothing spilled) or a `SpilledItems`: a read-only `Sequence` that reads item *i* by
its offset and streams the file when iterated, each time afresh, so a plan's memory holds
offsets and counts, not items. It equals the tuple of the same items (both ways), slices
to tuples, and closes its file when it is collected.

Only values JSON gives back exactly are written (text, whole numbers, finite floats,
booleans, None, lists, objects with text keys); an item holding anything else (a tuple, a
date) is kept in memory as it is, and so is every item when the file cannot be written
(a full disk): a spilled plan is always the same plan.

Example:
    >>> from engine.sync.plan import Skip
    >>> section = Section(Skip, spill_at=2)
    >>> for n in range(3):
    ...     section.add(Skip("property", str(n), ("P-01",), ()))
    >>> skips = section.freeze()
    >>> type(skips).__name__, len(skips), skips[-1].source_id
    ('SpilledItems', 3, '2')
    >>> skips == tuple(skips), skips[:1]
    (True, (Skip(kind='property', source_id='0', rules=('P-01',), because=()),))
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, Generic, TypeVar, overload

from engine.explain import Because
from engine.sync.plan import ManualAction, MergeDecision, Operation, Skip
from engine.sync.tables import Offsets

__all__ = ["SPILL_AT", "Section", "SpilledItems"]

SPILL_AT = 1000  # items a section holds in memory before it moves to a file
_CHUNK = 1 << 20  # bytes written, and read when a spilled section is iterated, at a time
_write = os.write  # a name of this module's own, for the tests' full disk

Item = TypeVar("Item", bound=Operation | Skip | MergeDecision | ManualAction)
Row = list[Any]


def _exact(value: Any) -> bool:
    """True when JSON gives `value` back equal and of the same types."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(map(_exact, value))
    if kind is dict:
        return all(type(key) is str for key in value) and all(map(_exact, value.values()))
    return False


def _reasons(items: tuple[Because, ...]) -> Row:
    return [[item.rule, item.field, item.value, item.expected, item.held] for item in items]


def _because(rows: Row) -> tuple[Because, ...]:
    return tuple(Because(*row) for row in rows)


def _operation_row(op: Operation) -> Row:
    head = [op.op, op.kind, op.target, op.source_id, op.target_id, op.target_ref, op.fields]
    return [*head, op.idempotency_key, _reasons(op.because), op.link, op.key]


def _operation(row: Row) -> Operation:
    op, kind, target, source_id, target_id, ref, fields, key, because, link, named = row
    return Operation(
        op, kind, target, source_id, target_id, ref, fields, key, _because(because), link, named
    )


def _skip_row(skip: Skip) -> Row:
    return [skip.kind, skip.source_id, list(skip.rules), _reasons(skip.because)]


def _skip(row: Row) -> Skip:
    return Skip(row[0], row[1], tuple(row[2]), _because(row[3]))


def _merge_row(merge: MergeDecision) -> Row:
    return [merge.kind, merge.source_id, merge.target_id, merge.rule, merge.matched_on]


def _merge(row: Row) -> MergeDecision:
    return MergeDecision(*row)


def _manual_row(manual: ManualAction) -> Row:
    said = [manual.kind, manual.action, manual.rule, manual.target_id, manual.source_id]
    return [*said, manual.reason, manual.record]


def _manual(row: Row) -> ManualAction:
    return ManualAction(*row)


_CODECS: dict[type[Any], tuple[Callable[[Any], Row], Callable[[Row], Any]]] = {
    Operation: (_operation_row, _operation),
    Skip: (_skip_row, _skip),
    MergeDecision: (_merge_row, _merge),
    ManualAction: (_manual_row, _manual),
}


class _Spill:
    """The anonymous file of one section: its lines' offsets (one more than lines: the
    end), the items kept in memory instead (by position; their line is ``null``), and the
    lines not yet written (a megabyte at a time)."""

    def __init__(self, handle: IO[bytes], decode: Callable[[Row], Any]) -> None:
        self.handle, self.fd, self.decode = handle, handle.fileno(), decode
        self.offsets = Offsets()  # past a few thousand items, in a file too
        self.offsets.append(0)
        self.kept: dict[int, Any] = {}
        self.pending = bytearray()
        self.written = 0  # bytes in the file
        self.close = weakref.finalize(self, handle.close)  # when the last reader is gone

    def add(self, encoded: bytes | None, item: Any) -> None:
        """Append one item's line (``None``: keep `item` itself); may write to the file.

        Raises:
            OSError: the file could not be written (the line stays pending).
        """
        if encoded is None:
            self.kept[len(self.offsets) - 1] = item
            encoded = b"null\n"
        self.pending += encoded
        self.offsets.append(self.offsets[-1] + len(encoded))
        if len(self.pending) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        """Write the pending lines.

        Raises:
            OSError: the file could not be written (what was not is still pending).
        """
        while self.pending:
            done = _write(self.fd, self.pending)
            del self.pending[:done]
            self.written += done

    def item(self, position: int, line: bytes | bytearray) -> Any:
        """The item on line `line` at `position`."""
        kept = self.kept.get(position)
        return kept if kept is not None else self.decode(json.loads(line))

    def read_all(self) -> list[Any]:
        """Every item, from the file and what is pending; closes the file."""
        text = bytearray()
        while len(text) < self.written:
            text += os.pread(self.fd, self.written - len(text), len(text))
        text += self.pending
        self.close()
        return [self.item(n, line) for n, line in enumerate(text.splitlines())]


class Section(Generic[Item]):
    """One section of a plan as it is collected: a list, then a file past `spill_at` items.

    Args:
        kind: the items' class (`Operation`, `Skip`, `MergeDecision` or `ManualAction`).
        spill_at: how many items stay in memory; one more moves the section to a file.

    Example:
        >>> section = Section(Skip, spill_at=10)
        >>> section.add(Skip("property", "1", ("P-01",), ()))
        >>> section.freeze()
        (Skip(kind='property', source_id='1', rules=('P-01',), because=()),)
    """

    def __init__(self, kind: type[Item], *, spill_at: int = SPILL_AT) -> None:
        self.kind, self.spill_at = kind, spill_at
        self._encode, self._decode = _CODECS[kind]
        self._items: list[Item] = []
        self._spill: _Spill | None = None
        self._in_memory = False  # the file failed: every item stays in memory

    def add(self, item: Item) -> None:
        """Take the next item."""
        if self._spill is not None:
            self._write(self._spill, item)
            return
        self._items.append(item)
        if len(self._items) > self.spill_at and not self._in_memory:
            self._move_to_file()

    def freeze(self) -> Sequence[Item]:
        """The items taken, in order: a tuple, or a `SpilledItems` once spilled. The
        section takes no more items afterwards."""
        spill = self._spill
        if spill is None:
            return tuple(self._items)
        try:
            spill.flush()
        except OSError:
            self._fall_back(spill)
            return tuple(self._items)
        self._spill = None
        return SpilledItems(spill)

    def _move_to_file(self) -> None:
        try:
            # closed by the SpilledItems made of it (a finalizer), or on a failed write
            handle = tempfile.TemporaryFile(prefix="rulebridge-plan-", suffix=".jsonl")  # noqa: SIM115
        except OSError:
            self._in_memory = True
            return
        spill = self._spill = _Spill(handle, self._decode)
        items, self._items = self._items, []
        for n, item in enumerate(items):
            if not self._write(spill, item):  # the file failed: the rest stays in memory
                self._items.extend(items[n + 1 :])
                return

    def _write(self, spill: _Spill, item: Item) -> bool:
        """Spill `item`; False when the file failed and the section went back to memory."""
        row = self._encode(item)
        encoded = json.dumps(row, separators=(",", ":")).encode() + b"\n" if _exact(row) else None
        try:
            spill.add(encoded, item)
        except OSError:  # a full disk: read back what was spilled, keep it all in memory
            self._fall_back(spill)
            return False
        return True

    def _fall_back(self, spill: _Spill) -> None:
        self._items, self._spill, self._in_memory = spill.read_all(), None, True


class SpilledItems(Sequence[Item]):
    """Plan items in a file, by position: an immutable sequence standing in for a tuple.

    Made by `Section.freeze`; each read returns new objects equal to the items written.
    """

    def __init__(self, spill: _Spill) -> None:
        self._spill = spill  # its file closes when the last SpilledItems is collected

    def __len__(self) -> int:
        return len(self._spill.offsets) - 1

    @overload
    def __getitem__(self, index: int) -> Item: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Item, ...]: ...
    def __getitem__(self, index: int | slice) -> Item | tuple[Item, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError("plan item index out of range")
        start, end = self._spill.offsets[position], self._spill.offsets[position + 1]
        item: Item = self._spill.item(position, os.pread(self._spill.fd, end - start, start))
        return item

    def __iter__(self) -> Iterator[Item]:
        """Every item in order, streamed from the file (each a new object)."""
        position, offset, rest = 0, 0, b""
        while chunk := os.pread(self._spill.fd, _CHUNK, offset):
            offset += len(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield self._spill.item(position, line)
                position += 1

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        if not isinstance(other, tuple | SpilledItems):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # items hold dicts: unhashable, as their tuple

    def __add__(self, other: tuple[Item, ...]) -> tuple[Item, ...]:
        return (*self, *other)

    def __radd__(self, other: tuple[Item, ...]) -> tuple[Item, ...]:
        return (*other, *self)

    def __copy__(self) -> SpilledItems[Item]:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> SpilledItems[Item]:
        return self

    def __repr__(self) -> str:
        return f"<{len(self)} plan items spilled to a file>"
