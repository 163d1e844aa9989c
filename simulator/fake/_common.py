"""What both fake servers share: in-process transport, cursors, pages and answers."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from simulator.fake._faults import ConnectionDropped

__all__ = [
    "FakeTransport",
    "Paging",
    "cursor_page",
    "errors_response",
    "fixflo_refusal",
    "int_param",
    "number_page",
    "problem",
]


class FakeTransport(httpx.AsyncBaseTransport):
    """`httpx.ASGITransport` that turns an injected drop into what a socket would give.

    Example::

        transport = FakeTransport(fake.app)
        client = httpx.AsyncClient(transport=transport, base_url="http://alto.test")
    """

    def __init__(self, app: ASGIApp) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            message = "Server disconnected without sending a complete response"
            raise httpx.RemoteProtocolError(message, request=request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


def problem(status: int, title: str, detail: str = "") -> JSONResponse:
    """An Alto-style ProblemDetails answer."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def int_param(request: Request, names: Sequence[str], default: int) -> int:
    """The first of `names` in the query as a whole number, else `default`."""
    for name in names:
        value = request.query_params.get(name)
        if value is not None and value.strip().lstrip("-").isdigit():
            return int(value)
    return default


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode("ascii")


def _decode_cursor(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode()
        return max(int(text.removeprefix("offset:")), 0)
    except (ValueError, UnicodeDecodeError):
        return -1


def errors_response(status: int, message: str, code: str = "Invalid") -> JSONResponse:
    """An Alto ErrorsResponse answer (contacts, suppliers, works orders, charges)."""
    return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=status)


@dataclass(frozen=True, slots=True)
class Paging:
    """One Alto list endpoint's paging, exactly as its contract spells it.

    Attributes:
        token: the next-page token parameter (``next-token`` or ``nextToken``).
        size: the page size parameter (``max-results`` or ``maxResults``).
        default: the page size when none is asked for.
        largest: the largest page size allowed (a size outside 1..largest is a 400).
        total: whether ``meta`` carries ``totalItems`` (the PM PagedResults envelope).
        errors: whether a 400 is an ErrorsResponse (else ProblemDetails).
    """

    token: str
    size: str
    default: int
    largest: int
    total: bool = False
    errors: bool = False

    def refuse(self, message: str) -> JSONResponse:
        """A 400 in this endpoint's error shape."""
        if self.errors:
            return errors_response(400, message)
        return problem(400, "Bad Request", message)


def cursor_page(request: Request, items: Sequence[Any], paging: Paging) -> JSONResponse:
    """One page of an Alto cursor list, read only under `paging`'s parameter names.

    Other parameters are ignored, as Alto ignores them: a client that sends ``nextToken`` to
    an endpoint that pages with ``next-token`` gets the first page again. A token this fake
    did not give, or a size outside the endpoint's range, is a 400 in its error shape.
    """
    offset = _decode_cursor(request.query_params.get(paging.token))
    if offset < 0:
        return paging.refuse(f"{paging.token} is not a token this API gave")
    asked = request.query_params.get(paging.size)
    size = paging.default
    if asked is not None:
        if not asked.strip().lstrip("-").isdigit() or not 1 <= int(asked) <= paging.largest:
            return paging.refuse(f"{paging.size} must be a whole number from 1 to {paging.largest}")
        size = int(asked)
    after = offset + size
    meta: dict[str, Any] = {"nextToken": _encode_cursor(after) if after < len(items) else None}
    if paging.total:
        meta["totalItems"] = len(items)
    return JSONResponse({"meta": meta, "items": list(items[offset:after])})


def number_page(
    request: Request,
    items: Sequence[Any],
    *,
    page_key: str,
    size_key: str | None,
    default_size: int = 50,
) -> JSONResponse:
    """One page of a Fixflo list: ``{Items, TotalItems, TotalPages, NextURL, PreviousURL}``."""
    page = max(int_param(request, [page_key], 1), 1)
    asked = int_param(request, [size_key], default_size) if size_key else default_size
    size = min(max(asked, 1), 500)
    pages = max(math.ceil(len(items) / size), 1)
    start = (page - 1) * size
    link = request.url.remove_query_params(page_key)

    def url(number: int) -> str | None:
        return (
            str(link.include_query_params(**{page_key: number})) if 1 <= number <= pages else None
        )

    body = {
        "Items": list(items[start : start + size]),
        "TotalItems": len(items),
        "TotalPages": pages,
        "NextURL": url(page + 1),
        "PreviousURL": url(page - 1),
    }
    return JSONResponse(body)


def fixflo_refusal(status: int, message: str) -> JSONResponse:
    """A Fixflo answer that is not a 200 (no such record, bad token), as its Envelope.

    Fixflo's contract documents no error body but its Envelope (only a few operations even
    declare a status other than 200), so the fake says what went wrong in ``Errors``.
    """
    body = {
        "HttpStatusCode": status,
        "HttpStatusCodeDesc": HTTPStatus(status).phrase,
        "Errors": [message],
        "Messages": [],
        "Entity": None,
    }
    return JSONResponse(body, status_code=status)
