"""The agency's state store: one SQLite file holding everything a run must remember.

Runs, operations and their status, the id map, per-issue ledger state, cursors, dead
letters, an append-only audit log and the agency the store belongs to (`identity`),
behind the intent-before-effect contract for exactly-once effects (see
`engine.store._store` and docs/store.md); and the claims that make each webhook delivery
handled once (`Deliveries`); the live server's queue of issues to reconcile (`LiveQueue`)
and the per-issue lease it shares with the nightly run (`Store.lease_issue`). This package
imports nothing of `engine.language` or `engine.issues`.
"""

from engine.store._store import Store
from engine.store.deliveries import Deliveries, DeliveryClaim
from engine.store.files import StoreError
from engine.store.identity import (
    AgencyIdentity,
    Progress,
    StoreBehindError,
    StoreBinding,
    StoreMismatchError,
    StoreRefusedError,
)
from engine.store.live import EnqueueOutcome, LiveItem, LiveQueue
from engine.store.records import (
    DeadLetter,
    EffectResult,
    IdMapEntry,
    Intent,
    IssueState,
    Run,
    RunKind,
)

__all__ = [
    "AgencyIdentity",
    "DeadLetter",
    "Deliveries",
    "DeliveryClaim",
    "EffectResult",
    "EnqueueOutcome",
    "IdMapEntry",
    "Intent",
    "IssueState",
    "LiveItem",
    "LiveQueue",
    "Progress",
    "Run",
    "RunKind",
    "Store",
    "StoreBehindError",
    "StoreBinding",
    "StoreError",
    "StoreMismatchError",
    "StoreRefusedError",
]
