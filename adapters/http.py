"""The one place adapters talk HTTP: rate limit, retries, bounds, and translation of failures.

`Caller.send` waits for the rate limiter, sends one request, turns httpx's exceptions and
error statuses into `adapters.errors`, and retries with stamina (exponential backoff with
jitter, honouring ``Retry-After``, bounded in attempts and total time). Writes that are not
idempotent are only retried when the request surely did not land (no connection, 429), or
by `Caller.write_once`, which looks the write up before sending it again after a lost
answer. This is the one layer that retries a transient failure: adapters and the engine
above it do not wait and try again.

Nothing a server sends can hold a night or exhaust its memory (`Limits`, `Deadline`):

- each request has one overall deadline, connect, send and the whole answer (httpx's own
  timeouts bound each read, so a server sending a byte a second would never trip them):
  `Limits.request_seconds`, plus a second for every 256 KiB the request sends or its answer
  announces (a large upload on a slow line); running out is a `RequestTimeoutError`,
  retried like any timeout;
- an answer is read up to `Limits.body_bytes` (`AnswerLimitError` past it);
- a JSON answer nested deeper than `Limits.json_depth` is refused before it is parsed,
  by a scan that does not recurse (`decode_json`): no `RecursionError` ever escapes;
- a phase may pass a `Deadline`: no attempt, wait or retry runs past it (`DeadlineError`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Final, Protocol, TypeVar

import httpx
import stamina
from aiolimiter import AsyncLimiter

from adapters.errors import (
    AdapterError,
    AnswerLimitError,
    ConnectError,
    ConnectionLostError,
    DeadlineError,
    OutcomeUnknownError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    error_for_response,
    redact,
    translate_transport_error,
)
from engine.errors import CredentialsRefused, RecordError, Retryable

__all__ = [
    "JSON_DEPTH",
    "MAY_HAVE_LANDED",
    "Caller",
    "Deadline",
    "HttpAdapter",
    "Limiter",
    "Limits",
    "RetryPolicy",
    "decode_json",
    "make_limiter",
    "nested_deeper_than",
]

log = logging.getLogger("rulebridge.adapters")
T = TypeVar("T")
# The failures after which a write that is not idempotent may have landed: the server may
# have applied it before failing (5xx), or its answer never came.
MAY_HAVE_LANDED: Final = (ServerError, RequestTimeoutError, ConnectionLostError)
# No vendor answer nests deeper than a handful of levels; a snapshot record may nest 64
# (engine.snapshot.RecordLimits), and an answer wraps its records in two more.
JSON_DEPTH: Final = 64
# The smallest page Fixflo documents (a list's default where no size can be asked for is
# not published): page caps assume no fewer records a page than this.
SMALLEST_PAGE: Final = 10
# Of an error answer only an excerpt is shown, and nothing else is read from it.
_ERROR_BODY_BYTES: Final = 1 << 16
# A request's bound grows by a second for every this many bytes it sends or its answer
# announces, so that a 30 MB document upload on a slow line is not cut short.
_SLOWEST_RATE: Final = 256 << 10
_CLOCK_SLACK: Final = 0.001
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS: Final = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEP: Final = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what an adapter reads, so that no answer or listing exhausts a night.

    Attributes:
        request_seconds: the most one request may take, connect, send and the whole answer
            (None: the client's longest timeout, which httpx applies to each read only),
            plus a second for every 256 KiB the request sends or its answer announces.
        body_bytes: the largest answer read, in bytes once decoded.
        json_depth: the deepest nesting of arrays and objects a JSON answer may have.
        records_per_listing: the most records one listing may hold.
        pages_per_listing: the most pages one listing may take; None computes it from
            `records_per_listing` (`page_cap`).

    Example:
        >>> Limits(records_per_listing=1000).page_cap(100)
        101
    """

    request_seconds: float | None = None
    body_bytes: int = 64 << 20
    json_depth: int = JSON_DEPTH
    records_per_listing: int = 1_000_000
    pages_per_listing: int | None = None

    def page_cap(self, page_size: int) -> int:
        """The most pages a listing asked for `page_size` records a page may take (0: the
        server decides): `pages_per_listing`, or enough pages for `records_per_listing`
        at `page_size` (at most `SMALLEST_PAGE`) a page, and one more to see the end."""
        if self.pages_per_listing is not None:
            return self.pages_per_listing
        per_page = min(page_size, SMALLEST_PAGE) if page_size > 0 else SMALLEST_PAGE
        return math.ceil(self.records_per_listing / per_page) + 1


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a phase must be over, and what to tell the person whose phase it cuts short.

    Attributes:
        seconds: the phase's allowance, as given.
        what: the phase, for messages (``the snapshot phase``).
        setting: where the allowance is set (``limits.snapshot_seconds``).
        at: the `time.monotonic` moment it runs out.

    Example:
        >>> deadline = Deadline.after(60, "the snapshot phase", "limits.snapshot_seconds")
        >>> 59 < deadline.remaining() <= 60
        True
    """

    seconds: float
    what: str
    setting: str
    at: float = field(default=0.0)

    @classmethod
    def after(cls, seconds: float, what: str, setting: str) -> Deadline:
        """A deadline `seconds` from now."""
        return cls(seconds, what, setting, time.monotonic() + seconds)

    def remaining(self) -> float:
        """Seconds left (negative once it has passed)."""
        return self.at - time.monotonic()

    def error(self, method: str, path: str) -> DeadlineError:
        """The error of a call the deadline cut short or never let start."""
        return DeadlineError(
            f"{self.what} ran out of its {self.seconds:g} s; if the APIs need longer, "
            f"raise {self.setting} in the agency config",
            method=method,
            path=path,
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to retry: at most `attempts` tries within `timeout` seconds in total.

    Example:
        >>> RetryPolicy(attempts=3, timeout=10.0).attempts
        3
    """

    attempts: int = 8
    timeout: float = 120.0
    wait_initial: float = 0.2
    wait_max: float = 10.0
    wait_jitter: float = 0.5
    max_retry_after: float = 60.0


