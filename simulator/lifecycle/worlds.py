"""In-memory Fixflo and Alto worlds for the issue lifecycle, in the vendors' shapes.

Fixflo holds issues (``Id, Status, Revision, Job{...}, Invoice{...}, CompletionDocuments``)
and every earlier snapshot of each, so a test can deliver an old one late. Alto holds works
orders, documents and charges as its API takes them, plus the ledger: for each issue, the
works order id, the documents and charges it sent and the revision it last agreed with.
Alto applies operations exactly as given: a duplicate operation makes a duplicate record,
so the invariants see what a wrong ruleset would do.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.issues.reconcile import IssueOps, LifecycleOp
from engine.ports import AltoHolding

__all__ = ["AltoWorld", "FixfloWorld", "LedgerEntry"]


@dataclass
class FixfloWorld:
    """Fixflo's issues by id, with the history of each issue's snapshots."""

    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def save(self, issue: dict[str, Any]) -> dict[str, Any]:
        """Store a new revision of `issue`; returns the snapshot stored."""
        issue_id = str(issue["Id"])
        issue["Revision"] = len(self.history.get(issue_id, []))
        snapshot = copy.deepcopy(issue)
        self.issues[issue_id] = issue
        self.history.setdefault(issue_id, []).append(snapshot)
        return snapshot

    def snapshot(self, issue_id: str, revision: int | None = None) -> dict[str, Any]:
        """A copy of the issue now, or as it was at `revision`."""
        history = self.history[issue_id]
        return copy.deepcopy(history[-1 if revision is None else revision])


@dataclass
class LedgerEntry:
    """What the integration sent to Alto for one issue."""

    works_order_id: str | None = None
    documents: set[str] = field(default_factory=set)
    charges: set[str] = field(default_factory=set)
    revision: Any = None


@dataclass
class AltoWorld:
    """Alto's works orders, documents and charges, and the integration's ledger."""

    works_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    charges: list[dict[str, Any]] = field(default_factory=list)
    ledger: dict[str, LedgerEntry] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def holding(self, issue_id: str) -> AltoHolding:
        """What Alto holds for `issue_id`, as the reconcile reads it."""
        entry = self.ledger.get(issue_id, LedgerEntry())
        works = self.works_orders.get(entry.works_order_id or "")
        return AltoHolding(
            works_order=None if works is None else dict(works),
            documents=frozenset(entry.documents),
            charges=frozenset(entry.charges),
            revision=entry.revision,
        )

    def apply(self, result: IssueOps) -> None:
        """Perform every operation of `result`, then record the revision Alto agrees with."""
        entry = self.ledger.setdefault(result.issue_id, LedgerEntry())
        for op in result.operations:
            getattr(self, f"_{op.op}")(op, entry)
        if not result.stale and result.revision is not None:
            entry.revision = result.revision

    def works_order_of(self, issue_id: str) -> Mapping[str, Any] | None:
        """The works order the ledger knows for `issue_id`."""
        entry = self.ledger.get(issue_id)
        return None if entry is None else self.works_orders.get(entry.works_order_id or "")

    def _create(self, op: LifecycleOp, entry: LedgerEntry) -> None:
        works_id = f"WO-{len(self.works_orders) + 1}"
        self.works_orders[works_id] = {"id": works_id, "issueId": op.issue_id, **op.fields}
        self.keys[op.idempotency_key] = works_id
        entry.works_order_id = works_id

    def _update(self, op: LifecycleOp, entry: LedgerEntry) -> None:
        self.works_orders[self.keys[op.idempotency_key]].update(op.fields)

    def _attach(self, op: LifecycleOp, entry: LedgerEntry) -> None:
        linked = self.keys.get(op.after or "")
        self.documents.append({"linkedId": linked, "issueId": op.issue_id, **op.fields})
        entry.documents.add(str(op.name))

    def _post(self, op: LifecycleOp, entry: LedgerEntry) -> None:
        charge = {"id": f"CH-{len(self.charges) + 1}", "issueId": op.issue_id, **op.fields}
        charge["workOrderId"] = self.keys.get(op.after or "")
        charge["raised"] = bool(op.fields.get("raiseImmediately"))
        self.charges.append(charge)
        entry.charges.add(str(op.name))
