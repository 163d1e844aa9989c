"""Counting the API calls a run makes, per endpoint, through httpx's event hooks.

Endpoints are named by method and path with ids folded (``GET /Issue/{id}``), so a report
says what kind of call was made how often, not which record it touched (no personal data,
and a bounded number of rows). A request with no response (a timeout, a dropped
connection) and a response the adapter retries (429, 5xx) count as retries.

Example:
    >>> calls = ApiCalls()
    >>> calls.endpoint("GET", "/api/v2/Issue/I17/Report")
    'GET /api/v2/Issue/{id}/Report'
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any, Final

import httpx

__all__ = ["ApiCalls"]

_VERSION: Final = re.compile(r"^v\d+$")
_RETRIED: Final = frozenset({429, 500, 502, 503, 504})
_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ApiCalls:
    """Requests and answers per system and endpoint; safe to share between threads."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()
        self.retried: Counter[str] = Counter()
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
        unanswered = sum((self.requests - self.answers).values())
        return sum(self.retried.values()) + unanswered

    def to_json(self) -> dict[str, Any]:
        """Requests per endpoint (sorted), totals, writes and retries."""
        return {
            "total": self.total,
            "writes": self.writes,
            "retries": self.retries,
            "per_endpoint": dict(sorted(self.requests.items())),
        }


def _is_id(segment: str) -> bool:
    """A path segment naming a record: it holds a digit and is not an API version."""
    return any(char.isdigit() for char in segment) and not _VERSION.match(segment)