class Limiter(Protocol):
    """What `Caller` needs of a rate limiter: an in-process `aiolimiter.AsyncLimiter`
    (`make_limiter`), or one shared across processes
    (`rulebridge.runner.ratelimit.SharedLimiter`)."""

    @property
    def max_rate(self) -> float:
        """How many requests one window allows."""
        ...

    async def acquire(self, amount: float = 1) -> None:
        """Wait until `amount` more requests are allowed, and count them."""
        ...


def make_limiter(per_minute: float, *, period: float = 60.0) -> AsyncLimiter:
    """A limiter that never lets more than `per_minute` requests into any `period` window.

    aiolimiter is a leaky bucket: a burst of its capacity, then its rate. Capacity plus what
    drips in during one window must not exceed the limit, so the capacity is a tenth of it.

    Example:
        >>> make_limiter(500).max_rate
        50
    """
    if per_minute < 1:
        raise ValueError(f"a rate limit must allow at least 1 request, not {per_minute}")
    burst = max(1, int(per_minute // 10))
    if per_minute <= burst:
        return AsyncLimiter(1, period / per_minute)
    return AsyncLimiter(burst, period * burst / (per_minute - burst))


class Caller:
    """Sends an adapter's requests through its client, limiter and retry policy.

    Args:
        client: the adapter's `httpx.AsyncClient` (base URL and auth already set).
        limiter: the agency's limiter for this API, shared by everything calling it.
        retry: the retry policy.
        secrets: strings never to show in an error's body excerpt.
        limits: bounds on each request and answer, and on listings (`adapters._paging`).
        deadline: when the phase these calls belong to must be over, if it must.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        limiter: Limiter | None = None,
        retry: RetryPolicy | None = None,
        secrets: tuple[str, ...] = (),
        limits: Limits | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.client, self.limiter = client, limiter
        self.retry, self.secrets = retry or RetryPolicy(), secrets
        self.limits, self.deadline = limits or Limits(), deadline
        self.request_seconds = self.limits.request_seconds or _longest_timeout(client)

    async def send(
        self, method: str, path: str, *, idempotent: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """One request, retried as the policy allows; an error status raises.

        Raises:
            AdapterError: the last failure once retries are spent (or not allowed).
        """
        async for attempt in self._attempts(self._backoff if idempotent else self._backoff_unsent):
            with attempt:
                return await self._once(method, path, kwargs)
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def write_once(
        self,
        method: str,
        path: str,
        *,
        find: Callable[[], Awaitable[T | None]],
        read: Callable[[httpx.Response], T],
        **kwargs: Any,
    ) -> T:
        """A write that is not idempotent, landed once however its answers are lost.

        Retried as `send` retries and by the same policy, except that once an answer was
        lost (a 5xx, a timeout, a dropped connection: the write may have landed) each
        attempt first asks `find`; what it finds is returned instead of writing again.

        Args:
            method: the write's method.
            path: the write's path.
            find: looks for what an earlier attempt may have written; None if absent.
            read: the written record, from the write's answer.
            **kwargs: the request's body and headers, as for `httpx.AsyncClient.request`.

        Raises:
            OutcomeUnknownError: the write may have landed and was not found (the retries
                ran out, or `find` failed).
            AdapterError: the last failure, when no attempt can have landed, or refused
                credentials.
        """
        lost: AdapterError | None = None
        try:
            async for attempt in self._attempts(self._backoff):
                with attempt:
                    if lost is not None:
                        found = await self._find_lost(find, lost, method, path)
                        if found is not None:
                            return found
                    try:
                        return read(await self._once(method, path, kwargs))
                    except MAY_HAVE_LANDED as exc:
                        lost = exc
                        raise
        except Retryable as exc:
            if lost is None:
                raise
            raise _unknown(lost, method, path, "the retries ran out") from exc
        raise AssertionError("unreachable: stamina re-raises the last error")  # pragma: no cover

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`send`, then the body as JSON (no deeper than `Limits.json_depth`)."""
        response = await self.send(method, path, **kwargs)
        return decode_json(response, path, max_depth=self.limits.json_depth)

    async def _once(self, method: str, path: str, kwargs: Mapping[str, Any]) -> httpx.Response:
        """One attempt: the limiter, then the exchange under one overall deadline."""
        await self._acquire(method, path)
        request = self._request(method, path, kwargs)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(self._budget(method, path, request.headers)) as bound:
                response = await self._exchange(request, method, path, bound)
        except TimeoutError:
            if self.deadline is not None and self.deadline.remaining() <= _CLOCK_SLACK:
                raise self.deadline.error(method, path) from None
            took = round((bound.when() or loop.time()) - started, 1)
            raise RequestTimeoutError(
                f"no whole answer within {took:g} s (connect, send and the whole body); "
                "if the API is this slow, raise timeout_seconds in the agency config",
                method=method,
                path=path,
            ) from None
        if response.status_code >= 400:
            raise error_for_response(response, self.secrets, path)
        return response

    async def _acquire(self, method: str, path: str) -> None:
        """Wait for the limiter, no longer than the phase's deadline allows."""
        if self.limiter is None:
            return
        if self.deadline is None:
            await self.limiter.acquire()
            return
        try:
            async with asyncio.timeout(max(self.deadline.remaining(), 0.0)):
                await self.limiter.acquire()
        except TimeoutError:
            raise self.deadline.error(method, path) from None

    def _request(self, method: str, path: str, kwargs: Mapping[str, Any]) -> httpx.Request:
        try:
            return self.client.build_request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, method, path) from exc

    def _budget(self, method: str, path: str, headers: httpx.Headers) -> float:
        """This attempt's seconds: `request_seconds`, and a second more for every
        `_SLOWEST_RATE` bytes the request sends, never past the phase's deadline."""
        left = self.deadline.remaining() if self.deadline is not None else math.inf
        if self.deadline is not None and left <= 0:
            raise self.deadline.error(method, path)
        return min(self.request_seconds + _announced(headers) / _SLOWEST_RATE, left)

    def _allow(self, bound: asyncio.Timeout, headers: httpx.Headers) -> None:
        """Give the answer a second more for every `_SLOWEST_RATE` bytes it announces (of
        those that will be read), never past the phase's deadline."""
        when, extra = bound.when(), min(_announced(headers), self.limits.body_bytes)
        if when is None or not extra:
            return
        latest = when + extra / _SLOWEST_RATE
        if self.deadline is not None:
            latest = min(latest, asyncio.get_running_loop().time() + self.deadline.remaining())
        bound.reschedule(max(when, latest))

    async def _exchange(
        self, request: httpx.Request, method: str, path: str, bound: asyncio.Timeout
    ) -> httpx.Response:
        """Send the request and read its answer, at most `Limits.body_bytes` of it."""
        try:
            response = await self.client.send(request, stream=True)
            try:
                self._allow(bound, response.headers)
                await self._read_body(response, method, path)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, method, path) from exc
        return response

    async def _read_body(self, response: httpx.Response, method: str, path: str) -> None:
        """Read the answer's body into `response`, refusing one over `Limits.body_bytes`.

        Of an error answer only the first 64 KiB (at most the limit) are kept, never refused:
        its excerpt is all that is shown.
        """
        failed = response.status_code >= 400
        limit = min(self.limits.body_bytes, _ERROR_BODY_BYTES) if failed else self.limits.body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if failed and size > limit:
                chunks.append(chunk[: len(chunk) - (size - limit)])
                break
            if size > limit:
                raise AnswerLimitError(
                    f"the answer is larger than {limit:,} bytes, more than any list or "
                    "record the API documents; if it is real, raise limits.response_megabytes "
                    "in the agency config",
                    method=method,
                    path=path,
                    status=response.status_code,
                )
            chunks.append(chunk)
        # What httpx's own Response.aread() does with what it read; the stream is spent.
        response._content = b"".join(chunks)  # noqa: SLF001

    def _attempts(self, hook: Callable[[Exception], bool | float]) -> Any:
        """stamina's attempts under the policy, retrying what `hook` allows."""
        policy = self.retry
        return stamina.retry_context(
            on=hook,
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        )

    async def _find_lost(
        self,
        find: Callable[[], Awaitable[T | None]],
        lost: AdapterError,
        method: str,
        path: str,
    ) -> T | None:
        """What a write whose answer was lost left behind; a lookup that fails leaves the
        write's outcome unknown (refused credentials stop everything as they are)."""
        try:
            return await find()
        except CredentialsRefused:
            raise
        except AdapterError as exc:
            raise _unknown(lost, method, path, f"the lookup failed: {exc.message}") from exc

    def _backoff(self, exc: Exception) -> bool | float:
        if not isinstance(exc, Retryable):
            return False
        log.info("retrying %s", type(exc).__name__)
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            return self._within_deadline(min(exc.retry_after, self.retry.max_retry_after))
        return self._within_deadline(True)

    def _within_deadline(self, wait: bool | float) -> bool | float:
        """`wait` (True: stamina's backoff, at most `wait_max`), cut so that it never runs
        past the deadline: a retry near it goes at once, with the time that is left."""
        if self.deadline is None:
            return wait
        left = max(self.deadline.remaining(), 0.0)
        longest = self.retry.wait_max if wait is True else float(wait)
        if longest <= left:
            return wait
        return min(left, self.retry.wait_initial) if wait is True else left

    def _backoff_unsent(self, exc: Exception) -> bool | float:
        if isinstance(exc, ConnectError | RateLimitedError):
            return self._backoff(exc)
        return False


