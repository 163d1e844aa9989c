"""The shape of a generated agency: who owns what, who rents what, and when.

(Its records are named tuples rather than dataclasses: millions are made, and a tuple is
several times cheaper to build than a frozen dataclass.)

`walk` yields one `PlannedProperty` per Alto inventory record, in order, with its owners,
its tenancies and the contacts first met there. Every decision comes from one seeded stream
read in order, so each collection re-walks the plan and agrees with the others, and memory
stays flat: nothing is kept but the current owner block and a few counters.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Literal, NamedTuple

from simulator.agency._rand import Table, Tag, chance, mix

PersonKind = Literal["landlord", "vendor", "tenant", "applicant", "potential", "other"]

PROPERTY_BASE = 100_001
CONTACT_BASE = 500_001
TENANCY_BASE = 900_001
LIVE = frozenset({"Active", "Periodic", "Renewal in Progress", "Vacate in Progress"})
MANAGED = frozenset({"Managed", "FullyManaged", "PartManaged"})

# fmt: off
_VENDOR_SHARE = 0.24
_BLOCK_SIZES = Table([(1, 55), (2, 20), (3, 10), (4, 7), (5, 5), (6, 3)])
_RECORD_TYPES = {
    "landlord": Table([("Rent", 93), ("Unspecified", 7)]),
    "vendor": Table([("Sale", 85), ("Unspecified", 15)]),
}
_STATUSES = {
    "Rent": Table([
        ("Let", 45), ("LetAgreed", 6), ("LetMarketing", 6), ("Available", 8), ("Instructed", 4),
        ("NotInstructed", 3), ("ExternallyLet", 3), ("Withdrawn", 4), ("Suspended", 2),
        ("Archived", 5), ("Unspecified", 2), ("Appraisal", 3), ("UnderOffer", 2),
        ("UnderOfferMarketing", 1), ("UnderOfferAvailable", 1), ("Reserved", 1), ("Completed", 1),
    ]),
    "Sale": Table([
        ("Available", 25), ("UnderOffer", 12), ("UnderOfferMarketing", 4),
        ("UnderOfferAvailable", 3), ("Exchanged", 6), ("Completed", 14), ("ExternallySold", 5),
        ("Reserved", 3), ("Withdrawn", 8), ("Appraisal", 8), ("Instructed", 6),
        ("NotInstructed", 3), ("Suspended", 2), ("Archived", 4), ("Unspecified", 1),
    ]),
    "Unspecified": Table([
        ("Appraisal", 35), ("Unspecified", 30), ("NotInstructed", 20), ("Withdrawn", 8),
        ("Archived", 7),
    ]),
}
_MANAGEMENT = {
    "Rent": Table([
        ("Managed", 30), ("FullyManaged", 25), ("PartManaged", 12), ("LetOnly", 14),
        ("RentCollectionService", 9), ("NotManaged", 6), ("Unspecified", 4),
    ]),
    "Sale": Table([("Unspecified", 70), ("NotManaged", 30)]),
    "Unspecified": Table([("Unspecified", 60), ("NotManaged", 25), ("Managed", 15)]),
}
_MAINTENANCE = {
    True: Table([("MaintainedByUs", 85), ("MaintainedByLandlord", 12), ("Unspecified", 3)]),
    False: Table([("MaintainedByLandlord", 50), ("Unspecified", 35), ("MaintainedByUs", 15)]),
}
_LET: Table[str | None] = Table([
    ("Active", 55), ("Periodic", 30), ("Renewal in Progress", 7), ("Vacate in Progress", 8),
])
_LIVE_BY_STATUS: dict[str, Table[str | None]] = {
    "Let": _LET, "ExternallyLet": _LET,
    "LetAgreed": Table([("Proposed", 1)]),
    "LetMarketing": Table([(None, 1), ("Vacate in Progress", 1)]),
    "UnderOffer": Table([(None, 3), ("Proposed", 1)]),
}
_HISTORY = Table([(0, 35), (1, 35), (2, 20), (3, 10)])
_PAST = Table([
    ("Vacated", 80), ("Renewed", 12), ("Cancelled", 4), ("Renewal Cancelled", 3),
    ("Unspecified", 1),
])
_HOUSEHOLD = Table([(1, 50), (2, 35), (3, 15)])
_EXTRAS: tuple[tuple[PersonKind, float], ...] = (
    ("applicant", 0.15), ("potential", 0.06), ("other", 0.03),
)
# fmt: on


class Person(NamedTuple):
    """A contact: its number (the Alto id), kind, the number whose surname it shares, home."""

    number: int
    kind: PersonKind
    family: int
    home: int | None = None

    @property
    def contact_id(self) -> str:
        """The Alto contact id."""
        return str(self.number)


class Tenancy(NamedTuple):
    """One tenancy of a property, with its tenants."""

    number: int
    status: str
    start: date
    end: date | None
    tenants: tuple[Person, ...]

    @property
    def tenancy_id(self) -> str:
        """The Alto tenancy id."""
        return str(self.number)


class PlannedProperty(NamedTuple):
    """One inventory record's facts, owners, tenancies (oldest first) and new contacts."""

    position: int
    record_type: str
    status: str
    management: str
    maintenance: str
    archived: bool
    owners: tuple[Person, ...]
    tenancies: tuple[Tenancy, ...]
    new_people: tuple[Person, ...]

    @property
    def property_id(self) -> str:
        """The Alto inventory id."""
        return str(PROPERTY_BASE + self.position)

    @property
    def ref(self) -> str:
        """The integration's Fixflo reference: the inventory id (Alto publishes no OID)."""
        return self.property_id


