"""The Fixflo adapter: reads the snapshot collections (`adapters.fixflo._reads`), issues and
their files; writes on the contract (`adapters.fixflo._writes`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, Final

from adapters._paging import fixflo_pages
from adapters._records import ci_get, normalise
from adapters.errors import ConfigError, ProtocolError
from adapters.fixflo._issues import PART_NEEDS, FieldTree, PartReader, check_parts
from adapters.fixflo._reads import (
    COLLECTIONS,
    ListEndpoint,
    RefMaps,
    landlord_joins,
    listing,
    tenant_joins,
)
from adapters.fixflo._writes import FixfloWriter
from adapters.http import Caller, HttpAdapter
from engine.ports import Record

__all__ = ["COLLECTIONS", "REFERENCE_LOOKUPS", "FixfloAdapter", "ListEndpoint", "PartsFor"]

PartsFor = Callable[[Any], Iterable[str]]
"""The parts to read for an issue, given its ``Status`` (`FixfloAdapter.read_issue`)."""

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

    Args:
        client: an ``httpx.AsyncClient`` with Fixflo's base URL and `FixfloAuth`.
        issue_fields: the fields a ruleset's source ``fixflo.issues`` declares (``Id``,
            ``Job.Contractor.Id``, ``Quotes[].id``, ``FixfloProperty.ExternalPropertyRef``...):
            an issue read holds exactly these (parts included). None: the Issue as sent.
        options: as `adapters.http.HttpAdapter` (retry, limiter, page_size...).

    Example::

        async with httpx.AsyncClient(base_url=url, auth=FixfloAuth(token)) as client:
            fixflo = FixfloAdapter(client, limiter=make_limiter(500))
            await fixflo.upsert("landlords", {"ExternalRef": "200001", "Surname": "Ng"})
    """

    system = "fixflo"

    def __init__(
        self, client: Any, *, issue_fields: Iterable[str] | None = None, **options: Any
    ) -> None:
        super().__init__(client, **options)
        self._refs = RefMaps(self._caller, self.page_size)
        self._writer = FixfloWriter(self._caller)
        self._parts = PartReader(self._caller, self.page_size)
        self.issue_fields = None if issue_fields is None else tuple(issue_fields)
        self._tree = None if issue_fields is None else FieldTree.of(self.issue_fields or ())

    @property
    def caller(self) -> Caller:
        """The `Caller` its requests go through (client, limiter, retries, bounds), shared
        by the calls made beside the adapter (`adapters.fixflo.FixfloSubscriptions`)."""
        return self._caller

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
        self,
        *,
        since: str | None = None,
        status: str | None = None,
        parts: Iterable[str] = frozenset(),
    ) -> AsyncIterator[Record]:
        """Issues updated since `since`: ``GET /Issues`` lists URLs, each read in turn.

        Each issue has the shape of `read_issue` with `parts`.
        """
        async for issue_id in self.issue_ids(since=since, status=status):
            yield await self.read_issue(issue_id, frozenset(parts))

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

    async def read_issue(
        self,
        issue_id: int | str,
        parts: frozenset[str] = frozenset(),
        *,
        parts_for: PartsFor | None = None,
    ) -> Record:
        """One issue (``GET /Issue/{Id}``) with the parts asked for (`adapters.fixflo.
        ISSUE_PARTS`), projected to `issue_fields` (None where Fixflo sent nothing).

        `parts_for(status)` names more parts once the Issue's ``Status`` is known (the
        runner reads the parts the lifecycle uses at that status). A part not asked is
        absent from the record; one asked without declared fields is whole.

        Example::

            issue = await fixflo.read_issue("1042", parts_for=lifecycle.parts_read)

        Raises:
            KeyError: a part the adapter does not read.
            NotFoundError: no such issue.
            ProtocolError: the Issue or a part is not the documented shape (the message
                names the issue, and the part or field).
            adapters.errors.AdapterError: a part could not be read (message names the part).
        """
        body = await self._issue_body(str(issue_id))
        asked = check_parts(parts)
        if parts_for is not None:
            asked |= check_parts(parts_for(ci_get(body, "Status")))
        return self._projected(str(issue_id), body, await self._parts.read(body, asked))

    async def read_parts(self, issue: Mapping[str, Any], parts: Iterable[str]) -> Record:
        """`issue` (a record `read_issue` gave) with `parts` read and added, projected.

        The record must hold the Issue fields the parts read (`PART_NEEDS`): declare them
        in the ruleset's ``fixflo.issues`` fields.

        Raises:
            ConfigError: the record lacks a field a part reads (the message names both).
            KeyError, ProtocolError, adapters.errors.AdapterError: as `read_issue`.
        """
        asked = check_parts(parts)
        for part in sorted(asked):
            _require(issue, part)
        read = await self._parts.read(issue, asked)
        issue_id = str(ci_get(issue, "Id"))
        return {**issue, **self._projected(issue_id, {}, read, only_parts=True)}

    async def _issue_body(self, issue_id: str) -> Mapping[str, Any]:
        path = f"/Issue/{issue_id}"
        body = await self._caller.json("GET", path)
        if not isinstance(body, Mapping):
            raise ProtocolError(
                f"Fixflo issue {issue_id} is not a JSON object", method="GET", path=path
            )
        return body

    def _projected(
        self,
        issue_id: str,
        body: Mapping[str, Any],
        parts: Mapping[str, Any],
        *,
        only_parts: bool = False,
    ) -> Record:
        """The Issue `body` and its `parts` as one record of the declared fields."""
        raw = {**body, **parts}
        if self._tree is None:
            return dict(parts) if only_parts else raw
        wanted = set(parts) if only_parts else set(parts) | (self._tree.names() - PART_NEEDS.keys())
        tree = FieldTree({k: v for k, v in self._tree.children.items() if k in wanted})
        tree.children |= {part: FieldTree() for part in parts if part not in tree.children}
        try:
            return tree.project(raw, f"issue {issue_id}")
        except ValueError as exc:
            raise ProtocolError(
                f"Fixflo issue {issue_id}: {exc}", method="GET", path=f"/Issue/{issue_id}"
            ) from exc

    async def issue_report(self, issue_id: int | str) -> bytes:
        """The issue as a PDF (``GET /Issue/{Id}/Report``)."""
        response = await self._caller.send("GET", f"/Issue/{issue_id}/Report")
        return response.content

    async def media(self, issue_id: int | str, part: str) -> list[Record]:
        """The Media of the issue's part `part` (``CompletionDocs`` or ``Certificates``),
        as sent (no bytes; the Issue is read first when the part needs it).

        Raises:
            KeyError: `part` is not a part holding Media.
            adapters.errors.AdapterError: as `read_issue`.
        """
        if part not in ("CompletionDocs", "Certificates"):
            raise KeyError(f"issue part {part!r} holds no Media (CompletionDocs, Certificates)")
        issue_id = str(issue_id)
        issue = {"Id": issue_id} if part == "CompletionDocs" else await self._issue_body(issue_id)
        media: list[Record] = (await self._parts.read(issue, frozenset({part})))[part]
        return media

    async def download(self, media_id: str) -> bytes:
        """The bytes of a Media (``GET /Media/{Id}/Download``), as sent."""
        response = await self._caller.send("GET", f"/Media/{media_id}/Download")
        return response.content


def _require(issue: Mapping[str, Any], part: str) -> None:
    """Raise ConfigError when `issue` lacks a field `part` reads."""
    for path in PART_NEEDS[part]:
        value: Any = issue
        for step in path.split("."):
            if value is None:
                break  # an absent object: the field is known to be empty
            if not isinstance(value, Mapping) or ci_get(value, step, _ABSENT) is _ABSENT:
                raise ConfigError(
                    f"issue part {part} reads the Issue field {path}, which the issue record "
                    f"does not hold; declare {path} in the fixflo.issues fields"
                )
            value = ci_get(value, step)


_ABSENT: Final = object()
