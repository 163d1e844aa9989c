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

A fleet moves an agency's night between workers, and a worker on another machine cannot
see the file in the first one's state home. `PostgresLimiter` keeps the same sliding-window
log in a Postgres table instead (pyrate-limiter's ``PostgresBucket`` over a
``psycopg_pool.ConnectionPool``; chosen by `rulebridge.runner.RunOptions.rate_url`): every
process of the agency, on any machine, counts the last window's requests from that table,
so a run resumed elsewhere sees what was spent and waits rather than bursting. One table
per agency and system (`bucket_table`: the agency's name as a slug, for a reader of the
database, and a short hash of its identity, so two agencies never share a budget; renaming
the config's ``agency:`` starts a new table, whose first window does not count the old
one's requests). Each acquire does its database work in a thread (``asyncio.to_thread``),
never on the event loop: it reads the server's clock (one clock for every machine), then
the bucket takes the table lock without waiting (``LOCK TABLE ... NOWAIT``), counts the
window and inserts. A process's acquires take turns on a thread lock, so they do not
contend for the table lock among themselves. Sessions are set to UTC: the bucket stores
times without a zone, which would otherwise shift with a worker's ``PGTZ`` or a
daylight-saving change. The URL's password never appears in a message or a log line
(`redact_url`).

Example::

    limiter = SharedLimiter(home.rate_path("fixflo"), 500)
    await limiter.acquire()  # at most 500 in any minute, whoever else shares the file
    limiter.close()
    limiter = PostgresLimiter(url, bucket_table(home.identity, "fixflo"), 500)
    await limiter.acquire()  # the same, on every machine of the fleet
    limiter.close()
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from filelock import FileLock, Timeout
from pyrate_limiter import Rate, RateItem, SQLiteBucket

from engine.errors import RulebridgeError
from engine.store import AgencyIdentity

if TYPE_CHECKING:  # psycopg is imported when a PostgresLimiter is made: most runs need none
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresLimiter", "SharedLimitError", "SharedLimiter", "bucket_table", "redact_url"]

_ITEM: Final = "request"
_TABLE: Final = "requests"
_CONTENDED: Final = 0.002  # seconds before trying again while another process counts
_CONNECT_TIMEOUT: Final = 10  # seconds to reach the database when a limiter opens
_SCHEMES: Final = ("postgresql", "postgres")
_SLUG: Final = 24  # the table's name stays within Postgres's 63 characters with its prefixes
_NOW: Final = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint"


class SharedLimitError(RulebridgeError):
    """The shared rate limit's file or database cannot be used (the message names it, a
    URL without its password, and the fix)."""


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


def redact_url(url: str) -> str:
    """`url` with its password (in the authority or a ``password=`` parameter) as ``***``.

    Example:
        >>> redact_url("postgresql://ops:s3cret@db.example:5432/fleet?password=x&sslmode=require")
        'postgresql://ops:***@db.example:5432/fleet?password=%2A%2A%2A&sslmode=require'
        >>> redact_url("sqlite:////srv/fleet/state/fleet.sqlite")
        'sqlite:////srv/fleet/state/fleet.sqlite'
    """
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if parts.password is None and not any(key == "password" for key, _ in pairs):
        return url  # nothing to hide: as given (``sqlite:////abs/path`` keeps its slashes)
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}"
    query = urlencode([(key, "***" if key == "password" else value) for key, value in pairs])
    return urlunsplit(parts._replace(netloc=netloc, query=query if pairs else parts.query))


def bucket_table(identity: AgencyIdentity, system: str) -> str:
    """The Postgres bucket's name for `system`'s calls of the agency `identity` names: the
    agency's slug, a short hash of its identity (`engine.store.AgencyIdentity.key`), the
    system. pyrate-limiter prefixes it with ``ratelimit___``.

    Example:
        >>> from engine.store import AgencyIdentity
        >>> bucket_table(AgencyIdentity.of("Acme Lettings", "AB-12", None), "fixflo")
        'acme_lettings_970aff7246_fixflo'
    """
    slug = re.sub(r"[^a-z0-9]+", "_", identity.agency.lower()).strip("_")[:_SLUG].rstrip("_")
    tail = re.sub(r"[^a-z0-9]+", "_", system.lower()).strip("_")[:12].rstrip("_")
    return f"{slug or 'agency'}_{identity.key[:10]}_{tail or 'api'}"


