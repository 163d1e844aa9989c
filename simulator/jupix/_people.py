"""Synthetic contacts and applicant profiles for the Jupix export generator.

Every contact is written the moment it is made, with its final roles; the only memory kept
is a few bounded rings of recent people to reuse (repeat landlords, buyers, duplicates).
"""

from __future__ import annotations

import random
import unicodedata
from collections import deque
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from simulator.jupix import _names as names
from simulator.jupix._sink import ExportSink

__all__ = ["Address", "People", "Person", "random_address"]

_RING = 64
_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_EXPIRY_KINDS = {True: ("past",), False: ("future", "none"), None: ("past", "future", "none")}


@dataclass(frozen=True, slots=True)
class Address:
    """A made-up British address."""

    number: str
    street: str
    locality: str | None
    town: str
    county: str
    postcode: str

    @property
    def line1(self) -> str:
        """House number and street."""
        return f"{self.number} {self.street}"

    @property
    def display(self) -> str:
        """The one-line address a listing shows."""
        return ", ".join(part for part in (self.street, self.locality, self.town) if part)


@dataclass(frozen=True, slots=True)
class Person:
    """A contact already written to `contacts.csv`."""

    contact_id: str
    forename: str
    surname: str
    email: str | None
    phone: str | None
    postcode: str
    roles: tuple[str, ...]
    company: str | None = None

    @property
    def display_name(self) -> str:
        """The company's name, or the person's."""
        return self.company or f"{self.forename} {self.surname}"


def random_address(rng: random.Random) -> Address:
    """A British-looking address: real postcode area, made-up district, sector and unit."""
    area, town, county = rng.choice(names.AREAS)
    unit = "".join(rng.choice(_POSTCODE_LETTERS) for _ in range(2))
    postcode = f"{area}{rng.randint(1, 28)} {rng.randint(0, 9)}{unit}"
    street = f"{rng.choice(names.STREET_NAMES)} {rng.choice(names.STREET_SUFFIXES)}"
    number = str(rng.randint(1, 240)) + ("a" if rng.random() < 0.05 else "")
    locality = rng.choice(names.LOCALITIES) if rng.random() < 0.6 else None
    return Address(number, street, locality, town, county, postcode)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in folded.lower() if char.isalnum())


def _phone(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}"
    return f"01{rng.randint(100, 999)} {rng.randint(100000, 999999)}"


def _reformat_phone(phone: str, rng: random.Random) -> str:
    digits = phone.replace(" ", "")
    forms = (digits, f"+44 {digits[1:5]} {digits[5:]}", f"{digits[:5]}-{digits[5:]}")
    return rng.choice(forms)


