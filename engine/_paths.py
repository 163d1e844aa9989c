"""Field paths: ``address.postcode``, ``owners[].contactId``, ``phoneNumbers[0].number``.

A path is compiled once into a reader closure. Keys are matched exactly first and then
case-insensitively, because the vendors' key casing varies (``Id``/``id``). A ``[]`` step
projects over a list and the result is a flat list without missing values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Reader", "canonical", "compile_path", "has_projection", "set_path"]

Reader = Callable[[Any], Any]

_MISSING = object()
_STEP = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d*)\])?$")


def canonical(path: str) -> str:
    """The path without list steps, used to match a reference to a declared field.

    Example:
        >>> canonical("phoneNumbers[0].number")
        'phoneNumbers.number'
    """
    return re.sub(r"\[\d*\]", "", path)


def has_projection(path: str) -> bool:
    """True when reading `path` gives a list of values (it has a ``[]`` step)."""
    return "[]" in path


def get_key(record: Any, key: str) -> Any:
    """`record[key]`, else the value of a key equal to `key` but for case, else None."""
    if not isinstance(record, Mapping):
        return None
    value = record.get(key, _MISSING)
    if value is not _MISSING:
        return value
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
    if len(steps) == 1 and steps[0][1] is None:
        key = steps[0][0]
        return lambda record: get_key(record, key)
    return lambda record: _walk(record, steps)


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


def set_path(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set `value` at dotted `path` inside `target`, making the mappings on the way."""
    node = target
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
