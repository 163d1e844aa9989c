"""Subset matching of expectations against what the ruleset did, and values as text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.explain import render_value

__all__ = ["ANY", "flatten", "same", "shown", "subset"]

ANY = "*"
"""An expected value of ``"*"`` matches any non-empty value."""


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted paths to their leaves (lists are leaves).

    Example:
        >>> flatten({"Address": {"PostCode": "LS6 1AA"}, "Address.Town": "Leeds"})
        {'Address.PostCode': 'LS6 1AA', 'Address.Town': 'Leeds'}
    """
    if not isinstance(value, Mapping) or (prefix and not value):
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def same(expected: Any, actual: Any) -> bool:
    """Whether `actual` is what `expected` says: equal, equal as numbers (100 == 100.0),
    ``"*"`` for any non-empty value, mappings as subsets, lists item by item.

    Example:
        >>> same(100, 100.0), same("*", ""), same({"a": 1}, {"a": 1, "b": 2})
        (True, False, True)
    """
    if expected == ANY:
        return actual not in (None, "", [], {})
    if _number(expected) and _number(actual):
        return float(expected) == float(actual)
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and subset(expected, actual)
    if isinstance(expected, list):
        return (
            isinstance(actual, list | tuple)
            and len(expected) == len(actual)
            and all(same(e, a) for e, a in zip(expected, actual, strict=True))
        )
    return bool(expected == actual)


def subset(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    """Whether every dotted path of `expected` has the same value in `actual`."""
    have = flatten(actual)
    return all(
        (path in have and same(value, have[path])) or (value is None and path not in have)
        for path, value in flatten(expected).items()
    )


def shown(value: Any) -> str:
    """A value as a failure message shows it."""
    return render_value(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
