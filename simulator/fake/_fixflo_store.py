"""The fake Fixflo's records and its upsert rules (by Id, then external reference)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from engine.ports import Record
from simulator.agency.generate import AgencyGenerator

__all__ = ["REF_KEYS", "FixfloStore", "WriteRefused", "get_ci"]

REF_KEYS: Final = {
    "properties": "ExternalPropertyRef",
    "landlords": "ExternalRef",
    "tenants": "ExternalRef",
    "contractors": "ExternalRef",
}
STATUSES: Final = (
    "Reported",
    "QuotesRequested",
    "JobAwarded",
    "AwaitingJobCompletion",
    "JobCompleted",
    "Closed",
)


class WriteRefused(Exception):
    """A write Fixflo refuses with Errors in a 200 envelope."""


def get_ci(record: Mapping[str, Any], key: str) -> Any:
    """`record[key]`, the key matched case-insensitively."""
    folded = key.casefold()
    return next((v for k, v in record.items() if k.casefold() == folded), None)


@dataclass
class FixfloStore:
    """Every Fixflo record of one fake agency, and when each last changed."""

    collections: dict[str, dict[int, Record]] = field(default_factory=dict)
    landlord_properties: list[Record] = field(default_factory=list)
    tenant_properties: list[Record] = field(default_factory=list)
    settings: Record = field(default_factory=dict)
    issues: dict[int, Record] = field(default_factory=dict)
    updated: dict[tuple[str, int], str] = field(default_factory=dict)
    taken_at: str = ""
    writes: int = 0

    @classmethod
    def generate(cls, size: int, seed: int) -> FixfloStore:
        """The Fixflo side of the generated agency of this size and seed."""
        generator = AgencyGenerator(size, seed)
        made = generator.fixflo_collections()
        store = cls(taken_at=generator.taken_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        for name in REF_KEYS:
            store.collections[name] = {r["Id"]: r for r in made[name]}
        store.landlord_properties = list(made["landlord_properties"])
        store.tenant_properties = list(made["tenant_properties"])
        store.settings = next(iter(made["agency_settings"]))
        store.issues = dict(_issues(store, generator))
        return store

    def tick(self) -> str:
        """The fake's clock for a write: a second after the last, from when it was generated."""
        self.writes += 1
        start = datetime.strptime(self.taken_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return (start + timedelta(seconds=self.writes)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def stamp(self, collection: str, record_id: int) -> str:
        """When a record last changed (ISO 8601)."""
        return self.updated.get((collection, record_id), self.taken_at)

    def upsert(self, collection: str, body: Mapping[str, Any], now: str) -> Record:
        """Create or update as Fixflo does; raises WriteRefused with Fixflo's message."""
        records = self.collections[collection]
        existing = self._existing(collection, body)
        self._check_email(collection, body, existing)
        fields = {k: v for k, v in body.items() if k.casefold() not in ("id", "propertyid")}
        if existing is None:
            record_id = max(records, default=10_000) + 1
            existing = {"Id": record_id}
            records[record_id] = existing
        existing.update(fields)
        self.updated[(collection, existing["Id"])] = now
        return existing

    def _existing(self, collection: str, body: Mapping[str, Any]) -> Record | None:
        records = self.collections[collection]
        given = get_ci(body, "PropertyId") or get_ci(body, "Id")
        if given:
            if int(given) not in records:
                raise WriteRefused(f"No {collection[:-1]} with Id {given}")
            return records[int(given)]
        ref = get_ci(body, REF_KEYS[collection])
        if ref:
            return next((r for r in records.values() if r.get(REF_KEYS[collection]) == ref), None)
        if collection == "properties":
            address = get_ci(body, "Address")
            return next(
                (r for r in records.values() if address and r.get("Address") == address), None
            )
        return None

    def _check_email(
        self, collection: str, body: Mapping[str, Any], existing: Record | None
    ) -> None:
        email = get_ci(body, "EmailAddress")
        if collection == "properties" or not email:
            return
        for record in self.collections[collection].values():
            same = existing is not None and record["Id"] == existing["Id"]
            if not same and str(record.get("EmailAddress") or "").lower() == str(email).lower():
                raise WriteRefused("EmailAddress is already in use by another record")

    def link(self, table: list[Record], link: Record) -> None:
        """Add a link unless it is there already (links are a set)."""
        if link not in table:
            table.append(link)


def _issues(store: FixfloStore, generator: AgencyGenerator) -> Iterator[tuple[int, Record]]:
    """A few made-up issues on the synced properties (one for every ten)."""
    synced = [p for p in store.collections["properties"].values() if p.get("ExternalPropertyRef")]
    start = generator.taken_at - timedelta(days=30)
    for number, prop in enumerate(synced[: max(1, len(synced) // 10)]):
        issue_id = 50_001 + number
        created = (start + timedelta(days=number % 30)).astimezone(UTC)
        yield (
            issue_id,
            {
                "Id": issue_id,
                "ExternalRef": None,
                "ExternalPropertyRef": prop["ExternalPropertyRef"],
                "PropertyId": prop["Id"],
                "Title": "Boiler not heating" if number % 2 else "Leaking tap in kitchen",
                "FaultPriority": number % 6,
                "Status": STATUSES[number % len(STATUSES)],
                "Created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "StatusChanged": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "IssueType": "Reactive",
                "IsEmergency": number % 6 == 0,
            },
        )
