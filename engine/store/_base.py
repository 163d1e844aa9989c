"""The store's connection: opening, transactions and queries (see `engine.store._store`).

Example::

    base = StoreBase.open("state/agency.db")
    base.close()
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlite_utils import Database

from engine.store import migrations as schema
from engine.store.files import StoreError, prepare_file, secure_companions, translate

__all__ = ["Clock", "StoreBase"]

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StoreBase:
    """The connection under `engine.store._store.Store`: open, close, transactions, queries."""

    def __init__(self, db: Database, path: Path, clock: Clock) -> None:
        self._db, self.path, self._clock = db, path, clock
        self._run: int | None = None
        self._run_kind = "night"  # the current run's kind (`Store.start_run`)
        self._ruleset_hash = ""

    @classmethod
    def open(cls, path: str | Path, *, timeout: float = 5.0, clock: Clock = _utcnow) -> Self:
        """Open (creating and migrating as needed) the store at `path`.

        Args:
            path: the agency's store file; its folder is created 0700 if missing.
            timeout: seconds to wait for another writer before `StoreError` (locked).
            clock: the time source for timestamps (tests pass a fixed one).

        Raises:
            StoreError: locked, not a rulebridge store, newer schema, unsafe folder, disk full.

        Example::

            with Store.open("state/agency.db") as store:
                store.runs()  # [] for a new store
        """
        file = Path(path)
        prepare_file(file)
        try:
            conn = sqlite3.connect(str(file), timeout=timeout)
        except sqlite3.Error as exc:
            raise translate(exc, str(file)) from exc
        db = Database(conn, execute_plugins=False)
        store = cls(db, file, clock)
        try:
            store._setup()
        except BaseException:
            db.close()
            raise
        return store

    def _setup(self) -> None:
        where = str(self.path)
        try:
            app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
            if app_id not in (0, schema.APPLICATION_ID) or (app_id == 0 and self._db.table_names()):
                raise StoreError(
                    where,
                    "is not a rulebridge store (an SQLite file of something else)",
                    "point the runner at the agency's store file, or move this file away",
                )
            self._db.enable_wal()
            self._db.execute("PRAGMA foreign_keys = ON")
            schema.migrate(self._db, self._now())
        except ValueError as exc:
            raise StoreError(
                where,
                f"was written by a newer rulebridge (migrations {exc.args[0]} are unknown; "
                f"this version knows up to {schema.latest()})",
                "upgrade rulebridge; do not use this store with an older version",
            ) from exc
        except sqlite3.Error as exc:
            raise translate(exc, where) from exc
        secure_companions(self.path)

    def close(self) -> None:
        """Close the connection (a run still open stays ``running``: the next open sees it)."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat(timespec="microseconds")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction around the block; nested blocks join it (as savepoints).

        Example::

            with store.transaction():
                store.record_effect(op, EffectResult("42"))
                store.map_id(IdMapEntry("property", "100001", "42"))
        """
        conn = self._db.conn
        if conn.in_transaction:  # nested: a savepoint; the outer block decides the rest
            try:
                with self._db.atomic():
                    yield
            except sqlite3.Error as exc:
                raise translate(exc, str(self.path)) from exc
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.rollback()
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._db.rollback()
            raise translate(exc, str(self.path)) from exc
        finally:
            secure_companions(self.path)

    def _one(self, sql: str, params: list[Any]) -> dict[str, Any] | None:
        try:
            return next(self._db.query(sql, params), None)
        except sqlite3.Error as exc:
            raise translate(exc, str(self.path)) from exc

    def _all(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        try:
            return list(self._db.query(sql, params or []))
        except sqlite3.Error as exc:
            raise translate(exc, str(self.path)) from exc

    def _require_run(self) -> int:
        if self._run is None:
            raise StoreError(str(self.path), "no run is open", "call start_run() first")
        return self._run
