"""The Fixflo adapter: reads the snapshot collections, issues and their files, upserts by
reference."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from adapters._paging import fixflo_pages
from adapters._records import ci_get, listed, normalise
from adapters.errors import EnvelopeError, NotFoundError, ProtocolError, redact
from adapters.fixflo._files import decode_completion_documents, decode_invoice
from adapters.http import HttpAdapter, decode_json
from engine.ports import Attachment, Record

__all__ = [
    "COLLECTIONS",
    "ISSUE_FIELDS",
    "LIFECYCLE_FIELDS",
    "REFERENCE_LOOKUPS",
    "FixfloAdapter",
    "ListEndpoint",
]


@dataclass(frozen=True, slots=True)
class ListEndpoint:
    """Where a collection is listed, and how that endpoint names its paging parameters.

    `confirmed` is False for endpoints API_NOTES.md does not document: a 404 there reads as
    an empty collection instead of failing the snapshot.
    """

    path: str
    page_key: str
    size_key: str | None = None
    since_key: str | None = "UpdatedSince"
    confirmed: bool = True


COLLECTIONS: Final[dict[str, ListEndpoint]] = {
    "properties": ListEndpoint("/Property/Search", "pg", "pgsz", since_key=None),
    "landlords": ListEndpoint("/Landlords", "pg"),
    "tenants": ListEndpoint("/Tenants", "pg"),
    "contractors": ListEndpoint("/Contractors", "Pg"),
    "landlord_properties": ListEndpoint("/LandlordPropertyJoins", "page", confirmed=False),
    "tenant_properties": ListEndpoint("/TenantPropertyLinks", "Page", confirmed=False),
}
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
_SETTINGS_PATH: Final = "/AgencySettings"  # unconfirmed: the API does not publish settings
# The collections Fixflo's contract documents a lookup by external reference for
# (contracts/fixflo.md section 9: GET /Property?ExternalPropertyRef=, GET /Tenant?ExternalRef=;
# GET /Landlord documents no parameters, GET /Contractor needs a path id).
REFERENCE_LOOKUPS: Final = frozenset({"properties", "tenants"})
_WRITES: Final = {
    "properties": ("/Property", "ExternalPropertyRef"),
    "landlords": ("/Landlord", "ExternalRef"),
    "tenants": ("/Tenant", "ExternalRef"),
    "contractors": ("/Contractor", "ExternalRef"),
}


class FixfloAdapter(HttpAdapter):
    """Fixflo through a client the caller made (base URL and `FixfloAuth` set on it).

    Implements `engine.ports.RecordSource`, `RecordTarget` and `IssueSource`. Writes are
    upserts by external reference, so retrying one after a lost answer lands it once.

    Example::

        async with httpx.AsyncClient(base_url=url, auth=FixfloAuth(token)) as client:
            fixflo = FixfloAdapter(client, limiter=make_limiter(500))
            await fixflo.upsert("landlords", {"ExternalRef": "200001", "Surname": "Ng"})
    """

    system = "fixflo"

    def collections(self) -> tuple[str, ...]:
        """The collections of a Fixflo snapshot."""
        return (*COLLECTIONS, "agency_settings")

    async def read(self, collection: str, *, since: str | None = None) -> AsyncIterator[Record]:
        """Every record of `collection` (changed since `since` where the API can filter);
        items that are not usable records go to `rejected` (`adapters._records.listed`)."""
        if collection == "agency_settings":
            async for record in self._settings():
                yield record
            return
        endpoint = COLLECTIONS[collection]
        params = {endpoint.since_key: since} if since and endpoint.since_key else {}
        items = fixflo_pages(
            self._caller,
            endpoint.path,
            params,
            page_key=endpoint.page_key,
            size_key=endpoint.size_key,
            page_size=self.page_size,
        )
        where, rejected = f"GET {endpoint.path}#Items", self.rejected
        try:
            async for record in listed("fixflo", collection, items, where=where, rejected=rejected):
                yield record
        except NotFoundError:
            if endpoint.confirmed:
                raise

    async def _settings(self) -> AsyncIterator[Record]:
        try:
            body = await self._caller.json("GET", _SETTINGS_PATH)
        except NotFoundError:
            return
        if isinstance(body, Mapping):
            yield normalise("fixflo", "agency_settings", body)

    async def upsert(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Create or update by external reference; returns the stored entity.

        Raises:
            EnvelopeError: Fixflo answered 200 with Errors.
        """
        path, ref_key = _WRITES[collection]
        has_ref = bool(ci_get(fields, ref_key)) or bool(ci_get(fields, "Id"))
        body = await self._write(path, dict(fields), idempotent=has_ref)
        entity = ci_get(body, "Entity", body)
        return normalise("fixflo", collection, entity) if isinstance(entity, Mapping) else {}

    async def archive(self, collection: str, fields: Mapping[str, Any]) -> Record:
        """Archive by setting ``IsDeleted`` (an upsert, so repeating it is harmless)."""
        return await self.upsert(collection, {**fields, "IsDeleted": True})

    async def link(self, collection: str, fields: Mapping[str, Any]) -> None:
        """Join a landlord or a tenant to a property by their external references."""
        if collection == "landlord_properties":
            await self._write("/LandlordPropertyJoin", dict(fields))
            return
        if collection != "tenant_properties":
            raise ValueError(f"no links in {collection!r}")
        tenant = await self.find("tenants", ExternalRef=str(ci_get(fields, "TenantExternalRef")))
        if tenant is None:
            ref = ci_get(fields, "TenantExternalRef")
            raise NotFoundError(
                f"no tenant with ExternalRef {ref}", method="GET", path="/Tenant", status=404
            )
        link = {
            "PropertyExternalRef": ci_get(fields, "PropertyExternalRef"),
            "LinkType": ci_get(fields, "LinkType") or "Tenant",
        }
        await self._write(f"/Tenant/{tenant['Id']}/Property", link)

    async def find(self, collection: str, **query: str) -> Record | None:
        """One record by ``Id``, ``EmailAddress`` or ``ExternalRef`` (``ExternalPropertyRef``
        for properties), or None.

        The record must carry every value asked for: an answer that does not (an API that
        ignored the parameter and sent some other record) is no record, never a match.
        ``GET /Property?ExternalPropertyRef=`` and ``GET /Tenant?ExternalRef=`` are in
        Fixflo's contract; ``GET /Landlord`` documents no parameters (contracts/fixflo.md
        section 9), which this check makes safe to ask.
        """
        path = {"landlords": "/Landlord", "tenants": "/Tenant", "properties": "/Property"}
        try:
            body = await self._caller.json("GET", path[collection], params=query)
        except NotFoundError:
            return None
        if not isinstance(body, Mapping) or not _carries(body, query):
            return None
        return normalise("fixflo", collection, body)

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

    async def _write(self, path: str, payload: dict[str, Any], *, idempotent: bool = True) -> Any:
        response = await self._caller.send("POST", path, json=payload, idempotent=idempotent)
        body = decode_json(response, path)
        errors = ci_get(body, "Errors") if isinstance(body, Mapping) else None
        if errors:
            excerpt = redact(str(errors), self._caller.secrets)
            raise EnvelopeError(
                "Fixflo answered 200 but refused the write",
                method="POST",
                path=path,
                status=response.status_code,
                excerpt=excerpt,
            )
        if not isinstance(body, Mapping):
            raise ProtocolError("the answer is not an envelope", method="POST", path=path)
        return body


def _carries(record: Mapping[str, Any], query: Mapping[str, str]) -> bool:
    """Whether `record` holds each asked value (keys case-insensitive; ``Id`` may be
    ``id``)."""
    return all(
        str(ci_get(record, key) or "").casefold() == value.casefold()
        for key, value in query.items()
    )
