"""The live server's queue of issues to reconcile, in the agency's store (migration 6).

A webhook delivery is a trigger, never data: the receiver only says "issue 42 changed"
(`LiveQueue.enqueue`) and the server's workers reconcile the issue as Fixflo then has it.
One row per issue (``live_queue``), so a burst of deliveries for one issue becomes one
reconcile (coalesced), and one issue is reconciled by one worker at a time. The life of a
row:

- ``pending`` (due at ``due_at``): `LiveQueue.take` leases the oldest due one to a worker
  (``leased``, a fresh token, ``attempts + 1``); a row whose lease ran out (its worker was
  killed) is taken again the same way.
- The worker ends it with `LiveQueue.done` (deleted, or ``pending`` again when a delivery
  came in meanwhile: ``again``), `LiveQueue.retry` (``pending`` after a delay, or ``dead``
  once its attempts are spent: left to the nightly run) or `LiveQueue.release` (``pending``
  without counting the attempt: the nightly run holds the issue).
- A ``dead`` row comes back to ``pending`` when a new delivery arrives, and is deleted by
  the nightly run once it reconciled the issue (`engine.store.Store.clear_live_dead`).

The queue is bounded: `enqueue` answers ``full`` (writing nothing) when `limit` issues
wait, and the receiver answers 503 with ``Retry-After`` (Fixflo retries). Every method is
one short ``BEGIN IMMEDIATE`` transaction on its own connection (like
`engine.store.Deliveries`); a call whose item's token no longer matches (its lease ran out
and another worker took the row) changes nothing of the row.

Only issue ids, event names, times and error texts (cut to 500 characters) are stored.

Example::

    with LiveQueue.open("state/agency.db") as queue:
        queue.enqueue("42", "Issue state change")  # 'queued'
        item = queue.take("live:7:4242")
        queue.done(item, revision='"2026-11-22T09:15:00Z"')
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal

from engine.store._leases import MAX_ERROR, LiveMeta

__all__ = ["EnqueueOutcome", "LiveItem", "LiveQueue"]

EnqueueOutcome = Literal["queued", "coalesced", "full"]
_EVENT_CHARS: Final = 100  # event names are short; a longer one is cut, never refused


@dataclass(frozen=True, slots=True)
class LiveItem:
    """One issue leased to a worker by `LiveQueue.take`.

    Attributes:
        issue_id: the Fixflo issue to reconcile.
        event: the latest delivery's event name.
        attempts: reconciles tried since the issue was last queued afresh, this one included.
        token: proves the lease to `done`, `retry` and `release`.
        received_at: when the earliest delivery still waiting arrived (ISO UTC).
    """

    issue_id: str
    event: str
    attempts: int
    token: str
    received_at: str


class LiveQueue(LiveMeta):
    """The queue of issues to reconcile live; open with `LiveQueue.open` (see the module)."""

    def enqueue(self, issue_id: str, event: str, *, limit: int = 1000) -> EnqueueOutcome:
        """Ask for `issue_id` to be reconciled.

        Args:
            issue_id: the issue the delivery names.
            event: the delivery's event name (kept for people reading the queue).
            limit: how many issues may wait (pending or leased) at once.

        Returns:
            ``queued`` (a new row, or a dead one revived), ``coalesced`` (the issue was
            waiting: due now at the latest; or being reconciled: it runs again after),
            ``full`` (`limit` issues wait: nothing was written).

        Example::

            queue.enqueue("42", "Issue closed")  # 'queued'
            queue.enqueue("42", "Issue closed")  # 'coalesced'
        """
        now, event = self._now(), event[:_EVENT_CHARS]
        with self.transaction():
            row = self._one("SELECT status, due_at FROM live_queue WHERE issue_id = ?", [issue_id])
            if row is not None and row["status"] == "pending":
                self._db.execute(
                    "UPDATE live_queue SET event = ?, due_at = min(due_at, ?) WHERE issue_id = ?",
                    [event, now, issue_id],
                )
                return "coalesced"
            if row is not None and row["status"] == "leased":
                self._db.execute(
                    "UPDATE live_queue SET event = ?, again = 1 WHERE issue_id = ?",
                    [event, issue_id],
                )
                return "coalesced"
            if self._waiting() >= limit:
                return "full"
            self._db.execute(
                "INSERT INTO live_queue (issue_id, event, status, received_at, due_at) "
                "VALUES (?, ?, 'pending', ?, ?) ON CONFLICT (issue_id) DO UPDATE SET "
                "event = excluded.event, status = 'pending', received_at = excluded.received_at, "
                "due_at = excluded.due_at, attempts = 0, holder = NULL, token = NULL, "
                "lease_until = NULL, again = 0",
                [issue_id, event, now, now],
            )
            return "queued"

    def take(self, holder: str, *, lease: timedelta = timedelta(minutes=5)) -> LiveItem | None:
        """Lease the oldest due issue to `holder`, or None when none is due.

        A row whose lease ran out (its holder was killed) is due too. Deliveries that came
        before this take are covered by the reconcile it starts (``again`` is cleared).

        Example::

            item = queue.take("live:7:4242")  # LiveItem('42', 'Issue closed', 1, ...)
        """
        now, token = self._now(), uuid.uuid4().hex
        with self.transaction():
            row = self._one(
                "SELECT * FROM live_queue WHERE (status = 'pending' AND due_at <= ?) "
                "OR (status = 'leased' AND lease_until <= ?) "
                "ORDER BY due_at, received_at, issue_id LIMIT 1",
                [now, now],
            )
            if row is None:
                return None
            self._db.execute(
                "UPDATE live_queue SET status = 'leased', holder = ?, token = ?, "
                "lease_until = ?, attempts = attempts + 1, again = 0 WHERE issue_id = ?",
                [holder, token, self._later(lease), row["issue_id"]],
            )
        return LiveItem(
            row["issue_id"], row["event"], int(row["attempts"]) + 1, token, row["received_at"]
        )

    def done(self, item: LiveItem, revision: str | None) -> None:
        """The issue was reconciled: its row goes (or waits again, due now, when a delivery
        came in meanwhile); `revision` (what was reconciled) is kept for the nightly report
        (`engine.store.Store.handled_live`)."""
        now = self._now()
        with self.transaction():
            row = self._mine(item)
            if row is not None and row["again"]:
                self._fresh(item.issue_id, now)
            elif row is not None:
                self._db.execute("DELETE FROM live_queue WHERE issue_id = ?", [item.issue_id])
            if revision is not None:
                self._db.execute(
                    "INSERT INTO live_handled (issue_id, revision, handled_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (issue_id) DO UPDATE SET revision = excluded.revision, "
                    "handled_at = excluded.handled_at",
                    [item.issue_id, revision, now],
                )

    def retry(self, item: LiveItem, error: str, *, delay: timedelta, attempts: int = 5) -> bool:
        """The reconcile failed with `error`: try again after `delay` (True), or, once
        `attempts` are spent, leave the issue to the nightly run (``dead``; False). A
        delivery that came in meanwhile makes it a fresh pending issue (True)."""
        with self.transaction():
            row = self._mine(item)
            if row is None:
                return True  # no longer ours: its new holder decides
            cut = (error or "")[:MAX_ERROR] or None
            if row["again"]:
                self._fresh(item.issue_id, self._now(), cut)
                return True
            if item.attempts >= attempts:
                self._db.execute(
                    "UPDATE live_queue SET status = 'dead', last_error = ?, holder = NULL, "
                    "token = NULL, lease_until = NULL WHERE issue_id = ?",
                    [cut, item.issue_id],
                )
                return False
            self._db.execute(
                "UPDATE live_queue SET status = 'pending', due_at = ?, last_error = ?, "
                "holder = NULL, token = NULL, lease_until = NULL WHERE issue_id = ?",
                [self._later(delay), cut, item.issue_id],
            )
            return True

    def release(self, item: LiveItem, *, delay: timedelta = timedelta(0)) -> None:
        """Give the issue back without counting the attempt (the nightly run holds it, or
        the server stops): ``pending``, due after `delay`."""
        with self.transaction():
            if self._mine(item) is not None:
                self._db.execute(
                    "UPDATE live_queue SET status = 'pending', due_at = ?, "
                    "attempts = max(attempts - 1, 0), holder = NULL, token = NULL, "
                    "lease_until = NULL, again = 0 WHERE issue_id = ?",
                    [self._later(delay), item.issue_id],
                )

    def renew(self, item: LiveItem, *, lease: timedelta = timedelta(minutes=5)) -> bool:
        """Extend the hold on `item` by `lease` from now, while its reconcile runs; False
        when the hold is no longer this item's (it ran out and another took it).

        Example::

            queue.renew(item, lease=timedelta(minutes=30))  # True
        """
        with self.transaction():
            return bool(
                self._db.execute(
                    "UPDATE live_queue SET lease_until = ? "
                    "WHERE issue_id = ? AND token = ? AND status = 'leased'",
                    [self._later(lease), item.issue_id, item.token],
                ).rowcount
            )

    def release_holder(self, holder_prefix: str) -> int:
        """Make every row leased by a holder whose name starts with `holder_prefix` due now
        (at start: the leases of a server that was killed); returns how many. The attempt
        the killed server made still counts."""
        with self.transaction():
            cursor = self._db.execute(
                "UPDATE live_queue SET status = 'pending', due_at = ?, holder = NULL, "
                "token = NULL, lease_until = NULL, again = 0 "
                "WHERE status = 'leased' AND substr(holder, 1, ?) = ?",
                [self._now(), len(holder_prefix), holder_prefix],
            )
        return int(cursor.rowcount)

    def pending(self) -> int:
        """How many issues wait or are being reconciled (what `enqueue`'s limit counts)."""
        return self._waiting()

    def next_due(self) -> str | None:
        """When the next row becomes due (a pending row's ``due_at``, or a lease running
        out), ISO UTC; None when nothing waits."""
        row = self._one(
            "SELECT min(CASE status WHEN 'pending' THEN due_at ELSE lease_until END) AS due "
            "FROM live_queue WHERE status IN ('pending', 'leased')",
            [],
        )
        return None if row is None or row["due"] is None else str(row["due"])

    def _waiting(self) -> int:
        row = self._one(
            "SELECT count(*) AS n FROM live_queue WHERE status IN ('pending', 'leased')", []
        )
        return 0 if row is None else int(row["n"])

    def _mine(self, item: LiveItem) -> dict[str, Any] | None:
        """The item's row while `item` still holds its lease (token and status)."""
        return self._one(
            "SELECT * FROM live_queue WHERE issue_id = ? AND token = ? AND status = 'leased'",
            [item.issue_id, item.token],
        )

    def _fresh(self, issue_id: str, now: str, error: str | None = None) -> None:
        """Pending again, due now, attempts from zero: a delivery came in meanwhile."""
        self._db.execute(
            "UPDATE live_queue SET status = 'pending', due_at = ?, attempts = 0, again = 0, "
            "holder = NULL, token = NULL, lease_until = NULL, last_error = ? WHERE issue_id = ?",
            [now, error, issue_id],
        )
