"""The catch-up after go-live: a new migration compared with what was loaded before (J-16).

A `Baseline` holds the fingerprint of every record an earlier migration wrote (and of every
manual action it listed), compactly: 16 bytes a record in two sorted arrays, keyed by a
64-bit hash of ``(collection, id)``, so a 100,000-property catch-up holds a few tens of MiB
however large the records are. The new migration's records are compared with it as they are
written (`Baseline.compare`): *added*, *changed* or *unchanged*. What the new run no longer
writes is decided afterwards (`Baseline.status` of each earlier record, read again): *no
longer wanted* when a rule of the new run leaves the record out (the ``excluded`` hook of
`engine.migration.migrate` says which), otherwise *removed* from the source. For manual
actions the same words are *new*, *changed* and *no longer needed*.

`changed_fields` names what changed between two versions of a record; `catch_up_markdown`
renders the report a person acts on, from items given per section (so they can stream from
files), and `CatchUpItem.to_json` the JSON form.

Example:
    >>> baseline = Baseline([("contacts", "C1", "aa"), ("contacts", "C2", "bb")])
    >>> baseline.compare("contacts", "C1", "ab"), baseline.compare("contacts", "C3", "cc")
    ('changed', 'added')
    >>> baseline.status("contacts", "C2")
    'gone'
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from engine.language.paths import flatten

__all__ = [
    "ADDED",
    "CHANGED",
    "MANUAL",
    "MANUAL_CHANGED",
    "NEW",
    "NO_LONGER_NEEDED",
    "NO_LONGER_WANTED",
    "REMOVED",
    "SECTIONS",
    "UNCHANGED",
    "Baseline",
    "CatchUpItem",
    "FieldChange",
    "catch_up_markdown",
    "changed_fields",
    "section_of",
]

ADDED, CHANGED, UNCHANGED = "added", "changed", "unchanged"
REMOVED, NO_LONGER_WANTED = "removed", "no longer wanted"
NEW, NO_LONGER_NEEDED = "new", "no longer needed"
MANUAL = "manual-actions"
"""The collection name manual actions are kept under in a `Baseline`."""

Compared = Literal["added", "changed", "unchanged"]
Status = Literal["changed", "unchanged", "gone"]

MANUAL_CHANGED = "changed manual action"
SECTIONS: tuple[tuple[str, str, str], ...] = (
    (ADDED, "Added in Jupix since", "load these records into Alto"),
    (CHANGED, "Changed", "update these records in Alto; the fields that changed are named"),
    (REMOVED, "Removed from Jupix", "delete or archive in Alto"),
    (NO_LONGER_WANTED, "No longer wanted", "by rule: archive in Alto, or keep if still wanted"),
    (NEW, "New manual actions", "in manual-actions.md"),
    (MANUAL_CHANGED, "Changed manual actions", "in manual-actions.md; redo them as now listed"),
    (NO_LONGER_NEEDED, "No longer needed", "manual actions listed before that no longer apply"),
)
"""Each section of the catch-up: ``(section, heading, what to do)``, in report order; an
item's section is `section_of` it."""
_SHOWN_FIELDS = 3
_STATUS: tuple[Status, ...] = ("gone", "unchanged", "changed")


_BITS = (1 << 64) - 1
_HEX = frozenset("0123456789abcdef")


def _key(collection: str, record_id: str) -> int:
    # the process's own string hash (SipHash): a Baseline lives in one process, never stored
    return hash((collection, record_id)) & _BITS


def _bits(fingerprint: str) -> int:
    if len(fingerprint) >= 16 and _HEX.issuperset(fingerprint[:16]):
        return int(fingerprint[:16], 16)  # a migration fingerprint is a hash already
    return int.from_bytes(hashlib.blake2b(fingerprint.encode(), digest_size=8).digest(), "big")


