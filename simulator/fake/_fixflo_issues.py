"""The fake Fixflo's issue endpoints, served from its made-up issues or a lifecycle world.

Given a `simulator.lifecycle.FixfloWorld`, every issue, job, invoice and completion
document comes from the world as it is at the time of the request (ids are the world's,
such as ``I1``; a job's ``Id`` is its ``Job.Id``). Without one, the store's made-up issues
are served, which have no job, invoice nor documents.

Routes (under ``/api/v2``): ``GET /Issues`` (URLs, ``UpdatedSince``, ``Status``, ``page``),
``/Issues/JobAwarded|JobCompleted|Closed``, ``/Issue/{Id}``, ``/Issue/{Id}/Report`` (a PDF),
``/Job/{id}``, ``/Issue/{id}/jobcompletiondetails``, ``/issue/{id}/invoicedetails`` and
``/issue/{id}/completiondocs`` (each document's bytes base64 in ``EncodedByteData``).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from engine.ports import Record
from simulator.fake._common import fixflo_refusal, number_page
from simulator.fake._fixflo_store import FixfloStore
from simulator.fake._pdf import PDF, pdf_document
from simulator.lifecycle.worlds import FixfloWorld

__all__ = ["IssueRoutes"]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
Vary = Callable[[Record], Record]
STATUS_LISTS: Final = ("JobAwarded", "JobCompleted", "Closed")
_COMPLETED: Final = "JobCompleted"


class IssueRoutes:
    """The issue endpoints of one fake Fixflo.

    Args:
        store: the fake's records (its made-up issues are served when `world` is None).
        world: a lifecycle Fixflo world to serve issues from, read at each request.
        page_size: URLs on a page of ``/Issues``.
        vary: how the fake varies an issue's keys (casing, unknown fields).
    """

    def __init__(
        self, store: FixfloStore, world: FixfloWorld | None, page_size: int, vary: Vary
    ) -> None:
        self.store, self.world, self.page_size, self.vary = store, world, page_size, vary

    def routes(self, guard: Callable[[Handler], Handler]) -> list[Route]:
        """The routes, each behind `guard` (the bearer token check)."""
        pairs: list[tuple[str, Handler]] = [
            ("/Issues", self._list),
            *((f"/Issues/{status}", self._list_status(status)) for status in STATUS_LISTS),
            ("/Issue/{id}", self._issue),
            ("/Issue/{id}/Report", self._report),
            ("/Job/{id}", self._job),
        ]
        pairs += [  # each in the contract's casing, as fixflo.md spells it
            ("/Issue/{id}/jobcompletiondetails", self._completion),
            ("/issue/{id}/invoicedetails", self._invoice),
            ("/issue/{id}/completiondocs", self._documents),
        ]
        return [Route(path, guard(handler), methods=["GET"]) for path, handler in pairs]

    def issues(self) -> dict[str, Record]:
        """Every issue by id as Fixflo would send it now (world issues in Fixflo's shape)."""
        if self.world is None:
            return {str(key): issue for key, issue in self.store.issues.items()}
        return {key: self._shape(key, issue) for key, issue in self.world.issues.items()}

    def _shape(self, issue_id: str, issue: Mapping[str, Any]) -> Record:
        shaped = copy.deepcopy(dict(issue))
        shaped.setdefault("IsEmergency", shaped.get("FaultPriority") == 0)
        job = shaped.get("Job")
        if isinstance(job, dict):
            shaped["Job"] = self._job_shape(issue_id, shaped, job)
        return shaped

    def _job_shape(self, issue_id: str, issue: Mapping[str, Any], job: Record) -> Record:
        invoice = issue.get("Invoice") or {}
        return {
            **job,
            "IssueId": issue_id,
            "ExternalRefJob": job.get("ExternalRefJob"),
            "PriceAgencyPayableNet": invoice.get("TotalNet"),
            "PriceAgencyPayableTax": invoice.get("TotalTax"),
            "PriceAgencyPayableGross": invoice.get("Total"),
            "JobInvoiceNumber": invoice.get("InvoiceNumber"),
            "JobCompleted": self._completed_at(issue_id) is not None,
            "Contractor": job.get("ContractorRef"),
        }

    def _completed_at(self, issue_id: str) -> str | None:
        """When the job was completed: the first revision at ``JobCompleted``."""
        history = self.world.history.get(issue_id, []) if self.world else []
        return next(
            (str(old.get("StatusChanged")) for old in history if old.get("Status") == _COMPLETED),
            None,
        )

    async def _list(self, request: Request) -> Response:
        return self._urls(request, request.query_params.get("Status"), "/Issues")

    def _list_status(self, status: str) -> Handler:
        """``GET /Issues/{status}``, one route for each list the contract has (no other)."""

        async def listed(request: Request) -> Response:
            return self._urls(request, status, f"/Issues/{status}")

        return listed

    def _urls(self, request: Request, status: str | None, tail: str) -> Response:
        since = request.query_params.get("UpdatedSince") or ""
        base = str(request.url.replace(query="")).removesuffix(tail)
        urls = [
            f"{base}/Issue/{quote(issue_id, safe='')}"
            for issue_id, issue in self.issues().items()
            if str(issue.get("StatusChanged") or "") >= since
            and status in (None, issue.get("Status"))
        ]
        return number_page(
            request, urls, page_key="page", size_key=None, default_size=self.page_size
        )

    def _find(self, request: Request) -> Record | None:
        return self.issues().get(request.path_params["id"])

    async def _issue(self, request: Request) -> Response:
        issue = self._find(request)
        return JSONResponse(self.vary(issue)) if issue else _missing("No issue found")

    async def _report(self, request: Request) -> Response:
        issue = self._find(request)
        if issue is None:
            return _missing("No issue found")
        if self.world is None:
            return Response(PDF, media_type="application/pdf")
        return Response(pdf_document(_report_lines(issue)), media_type="application/pdf")

    async def _job(self, request: Request) -> Response:
        wanted = request.path_params["id"]
        for issue in self.issues().values():
            job = issue.get("Job")
            if isinstance(job, dict) and str(job.get("Id")) == wanted:
                return JSONResponse(job)
        return _missing("No job found")

    async def _completion(self, request: Request) -> Response:
        issue = self._find(request)
        done = None if issue is None else self._completed_at(request.path_params["id"])
        if issue is None or done is None:
            return _missing("No job completion found")
        job = issue.get("Job") or {}
        body = {
            "IssueId": issue.get("Id"),
            "JobId": job.get("Id"),
            "JobCompleted": True,
            "CompletedDate": done,
            "CompletionNotes": job.get("CompletionNotes"),
        }
        return JSONResponse(body)

    async def _invoice(self, request: Request) -> Response:
        issue = self._find(request)
        invoice = (issue or {}).get("Invoice")
        if issue is None or not isinstance(invoice, dict):
            return _missing("No invoice found")
        dated = self._completed_at(request.path_params["id"]) or str(issue.get("StatusChanged"))
        day = datetime.fromisoformat(dated.removesuffix("Z"))
        line = {
            "LineType": "Labour",
            "Description": (issue.get("Job") or {}).get("CompletionNotes") or issue.get("Title"),
            "Quantity": 1,
            "UnitPrice": invoice.get("TotalNet"),
            "Net": invoice.get("TotalNet"),
            "Tax": invoice.get("TotalTax"),
            "Total": invoice.get("Total"),
        }
        body = {
            **invoice,
            "IssueId": issue.get("Id"),
            "InvoiceDate": day.date().isoformat(),
            "DueDate": (day + timedelta(days=30)).date().isoformat(),
            "LineItems": [line],
        }
        if invoice.get("Document"):
            body["EncodedByteData"] = _encoded([f"Invoice {invoice.get('InvoiceNumber')}"])
        return JSONResponse(body)

    async def _documents(self, request: Request) -> Response:
        issue = self._find(request)
        if issue is None:
            return _missing("No issue found")
        documents = [
            {
                **document,
                "ContentType": "application/pdf",
                "EncodedByteData": _encoded([f"Completion document {document.get('Name')}"]),
            }
            for document in issue.get("CompletionDocuments") or []
            if isinstance(document, dict)
        ]
        return JSONResponse(documents)


def _report_lines(issue: Mapping[str, Any]) -> list[str]:
    job = issue.get("Job") or {}
    return [
        f"Fixflo issue {issue.get('Id')}",
        f"Title: {issue.get('Title')}",
        f"Status: {issue.get('Status')} since {issue.get('StatusChanged')}",
        f"Property: {issue.get('ExternalPropertyRef')}",
        f"Job: {job.get('Id')} assigned to {job.get('AssignedTo')}",
    ]


def _encoded(lines: list[str]) -> str:
    return base64.b64encode(pdf_document(lines)).decode("ascii")


def _missing(message: str) -> JSONResponse:
    return fixflo_refusal(404, message)
