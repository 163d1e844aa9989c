"""Field paths: ``address.postcode``, ``owners[].contactId``, ``phoneNumbers[0].number``.

A path is compiled once into a reader closure. Keys are matched exactly first and then
case-insensitively, because the vendors' key casing varies (``Id``/``id``). A ``[]`` step
projects over a list and the result is a flat list without missing values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Reader", "canonical", "compile_path", "flatten", "has_projection", "set_path"]

Reader = Callable[[Any], Any]

_MISSING = object()
_STEP = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d{0,9})\])?$")
"""A key, then ``[]`` or a list position of at most 9 digits (a longer one is no position)."""


def canonical(path: str) -> str:
    """The path without list steps, used to match a reference to a declared field.

    Example:
        >>> canonical("phoneNumbers[0].number")
        'phoneNumbers.number'
    """
    return re.sub(r"\[\d{0,9}\]", "", path)


def has_projection(path: str) -> bool:
    """True when reading `path` gives a list of values (it has a ``[]`` step)."""
    return "[]" in path


def get_key(record: Any, key: str) -> Any:
    """`record[key]`, else the value of a key equal to `key` but for case, else None."""
    if type(record) is dict or isinstance(record, Mapping):
        value = record.get(key, _MISSING)
        if value is not _MISSING:
            return value
    else:
        return None
    return _any_case(record, key)


def _any_case(record: Mapping[Any, Any], key: str) -> Any:
    folded = key.casefold()
    for name, candidate in record.items():
        if isinstance(name, str) and name.casefold() == folded:
            return candidate
    return None


def compile_path(path: str) -> Reader:
    """A function reading `path` from a record (None where any step is missing).

    Example:
        >>> read = compile_path("owners[].contactId")
        >>> read({"owners": [{"contactId": "C1"}, {"contactId": "C2"}, {}]})
        ['C1', 'C2']
    """
    steps = [_step(part) for part in path.split(".")]
    if all(index is None for _, index in steps):
        return _plain_reader(tuple(key for key, _ in steps))
    if all(index != "" for _, index in steps):
        return _indexed_reader(tuple(steps))
    projected = [position for position, (_, index) in enumerate(steps) if index == ""]
    if len(projected) == 1 and all(index in (None, "") for _, index in steps):
        cut = projected[0]
        return _projection_reader(
            tuple(key for key, _ in steps[: cut + 1]), tuple(key for key, _ in steps[cut + 1 :])
        )
    return lambda record: _walk(record, steps)


def _projection_reader(before: tuple[str, ...], after: tuple[str, ...]) -> Reader:
    """A reader for ``a.b[].c.d``: the list at ``a.b``, then ``c.d`` of each item (hot for
    relation indexes such as ``tenants[].id``); missing values are left out."""
    read_list, read_item = _plain_reader(before), _plain_reader(after) if after else None

    def read(record: Any) -> list[Any]:
        items = read_list(record)
        if type(items) is not list:
            return []
        if read_item is None:
            return [item for item in items if item is not None]
        found = []
        for item in items:
            value = read_item(item)
            if value is not None:
                found.append(value)
        return found

    return read


def _indexed_reader(steps: tuple[tuple[str, str | None], ...]) -> Reader:
    """A reader for keys and list positions such as ``phoneNumbers[0].number``."""
    compiled = tuple((key, None if index is None else int(index)) for key, index in steps)

    def read(record: Any) -> Any:
        for key, position in compiled:
            record = get_key(record, key)
            if position is not None:
                record = (
                    record[position] if type(record) is list and position < len(record) else None
                )
            if record is None:
                return None
        return record

    return read


def _plain_reader(keys: tuple[str, ...]) -> Reader:
    """A reader for a path of plain keys (the common case), with no list steps."""
    if len(keys) == 1:
        (key,) = keys

        def read_one(record: Any) -> Any:
            if type(record) is dict:
                value = record.get(key, _MISSING)
                return _any_case(record, key) if value is _MISSING else value
            return get_key(record, key)

        return read_one

    def read_nested(record: Any) -> Any:
        for key in keys:
            if type(record) is dict:
                value = record.get(key, _MISSING)
                record = _any_case(record, key) if value is _MISSING else value
            else:
                record = get_key(record, key)
            if record is None:
                return None
        return record

    return read_nested


def _step(part: str) -> tuple[str, str | None]:
    match = _STEP.match(part)
    if match is None:
        raise ValueError(f"bad path step {part!r}")
    return match.group(1), match.group(2)


def _walk(value: Any, steps: list[tuple[str, str | None]]) -> Any:
    projected = False
    values = [value]
    for key, index in steps:
        values = [get_key(item, key) for item in values]
        if index == "":
            projected = True
            values = [item for found in values if isinstance(found, list) for item in found]
        elif index is not None:
            position = int(index)
            values = [
                found[position] if isinstance(found, list) and position < len(found) else None
                for found in values
            ]
        values = [item for item in values if item is not None] if projected else values
    if projected:
        return values
    return values[0] if values else None


def flatten(record: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Each leaf of nested mappings as (dotted path, value); lists and empty mappings are
    leaves, and so is a value that is not a mapping (under `prefix`, when one is given).

    Example:
        >>> flatten({"Address": {"PostCode": "LS6 1AA", "Lines": ["1 High St"]}, "id": 7})
        [('Address.PostCode', 'LS6 1AA'), ('Address.Lines', ['1 High St']), ('id', 7)]
    """
    if not isinstance(record, Mapping):
        return [(prefix, record)] if prefix else []
    leaves: list[tuple[str, Any]] = []
    for key, value in record.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            leaves.extend(flatten(value, path))
        else:
            leaves.append((path, value))
    return leaves


def set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set `value` at dotted `path` inside `target`, making the mappings on the way."""
    node = target
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
