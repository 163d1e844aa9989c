"""The state of the Jupix export generator and the rows it writes around each property.

`simulator.jupix.generate` holds the scenarios and the entry point; this module holds what they use:
the agency being generated (its people, pools and writers) and one helper per kind of row.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from simulator.jupix import _names as names
from simulator.jupix._people import Address, People, Person, random_address
from simulator.jupix._sink import ExportSink

__all__ = ["Agency", "Draft", "Scenario", "add_months"]

_OWNER_ROLE = {"Sales": "vendor", "Lettings": "landlord"}
_AVAILABILITY = {
    "Valuation": 1,
    "Instructed - On Market": 2,
    "Under Offer": 3,
    "Sold STC": 4,
    "Exchanged": 4,
    "Completed": 5,
    "Let Agreed": 4,
    "Let": 5,
}
_WITHDRAWN = {"Sales": 7, "Lettings": 6}


@dataclass
class Draft:
    """A property being made: its scenario fills in the rows around it."""

    property_id: str
    department: str
    status: str
    price: float
    address: Address
    owners: list[Person]
    archived: bool = False


Build = Callable[["Agency", Draft], None]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One kind of property: department, CRM status, how often, and what surrounds it."""

    name: str
    department: str
    status: str
    weight: int
    build: Build
    archived: float = 0.0


