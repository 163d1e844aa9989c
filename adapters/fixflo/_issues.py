"""A Fixflo issue as the lifecycle reads it: the Issue, projected to the declared fields,
plus the *parts* it asks for, each read from its own documented endpoint.

`ISSUE_PARTS` is the table of parts (part -> the ``read:`` text a ruleset's source
``fixflo.issues`` gives it); `PART_NEEDS` the Issue fields each part's read uses.

- ``FixfloProperty`` (gap.issue-property): ``GET /Property/Search?Keyword={Address.PostCode}``,
  then ``GET /Property/Issues?ExternalPropertyRef=`` of each candidate; None when none
  confirms.
- ``FixfloTenant``: ``GET /Tenant?Id={TenantId}``; None without a TenantId or on a 404.
- ``InvoiceDetails``: ``GET /issue/{issueid}/invoicedetails`` (an array); ``[]`` on a 404.
- ``CompletionDocs``: ``GET /issue/{issueid}/completiondocs`` (Media[]); a 404 is an error
  (the issue was just read: its documents cannot be told apart from none).
- ``CompletionDetails``: ``GET /Issue/{issueid}/jobcompletiondetails``; None on a 404.
- ``Certificates`` (gap.completion-certificates): ``GET /Medias/PropertyCertificate?
  ExternalPropertyRef=&Created.From={Job.CreatedDate}&Created.To={StatusChanged}`` (a pager
  of Media) of the FixfloProperty; ``[]`` without a property or a job.

The FixfloProperty candidates are the properties whose ``Address.AddressLine1`` and
``PostCode`` equal the issue's (case and spaces ignored); the one whose issue list holds the
issue's ``Id`` is the issue's property. A candidate without an ``ExternalPropertyRef`` cannot
be confirmed (the list needs one). Media never carry ``EncodedByteData`` (POST only): their
bytes are ``GET /Media/{Id}/Download`` (`adapters.fixflo.FixfloDocuments`).

A part that is not the documented shape raises `ProtocolError`; any failure of a part's read
is re-raised as the same class with a message naming the issue and the part (its endpoint is
the error's method and path).
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from adapters._paging import fixflo_pages
from adapters._records import ci_get
from adapters.errors import AdapterError, NotFoundError, ProtocolError
from adapters.http import Caller
from engine.ports import Record

__all__ = [
    "ISSUE_PARTS",
    "PART_NEEDS",
    "FieldTree",
    "PartReader",
    "check_parts",
    "named_error",
]

ISSUE_PARTS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "FixfloProperty": "GET /Property/Issues?ExternalPropertyRef=",
        "FixfloTenant": "GET /Tenant?Id=",
        "InvoiceDetails": "GET /issue/{issueid}/invoicedetails",
        "CompletionDocs": "GET /issue/{issueid}/completiondocs",
        "CompletionDetails": "GET /Issue/{issueid}/jobcompletiondetails",
        "Certificates": "GET /Medias/PropertyCertificate",
    }
)
_ADDRESS: Final = ("Id", "Address.AddressLine1", "Address.PostCode")
PART_NEEDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "FixfloProperty": _ADDRESS,
        "FixfloTenant": ("TenantId",),
        "InvoiceDetails": ("Id",),
        "CompletionDocs": ("Id",),
        "CompletionDetails": ("Id",),
        "Certificates": (*_ADDRESS, "Job.CreatedDate", "StatusChanged"),
    }
)
_MEDIA_BYTES: Final = "encodedbytedata"


def check_parts(parts: Iterable[str]) -> frozenset[str]:
    """`parts` as a set, each one of `ISSUE_PARTS`.

    Raises:
        KeyError: a part the adapter does not read (the message lists the known ones and
            the closest).
    """
    asked = frozenset(parts)
    for part in sorted(asked - ISSUE_PARTS.keys()):
        close = difflib.get_close_matches(part, ISSUE_PARTS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(ISSUE_PARTS)
        raise KeyError(f"the Fixflo adapter reads no issue part {part!r} (known: {known}){hint}")
    return asked


def named_error(exc: AdapterError, issue_id: str, part: str) -> AdapterError:
    """`exc` again (same class, method, path, status), its message naming issue and part."""
    named = copy.copy(exc)
    named.message = f"Fixflo issue {issue_id}, part {part}: {exc.message}"
    named.args = (str(named),)
    return named


@dataclass
class FieldTree:
    """Declared field paths (``Job.Contractor.Id``, ``Quotes[].id``) as a tree.

    A name with no children is taken whole. A list met where a name has children has each
    item projected; ``[]`` on a name also requires a list there (compiled source fields
    drop the ``[]``, so either spelling reads the same record).
    """

    children: dict[str, FieldTree] = field(default_factory=dict)
    many: bool = False

    @classmethod
    def of(cls, paths: Iterable[str]) -> FieldTree:
        """The tree of `paths`; a name declared whole stays whole whatever else is declared."""
        root = cls()
        whole: set[tuple[str, ...]] = set()
        for path in paths:
            node, trail = root, tuple[str, ...]()
            for step in str(path).split("."):
                name, many = step.removesuffix("[]"), step.endswith("[]")
                trail = (*trail, name)
                node = node.children.setdefault(name, cls())
                node.many = node.many or many
            whole.add(trail)
        _prune(root, whole, ())
        return root

    def names(self) -> frozenset[str]:
        """The top-level names."""
        return frozenset(self.children)

    def project(self, body: Mapping[str, Any], where: str) -> Record:
        """`body` with exactly the declared keys (None where it has none), recursively.

        Raises:
            ValueError: a declared object or list is something else (the message names the
                field by its path from `where`).
        """
        return {
            name: child.take(ci_get(body, name), f"{where}.{name}")
            for name, child in self.children.items()
        }

    def take(self, value: Any, where: str) -> Any:
        """`value` projected to this node's children (whole when it has none)."""
        if value is None or (not self.children and not self.many):
            return copy.deepcopy(value)
        if self.many and not isinstance(value, list):
            raise ValueError(f"{where} is not a list")
        if isinstance(value, list):  # marked ``[]``, or a compiled path (``Quotes.id``)
            item = FieldTree(self.children)
            return [item.take(one, f"{where}[{n}]") for n, one in enumerate(value)]
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} is not an object")
        return self.project(value, where)


