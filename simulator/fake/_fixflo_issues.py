"""The fake Fixflo's issue endpoints, served from lifecycle records.

A lifecycle record (design of issue 14, section 1) is a Fixflo Issue exactly as ``GET
/Issue/{Id}`` gives it plus its *parts*, each read from its own endpoint: ``FixfloProperty``,
``FixfloTenant``, ``InvoiceDetails``, ``CompletionDocs``, ``CompletionDetails`` and
``Certificates``. Given a `simulator.lifecycle.FixfloWorld`, its issues are the records, read
at each request; without one, the store's made-up issues are (no job, no parts but their
property).

Routes (under ``/api/v2``, each in the contract's casing):

- ``GET /Issues`` (URLs; ``UpdatedSince``, ``Status``, ``page``), ``/Issues/JobAwarded``,
  ``/Issues/JobCompleted`` (``Page``), ``/Issues/Closed`` (whole);
- ``/Issue/{Id}``: the record's contract Issue fields (never a part key; ``Job`` holds the
  contract's Job fields only); ``/Issue/{Id}/Report`` (a PDF); ``/Job/{id}``;
- ``/issue/{id}/invoicedetails`` (the array, ``[]`` when none); ``/issue/{id}/completiondocs``
  (Media[] without ``EncodedByteData``, which is POST only); ``/Issue/{id}/jobcompletiondetails``
  (404 when none); ``/Media/{Id}/Download`` (the bytes of any completion document or
  certificate: a one-page PDF naming it);
- ``/Property/Issues?ExternalPropertyRef=`` (IssueSummary pages, ``pg``) and
  ``/Medias/PropertyCertificate`` (a pager of the property's certificates, filtered by
  ``ExternalPropertyRef``/``PropertyId`` and ``Created.From``/``Created.To``). Fixflo's
  certificate Media show no creation time: the fake stamps each certificate privately with its
  issue's ``Job.JobCompleted`` (the issue's ``StatusChanged`` when the job has none).

`IssueRoutes.properties` and `IssueRoutes.tenants` are the records' FixfloProperty and
FixfloTenant, which the fake's ``/Property/Search``, ``/Property`` and ``/Tenant`` serve
besides its store's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.ports import Record
from simulator.fake._common import fixflo_refusal, number_page
from simulator.fake._fixflo_store import FixfloStore
from simulator.fake._pdf import PDF, pdf_document
from simulator.fake.contract import load_contract
from simulator.lifecycle.worlds import FixfloWorld

__all__ = ["PARTS", "IssueRoutes", "contract_keys", "media_pdf"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
PARTS: Final = (
    "FixfloProperty", "FixfloTenant", "InvoiceDetails", "CompletionDocs", "CompletionDetails",
    "Certificates",
)  # fmt: skip
STATUS_LISTS: Final = {"JobAwarded": "Page", "JobCompleted": "Page", "Closed": None}
_MEDIA_PARTS: Final = ("CompletionDocs", "Certificates")


@functools.cache
def contract_keys(operation: str, member: str = "") -> frozenset[str]:
    """The field names of a Fixflo operation's answer (of its object `member` if given)."""
    shape: Any = load_contract().operation("fixflo", operation).response
    if member:
        shape = shape.fields[member].shape
    return frozenset(getattr(shape, "fields", None) or ())


def _only(record: Mapping[str, Any], keys: frozenset[str]) -> Record:
    return {key: value for key, value in record.items() if key in keys}


def served_issue(record: Mapping[str, Any]) -> Record:
    """The Issue ``GET /Issue/{Id}`` answers for a record: its contract fields, no part."""
    issue = _only(record, contract_keys("issue_get"))
    job = issue.get("Job")
    if isinstance(job, Mapping):
        issue["Job"] = _only(job, contract_keys("issue_get", "Job"))
    return issue


def served_media(media: Mapping[str, Any]) -> Record:
    """A Media as a GET answers it: its contract fields without the POST-only bytes."""
    return _only(media, contract_keys("completion_doc_get") - {"EncodedByteData"})


def media_pdf(media: Mapping[str, Any]) -> bytes:
    """The bytes ``GET /Media/{Id}/Download`` serves for `media` (a PDF naming it)."""
    return pdf_document(
        [str(media.get("ShortDescription")), f"Fixflo media {media.get('Id')}",
         str(media.get("MediaTypeDescription") or "")]
    )  # fmt: skip


