"""Counting the API calls a run makes, per endpoint, through httpx's event hooks.

Endpoints are named by method and path with ids folded (``GET /Issue/{id}``), so a report
says what kind of call was made how often, not which record it touched (no personal data,
and a bounded number of rows). A request with no response (a timeout, a dropped
connection) and a response the adapter retries (429, 5xx) count as retries, per endpoint
too (``retries_per_endpoint``).

The time a system's calls spend waiting for the rate limiter is counted per system
(``rate_limit_wait_seconds``): `TimedLimiter` wraps the run's limiter of each system
(`rulebridge.runner.wiring`) and adds the seconds each ``acquire`` took. A night that
spends an hour there is a night the vendor's limit, not the work, made long.

Example:
    >>> calls = ApiCalls()
    >>> calls.endpoint("GET", "/api/v2/Issue/I17/Report")
    'GET /api/v2/Issue/{id}/Report'
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from typing import Any, Final

import httpx

from adapters.http import Limiter

__all__ = ["ApiCalls", "TimedLimiter"]

_VERSION: Final = re.compile(r"^v\d+$")
_RETRIED: Final = frozenset({429, 500, 502, 503, 504})
_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ApiCalls:
    """Requests and answers per system and endpoint; safe to share between threads."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
        self.waited: dict[str, float] = {}
        self._lock = threading.Lock()

    def endpoint(self, method: str, path: str) -> str:
        """``METHOD /path`` with record ids replaced by ``{id}``."""
        parts = [("{id}" if _is_id(part) else part) for part in path.split("/")]
        return f"{method} {'/'.join(parts)}"

    def hooks(self, system: str) -> dict[str, list[Any]]:
        """Event hooks for an `httpx.AsyncClient` of `system` (``alto``, ``fixflo``)."""

        async def on_request(request: httpx.Request) -> None:
            with self._lock:
                self.requests[f"{system} {self.endpoint(request.method, request.url.path)}"] += 1

        async def on_response(response: httpx.Response) -> None:
            request = response.request
            name = f"{system} {self.endpoint(request.method, request.url.path)}"
            with self._lock:
                self.answers[name] += 1
                if response.status_code in _RETRIED:
                    self.retried[name] += 1

        return {"request": [on_request], "response": [on_response]}

    def attach(self, client: httpx.AsyncClient, system: str) -> httpx.AsyncClient:
        """Add the hooks to `client`; returns it."""
        for event, hooks in self.hooks(system).items():
            client.event_hooks[event].extend(hooks)
        return client

    def add_wait(self, system: str, seconds: float) -> None:
        """Add `seconds` spent waiting for `system`'s rate limiter (`TimedLimiter`)."""
        with self._lock:
            self.waited[system] = self.waited.get(system, 0.0) + max(0.0, seconds)

    @property
    def total(self) -> int:
        """Every request made."""
        return sum(self.requests.values())

    @property
    def writes(self) -> int:
        """Requests that write (POST, PUT, PATCH, DELETE), token requests excluded."""
        return sum(
            n
            for name, n in self.requests.items()
            if name.split(" ")[1] in _WRITES and not name.endswith("/token")
        )

    @property
    def retries(self) -> int:
        """Requests answered 429/5xx, plus requests never answered (timeouts, drops)."""
        return sum(self.retries_per_endpoint().values())

    def retries_per_endpoint(self) -> dict[str, int]:
        """`retries` per endpoint (``system METHOD /path``), sorted; endpoints never
        retried are left out."""
        with self._lock:
            unanswered = self.requests - self.answers
            retried = self.retried + unanswered
        return dict(sorted(retried.items()))

    def to_json(self) -> dict[str, Any]:
        """Requests per endpoint (sorted), totals, writes and retries (also per endpoint),
        and the seconds each system waited for its rate limiter (rounded to ms)."""
        per_endpoint = self.retries_per_endpoint()
        with self._lock:
            waited = {system: round(s, 3) for system, s in sorted(self.waited.items())}
        return {
            "total": self.total,
            "writes": self.writes,
            "retries": sum(per_endpoint.values()),
            "per_endpoint": dict(sorted(self.requests.items())),
            "retries_per_endpoint": per_endpoint,
            "rate_limit_wait_seconds": waited,
        }


class TimedLimiter:
    """A rate limiter (`adapters.http.Limiter`) that adds the time each ``acquire`` took to
    its system's wait in `ApiCalls` (what ``rate_limit_wait_seconds`` reports).

    Args:
        limiter: the system's limiter (in-process or shared).
        calls: the run's counters.
        system: ``alto`` or ``fixflo``.

    Example::

        limiter = TimedLimiter(config.limiter("fixflo"), calls, "fixflo")
        await limiter.acquire()
        calls.waited["fixflo"]  # 0.0 when the limit was not reached
    """

    def __init__(self, limiter: Limiter, calls: ApiCalls, system: str) -> None:
        self.limiter, self.calls, self.system = limiter, calls, system

    @property
    def max_rate(self) -> float:
        """The wrapped limiter's."""
        return self.limiter.max_rate

    async def acquire(self, amount: float = 1) -> None:
        """Acquire from the wrapped limiter, timing the wait (also when cancelled)."""
        started = time.monotonic()
        try:
            await self.limiter.acquire(amount)
        finally:
            self.calls.add_wait(self.system, time.monotonic() - started)


def _is_id(segment: str) -> bool:
    """A path segment naming a record: it holds a digit and is not an API version."""
    return any(char.isdigit() for char in segment) and not _VERSION.match(segment)
