"""The Fixflo adapter: reads the snapshot collections (`adapters.fixflo._reads`), issues and
their files; writes on the contract (`adapters.fixflo._writes`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

from adapters._paging import fixflo_pages
from adapters._records import ci_get, normalise
from adapters.errors import NotFoundError, ProtocolError
from adapters.fixflo._files import decode_completion_documents, decode_invoice
from adapters.fixflo._reads import (
    COLLECTIONS,
    ListEndpoint,
    RefMaps,
    landlord_joins,
    listing,
    tenant_joins,
)
from adapters.fixflo._writes import FixfloWriter
from adapters.http import HttpAdapter
from engine.ports import Attachment, Record

__all__ = [
    "COLLECTIONS",
    "ISSUE_FIELDS",
    "LIFECYCLE_FIELDS",
    "REFERENCE_LOOKUPS",
    "FixfloAdapter",
    "ListEndpoint",
]

ISSUE_FIELDS: Final = (
    "Id", "ExternalRef", "ExternalPropertyRef", "Title", "FaultCategory", "FaultNotes",
    "FaultPriority", "Firstname", "Surname", "EmailAddress", "ContactNumber", "Status",
    "StatusChanged", "Created", "PropertyId", "Job", "Quotes", "Landlord", "IsEmergency",
    "IssueType", "CloseReason",
)  # fmt: skip
# The lifecycle's fields that API_NOTES.md does not list (unconfirmed: the integration's
# reading of Fixflo's screens, served by the fake); see docs/adapters.md.
LIFECYCLE_FIELDS: Final = (
    "Revision", "TenantRef", "InvoiceRecipient", "FeedbackEnabled", "FeedbackGiven",
    "FeedbackRating", "QuotesReviewed", "Invoice", "CompletionDocuments",
)  # fmt: skip
_ISSUE_KEYS: Final = ISSUE_FIELDS + LIFECYCLE_FIELDS
_SETTINGS_PATH: Final = "/Agency/Settings"
# The collections Fixflo's contract documents a lookup by external reference for
# (contracts/fixflo.md section 9: GET /Property?ExternalPropertyRef=, GET /Tenant?ExternalRef=;
# GET /Landlord documents no parameters, GET /Contractor needs a path id).
REFERENCE_LOOKUPS: Final = frozenset({"properties", "tenants"})


class FixfloAdapter(HttpAdapter):
    """Fixflo through a client the caller made (base URL and `FixfloAuth` set on it).

    Implements `engine.ports.RecordSource`, `RecordTarget` and `IssueSource`. A write looks
    its record up by external reference first and saves it by id, or creates it once: a
    create whose answer was lost is looked up again before it is ever sent again.

    Example::

        async with httpx.AsyncClient(base_url=url, auth=FixfloAuth(token)) as client:
            fixflo = FixfloAdapter(client, limiter=make_limiter(500))
            await fixflo.upsert("landlords", {"ExternalRef": "200001", "Surname": "Ng"})
    """

    system = "fixflo"

    def __init__(self, client: Any, **options: Any) -> None:
        super().__init__(client, **options)
        self._refs = RefMaps(self._caller, self.page_size)
        self._writer = FixfloWriter(self._caller)

    def collections(self) -> tuple[str, ...]:
        """The collections of a Fixflo snapshot, the listed ones before the links."""
        return (*COLLECTIONS, "landlord_properties", "tenant_properties", "agency_settings")

    async def read(self, collection: str, *, since: str | None = None) -> AsyncIterator[Record]:
        """Every record of `collection` (changed since `since` where the API can filter);
        items that are not usable records go to `rejected` (`adapters._records.listed`).

        Links are read per property and per tenant bearing a reference, whatever `since`
        (the link endpoints have no filter); a full listing of properties, landlords or
        tenants is remembered for them, so a snapshot lists each collection once.
        """
        size, rejected = self.page_size, self.rejected
        if collection == "agency_settings":
            yield await self._settings()
        elif collection in ("landlord_properties", "tenant_properties"):
            joins = landlord_joins if collection == "landlord_properties" else tenant_joins
            async for record in joins(self._caller, self._refs, page_size=size, rejected=rejected):
                yield record
        else:
            full = since is None or COLLECTIONS[collection].since_key is None
            if full:
                self._refs.forget(collection)
            records = listing(
                self._caller, collection, since=since, page_size=size, rejected=rejected
            )
            async for record in records:
                if full:
                    self._refs.note(collection, record)
                yield record

    async def _settings(self) -> Record:
        body = await self._caller.json("GET", _SETTINGS_PATH)
        if not isinstance(body, Mapping):
            raise ProtocolError(
                "the agency settings are not a JSON object", method="GET", path=_SETTINGS_PATH
            )
        return normalise("fixflo", "agency_settings", body)

    async def upsert(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Create or update one record by its id or external reference; returns the entity.

        Raises:
            EnvelopeError: Fixflo answered 200 with Errors.
            ConflictError: a new property's address is held under another reference.
            OutcomeUnknownError: a create may have landed and could not be found.
        """
        return await self._writer.upsert(collection, fields)

    async def archive(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Archive by setting ``IsDeleted`` (an upsert, so repeating it is harmless)."""
        return await self.upsert(collection, {**fields, "IsDeleted": True})

    async def link(self, collection: str, fields: Mapping[str, Any]) -> None:
        """Join a landlord or a tenant to a property by their external references."""
        await self._writer.link(collection, fields)

    async def unlink(self, collection: str, fields: Mapping[str, Any]) -> None:
        """Remove a link named as `link` names it; one that is not there is done."""
        await self._writer.unlink(collection, fields)

    async def find(self, collection: str, **query: str) -> Record | None:
        """One record by a single ``key=value`` (``Id``, ``EmailAddress``, ``ExternalRef``;
        ``ExternalPropertyRef`` for properties), or None (`FixfloWriter.lookup`).

        Raises:
            KeyError: the contract offers no such lookup.
        """
        if len(query) != 1:
            raise KeyError("find takes exactly one key")
        ((key, value),) = query.items()
        return await self._writer.lookup(collection, key, value)

    async def read_issues(
        self, *, since: str | None = None, status: str | None = None
    ) -> AsyncIterator[Record]:
        """Issues updated since `since`: ``GET /Issues`` lists URLs, each read in turn.

        Each issue has the shape of `read_issue`.
        """
        async for issue_id in self.issue_ids(since=since, status=status):
            yield await self.read_issue(issue_id)

    async def issue_ids(
        self, *, since: str | None = None, status: str | None = None
    ) -> AsyncIterator[str]:
        """The ids of the issues updated since `since` (``GET /Issues`` lists their URLs),
        so a caller can read each with `read_issue` and go on when one cannot be read."""
        params = ({"UpdatedSince": since} if since else {}) | ({"Status": status} if status else {})
        urls = fixflo_pages(
            self._caller, "/Issues", params, page_key="page", size_key=None, page_size=0
        )
        async for url in urls:
            yield str(url).rstrip("/").rsplit("/", 1)[-1]

    async def read_issue(self, issue_id: int | str) -> Record:
        """One issue (``GET /Issue/{Id}``) with exactly the keys of `ISSUE_FIELDS` and
        `LIFECYCLE_FIELDS` (None where Fixflo sent nothing; nested values as sent).

        Raises:
            NotFoundError: no such issue.
            ProtocolError: the answer is not an object.
        """
        path = f"/Issue/{issue_id}"
        body = await self._caller.json("GET", path)
        if not isinstance(body, Mapping):
            raise ProtocolError("the issue is not a JSON object", method="GET", path=path)
        return {name: ci_get(body, name) for name in _ISSUE_KEYS}

    async def issue_report(self, issue_id: int | str) -> bytes:
        """The issue as a PDF (``GET /Issue/{Id}/Report``)."""
        response = await self._caller.send("GET", f"/Issue/{issue_id}/Report")
        return response.content

    async def invoice(self, issue_id: int | str) -> Record | None:
        """The issue's invoice (``GET /issue/{id}/invoicedetails``), or None if it has none.

        The record is the invoice as sent, except that the base64 ``EncodedByteData`` is
        decoded into bytes under ``content`` (None without bytes) and ``Document`` names
        the file (``invoice-{InvoiceNumber}.pdf`` when Fixflo sent bytes but no name).

        Raises:
            ProtocolError: the answer is not an object, or its bytes are not base64.
        """
        path = f"/issue/{issue_id}/invoicedetails"
        try:
            body = await self._caller.json("GET", path)
        except NotFoundError:
            return None
        return decode_invoice(str(issue_id), body, path)

    async def completion_documents(self, issue_id: int | str) -> list[Attachment]:
        """The issue's completion documents (``GET /issue/{id}/completiondocs``), decoded.

        Raises:
            NotFoundError: no such issue.
            ProtocolError: the answer is not a list of documents, or one's bytes are not
                base64 (the error names the issue and the document).
        """
        path = f"/issue/{issue_id}/completiondocs"
        body = await self._caller.json("GET", path)
        return decode_completion_documents(str(issue_id), body, path)