class People:
    """Makes contacts and applicant profiles, writing each as it is made."""

    def __init__(self, sink: ExportSink, rng: random.Random, today: date) -> None:
        self._sink = sink
        self._rng = rng
        self._today = today
        self.applicants: dict[str, deque[Person]] = {
            "Sales": deque(maxlen=_RING),
            "Lettings": deque(maxlen=_RING),
        }

    def person(
        self, roles: tuple[str, ...], *, company: str | None = None, trade: str | None = None
    ) -> Person:
        """A new contact with `roles` (a company when `company` is given)."""
        rng = self._rng
        forename, surname = rng.choice(names.FORENAMES), rng.choice(names.SURNAMES)

        contact_id = self._sink.next_id("C")
        email = None if rng.random() < 0.08 else self._email(forename, surname, contact_id)
        phone = None if rng.random() < 0.05 else _phone(rng)
        draft = Person(contact_id, forename, surname, email, phone, "", roles, company)
        return self._write(draft, trade)

    def _email(self, forename: str, surname: str, contact_id: str) -> str:
        domain = self._rng.choice(names.DOMAINS)
        return f"{_ascii(forename)}.{_ascii(surname)}{contact_id[1:]}@{domain}"

    def _write(self, draft: Person, trade: str | None) -> Person:
        rng = self._rng
        address = random_address(rng)
        # A company's contact person is named half the time, and always if they have
        # personal roles too (their applicant profile repeats the name).
        personal = draft.company is None or len(draft.roles) > 1 or rng.random() < 0.5
        created = datetime.combine(self._today, time(9)) - timedelta(
            days=rng.randint(1, 4000), minutes=rng.randint(0, 600)
        )
        self._sink.write(
            "contacts",
            contactID=draft.contact_id,
            title=self._title(draft.forename) if personal else None,
            forename=draft.forename if personal else None,
            surname=draft.surname if personal else None,
            companyName=draft.company,
            email=draft.email,
            phone=draft.phone,
            addressLine1=address.line1,
            addressLine2=address.locality,
            town=address.town,
            county=address.county if rng.random() < 0.5 else None,
            postcode=address.postcode,
            roles=list(draft.roles),
            supplierTrade=trade,
            archived=rng.random() < 0.03,
            dateCreated=created,
        )
        if not personal:
            return replace(draft, forename="", surname="", postcode=address.postcode)
        return replace(draft, postcode=address.postcode)

    def _title(self, forename: str) -> str | None:
        if self._rng.random() < 0.05:
            return self._rng.choice(names.NEUTRAL_TITLES) or None
        female = forename in names.FEMALE_FORENAMES
        return self._rng.choice(names.FEMALE_TITLES if female else names.MALE_TITLES) or None

    def applicant(
        self,
        person: Person,
        department: str,
        *,
        expired: bool | None = None,
        archived: bool | None = None,
    ) -> None:
        """Write an applicant profile for `person`.

        The profile expires in the past when `expired`, in the future or never when not,
        and any of the three when `expired` is None; it is archived now and then unless
        `archived` says.
        """
        rng = self._rng
        low, high = self._price_range(department)
        self._sink.write(
            "applicants",
            applicantID=self._sink.next_id("A"),
            contactID=person.contact_id,
            department=department,
            minPrice=low if rng.random() < 0.8 else None,
            maxPrice=high,
            bedrooms=rng.choice((None, 1, 2, 2, 3, 3, 4, 5)),
            profileExpiryDate=self._expiry(expired),
            dateRegistered=self._today - timedelta(days=rng.randint(30, 2500)),
            archived=rng.random() < 0.05 if archived is None else archived,
            forename=person.forename,
            surname=person.surname,
            email=person.email,
            phone=person.phone,
            postcode=person.postcode,
        )
        self.applicants[department].append(person)

    def _price_range(self, department: str) -> tuple[int, int]:
        rng = self._rng
        if department == "Sales":
            low = rng.randrange(100_000, 600_000, 5_000)
            return low, low + rng.randrange(25_000, 200_000, 5_000)
        low = rng.randrange(500, 2_000, 50)
        return low, low + rng.randrange(100, 800, 50)

    def _expiry(self, expired: bool | None) -> date | None:
        kind = self._rng.choice(_EXPIRY_KINDS[expired])
        days = timedelta(days=self._rng.randint(1, 900))
        if kind == "none":
            return None
        return self._today - days if kind == "past" else self._today + days

    def new_applicant(self, department: str, roles: tuple[str, ...] = ("applicant",)) -> Person:
        """A new contact with an applicant profile; sometimes also a duplicate of someone."""
        if self.applicants[department] and self._rng.random() < 0.08:
            self.duplicate(self._rng.choice(self.applicants[department]), department)
        person = self.person(roles)
        self.applicant(person, department)
        return person

    def duplicate(self, original: Person, department: str) -> Person:
        """A second contact and profile for the same real person (J-02): same e-mail
        (differently cased), or same name and phone (differently formatted)."""
        rng = self._rng
        by_email = original.email is not None and (original.phone is None or rng.random() < 0.5)
        if by_email and original.email is not None:
            email: str | None = rng.choice((original.email.upper(), original.email.title()))
            phone = _phone(rng)
        else:
            email = None
            phone = _reformat_phone(original.phone or _phone(rng), rng)
        draft = replace(original, contact_id=self._sink.next_id("C"), email=email, phone=phone)
        twin = self._write(draft, None)
        self.applicant(twin, department)
        return twin

    def recent_applicant(self, department: str) -> Person:
        """A recent applicant of `department`, or a new one."""
        ring = self.applicants[department]
        if ring and self._rng.random() < 0.6:
            return self._rng.choice(ring)
        return self.new_applicant(department)