class Baseline:
    """The fingerprints of what was loaded, ``(collection, id) -> fingerprint``, compact.

    Args:
        records: ``(collection, id, fingerprint)`` of each earlier record, in any order
            (iterated once; `sizes` counts them per collection; a key given twice is kept
            once).

    Two different keys share a 64-bit hash with a chance of about one in 10^7 at a million
    records; such a pair would be compared as one record.

    Example:
        >>> baseline = Baseline([("inventory", "P1", "f1")])
        >>> baseline.compare("inventory", "P1", "f1"), len(baseline), baseline.sizes
        ('unchanged', 1, {'inventory': 1})
    """

    def __init__(self, records: Iterable[tuple[str, str, str]]) -> None:
        self.sizes: dict[str, int] = {}
        packed: list[int] = []
        for collection, record_id, fingerprint in records:
            self.sizes[collection] = self.sizes.get(collection, 0) + 1
            packed.append(_key(collection, record_id) << 64 | _bits(fingerprint))
        packed.sort()
        self._keys, self._prints = array("Q"), array("Q")
        for item in packed:
            if not self._keys or self._keys[-1] != item >> 64:
                self._keys.append(item >> 64)
                self._prints.append(item & _BITS)
        del packed
        self._marks = bytearray(len(self._keys))

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self._find(_key(*key)) is not None

    def _find(self, key: int) -> int | None:
        at = bisect_left(self._keys, key)
        return at if at < len(self._keys) and self._keys[at] == key else None

    def compare(self, collection: str, record_id: str, fingerprint: str) -> Compared:
        """Compare one record of the new run: added, changed or unchanged (and mark it)."""
        at = self._find(_key(collection, record_id))
        if at is None:
            return "added"
        if self._prints[at] == _bits(fingerprint):
            self._marks[at] = 1
            return "unchanged"
        self._marks[at] = 2
        return "changed"

    def status(self, collection: str, record_id: str) -> Status | None:
        """After the run, what became of an earlier record (None: not in the baseline)."""
        at = self._find(_key(collection, record_id))
        if at is None:
            return None
        return _STATUS[self._marks[at]]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of a changed record: its dotted name, the value loaded and the new one."""

    field: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        """``{field, old, new}``."""
        return {"field": self.field, "old": self.old, "new": self.new}


def changed_fields(
    old: Mapping[str, Any], new: Mapping[str, Any], shown: int = _SHOWN_FIELDS
) -> tuple[tuple[str, ...], tuple[FieldChange, ...]]:
    """The dotted names of the fields that differ, and old -> new for the first `shown`.

    Nested objects are compared field by field (``address.postcode``); lists as a whole.

    Example:
        >>> names, shown = changed_fields({"price": 900, "address": {"town": "Bath"}},
        ...                               {"price": 950, "address": {"town": "Bath"}, "x": 1})
        >>> names, shown[0].to_json()
        (('price', 'x'), {'field': 'price', 'old': 900, 'new': 950})
    """
    flat_old, flat_new = dict(flatten(old)), dict(flatten(new))
    names = tuple(
        sorted(
            name
            for name in flat_old.keys() | flat_new.keys()
            if flat_old.get(name) != flat_new.get(name)
        )
    )
    return names, tuple(
        FieldChange(name, flat_old.get(name), flat_new.get(name)) for name in names[:shown]
    )


@dataclass(frozen=True, slots=True)
class CatchUpItem:
    """One record of the catch-up, in one category of `SECTIONS`.

    Attributes:
        category: ``added``, ``changed``, ``removed``, ``no longer wanted``, ``new`` or
            ``no longer needed``.
        collection: the collection (``contacts``) or `MANUAL`.
        id: the record's id (for a manual action, its own id).
        label: how a person recognises it (a name, a full address), when known.
        fields: the fields that changed (``changed``).
        shown: old -> new of the first few of them.
        rule: the rule that leaves it out (``no longer wanted``) or lists it (manual).
        summary: that rule's summary.
        reason: why, in words, or what to do (a manual action's text).
        note: a caution (e.g. the row is unreadable in the new export).
    """

    category: str
    collection: str
    id: str
    label: str | None = None
    fields: tuple[str, ...] = ()
    shown: tuple[FieldChange, ...] = ()
    rule: str | None = None
    summary: str | None = None
    reason: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{category, collection, id}`` plus the attributes that are set."""
        data: dict[str, Any] = {
            "category": self.category,
            "collection": self.collection,
            "id": self.id,
        }
        optional = {"label": self.label, "rule": self.rule, "summary": self.summary}
        optional |= {"reason": self.reason, "note": self.note}
        data |= {name: value for name, value in optional.items() if value}
        if self.fields:
            data["fields"] = list(self.fields)
            data["shown"] = [change.to_json() for change in self.shown]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CatchUpItem:
        """The item `to_json` wrote."""
        shown = tuple(FieldChange(**change) for change in data.get("shown", ()))
        return cls(
            data["category"],
            data["collection"],
            data["id"],
            data.get("label"),
            tuple(data.get("fields", ())),
            shown,
            data.get("rule"),
            data.get("summary"),
            data.get("reason"),
            data.get("note"),
        )


def section_of(item: CatchUpItem) -> str:
    """The `SECTIONS` entry `item` is listed under (a changed manual action has its own).

    Example:
        >>> section_of(CatchUpItem("changed", MANUAL, "remarket/P1"))
        'changed manual action'
    """
    if item.collection == MANUAL and item.category == CHANGED:
        return MANUAL_CHANGED
    return item.category


def catch_up_markdown(
    head: Mapping[str, Any],
    counts: Mapping[str, Mapping[str, int]],
    sections: Mapping[str, Iterable[CatchUpItem]],
) -> Iterator[str]:
    """The catch-up for a person, line by line.

    Args:
        head: ``since`` (what the baseline was), ``as_of`` and optionally ``weaker`` (a
            sentence saying the baseline was re-migrated from an export).
        counts: ``{collection: {category: count}}`` (manual actions under `MANUAL`).
        sections: each section's items (`section_of`), iterated once, in `SECTIONS` order.

    Example:
        >>> item = CatchUpItem("removed", "contacts", "C2", label="Mr J Smith")
        >>> lines = list(catch_up_markdown({"since": "alto/", "as_of": "2025-06-09"},
        ...     {"contacts": {"removed": 1}}, {"removed": [item]}))
        >>> [line for line in lines if line.startswith(("## Removed", "- "))]
        ['## Removed from Jupix (1): delete or archive in Alto', '- contacts: Mr J Smith `C2`']
    """
    yield f"# Catch-up as of {head.get('as_of')}, since {head.get('since')}"
    yield ""
    if head.get("weaker"):
        yield str(head["weaker"])
        yield ""
    collections = sorted(name for name in counts if name != MANUAL)
    columns = (ADDED, CHANGED, REMOVED, NO_LONGER_WANTED, UNCHANGED)
    yield "| collection | " + " | ".join(columns) + " |"
    yield "|---|" + "---:|" * len(columns)
    for name in collections:
        yield f"| {name} | " + " | ".join(str(counts[name].get(c, 0)) for c in columns) + " |"
    manual = counts.get(MANUAL, {})
    yield ""
    yield (
        f"Manual actions: {manual.get(NEW, 0)} new, {manual.get(CHANGED, 0)} changed, "
        f"{manual.get(NO_LONGER_NEEDED, 0)} no longer needed, "
        f"{manual.get(UNCHANGED, 0)} unchanged (only the new and changed ones are in "
        "manual-actions.md)."
    )
    totals = Counter[str]()
    for name in collections:
        totals.update(counts[name])
    sizes = {NEW: manual.get(NEW, 0), MANUAL_CHANGED: manual.get(CHANGED, 0)}
    sizes[NO_LONGER_NEEDED] = manual.get(NO_LONGER_NEEDED, 0)
    for section, heading, todo in SECTIONS:
        yield ""
        yield f"## {heading} ({sizes.get(section, totals[section])}): {todo}"
        yield ""
        listed = 0
        for item in sections.get(section, ()):
            listed += 1
            yield _line(item)
        if not listed:
            yield "None."


def _line(item: CatchUpItem) -> str:
    label = f"{item.label} " if item.label else ""
    what = item.collection if item.collection != MANUAL else "manual action"
    line = f"- {what}: {label}`{item.id}`"
    if item.fields:
        shown = "; ".join(
            f"{change.field} {_plain(change.old)} -> {_plain(change.new)}" for change in item.shown
        )
        more = len(item.fields) - len(item.shown)
        line += f": {shown}" + (
            f" (and {more} more: {', '.join(item.fields[len(item.shown) :])})" if more else ""
        )
    if item.rule:
        line += f" ({item.rule}{': ' + item.summary if item.summary else ''})"
    if item.reason:
        line += f": {item.reason}"
    if item.note:
        line += f" ({item.note})"
    return line


def _plain(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(str(part) for part in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
