"""Writing a Jupix export a row at a time: every file open at once, nothing kept in memory.

Values are written in the text forms `docs/jupix-export.md` documents: None as an empty
cell, bools as ``true``/``false``, lists joined by ``;``, dates as ISO, amounts with two
decimals. Column order comes from `adapters.jupix.spec`, so the generator cannot drift from
the reader.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TextIO
from xml.sax.saxutils import escape, quoteattr

from adapters.jupix.spec import FEED_RECORD, FEED_ROOT, LIST_SEPARATOR, TABLES, TableSpec

if TYPE_CHECKING:
    from _csv import Writer

__all__ = ["ExportSink"]

_PROPERTIES = TABLES["properties"]
_CSV_TABLES = tuple(spec for spec in TABLES.values() if spec.file.endswith(".csv"))


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(_text(item) for item in value)
    return str(value)


class ExportSink:
    """The open files of one export being written, and the id counters of its tables.

    Example::

        with ExportSink(Path("out")) as sink:
            sink.write("todo_notes", noteID=sink.next_id("TD"), userID="U01", text="Hi")
    """

    def __init__(self, folder: Path) -> None:
        self._files: list[TextIO] = []
        self._writers: dict[str, Writer] = {}
        self._ids: Counter[str] = Counter()
        for spec in _CSV_TABLES:
            stream = self._open(folder / spec.file)
            self._writers[spec.name] = csv.writer(stream)
            self._writers[spec.name].writerow(spec.names)
        self._feed = self._open(folder / _PROPERTIES.file)
        self._feed.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<{FEED_ROOT}>\n')

    def _open(self, path: Path) -> TextIO:
        stream = path.open("w", encoding="utf-8", newline="")
        self._files.append(stream)
        return stream

    def __enter__(self) -> ExportSink:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def next_id(self, prefix: str) -> str:
        """A new id with `prefix`: ``P1``, ``P2``, ..."""
        self._ids[prefix] += 1
        return f"{prefix}{self._ids[prefix]}"

    def write(self, table: str, **cells: object) -> None:
        """Write one row of a CSV table; columns not given are empty."""
        spec = TABLES[table]
        _check_columns(spec, cells)
        self._writers[table].writerow([_text(cells.get(name)) for name in spec.names])

    def write_property(self, cells: Mapping[str, object], extra: Mapping[str, str]) -> None:
        """Write one `<property>`; `extra` holds public-feed elements the migration ignores."""
        _check_columns(_PROPERTIES, cells)
        lines = [f"  <{FEED_RECORD}>"]
        for column in _PROPERTIES.columns:
            value = cells.get(column.name)
            if column.item is not None:
                lines.extend(_xml_list(column.name, column.item, value))
            elif value is not None:
                lines.append(f"    <{column.name}>{escape(_text(value))}</{column.name}>")
        lines.extend(f"    <{tag}>{escape(text)}</{tag}>" for tag, text in extra.items())
        lines.append(f"  </{FEED_RECORD}>\n")
        self._feed.write("\n".join(lines))

    def close(self) -> None:
        """Finish the feed and close every file."""
        if not self._feed.closed:
            self._feed.write(f"</{FEED_ROOT}>\n")
        for stream in self._files:
            stream.close()


def _xml_list(name: str, item: str, value: object) -> list[str]:
    entries = value if isinstance(value, list) else []
    if not entries:
        return [f"    <{name} />"]
    lines = [f"    <{name}>"]
    for entry in entries:
        text, modified = entry if isinstance(entry, tuple) else (entry, None)
        attribute = f" modified={quoteattr(_text(modified))}" if modified else ""
        lines.append(f"      <{item}{attribute}>{escape(_text(text))}</{item}>")
    lines.append(f"    </{name}>")
    return lines


def _check_columns(spec: TableSpec, cells: Mapping[str, object]) -> None:
    unknown = [name for name in cells if not spec.has(name)]
    if unknown:
        raise ValueError(f"{spec.file} has no column {unknown[0]!r}")
