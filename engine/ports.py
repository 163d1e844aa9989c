"""The ports the engine owns: what it needs of a system it reads from or writes to.

Adapters (`adapters.alto`, `adapters.fixflo`) implement these `Protocol`s; the runner and
the planner depend only on them, so tests and the simulator plug in anything that fits.
Records are plain JSON-like dicts in the vendor's own shapes (docs/snapshots.md), and
collections are the snapshot's names (``inventory``, ``properties``, ``landlord_properties``).

Ports raise the failures `engine.errors` declares, whatever the system behind them, so the
engine sorts a failure by its type alone (`PortError` and its kinds):

- `CredentialsRefused`: the credentials were refused; every call would be.
- `RecordRefused`: this record was refused (its ``status`` and ``message`` say why).
- `NotOffered`: an optional lookup the system does not offer.
- `Retryable`: a transient failure; the port has already retried it as far as it will.
- `OutcomeUnknown`: a write may or may not have taken effect.

A failure of none of these kinds is read as `OutcomeUnknown`. Adapters (`adapters.errors`)
raise subclasses of these kinds.

Example:
    >>> async def count(source: RecordSource, collection: str) -> int:
    ...     return sum([1 async for _ in source.read(collection)])
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "AltoHolding",
    "Attachment",
    "ChargeLookup",
    "ChargeTarget",
    "Charges",
    "DocumentLookup",
    "DocumentSource",
    "Documents",
    "IssueSource",
    "Record",
    "RecordSource",
    "RecordTarget",
    "TenancyLookup",
    "WorksOrderLookup",
    "WorksOrders",
]

Record = dict[str, Any]
ChargeTarget = Literal["inventory", "tenancies"]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to attach: its name, media type and bytes."""

    name: str
    content: bytes
    media_type: str = "application/pdf"


@dataclass(frozen=True, slots=True)
class AltoHolding:
    """What Alto holds for one issue (read through the ledger).

    Attributes:
        works_order: the works order's fields (``status`` among them), or None.
        documents: names of the documents attached to it.
        charges: names of the charge policies already posted for the issue.
        revision: the issue revision Alto last agreed with (None: never seen).
    """

    works_order: Mapping[str, Any] | None = None
    documents: frozenset[str] = frozenset()
    charges: frozenset[str] = frozenset()
    revision: Any = None


@runtime_checkable
class RecordSource(Protocol):
    """Reads a system's records, collection by collection."""

    system: str

    def collections(self) -> tuple[str, ...]:
        """The collections this source can read, in snapshot order."""
        ...

    def read(self, collection: str, *, since: str | None = None) -> AsyncIterator[Record]:
        """Every record of `collection`, or only those changed since `since` (ISO 8601).

        Records come one at a time in the snapshot's casing, unknown fields dropped.
        """
        ...


