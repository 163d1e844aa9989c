"""A compiled value, the one type transforms, ``case`` and policies share.

`Value.get` computes the value from a record and the evaluation `Context`; `text` says in
words what it reads (explanations quote it). `is_empty` and `as_text` are the language's
notions of "no value" and "as text".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.language.context import Context

__all__ = ["Get", "Value", "as_text", "is_empty"]

Get = Callable[[Any, Context], Any]


@dataclass(frozen=True, slots=True)
class Value:
    """A compiled value: `get` computes it from a record, `text` describes it."""

    get: Get
    text: str
    key: str | None = None
    """Set when the value is a plain top-level field, so callers may read it inline."""
    shape: tuple[Any, ...] = ()
    """What it is, for code generation: ``("field", path)``, ``("const", value)``,
    ``("default", value, default)``, ``("join", sep, *values)``; empty for the rest."""


def is_empty(value: Any) -> bool:
    """Missing, empty text or an empty list."""
    return value is None or value == "" or value == []


def as_text(value: Any) -> str:
    """A value as text for templates and joins (lists joined with ', ')."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(as_text(item) for item in value if not is_empty(item))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