def _unknown(lost: AdapterError, method: str, path: str, why: str) -> OutcomeUnknownError:
    return OutcomeUnknownError(
        f"the write may have landed ({lost.message}) and was not found ({why}); "
        "check before sending it again",
        method=method,
        path=path,
        status=lost.status,
    )


def _announced(headers: httpx.Headers) -> int:
    """The body length `headers` announce (0 when they do not)."""
    length = headers.get("Content-Length", "").strip()
    return int(length) if length.isdigit() else 0


def _longest_timeout(client: httpx.AsyncClient) -> float:
    """The longest of the client's timeouts, as the bound on a whole request; two minutes
    when the client sets none (a request is never unbounded)."""
    timeout = client.timeout
    parts = [timeout.connect, timeout.read, timeout.write, timeout.pool]
    return max((part for part in parts if part is not None), default=120.0)


def nested_deeper_than(data: bytes, limit: int) -> bool:
    """Whether the arrays and objects of JSON text `data` nest more than `limit` deep.

    Counted without parsing and without recursion: strings are cut out, then the brackets
    left are summed. Text that is not JSON gets an answer too (the parser refuses it next).

    Example:
        >>> nested_deeper_than(b'{"a": [[1]], "b": "[[[["}', 3)
        False
        >>> nested_deeper_than(b"[" * 5 + b"]" * 5, 4)
        True
    """
    if data.count(b"[") + data.count(b"{") <= limit:  # even counting those in strings
        return False
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False
    return max(accumulate(map(_STEP.__getitem__, brackets))) > limit


