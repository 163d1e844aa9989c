"""Workers' leases: who is alive, and who takes over the nights of a worker that died.

DBOS resumes a process's unfinished workflows when the same executor starts again; it does
not notice, by itself, that another machine's worker has gone. Each worker therefore holds a
lease in the queues' database (``rulebridge_workers``: executor id, host, pid, last beat),
renewed every third of ``lease_seconds``. A worker silent for longer than ``lease_seconds``
is dead: the first live worker to *claim* it (an insert into ``rulebridge_claims`` keyed by
the dead executor's id, which only one insert can win) resumes its PENDING workflows through
DBOS (`rulebridge.fleet.worker`). A worker that drains releases its lease as it exits, so
its unfinished nights are taken over at the next check, not after the lease runs out.

SQLAlchemy Core over the same URL as DBOS: SQLite (one machine) or Postgres (several).
Clocks: each worker stamps its beats with its own clock, so the machines' clocks must
agree to well within ``lease_seconds`` (NTP).

Example::

    leases = Leases("sqlite:////tmp/fleet.sqlite")
    leases.beat("worker-1")                 # taken (or renewed)
    leases.renew("worker-1")                # False once another worker claimed it
    leases.alive(lease_seconds=30)          # executor ids heard from within 30 s
    leases.claim("worker-0", by="worker-1")   # True for exactly one claimant
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.schema import CreateTable

from engine.errors import RulebridgeError
from rulebridge.runner.ratelimit import redact_url

__all__ = ["Lease", "LeaseError", "Leases"]

_META = sa.MetaData()
_WORKERS = sa.Table(
    "rulebridge_workers",
    _META,
    sa.Column("executor_id", sa.String(200), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("beat", sa.Float, nullable=False),
    sa.Column("draining", sa.Boolean, nullable=False, default=False),
)
_CLAIMS = sa.Table(
    "rulebridge_claims",
    _META,
    sa.Column("executor_id", sa.String(200), primary_key=True),
    sa.Column("claimed_by", sa.String(200), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)
_CREATE_TRIES = 5
_CLAIMS_KEPT = 30 * 24 * 3600.0  # seconds a claim row is kept (executor ids never repeat)


class LeaseError(RulebridgeError):
    """The queues' database cannot hold the leases (the message names it, not its password)."""


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker as its lease row says."""

    executor_id: str
    host: str
    pid: int
    started: float
    beat: float
    draining: bool

    def to_json(self, now: float) -> dict[str, Any]:
        """The lease for ``fleet status`` (seconds since the last beat)."""
        return {
            "executor_id": self.executor_id,
            "host": self.host,
            "pid": self.pid,
            "draining": self.draining,
            "silent_seconds": round(max(0.0, now - self.beat), 1),
        }


class Leases:
    """The lease tables in the database at `url` (created when missing).

    Raises:
        LeaseError: the database cannot be reached or written.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._engine = sa.create_engine(url, pool_pre_ping=True)
        except SQLAlchemyError as exc:
            raise LeaseError(self._problem(exc)) from None
        self._create()

    def _create(self) -> None:
        """The tables, made if missing. Workers starting together on a new database race
        to make them (one's CREATE fails on the other's table): try again, then go on."""
        for attempt in range(_CREATE_TRIES):
            try:
                with self._engine.begin() as db:
                    for table in (_WORKERS, _CLAIMS):
                        db.execute(CreateTable(table, if_not_exists=True))
                return
            except SQLAlchemyError as exc:
                if attempt == _CREATE_TRIES - 1:
                    raise LeaseError(self._problem(exc)) from None
                time.sleep(0.1 * (attempt + 1))

    def beat(self, executor_id: str, *, draining: bool = False) -> None:
        """Renew (or take) `executor_id`'s lease, stamped now."""
        now = time.time()
        row = {"beat": now, "draining": draining}
        with self._begin() as db:
            done = db.execute(
                sa.update(_WORKERS).where(_WORKERS.c.executor_id == executor_id).values(**row)
            )
            if done.rowcount == 0:
                db.execute(
                    sa.insert(_WORKERS).values(
                        executor_id=executor_id,
                        host=socket.gethostname(),
                        pid=os.getpid(),
                        started=now,
                        **row,
                    )
                )

    def renew(self, executor_id: str, *, draining: bool = False) -> bool:
        """Renew `executor_id`'s lease, stamped now; False when it has none any more (another
        worker found it silent and claimed its work: it must stop, `rulebridge.fleet.worker`)."""
        with self._begin() as db:
            done = db.execute(
                sa.update(_WORKERS)
                .where(_WORKERS.c.executor_id == executor_id)
                .values(beat=time.time(), draining=draining)
            )
        return bool(done.rowcount)

    def release(self, executor_id: str) -> None:
        """Give up `executor_id`'s lease (a worker that drained and exits)."""
        with self._begin() as db:
            db.execute(sa.delete(_WORKERS).where(_WORKERS.c.executor_id == executor_id))

    def leases(self) -> list[Lease]:
        """Every lease held, oldest worker first."""
        with self._begin() as db:
            rows = db.execute(sa.select(_WORKERS).order_by(_WORKERS.c.started)).mappings()
            return [Lease(**dict(row)) for row in rows]

    def alive(self, lease_seconds: float) -> set[str]:
        """The executor ids whose lease was renewed within `lease_seconds`."""
        cutoff = time.time() - lease_seconds
        return {lease.executor_id for lease in self.leases() if lease.beat >= cutoff}

    def claim(self, executor_id: str, *, by: str) -> bool:
        """Claim the work of dead worker `executor_id` for `by`: True for exactly one
        claimant, ever; the dead worker's lease row goes with the claim."""
        now = time.time()
        try:
            with self._begin() as db:
                db.execute(
                    sa.insert(_CLAIMS).values(executor_id=executor_id, claimed_by=by, at=now)
                )
                db.execute(sa.delete(_WORKERS).where(_WORKERS.c.executor_id == executor_id))
                db.execute(sa.delete(_CLAIMS).where(_CLAIMS.c.at < now - _CLAIMS_KEPT))
        except IntegrityError:
            return False
        return True

    def close(self) -> None:
        """Close the connections."""
        self._engine.dispose()

    @contextlib.contextmanager
    def _begin(self) -> Iterator[sa.Connection]:
        """A transaction; database errors other than a lost claim race become `LeaseError`."""
        try:
            with self._engine.begin() as db:
                yield db
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            raise LeaseError(self._problem(exc)) from None

    def _problem(self, exc: BaseException) -> str:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return (
            f"the fleet's database {redact_url(self.url)} cannot hold the workers' leases "
            f"({type(exc).__name__}: {first.replace(self.url, redact_url(self.url))}); check "
            "it is reachable and writable"
        )