def walk(seed: int, size: int, today: date) -> Iterator[PlannedProperty]:
    """The agency's properties, in order, as a stream.

    Example:
        >>> next(walk(1, 10, date(2026, 11, 22))).property_id
        '100001'
    """
    planner = _Planner(seed, today)
    for index in range(size):
        yield planner.plan(index)


class _Planner:
    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(mix(seed, Tag.PLAN, 0))  # noqa: S311 - made-up data
        self.today = today
        self.next_contact, self.next_tenancy = CONTACT_BASE, TENANCY_BASE
        self.owners: tuple[Person, ...] = ()
        self.owner_kind: PersonKind = "landlord"
        self.left = 0

    def plan(self, index: int) -> PlannedProperty:
        new: list[Person] = []
        if not self.left:
            self._new_block(new)
        self.left -= 1
        rng = self.rng
        record_type = _RECORD_TYPES[self.owner_kind].pick(rng)
        status, management = _STATUSES[record_type].pick(rng), _MANAGEMENT[record_type].pick(rng)
        tenancies = self._tenancies(index, status, new) if record_type == "Rent" else ()
        new.extend(self._person(kind) for kind, share in _EXTRAS if chance(rng, share))
        return PlannedProperty(
            position=index,
            record_type=record_type,
            status=status,
            management=management,
            maintenance=_MAINTENANCE[management in MANAGED].pick(rng),
            archived=chance(rng, 0.8 if status == "Archived" else 0.01),
            owners=self.owners,
            tenancies=tenancies,
            new_people=tuple(new),
        )

    def _person(self, kind: PersonKind, family: int = 0, home: int | None = None) -> Person:
        number = self.next_contact
        self.next_contact += 1
        return Person(number, kind, family or number, home)

    def _new_block(self, new: list[Person]) -> None:
        rng = self.rng
        vendor = chance(rng, _VENDOR_SHARE)
        self.owner_kind = "vendor" if vendor else "landlord"
        self.left = (2 if chance(rng, 0.1) else 1) if vendor else _BLOCK_SIZES.pick(rng)
        first = self._person(self.owner_kind)
        owners = [first]
        if chance(rng, 0.3 if vendor else 0.12):
            owners.append(self._person(self.owner_kind, first.number if chance(rng, 0.7) else 0))
        self.owners = tuple(owners)
        new.extend(owners)

    def _tenancies(self, index: int, status: str, new: list[Person]) -> tuple[Tenancy, ...]:
        statuses = self._tenancy_statuses(status)
        spans = self._spans(statuses)
        tenancies: list[Tenancy] = []
        tenants: tuple[Person, ...] = ()
        for position, (kind, (start, end)) in enumerate(zip(statuses, spans, strict=True)):
            renewal = position > 0 and statuses[position - 1] == "Renewed"
            tenants = tenants if renewal else self._household(index, new)
            tenancies.append(Tenancy(self.next_tenancy, kind, start, end, tenants))
            self.next_tenancy += 1
        return tuple(tenancies)

    def _tenancy_statuses(self, status: str) -> list[str]:
        rng = self.rng
        live = _LIVE_BY_STATUS[status].pick(rng) if status in _LIVE_BY_STATUS else None
        past = [_PAST.pick(rng) for _ in range(_HISTORY.pick(rng))]
        kinds = past + ([live] if live else [])
        after: list[str | None] = [*kinds[1:], None][: len(kinds)]
        # A renewal needs a tenancy after it that is not merely proposed.
        return [
            "Vacated" if kind == "Renewed" and following in (None, "Proposed") else kind
            for kind, following in zip(kinds, after, strict=True)
        ]

    def _spans(self, statuses: list[str]) -> list[tuple[date, date | None]]:
        """Start and end dates, worked out backwards from the newest tenancy."""
        rng, today = self.rng, self.today
        spans: list[tuple[date, date | None]] = []
        cursor = today - timedelta(days=rng.randint(10, 200))
        for kind in reversed(statuses):
            live = kind in LIVE or kind == "Proposed"
            start, end = _live_span(rng, kind, today) if live else _past_span(rng, kind, cursor)
            spans.append((start, end))
            cursor = min(start, today)
        return spans[::-1]

    def _household(self, index: int, new: list[Person]) -> tuple[Person, ...]:
        first = self._person("tenant", home=index)
        people = [first]
        for _ in range(_HOUSEHOLD.pick(self.rng) - 1):
            family = first.number if chance(self.rng, 0.6) else 0
            people.append(self._person("tenant", family, home=index))
        new.extend(people)
        return tuple(people)


def _live_span(rng: random.Random, kind: str, today: date) -> tuple[date, date | None]:
    def days(low: int, high: int) -> timedelta:
        return timedelta(days=rng.randint(low, high))

    if kind == "Proposed":
        start = today + days(5, 60)
        return start, start + timedelta(days=365)
    if kind == "Periodic":
        start = today - days(400, 2500)
        return start, None if chance(rng, 0.5) else start + timedelta(days=365)
    if kind == "Renewal in Progress":
        start = today - days(300, 355)
        return start, start + timedelta(days=365)
    if kind == "Vacate in Progress":
        return today - days(200, 700), today + days(1, 60)
    six_months = chance(rng, 0.2)
    start = today - (days(14, 170) if six_months else days(14, 330))
    return start, start + timedelta(days=182 if six_months else 365)


def _past_span(rng: random.Random, kind: str, cursor: date) -> tuple[date, date | None]:
    if kind == "Cancelled":
        start = cursor - timedelta(days=rng.randint(10, 40))
        return start, start
    end = cursor - timedelta(days=1 if kind == "Renewed" else rng.randint(1, 45))
    return end - timedelta(days=rng.choice((182, 365, 365, 730))), end
