"""Where the parts of a scenario file are written: the lines of each top-level key and of
each step, found from the positions the YAML reader records (never by matching text).

Lines are counted from 0; a span's `end` is exclusive and leaves out the blank and comment
lines after the part (they belong to what follows: `lead` is where a step's own leading
comments begin).

Example:
    >>> from engine.documents import parse_document
    >>> text = "scenario: s\\nsteps:\\n  # first\\n  - {event: report}\\n\\n  - {event: close}\\n"
    >>> spans = find_spans(parse_document(text.encode(), "s.yaml"), text)
    >>> spans.keys["steps"], spans.items, spans.indent
    (Span(lead=1, start=1, end=6), (Span(lead=3, start=3, end=4), Span(lead=4, start=5, end=6)), 2)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from engine.documents.document import Document

__all__ = ["Span", "Spans", "find_spans"]


@dataclass(frozen=True, slots=True)
class Span:
    """Lines `start` to `end` (exclusive) hold the part; `lead` to `start` its comments."""

    lead: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Spans:
    """The top-level keys' spans by name, the steps' (None: a flow-style list, written on
    shared lines), and the column of the steps' ``-``."""

    keys: Mapping[str, Span]
    items: tuple[Span, ...] | None
    indent: int


def find_spans(document: Document, text: str) -> Spans:
    """The spans of `document`, read from `text`."""
    lines = text.splitlines(keepends=True)
    data = document.data if isinstance(document.data, Mapping) else {}
    starts = sorted((document.key_where((key,))[0] - 1, str(key)) for key in data)
    keys: dict[str, Span] = {}
    for number, (start, name) in enumerate(starts):
        limit = starts[number + 1][0] if number + 1 < len(starts) else len(lines)
        keys[name] = Span(start, start, _trim(lines, start, limit, 0))
    steps = data.get("steps")
    if "steps" not in keys or not isinstance(steps, list) or not steps:
        return Spans(keys, None, 2)
    items = _items(document, lines, len(steps), keys["steps"])
    indent = _dash(lines[items[0].start]) if items else 2
    return Spans(keys, items, indent)


def _items(
    document: Document, lines: list[str], count: int, whole: Span
) -> tuple[Span, ...] | None:
    line, column = document.where(("steps",))
    if lines[line - 1][column - 1 : column] == "[":
        return None
    marks = [document.where(("steps", index)) for index in range(count)]
    starts = [_item_start(lines, line - 1, column - 1) for line, column in marks]
    if any(later <= earlier for earlier, later in itertools.pairwise(starts)):
        return None
    spans: list[Span] = []
    lead = starts[0]
    for index, start in enumerate(starts):
        limit = starts[index + 1] if index + 1 < count else whole.end
        end = _trim(lines, start, limit, marks[index][1] - 1)
        spans.append(Span(lead, start, end))
        lead = end
    return tuple(spans)


def _item_start(lines: list[str], line: int, column: int) -> int:
    """The line of the ``-`` that begins the item whose value is at (line, column)."""
    if "-" in lines[line][:column]:
        return line
    while line > 0 and lines[line - 1].strip() != "-":
        line -= 1
    return max(line - 1, 0)


def _trim(lines: list[str], start: int, limit: int, column: int) -> int:
    """`limit` moved back over blank lines and comments indented at most `column`."""
    end = limit
    while end > start + 1 and _gap(lines[end - 1], column):
        end -= 1
    return end


def _gap(line: str, column: int) -> bool:
    stripped = line.strip()
    if not stripped:
        return True
    return stripped.startswith("#") and len(line) - len(line.lstrip()) <= column


def _dash(line: str) -> int:
    return line.index("-") if "-" in line else 2
