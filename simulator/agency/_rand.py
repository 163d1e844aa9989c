"""Seeded randomness that does not depend on the order in which records are made.

Each record draws from its own `random.Random`, seeded from the agency seed, a `Tag` naming
what is drawn and the record's number. Any one collection can then be streamed on its own
and still agree with the others about the people and properties they share.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from enum import IntEnum
from typing import Generic, TypeVar

T = TypeVar("T")

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


class Tag(IntEnum):
    """What a random stream is for; part of its seed, so streams never overlap."""

    PLAN = 1
    ADDRESS = 2
    PERSON = 3
    SURNAME = 4
    HOME = 5
    SUPPLIER = 6
    PROPERTY_FATE = 7
    PERSON_FATE = 8
    SUPPLIER_FATE = 9
    ORPHAN = 10
    AGENCY = 11
    DETAILS = 12
    FIXFLO = 13
    TENANCY = 14
    FIXFLO_PERSON = 15
    PROPERTY_ORPHAN = 16
    AGENCY_SETTINGS = 17
    OWNER = 18
    CONTACT = 19


def mix(*parts: int) -> int:
    """A 64-bit hash of integers of any size (splitmix64 steps over 64-bit chunks).

    Example:
        >>> mix(1, 2) == mix(1, 2) != mix(2, 1)
        True
    """
    state = _GOLDEN
    for part in parts:
        chunks = [part & _MASK] if 0 <= part <= _MASK else _chunks(part)
        for chunk in chunks:
            state = _splitmix(state ^ chunk)
    return state


def _chunks(number: int) -> list[int]:
    sign, number = (1, -number) if number < 0 else (0, number)
    chunks = [sign]
    while number:
        chunks.append(number & _MASK)
        number >>= 64
    return chunks


def _splitmix(value: int) -> int:
    value = (value + _GOLDEN) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def rng_for(seed: int, tag: Tag, number: int) -> random.Random:
    """The random stream for record `number` (0 to 2**40) of kind `tag` of agency `seed`.

    The seed, tag and number are packed into one integer rather than hashed: distinct
    triples give distinct keys, and seeding is the only cost.
    """
    folded = seed << 1 if seed >= 0 else (~seed << 1) | 1
    return random.Random(folded << 48 | tag << 40 | number)  # noqa: S311 - made-up data


class Table(Generic[T]):
    """Values with relative weights, picked with one draw each.

    Example:
        >>> Table([("Rent", 8), ("Sale", 2)]).pick(random.Random(1)) in ("Rent", "Sale")
        True
    """

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.values = tuple(value for value, _ in pairs)
        self._cumulative = tuple(itertools.accumulate(weight for _, weight in pairs))

    def pick(self, rng: random.Random) -> T:
        """One value, each with probability proportional to its weight."""
        return self.values[bisect.bisect(self._cumulative, rng.random() * self._cumulative[-1])]

    def share(self, value: T) -> float:
        """The probability of `value`."""
        index = self.values.index(value)
        low = self._cumulative[index - 1] if index else 0.0
        return (self._cumulative[index] - low) / self._cumulative[-1]


def chance(rng: random.Random, probability: float) -> bool:
    """True with the given probability."""
    return rng.random() < probability
