"""Records built from the streaming parser's events, bounded in depth and size.

ijson's ``items`` tracks every open container by its dotted path (``inventory.item.item``),
so reading a record nested n levels deep costs memory in n², and validating it recursed
until Python gave up: one record 100,000 levels deep in a 260 KB file took 22 GB. Here
records are built from ``ijson.basic_parse`` events with an explicit stack: time and memory
linear in the input, no recursion. A record deeper than `RecordLimits.max_depth` or larger
than `RecordLimits.max_bytes` is abandoned where it crosses the limit, the rest of its
events are skipped in constant memory, and an `Abandoned` stands in its place, so reading
goes on with the next record.

A record's size is counted from its events as a lower bound of its JSON text (every
character of its keys and strings, with their quotes, and one for every other value), so a
record whose JSON is within the limit is never abandoned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["DEFAULT_LIMITS", "Abandoned", "RecordLimits", "build_items"]

_OPENING: Final = frozenset({"start_map", "start_array"})
_CLOSING: Final = frozenset({"end_map", "end_array"})
Events = Iterator[tuple[str, Any]]


@dataclass(frozen=True, slots=True)
class RecordLimits:
    """The deepest and largest record a snapshot reader builds.

    Attributes:
        max_depth: arrays and objects nested in a record, the record itself counting one.
        max_bytes: the record's JSON text, in characters.

    Example:
        >>> RecordLimits().max_depth
        64
    """

    max_depth: int = 64
    max_bytes: int = 1 << 20


DEFAULT_LIMITS: Final = RecordLimits()


@dataclass(frozen=True, slots=True)
class Abandoned:
    """A record that was not built: why, and its top-level fields read before it was
    abandoned (for its id; None when the record is a list)."""

    reason: str
    partial: dict[str, Any] | None


def build_items(events: Events, limits: RecordLimits) -> Iterator[object]:
    """Each item of the array whose ``start_array`` was just consumed, up to its end: a
    scalar as it is, a container built (`_build`) or `Abandoned`."""
    for event, value in events:
        if event == "end_array":
            return
        yield _build(event, events, limits) if event in _OPENING else value


def _build(first: str, events: Events, limits: RecordLimits) -> object:
    """The container `first` opens, built from the events up to its close."""
    root: dict[str, Any] | list[Any] = {} if first == "start_map" else []
    stack: list[Any] = [root]
    key: Any = None
    size = 2
    max_depth, max_bytes = limits.max_depth, limits.max_bytes
    for event, value in events:
        if event == "map_key":
            key = value
            size += len(value) + 3
            continue
        if event in _CLOSING:
            stack.pop()
            if not stack:
                return root
            continue
        opening = event in _OPENING
        if opening:
            if len(stack) >= max_depth:
                why = f"nests more than {max_depth} levels deep"
                return _abandon(events, len(stack) + 1, root, why)
            value = {} if event == "start_map" else []
            size += 2
        else:
            size += len(value) + 2 if type(value) is str else 1
        if size > max_bytes:
            why = f"is larger than {max_bytes:,} characters"
            return _abandon(events, len(stack) + opening, root, why)
        top = stack[-1]
        if type(top) is dict:
            top[key] = value
        else:
            top.append(value)
        if opening:
            stack.append(value)
    return root  # pragma: no cover - the parser raises on a file that ends inside a value


def _abandon(events: Events, depth: int, root: object, reason: str) -> Abandoned:
    """Skip the rest of a record `depth` containers deep; what stands in its place."""
    for event, _ in events:
        if event in _OPENING:
            depth += 1
        elif event in _CLOSING:
            depth -= 1
            if depth == 0:
                break
    return Abandoned(reason, root if isinstance(root, dict) else None)