@runtime_checkable
class RecordTarget(Protocol):
    """Writes records by their external reference, so a repeated write changes nothing."""

    async def upsert(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Create or update one record; returns it as the system now holds it."""
        ...

    async def archive(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Archive one record (identified within `fields`); returns it."""
        ...

    async def link(self, collection: str, fields: Mapping[str, Any]) -> None:
        """Make one link (``landlord_properties`` or ``tenant_properties``)."""
        ...

    async def unlink(self, collection: str, fields: Mapping[str, Any]) -> None:
        """Remove one link, named by the same two keys `link` is given; removing a link
        that is not there changes nothing."""
        ...


@runtime_checkable
class WorksOrders(Protocol):
    """Works orders in the CRM, each recognised on its property by its identity fields."""

    async def create_works_order(
        self, property_id: str, order: Mapping[str, Any], *, identity: Mapping[str, Any]
    ) -> Record:
        """Create a works order once: the property's order whose identity fields equal
        `identity` (the ruleset's ``works_order.identity``) already is returned.

        Raises:
            engine.errors.OutcomeUnknown: the order may have been created and could not be
                found.
        """
        ...

    async def update_works_order(self, order_id: str, changes: Mapping[str, Any]) -> None:
        """Set the fields in `changes` on an existing works order."""
        ...


@runtime_checkable
class Documents(Protocol):
    """Documents attached to a record of the CRM."""

    async def attach_document(
        self, linked_type: str, linked_id: str, document: Attachment
    ) -> Record:
        """Upload `document` and link it to the record; returns the stored document.

        Raises:
            engine.errors.OutcomeUnknown: the upload may have landed; it is not sent again
                blindly (the caller looks it up first).
        """
        ...


@runtime_checkable
class Charges(Protocol):
    """Charges (supplier invoices) posted against a property or a tenancy."""

    async def post_charge(
        self,
        target: ChargeTarget,
        target_id: str,
        charge: Mapping[str, Any],
        invoice: Attachment | None = None,
    ) -> Record:
        """Post one charge; returns it as stored.

        Raises:
            engine.errors.OutcomeUnknown: the charge may have landed; it is not posted again
                blindly (the caller looks it up first).
        """
        ...


@runtime_checkable
class WorksOrderLookup(Protocol):
    """Finds the works order a cut-off create may have left behind."""

    async def find_works_order(
        self, property_id: str, identity: Mapping[str, Any]
    ) -> Record | None:
        """The property's works order whose identity fields equal `identity` (dates
        compared as instants), or None."""
        ...


@runtime_checkable
class TenancyLookup(Protocol):
    """Finds the tenancy a tenant's charge goes to."""

    async def find_tenancy(self, property_id: str, contact_id: str) -> Record | None:
        """``{"tenancyId": str, "tenantId": str}`` of the tenancy at the property holding the
        contact (the latest startDate when several), or None."""
        ...


@runtime_checkable
class DocumentLookup(Protocol):
    """Finds a document an upload whose answer was lost may have stored."""

    async def find_document(self, linked_type: str, linked_id: str, name: str) -> Record | None:
        """The document called `name` linked to the record, or None.

        Raises:
            engine.errors.NotOffered: the system offers no such lookup (the caller must not
                guess: it hands the operation to a person).
        """
        ...


@runtime_checkable
class ChargeLookup(Protocol):
    """Finds a charge a post whose answer was lost may have stored."""

    async def find_charge(
        self, target: ChargeTarget, target_id: str, invoice_reference: str
    ) -> Record | None:
        """The charge for invoice `invoice_reference` on the property or tenancy, or None.

        Raises:
            engine.errors.NotOffered: the system offers no such lookup.
        """
        ...


@runtime_checkable
class IssueSource(Protocol):
    """The repair system's issues (Fixflo's, in its shapes), read one at a time."""

    def issue_ids(self, *, since: str | None = None) -> AsyncIterator[str]:
        """The ids of the issues updated since `since` (ISO 8601; every issue if None)."""
        ...

    async def read_issue(self, issue_id: str, parts: frozenset[str] = frozenset()) -> Record:
        """One issue as the system gives it, plus each part named in `parts` (the
        ruleset's ``parts:``, e.g. ``CompletionDocs``) read from its own endpoint under its
        name (see `engine.language.lifecycle.Lifecycle.parts_read`).

        Raises:
            engine.errors.RecordRefused: no such issue.
        """
        ...


@runtime_checkable
class DocumentSource(Protocol):
    """Where the bytes of an issue's documents come from (the repair system)."""

    async def fetch(self, issue_id: str, kind: str, name: str) -> Attachment:
        """The document `name` of the issue; `kind` is the attachment's ``from``:
        ``IssueReport`` (the issue's report), or a part holding Media (``CompletionDocs``,
        ``Certificates``).

        Raises:
            KeyError: `kind` is not a kind of document this source knows.
            engine.errors.RecordRefused: the issue has no such document.
            engine.errors.PortError: the document could not be read.
        """
        ...
