"""A real rate limit for a fake server: at most N requests per token in any 60 seconds.

Fixflo states no rate limit (contracts/fixflo.md section 0, UNCONFIRMED); the seeds speak of
"about 500 a minute". `RateLimit` holds a fake to such a limit: it keeps, per bearer token,
the times of the requests it let through in the last 60 seconds (a sliding window, not
fixed minutes), and answers the request beyond the limit 429 with ``Retry-After`` (whole
seconds until the oldest of them leaves the window) and Fixflo's Envelope, without passing
it on. Refused requests do not count. Off unless a fake is given a limit.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from simulator.fake._common import fixflo_refusal

__all__ = ["WINDOW", "RateLimit"]

WINDOW: Final = 60.0


class RateLimit:
    """ASGI middleware letting at most `limit` requests per token through in any `window`.

    Args:
        app: the fake API behind the limit.
        limit: requests allowed per token in any `window` seconds.
        window: the window's length in seconds.
        clock: monotonic seconds (a test may drive it).

    Example::

        app = RateLimit(recorded(api, "fixflo", prefix="/api/v2"), limit=500)
    """

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        *,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"a rate limit lets at least 1 request through, not {limit}")
        self.app, self.limit, self.window, self.clock = app, limit, window, clock
        self.refused = 0
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wait = self._admit(_token(scope))
        if wait is None:
            await self.app(scope, receive, send)
            return
        message = f"Too many requests: at most {self.limit} in {self.window:g} s for this token"
        answer = fixflo_refusal(429, message)
        answer.headers["Retry-After"] = str(wait)
        await answer(scope, receive, send)

    def _admit(self, token: str) -> int | None:
        """None when the request may go through (and is counted); else the seconds to wait."""
        now = self.clock()
        with self._lock:
            times = self._seen.setdefault(token, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) < self.limit:
                times.append(now)
                return None
            self.refused += 1
            return max(math.ceil(times[0] + self.window - now), 1)


def _token(scope: Scope) -> str:
    """The request's credentials, hashed (a token is never kept as it came)."""
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            return hashlib.sha256(value).hexdigest()
    return ""
