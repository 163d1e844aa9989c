"""Webhook deliveries claimed in the agency's store, so each is handled once, across
concurrent requests, processes and restarts (migration 5, ``webhook_deliveries``).

One row per delivery, keyed by its digest (``sha256:`` of the body as received: Fixflo's
contract documents no delivery or event id). The life of a row:

1. `Deliveries.claim` inserts it as ``claimed``, with a fresh claim token, by one
   ``INSERT ... ON CONFLICT DO NOTHING`` inside a ``BEGIN IMMEDIATE`` transaction. Exactly
   one caller gets ``claimed`` for a digest; the others learn ``handled`` (already done: do
   nothing) or ``in_progress`` (another caller holds the claim: wait or ask to be retried).
2. The claimant runs the handler, then calls `Deliveries.finish` (the row becomes
   ``handled`` and stays, so a replay is recognised) or, when the handler failed,
   `Deliveries.release` (the row is deleted, so a redelivery can run the handler again).
3. A claim whose holder died (killed mid-handler) is taken over by the first `claim` after
   its lease ran out, so a crash delays a delivery but never loses it.

Handled rows older than the retention (`claim`'s ``keep``) are deleted by later claims; a
delivery replayed after that runs again, which the Fixflo handlers tolerate (they re-read
the issue and reconcile it: level-triggered).

Only digests, event names and times are stored: never a body, never personal data.

Example::

    with Deliveries.open("state/agency.db") as deliveries:
        claim = deliveries.claim("sha256:ab12...", "Issue state change")
        if claim.outcome == "claimed":
            handle()
            deliveries.finish(claim)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Literal

from engine.store._base import StoreBase
from engine.store.files import StoreError

__all__ = ["ClaimOutcome", "Deliveries", "DeliveryClaim"]

ClaimOutcome = Literal["claimed", "handled", "in_progress"]
_ACTION_CHARS = 100  # event names are short; a longer one is cut, never refused


@dataclass(frozen=True, slots=True)
class DeliveryClaim:
    """What `Deliveries.claim` found for one delivery.

    Attributes:
        digest: the delivery's identity (``sha256:<hex>`` of its body).
        outcome: ``claimed`` (this caller runs the handler, then `finish` or `release`),
            ``handled`` (already handled: do nothing) or ``in_progress`` (another caller
            holds a live claim).
        token: the claim's token when ``claimed`` (it proves ownership to `finish` and
            `release`); empty otherwise.
        attempts: how many claims the delivery has had, this one included.
    """

    digest: str
    outcome: ClaimOutcome
    token: str = ""
    attempts: int = 0


class Deliveries(StoreBase):
    """Claims on webhook deliveries in the agency's store; open with `Deliveries.open`.

    A separate connection to the same file as `engine.store.Store` (SQLite serialises the
    writers); every method is one short transaction.
    """

    def claim(
        self,
        digest: str,
        action: str,
        *,
        lease: timedelta = timedelta(minutes=10),
        keep: timedelta = timedelta(days=30),
    ) -> DeliveryClaim:
        """Claim the delivery `digest` before handling it; see the module docstring.

        Args:
            digest: the delivery's identity.
            action: the event's name, kept for people reading the table.
            lease: how long a claim holds before another caller may take it over (longer
                than the slowest handler).
            keep: how long handled deliveries are remembered.

        Raises:
            StoreError: the store is locked for longer than its timeout, or unusable.

        Example::

            deliveries.claim("sha256:ab12", "Issue closed").outcome
            # 'claimed'
        """
        token, now = uuid.uuid4().hex, self._now()
        with self.transaction():
            self._db.execute(
                "DELETE FROM webhook_deliveries WHERE status = 'handled' AND handled_at < ?",
                [self._ago(keep)],
            )
            inserted = self._db.execute(
                "INSERT INTO webhook_deliveries (digest, action, status, claim, claimed_at) "
                "VALUES (?, ?, 'claimed', ?, ?) ON CONFLICT (digest) DO NOTHING",
                [digest, action[:_ACTION_CHARS], token, now],
            ).rowcount
            if inserted == 1:
                return DeliveryClaim(digest, "claimed", token, 1)
            return self._existing(digest, token, now, lease)

    def _existing(self, digest: str, token: str, now: str, lease: timedelta) -> DeliveryClaim:
        """The claim on a known digest: handled, held, or taken over when its lease ran out."""
        row = self._one(
            "SELECT status, claim, claimed_at, attempts FROM webhook_deliveries WHERE digest = ?",
            [digest],
        )
        if row is None:  # cannot happen: the INSERT conflicted inside this transaction
            raise StoreError(str(self.path), f"delivery {digest} vanished", "try again")
        attempts = int(row["attempts"])
        if row["status"] == "handled":
            return DeliveryClaim(digest, "handled", attempts=attempts)
        if row["claimed_at"] >= self._ago(lease):
            return DeliveryClaim(digest, "in_progress", attempts=attempts)
        self._db.execute(
            "UPDATE webhook_deliveries SET claim = ?, claimed_at = ?, attempts = attempts + 1 "
            "WHERE digest = ? AND claim = ?",
            [token, now, digest, row["claim"]],
        )
        return DeliveryClaim(digest, "claimed", token, attempts + 1)

    def finish(self, claim: DeliveryClaim) -> bool:
        """Mark the claimed delivery handled; False when the claim was no longer this
        caller's (its lease ran out and another caller took it over)."""
        with self.transaction():
            return bool(
                self._db.execute(
                    "UPDATE webhook_deliveries SET status = 'handled', handled_at = ? "
                    "WHERE digest = ? AND claim = ? AND status = 'claimed'",
                    [self._now(), claim.digest, claim.token],
                ).rowcount
            )

    def release(self, claim: DeliveryClaim) -> bool:
        """Give up the claim after a failed handler, so a redelivery runs it again; False
        when the claim was no longer this caller's."""
        with self.transaction():
            return bool(
                self._db.execute(
                    "DELETE FROM webhook_deliveries WHERE digest = ? AND claim = ? "
                    "AND status = 'claimed'",
                    [claim.digest, claim.token],
                ).rowcount
            )

    def status(self, digest: str) -> Literal["claimed", "handled"] | None:
        """The delivery's status, or None when it is unknown (never claimed, released, or
        forgotten after the retention)."""
        row = self._one("SELECT status FROM webhook_deliveries WHERE digest = ?", [digest])
        return None if row is None else row["status"]

    def _ago(self, span: timedelta) -> str:
        """`span` before now, in the store's timestamp format (`StoreBase._now`)."""
        return (self._clock() - span).astimezone(UTC).isoformat(timespec="microseconds")
