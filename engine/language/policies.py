"""The compiled sync policies of a ruleset: targets, merge and near-duplicate rules, what
to do with unmatched target records, links between synced records, and preflight checks.

They are data the planner reads; nothing here knows Alto or Fixflo.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.language.paths import Reader

__all__ = [
    "NORMALISERS",
    "Departed",
    "Link",
    "LinkStep",
    "MergePolicy",
    "NearPolicy",
    "TargetDecl",
    "Unlink",
    "Unmatched",
]


@dataclass(frozen=True, slots=True)
class TargetDecl:
    """A target collection: its key, its fields and the field that marks it archived."""

    name: str
    key: str
    fields: tuple[str, ...]
    archived: str | None
    read_key: Reader
    read_archived: Reader | None

    def knows(self, path: str) -> bool:
        """Whether `path` is a declared field (or an object holding declared fields)."""
        return any(name == path or name.startswith(path + ".") for name in self.fields)


@dataclass(frozen=True, slots=True)
class MergePolicy:
    """A target record whose fields `by` equal the planned ones is updated in place."""

    id: str
    summary: str
    by: tuple[str, ...]
    ignore_case: bool
    readers: tuple[Reader, ...]

    def key(self, record: Any) -> tuple[Any, ...] | None:
        """The values compared (missing reads as empty), or None when all are empty: two
        records never merge on blanks alone."""
        values = []
        for read in self.readers:
            value = read(record)
            value = "" if value is None else value
            if isinstance(value, str):
                value = value.strip().casefold() if self.ignore_case else value.strip()
            values.append(value if not isinstance(value, list) else tuple(value))
        return tuple(values) if any(value != "" for value in values) else None


def _alnum(value: str) -> str:
    return re.sub(r"[^0-9a-z]", "", value.casefold())


def _digits(value: str) -> str:
    return " ".join(re.findall(r"\d+", value))


NORMALISERS: dict[str, Callable[[str], str]] = {
    "exact": lambda value: value,
    "lower": str.casefold,
    "alnum": _alnum,
    "digits": _digits,
}


@dataclass(frozen=True, slots=True)
class NearPolicy:
    """Target records alike after normalising fields `by` are listed for a manual merge."""

    id: str
    summary: str
    by: tuple[tuple[str, str], ...]
    readers: tuple[Reader, ...]

    def key(self, record: Any) -> tuple[str, ...] | None:
        """The normalised values, or None when any is missing."""
        values = []
        for (_, normaliser), read in zip(self.by, self.readers, strict=True):
            value = read(record)
            if not isinstance(value, str) or not value.strip():
                return None
            values.append(NORMALISERS[normaliser](value))
        return tuple(values)


@dataclass(frozen=True, slots=True)
class Unmatched:
    """What happens to target records that match no source record."""

    id: str
    summary: str
    action: str


@dataclass(frozen=True, slots=True)
class Departed:
    """What happens to a target record (not archived) whose source record stops meeting
    the include rules while no archive rule holds: ``list`` it for a person as no longer
    synced, or ``archive`` it. `setting` names the setting that chose, if one did."""

    id: str
    summary: str
    action: str
    setting: str | None = None


@dataclass(frozen=True, slots=True)
class Unlink:
    """A link's removal rule: links the target holds between records both entities
    manage that the ruleset no longer wants are removed."""

    id: str
    summary: str


@dataclass(frozen=True, slots=True)
class LinkStep:
    """One hop of a link's path: a relation, and optionally a test on the records reached."""

    relation_id: str
    where: Callable[[Any, Any], bool] | None


@dataclass(frozen=True, slots=True)
class Link:
    """Join each included `source_entity` record to the included `target_entity` records
    reached through `via`, as a record of `target` with the two references in `keys`."""

    name: str
    id: str
    summary: str
    source_entity: str
    target_entity: str
    via: tuple[LinkStep, ...]
    target: str
    keys: tuple[str, str]
    constants: tuple[tuple[str, Any], ...]
    unlink: Unlink | None = None
