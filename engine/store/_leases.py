"""What the nightly run and the live server share in the store (migration 6): the per-issue
lease, the revision each issue was last reconciled at live, the live queue's dead rows and
the server's settings (``live_meta``).

**The per-issue lease** keeps a nightly run and the live server (`rulebridge serve`) from
writing one issue at once: whoever reconciles an issue first takes
``issue_leases(issue_id)`` with `Leases.lease_issue` and gives it back with
`Leases.release_issue` (in a ``finally``). A lease whose holder died runs out after its
``ttl`` and is then taken over; a holder may take its own lease again (renewing it).
Holders are ``night:<run id>:<pid>`` and ``live:<run id>:<pid>``.

Nothing personal is stored: issue ids, holders, revisions (a ``StatusChanged`` instant),
times, and error texts cut to 500 characters.

Example::

    if store.lease_issue("FF-1", "night:12:4242"):
        try:
            reconcile()
        finally:
            store.release_issue("FF-1", "night:12:4242")
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any, Final

from engine.store._base import StoreBase
from engine.store._ledger import Ledger

__all__ = ["MAX_ERROR", "Leases", "LiveMeta"]

MAX_ERROR: Final = 500  # error texts are kept short: they are for people, not for replay


class LiveMeta(StoreBase):
    """The live tables both connections read: settings and the queue's dead rows."""

    def meta(self, key: str) -> str | None:
        """The live server's setting `key` (e.g. ``fixflo.webhook.subscription``), or None.

        Example::

            store.meta("fixflo.webhook.subscription")  # '7f3c...' once subscribed
        """
        row = self._one("SELECT value FROM live_meta WHERE key = ?", [key])
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        """Set the live server's setting `key` to `value` (one transaction)."""
        with self.transaction():
            self._db.execute(
                "INSERT INTO live_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    def live_dead(self) -> list[dict[str, Any]]:
        """The issues the live server gave up on (left to the night), oldest first: each
        ``{issue_id, event, attempts, last_error, received_at}``."""
        return self._all(
            "SELECT issue_id, event, attempts, last_error, received_at FROM live_queue "
            "WHERE status = 'dead' ORDER BY received_at, issue_id"
        )

    def _later(self, span: timedelta) -> str:
        """`span` after now (before, when negative), in the store's timestamp format."""
        return (self._clock() + span).astimezone(UTC).isoformat(timespec="microseconds")


class Leases(Ledger, LiveMeta):
    """The per-issue lease and what the nightly run reads of the live server's work."""

    def lease_issue(
        self, issue_id: str, holder: str, *, ttl: timedelta = timedelta(minutes=5)
    ) -> bool:
        """Take the lease on `issue_id` for `ttl`: True when it is `holder`'s now (it was
        free, ran out, or was already `holder`'s), False while someone else holds it.

        Args:
            issue_id: the Fixflo issue.
            holder: who takes it (``night:<run>:<pid>``, ``live:<run>:<pid>``).
            ttl: how long the lease holds unless released (longer than one issue's
                reconcile); a holder that died frees it after this.

        Raises:
            StoreError: the store is locked for longer than its timeout, or unusable.

        Example::

            store.lease_issue("FF-1", "live:3:77")  # True
            store.lease_issue("FF-1", "night:4:78")  # False until released or run out
        """
        now = self._now()
        with self.transaction():
            row = self._one("SELECT holder, until FROM issue_leases WHERE issue_id = ?", [issue_id])
            if row is not None and row["holder"] != holder and row["until"] > now:
                return False
            self._db.execute(
                "INSERT INTO issue_leases (issue_id, holder, until) VALUES (?, ?, ?) "
                "ON CONFLICT (issue_id) DO UPDATE SET holder = excluded.holder, "
                "until = excluded.until",
                [issue_id, holder, self._later(ttl)],
            )
        return True

    def release_issue(self, issue_id: str, holder: str) -> None:
        """Give the lease on `issue_id` back; nothing happens when `holder` no longer holds
        it (it ran out and another took it)."""
        with self.transaction():
            self._db.execute(
                "DELETE FROM issue_leases WHERE issue_id = ? AND holder = ?", [issue_id, holder]
            )

    def release_leases(self, holder_prefix: str) -> int:
        """Give back every lease whose holder's name starts with `holder_prefix` (at the
        live server's start, under its lock: the leases of a server that was killed, which
        would otherwise hold their issues until they run out); returns how many."""
        with self.transaction():
            cursor = self._db.execute(
                "DELETE FROM issue_leases WHERE substr(holder, 1, ?) = ?",
                [len(holder_prefix), holder_prefix],
            )
        return int(cursor.rowcount)

    def issue_holder(self, issue_id: str) -> str | None:
        """Who holds a lease on `issue_id` that has not run out, or None."""
        row = self._one(
            "SELECT holder FROM issue_leases WHERE issue_id = ? AND until > ?",
            [issue_id, self._now()],
        )
        return None if row is None else str(row["holder"])

    def handled_live(self, issue_id: str) -> str | None:
        """The revision (canonical JSON of the issue's ``StatusChanged``) the live server
        last reconciled `issue_id` at, or None when it never did."""
        row = self._one("SELECT revision FROM live_handled WHERE issue_id = ?", [issue_id])
        return None if row is None else str(row["revision"])

    def clear_live_dead(self, issue_id: str) -> bool:
        """Remove the issue's dead live row once a nightly run reconciled the issue;
        returns whether there was one (a pending or leased row is left alone)."""
        with self.transaction():
            cursor = self._db.execute(
                "DELETE FROM live_queue WHERE issue_id = ? AND status = 'dead'", [issue_id]
            )
        return bool(cursor.rowcount)
