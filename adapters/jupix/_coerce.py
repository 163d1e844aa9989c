"""Turning the text of a cell or element into a typed value, or into a message that says
what is wrong and how to fix it.

Both the CSV reader and the XML feed build rows here, so a bad date reads the same in either.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from engine.documents.suggest import did_you_mean
from engine.errors import RecordError, RulebridgeError

from .spec import AVAILABILITY, LIST_SEPARATOR, Column, TableSpec

__all__ = [
    "Cell",
    "ExportError",
    "Row",
    "Value",
    "build_row",
    "is_id",
    "open_binary",
    "show",
]

Value = str | int | float | bool | list[str] | None
Row = dict[str, Value]
Cell = str | list[str] | None

_INT = re.compile(r"[0-9]{1,15}")
_DECIMAL = re.compile(r"[0-9]{1,13}(\.[0-9]{1,2})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UK_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?([+-][0-9]{2}:?[0-9]{2}|Z)?"
)
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,63}")
_BOOL_HINTS = {"yes": "true", "y": "true", "1": "true", "no": "false", "n": "false", "0": "false"}


class ExportError(RulebridgeError):
    """A problem with a whole file of a Jupix export, so none (or no more) of it can be read.

    Prints as ``where: message``, where `where` is the file name, with ``:line`` when the
    problem is at one line (``contacts.csv:1: unknown column 'emial' (did you mean 'email'?)``).
    """

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


def open_binary(path: Path) -> BinaryIO:
    """`path` opened for reading bytes; `ExportError` (not OSError) if it cannot be.

    Example::

        open_binary(Path("export/contacts.csv"))
    """
    try:
        return path.open("rb")
    except OSError as exc:
        raise ExportError(path.name, f"cannot be read ({exc.strerror or exc})") from exc


class _BadCell(ValueError):
    """Internal: a cell's text is not a value of its column; the text says why."""


def show(text: str, limit: int = 40) -> str:
    """The text quoted for a message, shortened past `limit` characters.

    Example:
        >>> show("Moved out")
        "'Moved out'"
    """
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _one_of(text: str, allowed: tuple[str, ...]) -> str:
    if text in allowed:
        return text
    raise _BadCell(f"is not one of {', '.join(allowed)}{did_you_mean(text, allowed)}")


def _parse_int(text: str) -> int:
    if _INT.fullmatch(text.strip()):
        return int(text)
    raise _BadCell("is not a whole number; write digits only, e.g. 3")


def _parse_decimal(text: str) -> float:
    if _DECIMAL.fullmatch(text.strip()):
        return float(Decimal(text.strip()))
    cleaned = text.strip().replace("£", "").replace(",", "")
    hint = f" (did you mean {cleaned!r}?)" if _DECIMAL.fullmatch(cleaned) else ""
    raise _BadCell(f"is not an amount; write pounds with at most 2 decimals, e.g. 950.00{hint}")


def _uk_date_hint(text: str) -> str:
    match = _UK_DATE.fullmatch(text.strip())
    if match is None:
        return ""
    day, month, year = (int(part) for part in match.groups())
    try:
        return f" (did you mean {date(year, month, day).isoformat()!r}?)"
    except ValueError:
        return ""


def _parse_date(text: str) -> str:
    if _DATE.fullmatch(text.strip()):
        try:
            return date.fromisoformat(text.strip()).isoformat()
        except ValueError:
            raise _BadCell("is not a real date") from None
    raise _BadCell(f"is not a date; write YYYY-MM-DD, e.g. 2024-01-31{_uk_date_hint(text)}")


def _parse_datetime(text: str) -> str:
    stripped = text.strip()
    if not _DATETIME.fullmatch(stripped):
        hint = " (a date alone is not enough: add the time, e.g. T00:00:00)"
        tail = hint if _DATE.fullmatch(stripped) else ""
        raise _BadCell(f"is not a date and time; write YYYY-MM-DDTHH:MM:SS{tail}")
    try:
        return datetime.fromisoformat(stripped).isoformat(timespec="seconds")
    except ValueError:
        raise _BadCell("is not a real date and time") from None


def _parse_bool(text: str) -> bool:
    if text.strip() in ("true", "false"):
        return text.strip() == "true"
    hint = _BOOL_HINTS.get(text.strip().casefold(), text.strip().casefold())
    suggestion = f" (did you mean {hint!r}?)" if hint in ("true", "false") else ""
    raise _BadCell(f"is not true or false{suggestion}")


def is_id(text: str) -> bool:
    """Whether `text` is a well-formed id (see *Ids* in `docs/jupix-export.md`).

    Example:
        >>> is_id("P1/2"), is_id("New price")
        (True, False)
    """
    return _ID.fullmatch(text) is not None


def _parse_id(text: str) -> str:
    if _ID.fullmatch(text):
        return text
    raise _BadCell(
        "is not an id: use up to 64 letters, digits, '_', '.', '-' or '/', "
        "starting with a letter or digit"
    )


def _parse_list(text: str | list[str], column: Column, is_id: bool) -> list[str]:
    if isinstance(text, list):
        items = [item.strip() for item in text]
        empty = "has an empty item; remove the empty element"
    else:
        items = [item.strip() for item in text.split(LIST_SEPARATOR)]
        empty = f"has an empty item; separate items with a single {LIST_SEPARATOR!r}"
    if "" in items:
        raise _BadCell(empty)
    for item in items:
        try:
            _check_text(item, column, is_id)
        except _BadCell as exc:
            raise _BadCell(f"has item {show(item)}, which {exc}") from None
    return items