def instant(text: Any) -> datetime | None:
    """An ISO 8601 date-time as an aware instant (UTC when it names no zone), or None."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class IssueRoutes:
    """The issue endpoints of one fake Fixflo.

    Args:
        store: the fake's records (its made-up issues are served when `world` is None).
        world: a lifecycle Fixflo world to serve issues from, read at each request.
        page_size: items on a page of the paged lists.
    """

    def __init__(self, store: FixfloStore, world: FixfloWorld | None, page_size: int) -> None:
        self.store, self.world, self.page_size = store, world, page_size

    def routes(self, guard: Callable[[Handler], Handler]) -> list[Route]:
        """The routes, each behind `guard` (the bearer token check)."""
        pairs: list[tuple[str, Handler]] = [
            ("/Issues", self._list),
            *((f"/Issues/{status}", self._list_status(status)) for status in STATUS_LISTS),
            ("/Issue/{id}", self._issue),
            ("/Issue/{id}/Report", self._report),
            ("/Job/{id}", self._job),
            ("/Issue/{id}/jobcompletiondetails", self._completion),
            ("/issue/{id}/invoicedetails", self._invoice),
            ("/issue/{id}/completiondocs", self._documents),
            ("/Media/{Id}/Download", self._download),
            ("/Property/Issues", self._property_issues),
            ("/Medias/PropertyCertificate", self._certificates),
        ]
        return [Route(path, guard(handler), methods=["GET"]) for path, handler in pairs]

    # -- the records ----------------------------------------------------------------------

    def records(self) -> dict[str, Record]:
        """Every lifecycle record by issue id (world issues as held, parts included)."""
        if self.world is None:
            return {str(issue["Id"]): issue for issue in self.store.issues.values()}
        return {str(key): issue for key, issue in self.world.issues.items()}

    def issues(self) -> dict[str, Record]:
        """Every issue by id as ``GET /Issue/{Id}`` answers it now."""
        return {key: served_issue(record) for key, record in self.records().items()}

    def properties(self) -> list[Record]:
        """The records' FixfloProperty, each once (by id), Property fields only."""
        return _distinct(self._part_objects("FixfloProperty"), "id", contract_keys("property_get"))

    def tenants(self) -> list[Record]:
        """The records' FixfloTenant, each once (by id), Tenant fields only."""
        return _distinct(self._part_objects("FixfloTenant"), "id", contract_keys("tenant_get"))

    def _part_objects(self, part: str) -> Iterator[Mapping[str, Any]]:
        for record in self.records().values():
            value = record.get(part)
            if isinstance(value, Mapping):
                yield value

    def _record(self, request: Request) -> Record | None:
        return self.records().get(str(request.path_params["id"]))

    # -- issues ---------------------------------------------------------------------------

    async def _list(self, request: Request) -> Response:
        return self._urls(request, request.query_params.get("Status"), "/Issues", "page")

    def _list_status(self, status: str) -> Handler:
        """``GET /Issues/{status}``, one route for each list the contract has (no other)."""

        async def listed(request: Request) -> Response:
            return self._urls(request, status, f"/Issues/{status}", STATUS_LISTS[status])

        return listed

    def _urls(self, request: Request, status: str | None, tail: str, page: str | None) -> Response:
        since = instant(request.query_params.get("UpdatedSince") or "")
        base = str(request.url.replace(query="")).removesuffix(tail)
        urls = [
            f"{base}/Issue/{quote(issue_id, safe='')}"
            for issue_id, issue in self.issues().items()
            if _changed_since(issue, since) and status in (None, issue.get("Status"))
        ]
        if page is None:
            return _whole(urls)
        return number_page(request, urls, page_key=page, size_key=None, default_size=self.page_size)

    async def _issue(self, request: Request) -> Response:
        record = self._record(request)
        return JSONResponse(served_issue(record)) if record else _missing("No issue found")

    async def _report(self, request: Request) -> Response:
        record = self._record(request)
        if record is None:
            return _missing("No issue found")
        if self.world is None:
            return Response(PDF, media_type="application/pdf")
        return Response(pdf_document(_report_lines(record)), media_type="application/pdf")

    async def _job(self, request: Request) -> Response:
        wanted = str(request.path_params["id"])
        for issue in self.issues().values():
            job = issue.get("Job")
            if isinstance(job, Mapping) and str(job.get("id")) == wanted:
                return JSONResponse(dict(job))
        return _missing("No job found")

    # -- parts ----------------------------------------------------------------------------

    async def _completion(self, request: Request) -> Response:
        record = self._record(request)
        details = None if record is None else record.get("CompletionDetails")
        if not isinstance(details, Mapping):
            return _missing("No job completion details found")
        return JSONResponse(_only(details, contract_keys("job_completion_details_get")))

    async def _invoice(self, request: Request) -> Response:
        record = self._record(request)
        if record is None:
            return _missing("No issue found")
        return JSONResponse(list(record.get("InvoiceDetails") or []))

    async def _documents(self, request: Request) -> Response:
        record = self._record(request)
        if record is None:
            return _missing("No issue found")
        return JSONResponse([served_media(m) for m in _media(record, "CompletionDocs")])

    async def _download(self, request: Request) -> Response:
        wanted = str(request.path_params["Id"])
        for record in self.records().values():
            for part in _MEDIA_PARTS:
                for media in _media(record, part):
                    if str(media.get("Id")) == wanted:
                        kind = str(media.get("ContentType") or "application/pdf")
                        return Response(media_pdf(media), media_type=kind)
        return _missing("No media found")

    async def _property_issues(self, request: Request) -> Response:
        ref = request.query_params.get("ExternalPropertyRef")
        if not ref:
            return fixflo_refusal(400, "ExternalPropertyRef is required")
        items = [
            _summary(record) for record in self.records().values() if _property_ref(record) == ref
        ]
        return number_page(
            request, items, page_key="pg", size_key=None, default_size=self.page_size
        )

    async def _certificates(self, request: Request) -> Response:
        query = request.query_params
        ref, prop = query.get("ExternalPropertyRef"), query.get("PropertyId")
        low, high = instant(query.get("Created.From") or ""), instant(query.get("Created.To") or "")
        items = [
            served_media(media)
            for record in self.records().values()
            if (ref is None or _property_ref(record) == ref)
            and (prop is None or str(_property(record).get("id")) == prop)
            and _within(_certified_at(record), low, high)
            for media in _media(record, "Certificates")
        ]
        return _whole(items)


