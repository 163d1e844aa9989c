"""In-memory Fixflo and Alto worlds for the issue lifecycle, in the vendors' contract shapes.

Fixflo holds lifecycle records: a Fixflo Issue exactly as ``GET /Issue/{Id}`` gives it plus
its **parts** (`PARTS`: sub-resources read from their own endpoints, under names that are
not Issue fields), and every earlier snapshot of each issue, so a test can deliver an old
one late (``redeliver: N`` is the N-th stored snapshot, counted from 0). The Issue has no
revision: its ``StatusChanged`` is the lifecycle's revision.

Alto holds what its API stores, in the contract's shapes only:

- ``works_orders``: id -> WorkOrder (CreateWorkOrderRequest fields + ``id``, ``status``,
  ``modifiedDate``);
- ``documents``: ``{"id", "fileName", "linkedType", "linkedId", "createdDate"}``;
- ``charges``: ``{"id", "post": "property"|"tenancy", "targetId", **form}`` (the form as
  posted: text over HTTP, as given in pure simulation);
- ``tenancies``: tenancy id -> ``{"propertyId", "startDate", "places": [{"tenantId",
  "contactId"}]}``;

plus what only the integration knows: ``order_issue`` (works order id -> the issue that made
it, or the issue `identify` recognises it as), the ledger (for each issue, the works order,
documents and charges it sent and the revision it last agreed with) and the idempotency
``keys``. Alto applies operations exactly as given: a duplicate operation makes a duplicate
record, so the invariants see what a wrong ruleset would do.

Both worlds `fork` copy-on-write: a fork has its own containers but shares every record
(issue, snapshot, works order, document, charge, tenancy), and neither world changes a record
in place afterwards: a write stores a new record (`FixfloWorld.keep`, `AltoWorld.apply`).
Whoever changes a held record in place by hand (a test breaking a world on purpose) changes
it for every fork that shares it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

from engine.issues.reconcile import IssueOps, LifecycleOp
from engine.ports import AltoHolding

__all__ = [
    "PARTS",
    "AltoWorld",
    "FixfloWorld",
    "LedgerEntry",
    "first_segment",
    "issue_fields",
    "same_instant",
]

PARTS: Final = (
    "FixfloProperty",
    "FixfloTenant",
    "InvoiceDetails",
    "CompletionDocs",
    "CompletionDetails",
    "Certificates",
)
"""The names of a lifecycle record's parts (design section 1): never Issue fields."""

_STAMP: Final = "2026-11-01T00:00:00Z"


def issue_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """The Fixflo Issue of a lifecycle `record`: every key but the parts (a deep copy).

    Example:
        >>> issue_fields({"Id": "I1", "FixfloTenant": {"id": "FT1"}})
        {'Id': 'I1'}
    """
    return {key: copy.deepcopy(value) for key, value in record.items() if key not in PARTS}


def _instant(text: Any) -> datetime | None:
    if type(text) is str:  # the local zone is part of the key: a naive time reads as local
        return _read_instant(text, time.timezone, time.altzone, time.tzname)
    return _read_instant.__wrapped__(str(text))


