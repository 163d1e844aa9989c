"""Splitting the body of a CSV file into rows, recovering from bad quoting at the next line.

Python's `csv` module, given a stray ``"`` at the start of a cell, reads on to the next
``"`` anywhere in the file: every row in between vanishes into one cell. Here a row starts
at a line boundary, and a quoted cell may carry it onto the following lines (RFC 4180) only
while all of these hold:

- no following line it would take, read by itself, starts a row of its own (`Shape.starts_row`);
- it closes within `MAX_SPAN` physical lines;
- the lines it spans make one well-formed row of the header's width.

Otherwise only the first line is reported as malformed, and reading resumes at the very next
line, so every physical line ends up in exactly one `RawRow`: a row (maybe spanning lines)
or a malformed line. `docs/jupix-export.md` (*CSV files*) states the rule for users.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from ._coerce import is_id

__all__ = ["MAX_SPAN", "RawRow", "Shape", "split_rows"]

MAX_SPAN = 100
"""The most physical lines one row may span (a note of up to 99 line breaks)."""

Numbered = tuple[int, str]
_AGAIN = "the next line is read as a new row"
_FIX = "add the closing '\"', or double a '\"' that is part of the text"


@dataclass(frozen=True, slots=True)
class Shape:
    """What a row of one file looks like: its number of cells and where its key is."""

    width: int
    key: int

    def starts_row(self, text: str) -> bool:
        """Whether `text`, read alone, begins a row: a well-formed key cell holding an id, and
        either exactly `width` cells or (a quoted cell left open at its end) at most `width`.

        Example:
            >>> Shape(4, 0).starts_row("TD2,U01,,fine\\n"), Shape(4, 0).starts_row("more text\\n")
            (True, False)
        """
        read = _alone(text)
        if read is None:
            return False
        cells, complete = read
        whole = len(cells) if complete else len(cells) - 1
        fits = len(cells) == self.width if complete else len(cells) <= self.width
        return fits and self.key < whole and is_id(cells[self.key])

    def key_of(self, text: str) -> str | None:
        """The key cell of a (possibly malformed) first line, when it is a well-formed id."""
        read = _alone(text)
        if read is None:
            return None
        cells, complete = read
        whole = len(cells) if complete else len(cells) - 1
        return cells[self.key] if self.key < whole and is_id(cells[self.key]) else None


@dataclass(frozen=True, slots=True)
class RawRow:
    """One row of cells (`problem` None), or one malformed line (`cells` empty).

    Attributes:
        line: The physical line the row starts on.
        end: The last physical line it takes (`line` for a malformed line).
        cells: The row's cells.
        problem: Why the line is not a row, and how to fix it.
        record_id: The key of a malformed line, when it can be read.
    """

    line: int
    end: int
    cells: list[str]
    problem: str | None = None
    record_id: str | None = None


def _alone(text: str) -> tuple[list[str], bool] | None:
    """`text` parsed by itself: ``(cells, True)``, or ``(cells, False)`` when it ends inside a
    quoted cell (that cell cut at the line's end), or None when it is not CSV."""
    try:
        return next(csv.reader((text,), strict=True)), True
    except StopIteration:
        return [], True
    except csv.Error:
        pass
    try:
        return next(csv.reader((text.rstrip("\r\n") + '"',), strict=True)), False
    except (csv.Error, StopIteration):
        return None


class _Lines:
    """The lines handed to one shared `csv.reader`: a row's first line, then (only while a
    quoted cell is open) its continuation lines, refused when the rule says stop.

    A `csv.reader` starts each row afresh and asks its iterator again on every `next`, even
    after this one said stop or the row failed, so one reader serves the whole file (the
    tests in tests/adapters/test_jupix_reader.py would catch a `csv` that did otherwise).
    """

    def __init__(self, lines: Iterator[Numbered], shape: Shape) -> None:
        self._source = lines
        self._ahead: deque[Numbered] = deque()
        self._shape = shape
        self.taken = 0
        self.stop: str = ""

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        item = self.peek(self.taken)
        if item is None:
            self.stop = "end"
            raise StopIteration
        if self.taken and self.taken >= MAX_SPAN:
            self.stop = f"still open after {MAX_SPAN} lines"
            raise StopIteration
        if self.taken and self._shape.starts_row(item[1]):
            self.stop = f"not closed before line {item[0]}, which is a row of its own"
            raise StopIteration
        self.taken += 1
        return item[1]

    def peek(self, index: int) -> Numbered | None:
        """The line `index` places after the current row's first, or None past the end."""
        while len(self._ahead) <= index:
            item = next(self._source, None)
            if item is None:
                return None
            self._ahead.append(item)
        return self._ahead[index]

    def begin(self) -> Numbered | None:
        """Start a row at the next unread line (None at the end of the file)."""
        self.taken, self.stop = 0, ""
        return self.peek(0)

    def drop(self, count: int) -> int:
        """Mark `count` lines read; the number of the last of them."""
        last = self._ahead[0][0]
        for _ in range(count):
            last = self._ahead.popleft()[0]
        return last


def split_rows(lines: Iterator[Numbered], shape: Shape) -> Iterator[RawRow]:
    """Each row of `lines` (``(line number, text)`` pairs, header excluded), by the rule above.

    Completely empty lines are skipped. Every other line is in exactly one item.

    Example:
        >>> body = enumerate(['TD1,U1,,"stray\\n', "TD2,U1,,fine\\n"], start=2)
        >>> [(row.line, row.cells, row.problem is None) for row in split_rows(body, Shape(4, 0))]
        [(2, [], False), (3, ['TD2', 'U1', '', 'fine'], True)]
    """
    source = _Lines(lines, shape)
    reader = csv.reader(source, strict=True)
    while (first := source.begin()) is not None:
        try:
            cells = next(reader)
        except csv.Error as exc:
            yield _malformed(source, first, shape, f"is not well-formed there ({exc})", str(exc))
            continue
        if source.taken > 1 and len(cells) != shape.width:
            detail = f"has {len(cells)} cells where the header has {shape.width}"
            yield _malformed(source, first, shape, detail, "")
            continue
        end = source.drop(source.taken)
        if cells:
            yield RawRow(first[0], end, cells)


def _malformed(source: _Lines, first: Numbered, shape: Shape, detail: str, error: str) -> RawRow:
    """`first` as one malformed line, whatever the lines after it were taken for.

    `detail` says what is wrong with a row spanning lines; `error` is the `csv` module's
    complaint about a single line.
    """
    last = source.peek(source.taken - 1) if source.taken > 1 else None
    again = f"; {_AGAIN}" if last is not None else ""
    source.drop(1)
    if source.stop:
        where = "never closed" if source.stop == "end" else source.stop
        message = f"malformed CSV: a quoted cell opened on this line is {where}; {_FIX}{again}"
    elif last is not None:
        message = (
            f"malformed CSV: a quoted cell opened on this line runs to line {last[0]}, and "
            f"that row {detail}; {_FIX}{again}"
        )
    else:
        message = (
            f"malformed CSV ({error}); quote cells holding commas, quotes or line breaks, "
            "doubling inner quotes"
        )
    return RawRow(first[0], first[0], [], message, shape.key_of(first[1]))
