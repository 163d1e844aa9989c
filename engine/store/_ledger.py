"""The ledger part of the store: id map, per-issue state and cursors (see `engine.store._store`).

Example::

    store.map_id(IdMapEntry("property", "100001", "42"))
    store.lookup("property", "100001").target_id  # '42'
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from engine.store._binding import Bound
from engine.store.files import StoreError
from engine.store.records import IdMapEntry, IssueState, dumps

__all__ = ["Ledger"]


class Ledger(Bound):
    """Id map, issue state and cursors; every write is one transaction."""

    def map_id(self, entry: IdMapEntry) -> None:
        """Insert or replace one id-map entry (its `last_run` becomes the current run)."""
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO id_map (entity, source_id, target_id, target_ref, "
                "content_hash, last_run) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    entry.entity,
                    entry.source_id,
                    entry.target_id,
                    entry.target_ref,
                    entry.content_hash,
                    self._run,
                ],
            )

    def lookup(self, entity: str, source_id: str) -> IdMapEntry | None:
        """The id-map entry of a source record, or None."""
        row = self._one(
            "SELECT * FROM id_map WHERE entity = ? AND source_id = ?", [entity, source_id]
        )
        return None if row is None else IdMapEntry(**row)

    def lookup_target(self, entity: str, target_id: str) -> IdMapEntry | None:
        """The id-map entry whose target record is `target_id`, or None."""
        row = self._one(
            "SELECT * FROM id_map WHERE entity = ? AND target_id = ? LIMIT 1", [entity, target_id]
        )
        return None if row is None else IdMapEntry(**row)

    def id_map(self, entity: str) -> dict[str, IdMapEntry]:
        """Every entry of `entity`, by source id."""
        rows = self._all("SELECT * FROM id_map WHERE entity = ?", [entity])
        return {row["source_id"]: IdMapEntry(**row) for row in rows}

    def mapped(self, entity: str) -> int:
        """How many records of `entity` the id map holds (0: the store never recorded one)."""
        row = self._one("SELECT count(*) AS n FROM id_map WHERE entity = ?", [entity])
        return 0 if row is None else int(row["n"])

    def id_map_fingerprint(self, exclude: Iterable[tuple[str, str]] = ()) -> str:
        """A hash of the id map (every entity, ids, refs and content hashes).

        Read-only. It changes whenever an entry is added, removed or changed, so a saved
        plan can carry it and be refused when the id map moved since it was made.
        Entries named in `exclude` (``(entity, source_id)`` pairs, e.g. the records a plan
        writes itself) are left out, so a plan's own effects do not make it stale.

        Example::

            store.id_map_fingerprint()  # 'sha256:e3b0c442...' for an empty id map
        """
        skipped = set(exclude)
        rows = self._all(
            "SELECT entity, source_id, target_id, target_ref, content_hash FROM id_map "
            "ORDER BY entity, source_id"
        )
        digest = hashlib.sha256()
        for row in rows:
            if (row["entity"], row["source_id"]) in skipped:
                continue
            line = [row[name] for name in ("entity", "source_id", "target_id", "target_ref")]
            digest.update(dumps([*line, row["content_hash"]]).encode("utf-8") + b"\n")
        return "sha256:" + digest.hexdigest()

    def current_run_id(self) -> int | None:
        """The id of the run started on this store and not yet finished, or None."""
        return self._run

    def issue_state(self, issue_id: str) -> IssueState:
        """What Alto holds for `issue_id` per the ledger (empty when never seen).

        Example::

            reconcile(ruleset, issue, store.issue_state("FF-1").holding())
        """
        row = self._one("SELECT * FROM issue_state WHERE issue_id = ?", [issue_id])
        if row is None:
            return IssueState(issue_id)
        return IssueState(
            issue_id,
            row["works_order_id"],
            None if row["works_order"] is None else json.loads(row["works_order"]),
            frozenset(json.loads(row["documents"])),
            frozenset(json.loads(row["charges"])),
            None if row["revision"] is None else json.loads(row["revision"]),
            row["last_run"],
        )

    def put_issue_state(self, state: IssueState) -> None:
        """Replace the ledger's state for one issue."""
        works = None if state.works_order is None else dumps(dict(state.works_order))
        revision = None if state.revision is None else dumps(state.revision)
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO issue_state (issue_id, works_order_id, works_order, "
                "documents, charges, revision, last_run) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    state.issue_id,
                    state.works_order_id,
                    works,
                    dumps(sorted(state.documents)),
                    dumps(sorted(state.charges)),
                    revision,
                    self._run,
                ],
            )

    def cursor(self, name: str) -> str | None:
        """The cursor's value, or None before its first advance."""
        row = self._one("SELECT value FROM cursors WHERE name = ?", [name])
        return None if row is None else str(row["value"])

    def advance_cursor(self, name: str, value: str) -> None:
        """Move a cursor forward to `value` (text order: use one ISO 8601 UTC format).

        The same value is a no-op; an earlier one is refused with `StoreError`.

        Example::

            store.advance_cursor("fixflo.issues", "2026-11-22T01:00:00Z")
        """
        with self.transaction():
            current = self.cursor(name)
            if current is not None and value < current:
                raise StoreError(
                    str(self.path),
                    f"cursor {name} is at {current}; it cannot move back to {value}",
                    "cursors only advance: pass a later value",
                )
            self._db.execute(
                "INSERT OR REPLACE INTO cursors (name, value, run_id, updated) VALUES (?,?,?,?)",
                [name, value, self._run, self._now()],
            )