@lru_cache(maxsize=4096)
def _read_instant(text: str, *zone: Any) -> datetime | None:
    """`text` as an aware datetime (naive: local time; `zone` names the local zone, so a
    remembered reading never outlives a change of zone), or None when it is not ISO."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.astimezone()


def same_instant(left: Any, right: Any) -> bool:
    """Whether two ISO date-times name the same instant (naive ones read as local time).

    Example:
        >>> same_instant("2026-11-02T09:00:00Z", "2026-11-02T10:00:00+01:00")
        True
    """
    first, second = _instant(left), _instant(right)
    return first is not None and first == second


def first_segment(reference: Any) -> str | None:
    """The part of an external reference before its first ``/`` (``P1/OP1`` -> ``P1``)."""
    return None if reference in (None, "") else str(reference).split("/", 1)[0]


Listener = Callable[[dict[str, Any] | None, dict[str, Any]], None]
"""Told of every save: ``(previous snapshot or None for a new issue, new snapshot)``."""


@dataclass
class FixfloWorld:
    """Fixflo's lifecycle records by issue id, with the history of each one's snapshots.

    Listeners (`listen`) hear of every save, as Fixflo's webhooks do (the fake Fixflo
    sends its deliveries from one).
    """

    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    listeners: list[Listener] = field(default_factory=list, repr=False, compare=False)

    def save(self, issue: dict[str, Any]) -> dict[str, Any]:
        """Store `issue` as it is now (a new snapshot in its history); returns the copy.

        Then each listener is called, in the order they were added, with copies of the
        issue's previous snapshot (None when the issue is new) and of the new one.
        """
        issue_id = str(issue["Id"])
        snapshot = copy.deepcopy(issue)
        self.issues[issue_id] = issue
        earlier = self.history.setdefault(issue_id, [])
        previous = earlier[-1] if earlier else None
        earlier.append(snapshot)
        for listener in list(self.listeners):
            listener(copy.deepcopy(previous), copy.deepcopy(snapshot))
        return snapshot

    def keep(self, issue: dict[str, Any]) -> dict[str, Any]:
        """Store `issue` as its newest snapshot *without copying it*: the world owns it from
        now on and nobody changes it in place (forks share it). Listeners hear as in `save`.

        Example:
            >>> world = FixfloWorld()
            >>> kept = world.keep({"Id": "I1", "Status": "Reported"})
            >>> world.issues["I1"] is kept is world.history["I1"][-1]
            True
        """
        issue_id = str(issue["Id"])
        self.issues[issue_id] = issue
        earlier = self.history.setdefault(issue_id, [])
        previous = earlier[-1] if earlier else None
        earlier.append(issue)
        for listener in list(self.listeners):
            listener(copy.deepcopy(previous), copy.deepcopy(issue))
        return issue

    def fork(self) -> FixfloWorld:
        """A world that starts as this one and then goes its own way, sharing the records
        (copy-on-write, see the module's text); it has no listeners (nobody hears of a
        what-if world's saves).

        Example:
            >>> world = FixfloWorld()
            >>> _ = world.keep({"Id": "I1", "Status": "Reported"})
            >>> other = world.fork()
            >>> _ = other.keep({"Id": "I1", "Status": "Closed"})
            >>> world.issues["I1"]["Status"], len(world.history["I1"]), len(other.history["I1"])
            ('Reported', 1, 2)
        """
        history = {issue_id: list(snapshots) for issue_id, snapshots in self.history.items()}
        return FixfloWorld(dict(self.issues), history)

    def listen(self, callback: Listener) -> None:
        """Call `callback` after every save with ``(previous, new)`` snapshots.

        Example:
            >>> world, heard = FixfloWorld(), []
            >>> world.listen(lambda before, after: heard.append((before, after["Status"])))
            >>> _ = world.save({"Id": "1", "Status": "Reported"})
            >>> heard
            [(None, 'Reported')]
        """
        self.listeners.append(callback)

    def snapshot(self, issue_id: str, index: int | None = None) -> dict[str, Any]:
        """A copy of the issue now, or its `index`-th stored snapshot (from 0).

        Raises:
            KeyError: no such issue.
            IndexError: the issue has fewer snapshots.
        """
        history = self.history[issue_id]
        return copy.deepcopy(history[-1 if index is None else index])

    def issue_for_order(self, order: Mapping[str, Any]) -> str | None:
        """The id of the issue a works order was made for, recognised by its identity:
        FixfloProperty.ExternalPropertyRef's first segment is the order's ``propertyId``,
        ``Created`` is the same instant as ``reportedDate`` and ``Title`` is ``summary``.
        None when no issue (or more than one) matches.
        """
        found = [issue_id for issue_id, issue in self.issues.items() if _identifies(issue, order)]
        return found[0] if len(found) == 1 else None


def _identifies(issue: Mapping[str, Any], order: Mapping[str, Any]) -> bool:
    place = issue.get("FixfloProperty") or {}
    return (
        first_segment(place.get("ExternalPropertyRef")) == order.get("propertyId")
        and same_instant(issue.get("Created"), order.get("reportedDate"))
        and issue.get("Title") == order.get("summary")
    )


@dataclass
class LedgerEntry:
    """What the integration sent to Alto for one issue."""

    works_order_id: str | None = None
    documents: set[str] = field(default_factory=set)
    charges: set[str] = field(default_factory=set)
    revision: Any = None

    def copy(self) -> LedgerEntry:
        """An entry equal to this one, with sets of its own."""
        return LedgerEntry(
            self.works_order_id, set(self.documents), set(self.charges), self.revision
        )


@dataclass
class AltoWorld:
    """Alto's works orders, documents, charges and tenancies, and the integration's ledger.

    The first five fields keep their positions; the rest are keyword-only.
    `identify` (set by whoever builds both worlds, usually `FixfloWorld.issue_for_order`)
    names the issue a works order written over HTTP belongs to. `stamp` gives the
    ``modifiedDate``/``createdDate`` of writes (a fixed instant when None). `refused` lists
    the operations Alto could not perform (a tenancy charge whose tenancy is not found),
    as sentences; such an operation leaves the ledger as it was, so it is tried again.
    """

    works_orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    documents: list[dict[str, Any]] = field(default_factory=list)
    charges: list[dict[str, Any]] = field(default_factory=list)
    ledger: dict[str, LedgerEntry] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    _: KW_ONLY
    tenancies: dict[str, dict[str, Any]] = field(default_factory=dict)
    order_issue: dict[str, str] = field(default_factory=dict)
    identify: Callable[[Mapping[str, Any]], str | None] | None = None
    stamp: Callable[[], str] | None = None
    refused: list[str] = field(default_factory=list)
    updates: list[tuple[str, str | None]] = field(default_factory=list)

    @classmethod
    def seeded(cls) -> AltoWorld:
        """The default agency: property ``P1`` let on tenancy ``TY1`` to contact ``C1``
        (tenant id ``TT1``), the Alto side of `simulator.lifecycle.events`' defaults."""
        place = {"tenantId": "TT1", "contactId": "C1"}
        tenancy = {"propertyId": "P1", "startDate": "2025-09-01", "places": [place]}
        return cls(tenancies={"TY1": tenancy})

    def fork(
        self,
        identify: Callable[[Mapping[str, Any]], str | None] | None = None,
        stamp: Callable[[], str] | None = None,
    ) -> AltoWorld:
        """A world that starts as this one and then goes its own way, sharing the records
        (copy-on-write, see the module's text), with `identify` and `stamp` as given (None:
        for the `Simulation` that holds the fork to bind).

        Example:
            >>> world = AltoWorld.seeded()
            >>> other = world.fork()
            >>> other.tenancies["TY2"] = {"propertyId": "P2", "places": []}
            >>> sorted(world.tenancies), other.tenancies["TY1"] is world.tenancies["TY1"]
            (['TY1'], True)
        """
        return AltoWorld(
            dict(self.works_orders),
            list(self.documents),
            list(self.charges),
            dict(self.ledger),  # entries are copied before they change (`apply`)
            dict(self.keys),
            tenancies=dict(self.tenancies),
            order_issue=dict(self.order_issue),
            identify=identify,
            stamp=stamp,
            refused=list(self.refused),
            updates=list(self.updates),
        )

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
        """Perform every operation of `result`, then record the revision Alto agrees with.

        The issue's ledger entry is replaced by a changed copy (a fork may share the old).
        """
        held = self.ledger.get(result.issue_id)
        entry = self.ledger[result.issue_id] = LedgerEntry() if held is None else held.copy()
        for op in result.operations:
            getattr(self, f"_{op.op}")(op, entry)
            if op.op == "update":
                self.updates.append((self._order_id(op, entry) or "", result.status))
        if not result.stale and result.revision is not None:
            entry.revision = result.revision

    def works_order_of(self, issue_id: str) -> Mapping[str, Any] | None:
        """The works order the ledger knows for `issue_id`."""
        entry = self.ledger.get(issue_id)
        return None if entry is None else self.works_orders.get(entry.works_order_id or "")

    def issue_of_order(self, order_id: Any) -> str | None:
        """The issue that works order `order_id` belongs to (recorded, else recognised by
        `identify`), or None."""
        key = str(order_id or "")
        order = self.works_orders.get(key)
        return self.order_issue.get(key) or (None if order is None else self.identify_order(order))

    def orders_of(self, issue_id: str) -> list[dict[str, Any]]:
        """Every works order belonging to `issue_id` (more than one is a duplicate)."""
        return [
            order
            for key, order in self.works_orders.items()
            if self.order_issue.get(key) == issue_id
        ]

    def documents_of(self, issue_id: str) -> list[dict[str, Any]]:
        """Every document linked to a works order of `issue_id`."""
        return [
            doc for doc in self.documents if self.issue_of_order(doc.get("linkedId")) == issue_id
        ]

    def charges_of(self, issue_id: str) -> list[dict[str, Any]]:
        """Every charge whose ``workOrderId`` is a works order of `issue_id`."""
        return [
            charge
            for charge in self.charges
            if self.issue_of_order(charge.get("workOrderId")) == issue_id
        ]

    def find_tenancy(self, property_id: str, contact_id: str) -> dict[str, str] | None:
        """``{"tenancyId", "tenantId"}`` of the tenancy at `property_id` one of whose places
        holds `contact_id` (the latest ``startDate`` when several), or None.

        Example:
            >>> AltoWorld.seeded().find_tenancy("P1", "C1")
            {'tenancyId': 'TY1', 'tenantId': 'TT1'}
        """
        found = [
            (str(tenancy.get("startDate") or ""), tenancy_id, place)
            for tenancy_id, tenancy in self.tenancies.items()
            if tenancy.get("propertyId") == property_id
            for place in tenancy.get("places") or []
            if place.get("contactId") == contact_id
        ]
        if not found:
            return None
        _, tenancy_id, place = max(found, key=lambda item: item[0])
        return {"tenancyId": tenancy_id, "tenantId": str(place.get("tenantId"))}

    def identify_order(self, order: Mapping[str, Any]) -> str | None:
        """The issue `identify` recognises `order` as (None without `identify`)."""
        return None if self.identify is None else self.identify(order)

    def _now(self) -> str:
        return _STAMP if self.stamp is None else self.stamp()

    def _order_id(self, op: LifecycleOp, entry: LedgerEntry) -> str | None:
        return self.keys.get(op.after or "") or entry.works_order_id

    def _create(self, op: LifecycleOp, entry: LedgerEntry) -> None:
        works_id = f"WO-{len(self.works_orders) + 1}"
        body = {key: copy.deepcopy(value) for key, value in op.fields.items() if key != "status"}
        self.works_orders[works_id] = {
            **body,
            "id": works_id,
            "status": op.fields.get("status", "NewRequest"),
            "modifiedDate": self._now(),
        }
        self.order_issue[works_id] = op.issue_id
        self.keys[op.idempotency_key] = works_id
        entry.works_order_id = works_id

    def _update(self, op: LifecycleOp, entry: LedgerEntry) -> None:
        works_id = self.keys.get(op.idempotency_key) or entry.works_order_id or ""
        order = {**self.works_orders[works_id], **copy.deepcopy(dict(op.fields))}
        order["modifiedDate"] = self._now()
        self.works_orders[works_id] = order  # a new record: a fork may share the old one

    def _attach(self, op: LifecycleOp, entry: LedgerEntry) -> None:
        self.documents.append({
            "id": f"DOC-{len(self.documents) + 1}",
            "fileName": op.fields.get("name", op.name),
            "linkedType": op.fields.get("linkedType"),
            "linkedId": self._order_id(op, entry),
            "createdDate": self._now(),
        })  # fmt: skip
        entry.documents.add(str(op.name))

    def _post(self, op: LifecycleOp, entry: LedgerEntry) -> None:
        target = op.target
        form = dict(op.fields)
        order_id = self._order_id(op, entry)
        link = target.get("link")
        if link:
            form[str(link)] = order_id
        invoice = target.get("invoice") or {}
        if invoice.get("name"):
            form["invoiceDocument"] = invoice["name"]
        target_id = self._charge_target(op, target, form)
        if target_id is None:
            return
        record = {
            "id": f"CH-{len(self.charges) + 1}",
            "post": target.get("post"),
            "targetId": target_id,
        }
        self.charges.append({**record, **form})
        entry.charges.add(str(op.name))

    def _charge_target(
        self, op: LifecycleOp, target: Mapping[str, Any], form: dict[str, Any]
    ) -> str | None:
        property_id = str(target.get("propertyId") or "")
        if target.get("post") != "tenancy":
            return property_id
        tenancy = self.find_tenancy(property_id, str(target.get("tenant") or ""))
        if tenancy is None:
            self.refused.append(
                f"issue {op.issue_id}: no tenancy at property {property_id!r} holds contact "
                f"{target.get('tenant')!r}; charge {op.name!r} not posted"
            )
            return None
        form[str(target.get("tenantField") or "tenantId")] = tenancy["tenantId"]
        return tenancy["tenancyId"]
