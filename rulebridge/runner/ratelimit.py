"""One agency's rate limit per API, shared by every process and event loop that calls it.

The nightly run and the live server (`rulebridge serve`) of one agency call the same
Fixflo and Alto accounts, often at the same time; each used to hold its own in-process
limiter (aiolimiter), so together they could send twice the vendor's limit. A
`SharedLimiter` keeps the limit in a small SQLite file in the agency's folder of the state
home (``rate-<system>.sqlite``, `rulebridge.runner.home.AgencyHome.rate_path`): a
pyrate-limiter ``SQLiteBucket`` with a sliding-window log (``Rate(per_minute,
Duration.MINUTE)``: never more than `per_minute` requests in *any* 60 s window, across
processes), guarded by a file lock (filelock) so that the count and the insert of one
acquire are one step for every process.

The wrapper has the interface the adapters' `adapters.http.Caller` uses (`acquire`,
`max_rate`; `adapters.http.Limiter`). It takes the file lock without blocking and waits on
the event loop (``asyncio.sleep``) for the time the bucket names, so a process holding
the lock never stalls another's event loop, and one object may be used from several
event loops and threads. pyrate-limiter's own ``Limiter`` is not used: it blocks on the
file lock (polling with sleeps on the calling thread) and starts a thread to trim the log;
here the log is trimmed by the acquires themselves.

Example::

    limiter = SharedLimiter(home.rate_path("fixflo"), 500)
    await limiter.acquire()  # at most 500 in any minute, whoever else shares the file
    limiter.close()
"""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import time
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from filelock import FileLock, Timeout
from pyrate_limiter import Rate, RateItem, SQLiteBucket

from engine.errors import RulebridgeError

__all__ = ["SharedLimitError", "SharedLimiter"]

_ITEM: Final = "request"
_TABLE: Final = "requests"
_CONTENDED: Final = 0.002  # seconds before trying again while another process counts


class SharedLimitError(RulebridgeError):
    """The shared rate limit's file cannot be used (the message names it and the fix)."""


class SharedLimiter:
    """At most `per_minute` acquires in any `period` seconds, for every process sharing
    `path` (see the module docstring).

    Args:
        path: the bucket's SQLite file (its folder must exist; created owner-only).
        per_minute: the limit per `period` (at least 1; a fraction is rounded down).
        period: the window in seconds (60; tests pass a short one).

    Raises:
        ValueError: `per_minute` is below 1.
        SharedLimitError: the file cannot be created or opened.

    Example::

        async with SharedLimiter(tmp / "rate-fixflo.sqlite", 20, period=2) as limiter:
            await limiter.acquire()
    """

    def __init__(self, path: Path, per_minute: float, *, period: float = 60.0) -> None:
        if per_minute < 1:
            raise ValueError(f"a rate limit must allow at least 1 request, not {per_minute}")
        self.path, self.limit = Path(path), int(per_minute)
        self.period_ms = int(period * 1000)
        self.max_rate = float(self.limit)
        self._bucket = self._open()
        lock = getattr(self._bucket, "lock", None)  # the file lock init_from_file made
        if not isinstance(lock, FileLock):  # pragma: no cover - pyrate-limiter's contract
            raise SharedLimitError(f"{self.path}: the rate bucket has no file lock")
        self._lock: FileLock = lock
        self._trimmed = 0

    def _open(self) -> SQLiteBucket:
        """The bucket at `path`, its file and its lock file created owner-only."""
        rate = Rate(self.limit, self.period_ms)
        try:
            for name in (self.path, self.path.with_name(self.path.name + ".lock")):
                os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o600))
            return SQLiteBucket.init_from_file(
                [rate], table=_TABLE, db_path=str(self.path), use_file_lock=True
            )
        except (OSError, sqlite3.Error) as exc:
            raise SharedLimitError(
                f"{self.path}: the shared rate limit's file cannot be used ({exc}); check "
                "the state home's folder (RULEBRIDGE_STATE_HOME) is writable and not full"
            ) from exc

    async def acquire(self, amount: float = 1) -> None:
        """Wait until `amount` requests fit in the window, then count them.

        Raises:
            ValueError: `amount` is more than the whole limit (it would never fit).
            SharedLimitError: the bucket's file failed (disk full, removed).
        """
        weight = max(1, math.ceil(amount))
        if weight > self.limit:
            raise ValueError(f"{amount} requests never fit a limit of {self.limit}")
        while (wait := self._try(weight)) > 0:
            await asyncio.sleep(wait)

    def _try(self, weight: int) -> float:
        """Count `weight` requests if they fit now: 0.0, else the seconds to wait."""
        try:
            self._lock.acquire(blocking=False)
        except Timeout:
            return _CONTENDED
        try:
            item = RateItem(_ITEM, time.time_ns() // 1_000_000, weight)  # the bucket's clock
            if self._bucket.put(item):
                self._trim(item.timestamp)
                return 0.0
            waiting = self._bucket.waiting(item)
            return max(int(waiting), 1) / 1000 if isinstance(waiting, int) else _CONTENDED
        except sqlite3.Error as exc:
            raise SharedLimitError(
                f"{self.path}: the shared rate limit failed ({exc}); remove the file to start "
                "it afresh (it holds only request times)"
            ) from exc
        finally:
            self._lock.release()

    def _trim(self, now: int) -> None:
        """Drop requests older than the window, once a window (the lock is held)."""
        if now - self._trimmed >= self.period_ms:
            self._bucket.leak(now)
            self._trimmed = now

    def close(self) -> None:
        """Close the bucket's connection (the file stays for the other processes)."""
        self._bucket.close()  # type: ignore[no-untyped-call]  # pyrate-limiter's close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
