"""The one place adapters talk HTTP: rate limit, retries, and translation of failures.

`Caller.send` waits for the rate limiter, sends one request, turns httpx's exceptions and
error statuses into `adapters.errors`, and retries with stamina (exponential backoff with
jitter, honouring ``Retry-After``, bounded in attempts and total time). Writes that are not
idempotent are only retried when the request surely did not land (no connection, 429), or
by `Caller.write_once`, which looks the write up before sending it again after a lost
answer. This is the one layer that retries a transient failure: adapters and the engine
above it do not wait and try again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import httpx
import stamina
from aiolimiter import AsyncLimiter

from adapters.errors import (
    AdapterError,
    ConnectError,
    ConnectionLostError,
    OutcomeUnknownError,
    ProtocolError,
    RateLimitedError,
    RequestTimeoutError,
    ServerError,
    error_for_response,
    redact,
    translate_transport_error,
)
from engine.errors import CredentialsRefused, Retryable

__all__ = [
    "MAY_HAVE_LANDED",
    "Caller",
    "HttpAdapter",
    "RetryPolicy",
    "decode_json",
    "make_limiter",
]

log = logging.getLogger("rulebridge.adapters")
T = TypeVar("T")
# The failures after which a write that is not idempotent may have landed: the server may
# have applied it before failing (5xx), or its answer never came.
MAY_HAVE_LANDED: Final = (ServerError, RequestTimeoutError, ConnectionLostError)


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
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        limiter: AsyncLimiter | None = None,
        retry: RetryPolicy | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.client, self.limiter = client, limiter
        self.retry, self.secrets = retry or RetryPolicy(), secrets

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
        """`send`, then the body as JSON."""
        response = await self.send(method, path, **kwargs)
        return decode_json(response, path)

    async def _once(self, method: str, path: str, kwargs: Mapping[str, Any]) -> httpx.Response:
        if self.limiter is not None:
            await self.limiter.acquire()
        try:
            response = await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise translate_transport_error(exc, method, path) from exc
        if response.status_code >= 400:
            raise error_for_response(response, self.secrets, path)
        return response

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
            return min(exc.retry_after, self.retry.max_retry_after)
        return True

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


def decode_json(response: httpx.Response, path: str) -> Any:
    """The JSON body of `response`, or a ProtocolError saying it is not JSON."""
    try:
        return response.json()
    except ValueError as exc:
        raise ProtocolError(
            "the answer is not JSON",
            method=response.request.method,
            path=path,
            status=response.status_code,
            excerpt=redact(response.text),
        ) from exc


class HttpAdapter:
    """What both vendor adapters share: they are given a client, never build one.

    The client's auth may name the secrets it holds (``auth.secrets``), so that every error
    and log line is scrubbed of them.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        limiter: AsyncLimiter | None = None,
        retry: RetryPolicy | None = None,
        page_size: int = 100,
    ) -> None:
        secrets = tuple(getattr(client.auth, "secrets", ()))
        self._caller = Caller(client, limiter=limiter, retry=retry, secrets=secrets)
        self.page_size = page_size