def _check_text(text: str, column: Column, is_id: bool) -> str:
    if column.allowed:
        return _one_of(text, column.allowed)
    return _parse_id(text) if is_id else text


_PARSERS: Mapping[str, Callable[[str], Value]] = {
    "int": _parse_int,
    "decimal": _parse_decimal,
    "date": _parse_date,
    "datetime": _parse_datetime,
    "bool": _parse_bool,
}


Parse = Callable[[str | list[str]], Value]


@dataclass(frozen=True, slots=True)
class _Field:
    """A column compiled for reading: how to tell empty, and how to parse."""

    name: str
    required: bool
    is_list: bool
    parse: Parse


def _scalar(column: Column, is_id: bool) -> Callable[[str], Value]:
    if column.type != "str":
        return _PARSERS[column.type]
    if column.allowed:
        return lambda text: _one_of(text, column.allowed)
    return _parse_id if is_id else str


def _parser(column: Column, is_id: bool) -> Parse:
    if column.type == "list":
        return lambda text: _parse_list(text, column, is_id)
    scalar = _scalar(column, is_id)

    def parse(text: str | list[str]) -> Value:
        if isinstance(text, list):
            raise _BadCell("holds several values; give one")
        return scalar(text)

    return parse


_COMPILED: dict[int, tuple[TableSpec, tuple[_Field, ...]]] = {}


def _fields(table: TableSpec) -> tuple[_Field, ...]:
    # Keyed by identity: hashing a TableSpec walks every column, on every row.
    compiled = _COMPILED.get(id(table))
    if compiled is None:
        compiled = _COMPILED[id(table)] = (table, _compile(table))
    return compiled[1]


def _compile(table: TableSpec) -> tuple[_Field, ...]:
    ids = table.id_columns
    return tuple(
        _Field(
            column.name, column.required, column.type == "list", _parser(column, column.name in ids)
        )
        for column in table.columns
    )


def _cell(field: _Field, text: Cell) -> tuple[Value, str | None]:
    if not text or (isinstance(text, str) and text.isspace()):
        if field.required:
            return None, f"{field.name} is required but empty; fill it in"
        return ([] if field.is_list else None), None
    try:
        return field.parse(text), None
    except _BadCell as exc:
        shown = show(text) if isinstance(text, str) else show(LIST_SEPARATOR.join(text))
        return None, f"{field.name} {shown} {exc}"


def build_row(
    table: TableSpec, cells: Mapping[str, Cell], where: str, problems: Iterable[str] = ()
) -> Row | RecordError:
    """The typed row of `table` made of raw `cells`, or a `RecordError` naming every problem.

    `cells` maps column names to their text (None or blank when empty; a list of texts for an
    XML list). `problems` are found earlier (e.g. an unknown XML element). The problems of one
    row are joined by ``"; "`` so a row gives at most one error.

    Example:
        >>> from adapters.jupix.spec import TABLES
        >>> cells = {"noteID": "N1", "userID": "U1", "dueDate": "", "text": "Ring Mr Patel"}
        >>> build_row(TABLES["todo_notes"], cells, "todo_notes.csv:2")
        {'noteID': 'N1', 'userID': 'U1', 'dueDate': None, 'text': 'Ring Mr Patel'}
    """
    row: Row = {}
    problems = list(problems)
    for field in _fields(table):
        value, problem = _cell(field, cells.get(field.name))
        row[field.name] = value
        if problem:
            problems.append(problem)
    if not problems:
        problems.extend(filter(None, (rule(row) for rule in _ROW_RULES.get(table.name, ()))))
    if problems:
        raw_id = cells.get(table.key.name)
        record_id = (raw_id.strip() or None) if isinstance(raw_id, str) else None
        return RecordError(where, record_id, "; ".join(problems))
    return row


def _availability(row: Row) -> str | None:
    codes = AVAILABILITY[str(row["department"])]
    if row["availability"] in codes:
        return None
    listed = ", ".join(f"{code} {label}" for code, label in codes.items())
    return f"availability {row['availability']} is not a {row['department']} code: one of {listed}"


def _price_range(row: Row) -> str | None:
    low, high = row["minPrice"], row["maxPrice"]
    if isinstance(low, int) and isinstance(high, int) and low > high:
        return f"minPrice {low} is above maxPrice {high}; swap them"
    return None


def _dates_in_order(row: Row) -> str | None:
    start, end = row["startDate"], row["endDate"]
    if isinstance(start, str) and isinstance(end, str) and end < start:
        return f"endDate {end} is before startDate {start}"
    return None


def _not_own_renewal(row: Row) -> str | None:
    if row["renewedFromTenancyID"] is not None and row["renewedFromTenancyID"] == row["tenancyID"]:
        return "renewedFromTenancyID is the tenancy's own id"
    return None


def _has_name(row: Row) -> str | None:
    if row["surname"] or row["companyName"]:
        return None
    return "a contact needs a surname or a companyName; both are empty"


_ROW_RULES: Mapping[str, tuple[Callable[[Row], str | None], ...]] = {
    "properties": (_availability,),
    "contacts": (_has_name,),
    "applicants": (_price_range,),
    "tenancies": (_dates_in_order, _not_own_renewal),
}
"""Checks across the cells of one row, run once every cell is valid."""
