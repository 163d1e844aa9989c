"""The vendors' pagination styles, each as an async iterator over the items of a list.

- Alto cursors: ``{meta: {nextToken}, items: [...]}``, asked for with ``nextToken``/
  ``maxResults`` on some endpoints and ``next-token``/``max-results`` on others (the caller
  names them per endpoint).
- Fixflo pages: ``{Items, TotalItems, TotalPages, NextURL, PreviousURL}``, page parameter
  ``page``, ``Page``, ``pg`` or ``Pg`` by endpoint, ``pgsz`` for the size on some.

Keys are read case-insensitively. Every listing ends (`Listing`): a page token, next URL or
page number sent a second time, or a page that repeats the one before it, is a
`PageLoopError` naming the endpoint and the value; a listing that runs past the caps of
`adapters.http.Limits` (pages, records) is a `ListingLimitError` naming the cap and the
setting that raises it. Without these, a server that loops would be read until the disk
fills.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Final

import httpx

from adapters._records import ci_get
from adapters.errors import ListingLimitError, PageLoopError, ProtocolError
from adapters.http import Caller

__all__ = ["Listing", "alto_cursor", "fixflo_pages"]

_SHOWN: Final = 80


class Listing:
    """One listing's pages so far, checked against its caps and for loops.

    Args:
        caller: the caller the pages are read through (its `Limits` give the caps).
        path: the listing's endpoint, for messages.
        page_size: the records asked for a page (0: the server decides).

    Example:
        >>> listing = Listing(Caller(httpx.AsyncClient()), "/Landlords", 100)
        >>> listing.follow("page", "2")
        >>> listing.follow("page", "2")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        adapters.errors.PageLoopError: GET /Landlords: the API sent page 2 a second time...
    """

    def __init__(self, caller: Caller, path: str, page_size: int) -> None:
        self.path, self.limits = path, caller.limits
        self.page_cap = self.limits.page_cap(page_size)
        self.pages = self.records = 0
        self._seen: set[tuple[str, str]] = set()
        self._last: list[Any] = []

    def took(self, items: list[Any]) -> None:
        """A page of `items` arrived.

        Raises:
            ListingLimitError: the listing is past its record cap.
            PageLoopError: the page repeats the one before it exactly.
        """
        self.pages += 1
        self.records += len(items)
        if self.records > self.limits.records_per_listing:
            raise self._past(
                f"holds more than {self.limits.records_per_listing:,} records",
                "limits.records_per_listing",
            )
        if items and items == self._last:
            raise self._loop(
                f"page {self.pages} repeats page {self.pages - 1} exactly (does the API "
                "ignore the page parameter?)"
            )
        self._last = items

    def follow(self, kind: str, value: str) -> None:
        """The next page is asked for by `kind` (``page token``, ``next URL``, ``page``)
        `value`.

        Raises:
            ListingLimitError: the listing has taken all the pages its cap allows.
            PageLoopError: this `kind` and `value` were followed before in the listing.
        """
        if self.pages >= self.page_cap:
            raise self._past(f"goes on past {self.page_cap:,} pages", "limits.pages_per_listing")
        if (kind, value) in self._seen:
            shown = value if len(value) <= _SHOWN else value[: _SHOWN - 3] + "..."
            raise self._loop(f"the API sent {kind} {shown} a second time")
        self._seen.add((kind, value))

    def _loop(self, what: str) -> PageLoopError:
        return PageLoopError(
            f"{what}; following it would read the same pages for ever, so the listing stops here",
            method="GET",
            path=self.path,
        )

    def _past(self, what: str, setting: str) -> ListingLimitError:
        return ListingLimitError(
            f"the listing {what}; if the agency really holds that much, raise {setting} "
            "in the agency config",
            method="GET",
            path=self.path,
        )


async def alto_cursor(
    caller: Caller,
    path: str,
    params: Mapping[str, str] | Sequence[tuple[str, str]],
    *,
    token_key: str,
    size_key: str,
    page_size: int,
) -> AsyncIterator[Any]:
    """Every item of an Alto list, following ``meta.nextToken`` until it is empty.

    `token_key` and `size_key` are the endpoint's own names (``next-token`` and
    ``max-results`` on some, ``nextToken`` and ``maxResults`` on others: Alto ignores a
    name it does not know and would send page 1 again, which the loop check catches).

    Raises:
        ProtocolError: a page has no ``items`` list, or its token is not text.
        PageLoopError: a token came twice, or a page repeated the one before it.
        ListingLimitError: the listing ran past its caps.
    """
    listing = Listing(caller, path, page_size)
    token: str | None = None
    base = list(params.items()) if isinstance(params, Mapping) else list(params)
    while True:
        query = [*base, (size_key, str(page_size))] + ([(token_key, token)] if token else [])
        body = await caller.json("GET", path, params=query)
        items = ci_get(body, "items") if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            raise ProtocolError("the list has no items", method="GET", path=path)
        listing.took(items)
        for item in items:
            yield item
        token = _token(body, path)
        if not token or not items:
            return
        listing.follow("page token", token)


def _token(body: Mapping[str, Any], path: str) -> str | None:
    meta = ci_get(body, "meta") or {}
    token = ci_get(meta, "nextToken") if isinstance(meta, Mapping) else None
    if token is None or isinstance(token, str):
        return token
    raise ProtocolError("the next page token is not text", method="GET", path=path)


async def fixflo_pages(
    caller: Caller,
    path: str,
    params: Mapping[str, str],
    *,
    page_key: str | None,
    size_key: str | None,
    page_size: int,
) -> AsyncIterator[Any]:
    """Every item of a Fixflo list, page by page, following ``NextURL`` on this host.

    `page_key` is the endpoint's own page parameter; None for a list whose contract
    documents none (only its ``NextURL`` is followed, and nothing unknown is sent).

    Raises:
        ProtocolError: a page has no ``Items`` list.
        PageLoopError: a next URL or page number came twice, or a page repeated the one
            before it.
        ListingLimitError: the listing ran past its caps.
    """
    listing = Listing(caller, path, page_size if size_key else 0)
    page = 1
    base = {**params} | ({size_key: str(page_size)} if size_key else {})
    query: dict[str, str] | None = base | ({page_key: "1"} if page_key else {})
    target = path
    _follow(listing, _url(caller, path, query), page_key)
    while True:
        body = await caller.json("GET", target, params=query)
        items = ci_get(body, "Items") if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            raise ProtocolError("the page has no Items", method="GET", path=path)
        listing.took(items)
        for item in items:
            yield item
        page += 1
        next_url = _same_host(caller.client, ci_get(body, "NextURL"))
        pages = ci_get(body, "TotalPages")
        more = next_url is not None or (
            page_key is not None and isinstance(pages, int) and page <= pages
        )
        if not more or not items:
            return
        if next_url is not None:
            target, query = next_url, None  # the URL carries its query
        else:
            target, query = path, base | {str(page_key): str(page)}
        page = _follow(listing, _url(caller, target, query), page_key) or page


def _url(caller: Caller, target: str, query: Mapping[str, str] | None) -> httpx.URL:
    """The URL the client will ask for `target` with `query`."""
    return caller.client.build_request("GET", target, params=query).url


def _follow(listing: Listing, url: httpx.URL, page_key: str | None) -> int | None:
    """Note the page at `url` as followed, by its page number and its URL; returns that
    number, if the URL carries one."""
    number = _page_number(url, page_key)
    if number is not None:
        listing.follow("page", str(number))
    listing.follow("next URL", str(url.copy_with(query=_sorted_query(url))))
    return number


def _sorted_query(url: httpx.URL) -> bytes:
    """The query of `url` with its parameters in order, so that the same page asked for
    with its parameters in another order is still the same page."""
    return str(httpx.QueryParams(sorted(url.params.multi_items()))).encode()


def _page_number(url: httpx.URL, page_key: str | None) -> int | None:
    if page_key is None:
        return None
    folded = page_key.casefold()
    for key, value in url.params.multi_items():
        if key.casefold() == folded and value.strip().isdigit():
            return int(value)
    return None


def _same_host(client: httpx.AsyncClient, url: object) -> str | None:
    """`url` if it points at the client's own host (never follow a link elsewhere)."""
    if not isinstance(url, str) or not url:
        return None
    target = client.base_url.join(url)
    return str(target) if target.host == client.base_url.host else None