class Agency:
    """The generator's state: the writers, the people, and the few pools it reuses."""

    def __init__(self, sink: ExportSink, rng: random.Random, today: date, size: int) -> None:
        self.sink, self.rng, self.today = sink, rng, today
        self.people = People(sink, rng, today)
        self.staff = [
            f"{rng.choice(names.FORENAMES)} {rng.choice(names.SURNAMES)}" for _ in "12345678"
        ]
        self.owner_queue: dict[str, deque[Person]] = {"Sales": deque(), "Lettings": deque()}
        self.recent_owners: dict[str, deque[Person]] = {
            "Sales": deque(maxlen=32),
            "Lettings": deque(maxlen=32),
        }
        self.suppliers: list[Person] = []  # the first few, named in notes
        for index in range(max(6, size // 30)):
            supplier = self._supplier(index)
            if len(self.suppliers) < 64:
                self.suppliers.append(supplier)
        for index in range(max(2, size // 250)):
            self._estate_agent(index)
        self._lapsed_applicants()

    def _lapsed_applicants(self) -> None:
        """J-01 for the contact: one whose every profile lapsed (expired, or archived), and
        one with an expired profile and a live one."""
        lapsed = self.people.person(("applicant",))
        self.people.applicant(lapsed, "Lettings", expired=True, archived=False)
        self.people.applicant(lapsed, "Sales", expired=False, archived=True)
        mixed = self.people.person(("applicant",))
        self.people.applicant(mixed, "Sales", expired=True, archived=False)
        self.people.applicant(mixed, "Lettings", expired=False, archived=False)

    def _supplier(self, index: int) -> Person:
        trade, suffix = names.SUPPLIER_TRADES[index % len(names.SUPPLIER_TRADES)]
        extra = ((), ("landlord",), ("applicant",), ("landlord", "applicant"))
        pick = index if index < len(extra) else self.rng.choice((0, 0, 0, 0, 1, 1, 2, 3))
        roles = ("third-party supplier", *extra[pick])
        company = f"{self.rng.choice(names.SURNAMES)} {suffix}"
        person = self.people.person(roles, company=company, trade=trade)
        if "landlord" in roles:
            self.owner_queue["Lettings"].append(person)
        if "applicant" in roles:
            self.people.applicant(person, self.rng.choice(("Sales", "Lettings")))
        return person

    def _estate_agent(self, index: int) -> None:
        company = f"{self.rng.choice(names.SURNAMES)} & Co Estate Agents"
        agent = self.people.person(("estate agent",), company=company)
        if index % 2 == 0:
            self.owner_queue["Sales" if index % 4 == 0 else "Lettings"].append(agent)

    # -- properties ------------------------------------------------------------------------

    def add_property(self, scenario: Scenario) -> None:
        """Make a property of `scenario`, the scenario's rows, and the rows around it."""
        draft = Draft(
            self.sink.next_id("P"),
            scenario.department,
            scenario.status,
            self._price(scenario.department),
            random_address(self.rng),
            self._owners(scenario),
            archived=self.rng.random() < scenario.archived,
        )
        scenario.build(self, draft)
        self._surroundings(draft)
        self._write_property(draft)

    def _price(self, department: str) -> float:
        if department == "Sales":
            return float(self.rng.randrange(90_000, 900_000, 5_000))
        weekly = self.rng.random() < 0.15
        rent = (
            self.rng.randrange(125, 600, 5) * 52 / 12
            if weekly
            else self.rng.randrange(550, 2500, 25)
        )
        return round(float(rent), 2)

    def _owners(self, scenario: Scenario) -> list[Person]:
        queue = self.owner_queue[scenario.department]
        if queue:
            return [queue.popleft()]
        role = _OWNER_ROLE[scenario.department]
        if scenario.status == "Valuation":
            role = "potential landlord" if scenario.department == "Lettings" else role
            return [self._new_owner(role, scenario.department)]
        ring = self.recent_owners[scenario.department]
        first = self.rng.choice(ring) if ring and self.rng.random() < 0.2 else None
        owners = [first or self._new_owner(role, scenario.department)]
        if self.rng.random() < 0.08:
            owners.append(self._new_owner(role, scenario.department))
        return owners

    def _new_owner(self, role: str, department: str) -> Person:
        roles = [role]
        if self.rng.random() < 0.04 and role in ("vendor", "landlord"):
            roles.append("landlord" if role == "vendor" else "vendor")
        if self.rng.random() < 0.10:
            roles.append("applicant")
        owner = self.people.person(tuple(roles))
        if "applicant" in roles:
            self.people.applicant(owner, self.rng.choice(("Sales", "Lettings")))
        if role != "potential landlord":
            self.recent_owners[department].append(owner)
        return owner

    def _write_property(self, d: Draft) -> None:
        rng, a = self.rng, d.address
        beds = rng.choice((None, 1, 2, 2, 3, 3, 3, 4, 5))
        kind = rng.choice(("terraced house", "semi-detached house", "flat", "bungalow"))
        availability = _WITHDRAWN[d.department] if d.status in ("Withdrawn", "Archived") else None
        availability = availability or _AVAILABILITY[d.status]
        cells = {
            "propertyID": d.property_id,
            "branchID": f"B{rng.randint(1, 3)}",
            "department": d.department,
            "referenceNumber": f"{a.postcode.split()[0]}-{d.property_id[1:]}",
            "addressName": "Rose Cottage" if rng.random() < 0.03 else None,
            "addressNumber": a.number,
            "addressStreet": a.street,
            "address2": a.locality,
            "address3": a.town,
            "address4": a.county,
            "addressPostcode": a.postcode,
            "displayAddress": a.display,
            "propertyBedrooms": beds,
            "price": int(d.price) if d.department == "Sales" else d.price,
            "availability": availability,
            "dateLastModified": self.today - timedelta(days=rng.randint(0, 700)),
            "crmStatus": d.status,
            "archived": d.archived or d.status == "Archived",
            "ownerContactIDs": [owner.contact_id for owner in d.owners],
            **self._media(d.property_id),
        }
        summary = f"{beds or 'A'} bedroom {kind} in {a.locality or a.town}."
        self.sink.write_property(cells, {"mainSummary": summary})

    def _media(self, property_id: str) -> dict[str, list[tuple[str, date]]]:
        rng = self.rng
        base = f"https://media.example.com/jupix/{property_id}"
        modified = self.today - timedelta(days=rng.randint(0, 900))
        counts = {"images": rng.choice((0, 2, 4, 6, 8)), "floorplans": rng.randint(0, 1)}
        counts["brochures"] = rng.randint(0, 1)
        suffix = {"images": "jpg", "floorplans": "png", "brochures": "pdf"}
        return {
            kind: [(f"{base}/{kind}/{n}.{suffix[kind]}", modified) for n in range(1, count + 1)]
            for kind, count in counts.items()
        }

    # -- surroundings ----------------------------------------------------------------------

    def _surroundings(self, d: Draft) -> None:
        for _ in range(self.rng.choice((0, 1, 1, 2, 2, 3))):
            self.people.new_applicant(self.rng.choice(("Sales", "Lettings")))
        for _ in range(self.rng.choice((0, 1, 1, 2, 3))):
            self._property_note(d)
        if d.department == "Lettings":
            self._maintenance(d)
        if self.rng.random() < 0.12:
            self._todo(d)

    def _property_note(self, d: Draft) -> None:
        rng = self.rng
        text = rng.choice(names.PROPERTY_NOTES).format(
            price=f"{int(d.price):,}",
            n=rng.randint(1, 400),
            date=(self.today + timedelta(days=rng.randint(1, 30))).isoformat(),
            trade=rng.choice(self.suppliers).display_name,
        )
        noted = self.today - timedelta(days=rng.randint(0, 4000))
        self.sink.write(
            "property_notes",
            noteID=self.sink.next_id("PN"),
            propertyID=d.property_id,
            date=noted,
            priority=rng.random() < 0.15,
            author=rng.choice(self.staff) if rng.random() < 0.9 else None,
            text=text,
        )

    def _maintenance(self, d: Draft) -> None:
        rng = self.rng
        owners = [("property", d.property_id)] if rng.random() < 0.4 else []
        landlord = d.owners[0]
        if "landlord" in landlord.roles and rng.random() < 0.2:
            owners.append(("landlord", landlord.contact_id))
        for owner_type, owner_id in owners:
            self.sink.write(
                "maintenance_notes",
                noteID=self.sink.next_id("MN"),
                ownerType=owner_type,
                ownerID=owner_id,
                date=self.today - timedelta(days=rng.randint(0, 2000)),
                text=rng.choice(names.MAINTENANCE_NOTES).format(price=rng.randrange(50, 900, 10)),
            )

    def _todo(self, d: Draft) -> None:
        rng = self.rng
        due = self.today + timedelta(days=rng.randint(-60, 90)) if rng.random() < 0.8 else None
        text = rng.choice(names.TODO_NOTES).format(
            name=d.owners[0].display_name, address=d.address.display
        )
        user = f"U{rng.randint(1, 12):02d}"
        self.sink.write(
            "todo_notes", noteID=self.sink.next_id("TD"), userID=user, dueDate=due, text=text
        )

    # -- lettings --------------------------------------------------------------------------

    def tenancy(
        self,
        d: Draft,
        status: str,
        start: date,
        *,
        months: int | None = 12,
        end: date | Literal["term"] | None = "term",
        tenants: list[Person] | None = None,
        renewed_from: str | None = None,
    ) -> tuple[str, list[Person]]:
        """Write a tenancy of `d`; `end="term"` means the day before start + months."""
        tenants = tenants or self._tenants()
        if end == "term":
            end = add_months(start, months or 12) - timedelta(days=1)
        tenancy_id = self.sink.next_id("T")
        self.sink.write(
            "tenancies",
            tenancyID=tenancy_id,
            propertyID=d.property_id,
            tenantContactIDs=[tenant.contact_id for tenant in tenants],
            status=status,
            startDate=start,
            endDate=end,
            termMonths=months,
            renewedFromTenancyID=renewed_from,
            rent=d.price,
        )
        return tenancy_id, tenants

    def _tenants(self) -> list[Person]:
        count = 2 if self.rng.random() < 0.3 else 1
        tenants = [self.people.person(("applicant",)) for _ in range(count)]
        for tenant in tenants:
            self.people.applicant(tenant, "Lettings", expired=self.rng.random() < 0.7)
        return tenants

    def ago(self, low: int, high: int) -> date:
        """A date between `low` and `high` days before the export."""
        return self.today - timedelta(days=self.rng.randint(low, high))

    def application(self, d: Draft, status: str, applicant: Person | None = None) -> None:
        """Write a tenancy application to `d` at `status`."""
        who = applicant or self.people.recent_applicant("Lettings")
        amount = round(d.price * self.rng.choice((0.95, 1.0, 1.0, 1.05)), 2)
        self.sink.write(
            "tenancy_applications",
            applicationID=self.sink.next_id("TA"),
            propertyID=d.property_id,
            applicantContactID=who.contact_id,
            status=status,
            offerAmount=amount if self.rng.random() < 0.9 else None,
            dateCreated=self.ago(1, 120),
        )

    def history(self, d: Draft, count: int) -> date:
        """Write `count` past, Moved Out tenancies; returns when the last ended."""
        start = self.ago(1500, 3000)
        for _ in range(count):
            self.tenancy(d, "Moved Out", start)
            start = add_months(start, 12) + timedelta(days=self.rng.randint(7, 60))
        return start

    # -- sales -----------------------------------------------------------------------------

    def offer(self, d: Draft, status: str, buyer: Person | None = None) -> Person:
        """Write an offer on `d` at `status`; returns who made it."""
        who = buyer or self.people.recent_applicant("Sales")
        amount = int(d.price * self.rng.choice((0.9, 0.93, 0.95, 0.97, 1.0, 1.02))) // 500 * 500
        self.sink.write(
            "offers",
            offerID=self.sink.next_id("O"),
            propertyID=d.property_id,
            applicantContactID=who.contact_id,
            amount=amount,
            status=status,
            date=self.ago(10, 200),
        )
        return who

    def sale(self, d: Draft, status: str, buyer: Person, milestones: int) -> None:
        """Write a sale of `d` with its first `milestones` milestones done, and chain notes."""
        sale_id = self.sink.next_id("S")
        agreed = self.ago(20, 200)
        self.sink.write(
            "sales",
            saleID=sale_id,
            propertyID=d.property_id,
            buyerContactID=buyer.contact_id,
            status=status,
            agreedDate=agreed,
            agreedPrice=int(d.price) if self.rng.random() < 0.9 else None,
        )
        for index, name in enumerate(names.MILESTONES):
            done = agreed + timedelta(days=7 * (index + 1)) if index < milestones else None
            self.sink.write(
                "progression_milestones",
                milestoneID=self.sink.next_id("PM"),
                saleID=sale_id,
                name=name,
                completedDate=min(done, self.today) if done else None,
            )
        for _ in range(self.rng.randint(0, 2)):
            self.sink.write(
                "sale_chain_notes",
                noteID=self.sink.next_id("SCN"),
                saleID=sale_id,
                date=self.ago(0, 20),
                text=self.rng.choice(names.SALE_CHAIN_NOTES),
            )


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, min(day.day, 28))
