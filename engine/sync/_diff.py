"""Compare a planned payload with a target record, field by field.

Missing and empty text are the same (vendors return either); keys are read ignoring case.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from engine.language.paths import Reader, compile_path, flatten, set_path

__all__ = ["difference", "is_true", "read_field", "same"]


@lru_cache(maxsize=1024)
def _reader(path: str) -> Reader:
    return compile_path(path)


def read_field(record: Any, path: str) -> Any:
    """The value at dotted `path` of `record` (None if missing)."""
    return _reader(path)(record) if path else None


def same(planned: Any, current: Any) -> bool:
    """Whether a planned value equals the target's (missing equals empty text)."""
    if planned in (None, "") and current in (None, ""):
        return True
    if isinstance(planned, bool) or isinstance(current, bool):
        return planned is current
    return bool(planned == current)


def difference(payload: Mapping[str, Any], existing: Any) -> dict[str, Any]:
    """The fields of `payload` whose values differ from `existing`, nested as in `payload`."""
    changes: dict[str, Any] = {}
    for path, value in flatten(payload):
        if not same(value, read_field(existing, path)):
            set_path(changes, tuple(path.split(".")), value)
    return changes


def is_true(value: Any) -> bool:
    """True for ``true`` and ``"true"`` (any case)."""
    return value is True or (isinstance(value, str) and value.strip().casefold() == "true")
