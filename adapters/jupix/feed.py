"""Streaming reader of `properties.xml`, the Jupix Website Listing XML feed.

The feed is parsed with `defusedxml.ElementTree.iterparse`, so entity declarations (the
"billion laughs" bomb) and external references are refused, and each `<property>` is cleared
once it has been turned into a row, so memory does not grow with the size of the feed.
The file is fed to the parser a line at a time, which is how each row knows its line.

Shape::

    <properties>
      <property>
        <propertyID>P1</propertyID> ... <archived>false</archived>
        <ownerContactIDs><ownerContactID>C1</ownerContactID></ownerContactIDs>
        <images><image modified="2024-01-02">https://...</image></images>
      </property>
    </properties>
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden
from defusedxml.ElementTree import ParseError, iterparse

from engine.documents.suggest import did_you_mean
from engine.errors import RecordError

from ._coerce import Cell, ExportError, Row, build_row, open_binary
from .spec import FEED_RECORD, FEED_ROOT, IGNORED_FEED_ELEMENTS, TABLES, TableSpec

__all__ = ["iter_feed"]

_POSITION = re.compile(r": line \d+, column \d+$")


class _LineFeeder:
    """A binary file that hands the parser at most one line per read.

    `line` is the line the last chunk is on, so it is the line of every event the parser
    reports for that chunk. A line longer than a read comes in several chunks (a feed on one
    line still streams).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._next = 1
        self.line = 0

    def read(self, size: int = -1) -> bytes:
        data = self._raw.readline(size if size > 0 else -1)
        self.line = self._next
        if data.endswith(b"\n"):
            self._next += 1
        return data


def iter_feed(
    path: Path, table: TableSpec = TABLES["properties"]
) -> Iterator[tuple[str, Row | RecordError]]:
    """Each `<property>` of the feed at `path`, as ``(file:line, typed row or RecordError)``.

    Raises:
        ExportError: The file is not well-formed XML (with its line and column), its root is
            not `<properties>`, or it declares entities or a DTD-based attack.

    Example::

        for where, row in iter_feed(Path("export/properties.xml")):
            print(where, row)
    """
    with open_binary(path) as raw:
        feeder = _LineFeeder(raw)
        try:
            yield from _records(feeder, table, path.name)
        except ParseError as exc:
            raise _not_well_formed(exc, path.name) from exc
        except DefusedXmlException as exc:
            raise _refused(exc, f"{path.name}:{feeder.line}") from exc


def _records(
    feeder: _LineFeeder, table: TableSpec, name: str
) -> Iterator[tuple[str, Row | RecordError]]:
    depth = 0
    root: Element | None = None
    start_line = 0
    for event, element in iterparse(feeder, events=("start", "end")):
        if event == "start":
            depth += 1
            if depth == 1:
                root = _check_root(element, name, feeder.line)
            elif depth == 2:
                start_line = feeder.line
            continue
        depth -= 1
        if depth == 1 and root is not None:
            where = f"{name}:{start_line}"
            yield where, _record(element, table, where)
            root.clear()


def _check_root(element: Element, name: str, line: int) -> Element:
    if element.tag != FEED_ROOT:
        message = f"the root element is <{element.tag}>; a Jupix feed starts with <{FEED_ROOT}>"
        raise ExportError(f"{name}:{line}", message)
    return element


def _record(element: Element, table: TableSpec, where: str) -> Row | RecordError:
    if element.tag != FEED_RECORD:
        hint = did_you_mean(element.tag, [FEED_RECORD])
        message = f"unexpected element <{element.tag}> in <{FEED_ROOT}>{hint}; remove it"
        return RecordError(where, None, message)
    cells: dict[str, Cell] = {}
    problems: list[str] = []
    for child in element:
        problems.extend(_read_child(child, table, cells))
    return build_row(table, cells, where, problems)


def _read_child(child: Element, table: TableSpec, cells: dict[str, Cell]) -> list[str]:
    tag = child.tag
    if not table.has(tag):
        if tag in IGNORED_FEED_ELEMENTS:
            return []
        return [f"unknown element <{tag}>{did_you_mean(tag, table.names)}"]
    if tag in cells:
        return [f"<{tag}> appears more than once; keep one"]
    item = table.column(tag).item
    if item is not None:
        cells[tag], problems = _list_items(child, item)
        return problems
    cells[tag] = (child.text or "").strip()
    if len(child):
        return [f"<{tag}> holds elements (<{child[0].tag}>); it takes text only"]
    return []


def _list_items(wrapper: Element, item: str) -> tuple[list[str], list[str]]:
    items: list[str] = []
    problems: list[str] = []
    for child in wrapper:
        if child.tag == item:
            items.append((child.text or "").strip())
        else:
            hint = did_you_mean(child.tag, [item])
            problems.append(f"<{wrapper.tag}> holds <{child.tag}>; it takes <{item}> only{hint}")
    return items, problems


def _not_well_formed(exc: ParseError, name: str) -> ExportError:
    line, column = exc.position
    reason = _POSITION.sub("", str(exc))
    return ExportError(f"{name}:{line}:{column}", f"not well-formed XML ({reason}); fix the markup")


def _refused(exc: DefusedXmlException, where: str) -> ExportError:
    if isinstance(exc, EntitiesForbidden):
        what = "declares an entity (possible XML bomb, e.g. 'billion laughs')"
    elif isinstance(exc, DTDForbidden):
        what = "has a DTD"
    else:
        what = "refers to an external entity or resource"
    return ExportError(where, f"refused: the feed {what}; export the feed again without it")