def _media(record: Mapping[str, Any], part: str) -> Iterable[Mapping[str, Any]]:
    return [m for m in record.get(part) or [] if isinstance(m, Mapping)]


def _property(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return _object(record, "FixfloProperty")


def _property_ref(record: Mapping[str, Any]) -> Any:
    return _property(record).get("ExternalPropertyRef")


def _certified_at(record: Mapping[str, Any]) -> datetime | None:
    job = record.get("Job")
    done = job.get("JobCompleted") if isinstance(job, Mapping) else None
    return instant(done or record.get("StatusChanged") or "")


def _within(moment: datetime | None, low: datetime | None, high: datetime | None) -> bool:
    if moment is None:
        return low is None and high is None
    return (low is None or moment >= low) and (high is None or moment <= high)


def _changed_since(issue: Mapping[str, Any], since: datetime | None) -> bool:
    changed = instant(issue.get("StatusChanged") or "")
    return since is None or (changed is not None and changed >= since)


def _summary(record: Mapping[str, Any]) -> Record:
    """The IssueSummary of a record (``StatusId``: the status's place in Fixflo's list)."""
    order = _status_order()
    status = record.get("Status")
    return {
        "id": str(record.get("Id")),
        "IssueId": str(record.get("Id")),
        "StatusId": order.index(status) if status in order else None,
        "Status": status,
        "StatusChanged": record.get("StatusChanged"),
        "Created": record.get("Created"),
        "IssueTitle": record.get("Title"),
        "Address": record.get("Address"),
    }


@functools.cache
def _status_order() -> tuple[Any, ...]:
    """Fixflo's issue statuses in the contract's order."""
    issue: Any = load_contract().operation("fixflo", "issue_get").response
    return tuple(getattr(issue.fields["Status"].shape, "enum", None) or ())


def _distinct(records: Iterable[Mapping[str, Any]], key: str, keys: frozenset[str]) -> list[Record]:
    seen: dict[str, Record] = {}
    for record in records:
        seen.setdefault(str(record.get(key)), _only(record, keys))
    return list(seen.values())


def _report_lines(issue: Mapping[str, Any]) -> list[str]:
    job, address = _object(issue, "Job"), _object(issue, "Address")
    contractor = _object(job, "Contractor")
    return [
        f"Fixflo issue {issue.get('Id')}",
        f"Title: {issue.get('Title')}",
        f"Status: {issue.get('Status')} since {issue.get('StatusChanged')}",
        f"Address: {address.get('AddressLine1')}, {address.get('PostCode')}",
        f"Job: {job.get('id')} by {contractor.get('DisplayName') or 'the landlord'}",
    ]


def _object(record: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """`record[key]` when it is an object, else an empty one."""
    value = record.get(key)
    return value if isinstance(value, Mapping) else {}


def _whole(items: list[Any]) -> JSONResponse:
    """A PrevNextPager of every item, for the lists that document no page parameter."""
    body = {"Items": items, "TotalItems": len(items), "TotalPages": 1, "NextURL": None,
            "PreviousURL": None}  # fmt: skip
    return JSONResponse(body)


def _missing(message: str) -> JSONResponse:
    return fixflo_refusal(404, message)
