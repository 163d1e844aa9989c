"""`JupixExport`: a strict, streaming reader of a Jupix export folder.

Rows come back one at a time as typed dicts; a bad row comes back as a `RecordError` at
``file:line`` (the physical line where the row starts) and reading goes on with the next row.
Problems with a whole file raise `ExportError`. `docs/jupix-export.md` is the format.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from engine.documents.suggest import did_you_mean
from engine.errors import RecordError

from ._check import check_export
from ._coerce import ExportError, Row, build_row, is_id, open_binary
from ._csvrows import Shape, split_rows
from .feed import iter_feed
from .manifest import Manifest, read_manifest
from .spec import TABLES, TableSpec

__all__ = ["JupixExport", "iter_csv"]


class JupixExport:
    """A Jupix export folder: `properties.xml`, the CSV files and `manifest.json`.

    Args:
        folder: The export folder.

    Raises:
        ExportError: `folder` is not a folder.

    Example::

        export = JupixExport("exports/acme-2025-06-01")
        problems = export.check()
        for row in export.iter_rows("tenancies"):
            if isinstance(row, RecordError):
                print(row)  # tenancies.csv:42 (record T9): status 'Moved out' is not ...
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ExportError(
                str(folder), "not a folder; give the folder the export was unpacked to"
            )

    def __repr__(self) -> str:
        return f"JupixExport({str(self.folder)!r})"

    def tables(self) -> tuple[str, ...]:
        """The names of the tables whose file is present, in documentation order.

        Example::

            JupixExport("export").tables()[:2]
            # ('properties', 'contacts')
        """
        return tuple(name for name, spec in TABLES.items() if (self.folder / spec.file).is_file())

    def manifest(self) -> Manifest:
        """The export's validated `manifest.json` (raises `ExportError` if it is bad).

        Example::

            JupixExport("export").manifest().exported_at
            # '2025-06-01T18:00:00'
        """
        return read_manifest(self.folder)

    def iter_rows(self, table: str) -> Iterator[Row | RecordError]:
        """Stream the rows of `table` (a name such as ``"contacts"`` or its file name).

        Each item is a dict of column name to typed value (see `docs/jupix-export.md`:
        dates as ``YYYY-MM-DD`` strings, bools, ints, lists of strings, None when empty) or a
        `RecordError` for a row that is wrong; the rows after it still come.

        Raises:
            ExportError: At the call, for an unknown table or a missing file; while iterating,
                for a bad header, a line that is not UTF-8 or XML that is not well-formed.

        Example::

            rows = JupixExport("export").iter_rows("contacts")
            next(rows)["roles"]
            # ['landlord', 'third-party supplier']
        """
        return (item for _, item in self.iter_located(table))

    def iter_located(self, table: str) -> Iterator[tuple[str, Row | RecordError]]:
        """`iter_rows`, with each row's place: ``("tenancies.csv:42", row)``.

        Example::

            for where, row in JupixExport("export").iter_located("offers"):
                print(where, row)
        """
        spec = _spec(table)
        path = self.folder / spec.file
        if not path.is_file():
            raise ExportError(
                spec.file, f"missing from {self.folder}; the export has no {spec.name}"
            )
        if path.suffix == ".xml":
            return iter_feed(path, spec)
        return iter_csv(path, spec)

    def check(self, *, rows: bool = False) -> list[RecordError | ExportError]:
        """Problems of the export as a whole, in file order.

        Missing, unknown or changed files (against `manifest.json`), bad headers, files that
        cannot be read, duplicate ids within a table, and ids that refer to no row of the
        table they name (a tenancy's propertyID not in properties.xml). With `rows=True`,
        every bad row's `RecordError` as well. Reads every file once.

        Example::

            for problem in JupixExport("export").check():
                print(problem)
            # tenancies.csv: changed since the export was taken: ...
        """
        return check_export(self.folder, self.iter_located, rows=rows)


def _spec(table: str) -> TableSpec:
    name = table.removesuffix(".csv").removesuffix(".xml")
    if name in TABLES:
        return TABLES[name]
    hint = did_you_mean(name, TABLES)
    raise ExportError(table, f"no such table{hint}; the tables are {', '.join(TABLES)}")


def iter_csv(path: Path, table: TableSpec) -> Iterator[tuple[str, Row | RecordError]]:
    """Stream ``(file:line, row)`` from one CSV file of `table`'s shape (see `iter_located`).

    A malformed line (a stray quote, a cell left open) is one `RecordError` and reading goes
    on at the next line; see `_csvrows` for the rule, `docs/jupix-export.md` for its words.

    Example::

        rows = iter_csv(Path("export/offers.csv"), TABLES["offers"])
    """
    with open_binary(path) as raw:
        lines = _decoded_lines(raw, path.name)
        header = _header(next(lines, None), table, path.name)
        shape = Shape(len(header), header.index(table.key.name))
        for raw_row in split_rows(lines, shape):
            where = f"{path.name}:{raw_row.line}"
            if raw_row.problem is not None:
                yield where, RecordError(where, raw_row.record_id, raw_row.problem)
            else:
                yield where, _row(raw_row.cells, header, table, where)


def _decoded_lines(raw: BinaryIO, name: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(raw, start=1):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = (
                f"not UTF-8: byte 0x{line[exc.start]:02x} at column {exc.start + 1}; "
                "save the file as UTF-8"
            )
            raise ExportError(f"{name}:{number}", message) from exc
        yield number, text.removeprefix("\ufeff") if number == 1 else text


def _header(first: tuple[int, str] | None, table: TableSpec, name: str) -> list[str]:
    expected = ",".join(table.names)
    if first is None:
        raise ExportError(name, f"empty; the first line must be the header: {expected}")
    try:
        header = next(csv.reader((first[1],), strict=True), [])
    except csv.Error as exc:
        raise ExportError(f"{name}:1", f"header is not valid CSV ({exc})") from exc
    if not any(table.has(cell) for cell in header):
        raise ExportError(f"{name}:1", f"header row missing; the first line must be: {expected}")
    problems = _header_problems(header, table)
    if problems:
        raise ExportError(f"{name}:1", "; ".join(problems))
    return header


def _header_problems(header: list[str], table: TableSpec) -> list[str]:
    problems: list[str] = []
    missing = [column for column in table.names if column not in header]
    for index, cell in enumerate(header):
        if cell in header[:index]:
            problems.append(f"column {cell!r} appears twice; keep one")
        elif not table.has(cell):
            hint = did_you_mean(cell, missing or table.names)
            problems.append(f"unknown column {cell!r}{hint}")
    problems.extend(f"missing column {column!r}" for column in missing)
    return problems


def _row(cells: list[str], header: list[str], table: TableSpec, where: str) -> Row | RecordError:
    if len(cells) == len(header):
        return build_row(table, dict(zip(header, cells, strict=True)), where)
    key = header.index(table.key.name)
    record_id = cells[key] if key < len(cells) and is_id(cells[key]) else None
    message = (
        f"the row has {len(cells)} cells but the header has {len(header)} columns; "
        "put cells holding commas in double quotes"
    )
    return RecordError(where, record_id, message)