class PostgresLimiter:
    """At most `per_minute` acquires in any `period` seconds, for every process on every
    machine sharing the bucket `table` in the database at `url` (see the module docstring).

    Args:
        url: a ``postgresql://`` URL (its password is never shown; SQLAlchemy's
            ``postgresql+psycopg://`` is taken too).
        table: the bucket's name (`bucket_table`).
        per_minute: the limit per `period` (at least 1; a fraction is rounded down).
        period: the window in seconds (60; tests pass a short one).

    Raises:
        ValueError: `per_minute` is below 1.
        SharedLimitError: `url` is not a Postgres URL, or the database cannot be reached or
            refuses the bucket's table (the message names the URL without its password).

    Example::

        async with PostgresLimiter(url, "acme_970aff7246_fixflo", 20, period=2) as limiter:
            await limiter.acquire()
    """

    def __init__(self, url: str, table: str, per_minute: float, *, period: float = 60.0) -> None:
        if per_minute < 1:
            raise ValueError(f"a rate limit must allow at least 1 request, not {per_minute}")
        self.url, self.table, self.limit = redact_url(url), table, int(per_minute)
        self.period_ms = int(period * 1000)
        self.max_rate = float(self.limit)
        self._secret = urlsplit(url).password or ""
        scheme, plus, _driver = urlsplit(url).scheme.partition("+")
        if scheme not in _SCHEMES:
            raise SharedLimitError(
                f"{self.url}: the shared rate limit needs a postgresql:// URL "
                "(postgresql://USER:PASSWORD@HOST:PORT/DATABASE), or none for the state home's "
                "file"
            )
        if plus:  # SQLAlchemy's spelling (postgresql+psycopg://), as a fleet's URL may be
            url = urlunsplit(urlsplit(url)._replace(scheme=scheme))
        import psycopg
        from pyrate_limiter import PostgresBucket

        self._turn = threading.Lock()
        self._trimmed = 0
        self._pool = self._connect(url)
        try:
            self._bucket = PostgresBucket(self._pool, table, [Rate(self.limit, self.period_ms)])
        except psycopg.Error as exc:
            self._pool.close()
            raise self._failed("cannot create its table", exc) from exc

    def _connect(self, url: str) -> ConnectionPool:
        """A small pool of UTC sessions on `url` with its first connection made; a direct
        connection first, whose error says why (the pool's would only say it timed out)."""
        import psycopg
        from psycopg_pool import ConnectionPool

        try:
            psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT).close()
            pool = ConnectionPool(
                url, min_size=1, max_size=2, open=False, name=self.url, configure=_utc
            )
            pool.open(wait=True, timeout=_CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            raise self._failed("cannot reach its database", exc) from exc
        return pool

    def _failed(self, what: str, exc: BaseException) -> SharedLimitError:
        detail = str(exc).strip()
        detail = detail.replace(self._secret, "***") if self._secret else detail
        return SharedLimitError(
            f"{self.url}: the shared rate limit {what} ({detail}); check that rate_url names "
            "a reachable database whose user may create tables"
        )

    async def acquire(self, amount: float = 1) -> None:
        """Wait until `amount` requests fit in the window, then count them.

        Raises:
            ValueError: `amount` is more than the whole limit (it would never fit).
            SharedLimitError: the database failed (twice in a row: the second try is on a
                fresh connection, the pool having dropped the broken one).
        """
        weight = max(1, math.ceil(amount))
        if weight > self.limit:
            raise ValueError(f"{amount} requests never fit a limit of {self.limit}")
        while (wait := await asyncio.to_thread(self._turn_try, weight)) > 0:
            await asyncio.sleep(wait)

    def _turn_try(self, weight: int) -> float:
        """`_try` in this process's turn; once more if the connection broke."""
        import psycopg

        with self._turn:
            try:
                return self._try(weight)
            except psycopg.OperationalError:
                pass  # a server restart or a dropped connection: the pool replaces it
            try:
                return self._try(weight)
            except psycopg.Error as exc:
                raise self._failed("failed", exc) from exc

    def _try(self, weight: int) -> float:
        """Count `weight` requests if they fit now: 0.0, else the seconds to wait."""
        item = RateItem(_ITEM, self._now(), weight)
        if self._bucket.put(item):
            self._trim(item.timestamp)
            return 0.0
        waiting = self._bucket.waiting(item)
        return max(int(waiting), 1) / 1000 if isinstance(waiting, int) else _CONTENDED

    def _now(self) -> int:
        """The database server's clock in milliseconds: one clock for every machine."""
        with self._pool.connection() as conn:
            row = conn.execute(_NOW).fetchone()
        if row is None:  # pragma: no cover - a SELECT of a value returns its row
            raise RuntimeError("the server's clock returned no row")
        return int(row[0])

    def _trim(self, now: int) -> None:
        """Drop requests older than the window, once a window."""
        if now - self._trimmed >= self.period_ms:
            self._bucket.leak(now)
            self._trimmed = now

    def close(self) -> None:
        """Close the pool (the table stays for the other processes)."""
        self._pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.close)


def _utc(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Each pooled session in UTC (the bucket's times have no zone)."""
    conn.execute("SET TIME ZONE 'UTC'")
    conn.commit()