def _prune(node: FieldTree, whole: set[tuple[str, ...]], trail: tuple[str, ...]) -> None:
    """Cut the children of every name declared whole."""
    for name, child in node.children.items():
        if (*trail, name) in whole:
            child.children = {}
        else:
            _prune(child, whole, (*trail, name))


class PartReader:
    """Reads the parts of one issue through `caller` (see the module docstring)."""

    def __init__(self, caller: Caller, page_size: int) -> None:
        self._caller, self._page_size = caller, page_size
        self._readers: dict[str, Callable[[Mapping[str, Any], dict[str, Any]], Awaitable[Any]]]
        self._readers = {
            "FixfloProperty": self._property,
            "FixfloTenant": self._tenant,
            "InvoiceDetails": self._invoices,
            "CompletionDocs": self._completion_docs,
            "CompletionDetails": self._completion_details,
            "Certificates": self._certificates,
        }

    async def read(self, issue: Mapping[str, Any], parts: frozenset[str]) -> dict[str, Any]:
        """Each part of `parts` for the issue `issue` (its fields as `PART_NEEDS` names)."""
        got: dict[str, Any] = {}
        for part in ISSUE_PARTS:  # the table's order: FixfloProperty before Certificates
            if part in parts:
                await self._part(issue, part, got)
        return {part: got[part] for part in ISSUE_PARTS if part in parts}

    async def _part(self, issue: Mapping[str, Any], part: str, got: dict[str, Any]) -> Any:
        if part not in got:
            issue_id = str(ci_get(issue, "Id"))
            try:
                got[part] = await self._readers[part](issue, got)
            except AdapterError as exc:
                raise named_error(exc, issue_id, part) from exc
        return got[part]

    # -- each part ------------------------------------------------------------------------

    async def _tenant(self, issue: Mapping[str, Any], got: dict[str, Any]) -> Record | None:
        tenant_id = ci_get(issue, "TenantId")
        if tenant_id in (None, ""):
            return None
        try:
            body = await self._caller.json("GET", "/Tenant", params={"Id": str(tenant_id)})
        except NotFoundError:
            return None
        return _object(body, "the tenant", "/Tenant")

    async def _invoices(self, issue: Mapping[str, Any], got: dict[str, Any]) -> list[Record]:
        path = f"/issue/{_id(issue)}/invoicedetails"
        try:
            body = await self._caller.json("GET", path)
        except NotFoundError:
            return []
        return _objects(body, "the invoice details", path)

    async def _completion_docs(self, issue: Mapping[str, Any], got: dict[str, Any]) -> list[Record]:
        path = f"/issue/{_id(issue)}/completiondocs"
        return _media(await self._caller.json("GET", path), "the completion documents", path)

    async def _completion_details(
        self, issue: Mapping[str, Any], got: dict[str, Any]
    ) -> Record | None:
        path = f"/Issue/{_id(issue)}/jobcompletiondetails"
        try:
            body = await self._caller.json("GET", path)
        except NotFoundError:
            return None
        return _object(body, "the job completion details", path)

    async def _property(self, issue: Mapping[str, Any], got: dict[str, Any]) -> Record | None:
        address = ci_get(issue, "Address")
        line, postcode = (
            (ci_get(address, "AddressLine1"), ci_get(address, "PostCode"))
            if isinstance(address, Mapping)
            else (None, None)
        )
        if not line or not postcode:
            return None
        for candidate in await self._candidates(str(line), str(postcode)):
            ref = ci_get(candidate, "ExternalPropertyRef")
            if ref and await self._holds(str(ref), _id(issue)):
                return candidate
        return None

    async def _candidates(self, line: str, postcode: str) -> list[Record]:
        path, wanted = "/Property/Search", (_plain(line), _plain(postcode))
        found: list[Record] = []
        pages = fixflo_pages(
            self._caller, path, {"Keyword": postcode}, page_key="pg", size_key="pgsz",
            page_size=self._page_size,
        )  # fmt: skip
        async for item in pages:
            prop = _object(item, "a property found by postcode", path)
            address = ci_get(prop, "Address")
            if isinstance(address, Mapping) and wanted == (
                _plain(ci_get(address, "AddressLine1")),
                _plain(ci_get(address, "PostCode")),
            ):
                found.append(prop)
        return found

    async def _holds(self, ref: str, issue_id: str) -> bool:
        """Whether the property `ref`'s issue list holds the issue."""
        path = "/Property/Issues"
        pages = fixflo_pages(
            self._caller, path, {"ExternalPropertyRef": ref}, page_key="pg", size_key=None,
            page_size=0,
        )  # fmt: skip
        async for item in pages:
            summary = _object(item, "an issue summary", path)
            if issue_id in (str(ci_get(summary, "id")), str(ci_get(summary, "IssueId"))):
                return True
        return False

    async def _certificates(self, issue: Mapping[str, Any], got: dict[str, Any]) -> list[Record]:
        prop = await self._part(issue, "FixfloProperty", got)
        job = ci_get(issue, "Job")
        created = ci_get(job, "CreatedDate") if isinstance(job, Mapping) else None
        ref = ci_get(prop, "ExternalPropertyRef") if isinstance(prop, Mapping) else None
        if not ref or not created:
            return []
        path = "/Medias/PropertyCertificate"
        query = {"ExternalPropertyRef": str(ref), "Created.From": str(created)}
        changed = ci_get(issue, "StatusChanged")
        query |= {"Created.To": str(changed)} if changed else {}
        items = fixflo_pages(self._caller, path, query, page_key=None, size_key=None, page_size=0)
        return _media([item async for item in items], "the property's certificates", path)


def _id(issue: Mapping[str, Any]) -> str:
    return str(ci_get(issue, "Id"))


def _plain(text: Any) -> str:
    """`text` compared as an address part: case and spaces ignored."""
    return "".join(str(text or "").split()).casefold()


def _object(body: Any, what: str, path: str) -> Record:
    if not isinstance(body, Mapping):
        raise ProtocolError(f"{what} is not a JSON object", method="GET", path=path)
    return dict(body)


def _objects(body: Any, what: str, path: str) -> list[Record]:
    if not isinstance(body, list):
        raise ProtocolError(f"{what} are not a JSON array", method="GET", path=path)
    return [_object(item, f"item {n} of {what}", path) for n, item in enumerate(body, 1)]


def _media(body: Any, what: str, path: str) -> list[Record]:
    """Media items, without any ``EncodedByteData`` (their bytes are downloaded by id)."""
    return [
        {key: value for key, value in media.items() if str(key).casefold() != _MEDIA_BYTES}
        for media in _objects(body, what, path)
    ]
