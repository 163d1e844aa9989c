"""What both fake servers share: in-process transport, cursors, pages and answers."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp

from simulator.fake._faults import ConnectionDropped

__all__ = [
    "FakeTransport",
    "cursor_page",
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


def cursor_page(
    request: Request, items: Sequence[Any], *, dashed: bool, max_size: int = 500
) -> JSONResponse:
    """One page of an Alto cursor list; a bad token is a 400 ProblemDetails."""
    token_key, size_key = ("next-token", "max-results") if dashed else ("nextToken", "maxResults")
    offset = _decode_cursor(request.query_params.get(token_key))
    if offset < 0:
        return problem(400, "Bad Request", f"{token_key} is not a token this API gave")
    size = min(max(int_param(request, [size_key], 100), 1), max_size)
    page = list(items[offset : offset + size])
    after = offset + size
    meta = {"nextToken": _encode_cursor(after) if after < len(items) else None}
    return JSONResponse({"meta": meta | {"totalItems": len(items)}, "items": page})


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
