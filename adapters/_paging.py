"""The vendors' pagination styles, each as an async iterator over the items of a list.

- Alto cursors: ``{meta: {nextToken, totalItems}, items: [...]}``, asked for with
  ``nextToken``/``maxResults`` on some endpoints and ``next-token``/``max-results`` on others.
- Fixflo pages: ``{Items, TotalItems, TotalPages, NextURL, PreviousURL}``, page parameter
  ``page``, ``Page``, ``pg`` or ``Pg`` by endpoint, ``pgsz`` for the size on some.

Keys are read case-insensitively.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from adapters._records import ci_get
from adapters.errors import ProtocolError
from adapters.http import Caller

__all__ = ["alto_cursor", "fixflo_pages"]


async def alto_cursor(
    caller: Caller,
    path: str,
    params: Mapping[str, str],
    *,
    dashed: bool,
    page_size: int,
) -> AsyncIterator[Any]:
    """Every item of an Alto list, following ``meta.nextToken`` until it is empty."""
    token_key, size_key = ("next-token", "max-results") if dashed else ("nextToken", "maxResults")
    token: str | None = None
    while True:
        query = {**params, size_key: str(page_size)} | ({token_key: token} if token else {})
        body = await caller.json("GET", path, params=query)
        items = ci_get(body, "items") if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            raise ProtocolError("the list has no items", method="GET", path=path)
        for item in items:
            yield item
        meta = ci_get(body, "meta") or {}
        token = ci_get(meta, "nextToken") if isinstance(meta, Mapping) else None
        if not token or not items:
            return


async def fixflo_pages(
    caller: Caller,
    path: str,
    params: Mapping[str, str],
    *,
    page_key: str,
    size_key: str | None,
    page_size: int,
) -> AsyncIterator[Any]:
    """Every item of a Fixflo list, page by page, following ``NextURL`` on this host."""
    page = 1
    next_url: str | None = None
    while True:
        if next_url is not None:
            body = await caller.json("GET", next_url)
        else:
            query = {**params, page_key: str(page)} | (
                {size_key: str(page_size)} if size_key else {}
            )
            body = await caller.json("GET", path, params=query)
        items = ci_get(body, "Items") if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            raise ProtocolError("the page has no Items", method="GET", path=path)
        for item in items:
            yield item
        page += 1
        next_url = _same_host(caller.client, ci_get(body, "NextURL"))
        pages = ci_get(body, "TotalPages")
        more = next_url is not None or (isinstance(pages, int) and page <= pages)
        if not more or not items:
            return


def _same_host(client: httpx.AsyncClient, url: object) -> str | None:
    """`url` if it points at the client's own host (never follow a link elsewhere)."""
    if not isinstance(url, str) or not url:
        return None
    target = client.base_url.join(url)
    return str(target) if target.host == client.base_url.host else None
