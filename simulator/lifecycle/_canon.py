"""Canonical, hashable forms of JSON-like values, and digests of records shared between forks.

`canonical` equates exactly what ``json.dumps(value, sort_keys=True, default=str)`` equates
(a tuple is a list, a mapping's keys are text, anything else is its ``str``), so a state key
built from it tells states apart exactly as the explorer's JSON key did, without writing
JSON. `Fingerprints` digests each record once: the worlds of forked simulations share the
records they did not change (never changed in place), so a record seen before is known by
its identity.

Example:
    >>> canonical({"b": [1, (2, 3)], "a": None}) == canonical({"a": None, "b": [1, [2, 3]]})
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping
from operator import is_, itemgetter
from typing import Any

__all__ = ["Fingerprints", "canonical", "digest"]

_SCALARS = (str, int, float, bool, type(None))
_EXACT = frozenset(_SCALARS)  # the scalars' own types: taken as they are without a call
_CONTAINERS = frozenset((dict, list, tuple))  # digested by `of` without `_part`'s checks
_FIRST = itemgetter(0)


def canonical(value: Any) -> Hashable:
    """`value` as nested tuples: a mapping as ``("{", (key, value)...)`` sorted by key (as
    text), a list or tuple as ``("[", item...)``, a scalar as itself, anything else as its
    ``str`` (as JSON's ``default=str`` writes it)."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Mapping):
        items = sorted(((str(key), canonical(item)) for key, item in value.items()), key=_first)
        return ("{", *items)
    if isinstance(value, list | tuple):
        return ("[", *(canonical(item) for item in value))
    return str(value)


def _first(pair: tuple[str, Hashable]) -> str:
    return pair[0]


def digest(value: Any) -> bytes:
    """A 128-bit digest of `value`'s canonical form."""
    return hashlib.blake2b(repr(canonical(value)).encode(), digest_size=16).digest()


class Fingerprints:
    """128-bit digests of JSON-like records, each container digested once by identity.

    A mapping's digest is made of its keys (as text, sorted) and its values' digests (a
    scalar as itself), a list's of its items' in order, so a record that shares most of its
    values with an earlier one (a forked world's next snapshot is a shallow copy of the last
    with a few keys changed) costs only its new parts. Two records have the same digest
    exactly when their `canonical` forms are equal (but for a 2**-128 chance). Every
    container digested is held, so its id is not reused: only for records nobody changes
    in place, as forked worlds hold them.

    Example:
        >>> prints, record = Fingerprints(), {"Id": "I1", "Job": {"id": "J1"}}
        >>> prints.of(record) == prints.of({"Job": {"id": "J1"}, "Id": "I1"})
        True
        >>> prints.of(record) == prints.of({"Id": "I1", "Job": {"id": "J2"}})
        False
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[Any, bytes]] = {}
        self._runs: dict[int, tuple[list[Any], tuple[bytes, ...]]] = {}

    def each(self, values: list[Any]) -> tuple[bytes, ...]:
        """``tuple(self.of(value) for value in values)``, remembered by the last value's
        identity: a forked world copies its parent's history lists, so a list with the same
        objects (checked one by one, by identity) is met again and again.

        Example:
            >>> prints, first, second = Fingerprints(), {"Id": "I1"}, {"Id": "I1", "S": 1}
            >>> prints.each([first, second]) == (prints.of(first), prints.of(second))
            True
            >>> prints.each([second]) == (prints.of(second),)
            True
        """
        if not values:
            return ()
        known = self._runs.get(id(values[-1]))
        if known is not None:
            held = known[0]
            if len(held) == len(values) and all(map(is_, held, values)):
                return known[1]
        found = (*self.each(values[:-1]), self.of(values[-1]))  # the prefix: its parent's
        self._runs[id(values[-1])] = (list(values), found)  # held: the ids are not reused
        return found

    def of(self, value: Any) -> bytes:
        """The digest of `value` (each container computed on its first sight)."""
        known = self._known.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        part, of, exact, containers = self._part, self.of, _EXACT, _CONTAINERS
        if type(value) is dict or isinstance(value, Mapping):
            # the same pairs as `_part` makes: scalars and plain containers by exact type
            items = [
                (
                    key if type(key) is str else str(key),
                    item
                    if type(item) in exact
                    else of(item)
                    if type(item) in containers
                    else part(item),
                )
                for key, item in value.items()
            ]
            items.sort(key=_FIRST)  # keys are unique text but for str() clashes: stable
            text = repr(("{", *items))
        elif type(value) in containers or isinstance(value, list | tuple):
            parts = [
                item
                if type(item) in exact
                else of(item)
                if type(item) in containers
                else part(item)
                for item in value
            ]
            text = repr(("[", *parts))
        else:
            text = repr(("=", canonical(value)))
        found = hashlib.blake2b(text.encode(), digest_size=16).digest()
        self._known[id(value)] = (value, found)
        return found

    def _part(self, value: Any) -> Hashable:
        if isinstance(value, _SCALARS):
            return value
        if isinstance(value, Mapping | list | tuple):
            return self.of(value)  # bytes: told apart from every scalar by its repr
        return str(value)

    def __len__(self) -> int:
        return len(self._known)
