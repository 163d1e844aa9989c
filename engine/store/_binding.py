"""The store's binding to its agency, how far it has got, and what it ever attempted
(see `engine.store.identity`).

Example::

    store.bind(AgencyIdentity.of("acme", ref, url), origin="new").origin
    # 'new'
    store.progress()
    # Progress(runs=12, effects=245)
"""

from __future__ import annotations

import uuid
from typing import Any

from engine.store._base import StoreBase
from engine.store.identity import AgencyIdentity, BindingOrigin, Progress, StoreBinding

__all__ = ["Bound"]

_MAX_EVIDENCE = 1000


class Bound(StoreBase):
    """Binding, progress and attempts; every write is one transaction."""

    def binding(self) -> StoreBinding | None:
        """The agency this store belongs to, or None (never bound: new, or from before
        migration 4)."""
        row = self._one("SELECT * FROM agency WHERE id = 1", [])
        return None if row is None else _binding(row)

    def bind(self, identity: AgencyIdentity, *, origin: BindingOrigin) -> StoreBinding:
        """Bind the store to `identity`, clearing any note that it was found behind.

        The store keeps its id when it was bound already (an adoption of the same agency,
        or a renamed label); a first binding makes one.

        Example::

            store.bind(identity, origin="adopted").behind is None
            # True
        """
        with self.transaction():
            current = self.binding()
            store_id = current.store_id if current is not None else uuid.uuid4().hex
            self._db.execute(
                "INSERT OR REPLACE INTO agency (id, store_id, agency, alto_agency_ref, "
                "fixflo_url, identity, origin, bound, behind) "
                "VALUES (1, ?, ?, ?, ?, ?, ?, ?, NULL)",
                [
                    store_id,
                    identity.agency,
                    identity.alto_agency_ref,
                    identity.fixflo_url,
                    identity.key,
                    origin,
                    self._now(),
                ],
            )
        bound = self.binding()
        assert bound is not None  # written just above
        return bound

    def relabel(self, agency: str) -> None:
        """Keep the config's new name for the same agency (the identity is unchanged)."""
        with self.transaction():
            self._db.execute("UPDATE agency SET agency = ? WHERE id = 1", [agency])

    def mark_behind(self, evidence: str) -> None:
        """Note that the targets hold what this store does not know; runs refuse the store
        until ``rulebridge store adopt`` binds it again. The first note is kept."""
        with self.transaction():
            self._db.execute(
                "UPDATE agency SET behind = ? WHERE id = 1 AND behind IS NULL",
                [evidence[:_MAX_EVIDENCE]],
            )

    def attempted(self, key: str) -> bool:
        """Whether this store ever recorded an intent for `key` (its call may have been made).

        False for an operation only planned, or failed before any call (its lookup could
        not be made): a record for it found in the target then was not made with this
        store, which is behind the target (`StoreBehindError`).

        Example::

            store.attempted(op.idempotency_key)
            # False
        """
        row = self._one(
            "SELECT 1 FROM operations WHERE idempotency_key = ? AND (attempts > 0 OR status "
            "IN ('in_flight', 'done', 'dead')) UNION ALL SELECT 1 FROM dead_letters "
            "WHERE idempotency_key = ? LIMIT 1",
            [key, key],
        )
        return row is not None

    def progress(self) -> Progress:
        """The latest run and the latest recorded effect (0 and 0 for a new store)."""
        row = self._one(
            "SELECT (SELECT coalesce(max(id), 0) FROM runs) AS runs, "
            "(SELECT coalesce(max(id), 0) FROM audit) AS effects",
            [],
        )
        assert row is not None  # an aggregate always answers one row
        return Progress(int(row["runs"]), int(row["effects"]))


def _binding(row: dict[str, Any]) -> StoreBinding:
    identity = AgencyIdentity(row["agency"], row["alto_agency_ref"], row["fixflo_url"])
    return StoreBinding(identity, row["store_id"], row["bound"], row["origin"], row["behind"])