def decode_json(response: httpx.Response, path: str, *, max_depth: int = JSON_DEPTH) -> Any:
    """The JSON body of `response`.

    Raises:
        AnswerLimitError: the body nests arrays and objects more than `max_depth` deep
            (checked before parsing; a RecursionError never escapes).
        ProtocolError: the body is not JSON.
    """
    content = response.content
    if nested_deeper_than(content, max_depth):
        raise _too_deep(response, path, max_depth)
    try:
        return json.loads(content)
    except RecursionError:
        raise _too_deep(response, path, max_depth) from None
    except ValueError as exc:
        raise ProtocolError(
            "the answer is not JSON",
            method=response.request.method,
            path=path,
            status=response.status_code,
            excerpt=redact(_text(response)),
        ) from exc


def _too_deep(response: httpx.Response, path: str, limit: int) -> AnswerLimitError:
    return AnswerLimitError(
        f"the answer nests more than {limit} levels deep, deeper than anything the API "
        "documents; it was not read",
        method=response.request.method,
        path=path,
        status=response.status_code,
    )


def _text(response: httpx.Response) -> str:
    try:
        return response.text
    except (UnicodeDecodeError, LookupError):
        return response.content[:300].decode("utf-8", "replace")


class HttpAdapter:
    """What both vendor adapters share: they are given a client, never build one.

    The client's auth may name the secrets it holds (``auth.secrets``), so that every error
    and log line is scrubbed of them. Items of a listing that are not usable records go to
    `rejected` (a list the caller may share across adapters), each a `RecordError` naming
    the endpoint and the item's index; the listing goes on without them.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        limiter: Limiter | None = None,
        retry: RetryPolicy | None = None,
        page_size: int = 100,
        limits: Limits | None = None,
        deadline: Deadline | None = None,
        rejected: list[RecordError] | None = None,
    ) -> None:
        secrets = tuple(getattr(client.auth, "secrets", ()))
        self._caller = Caller(
            client, limiter=limiter, retry=retry, secrets=secrets, limits=limits, deadline=deadline
        )
        self.page_size = page_size
        self.rejected: list[RecordError] = [] if rejected is None else rejected
