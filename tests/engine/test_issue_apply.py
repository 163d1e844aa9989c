"""Applying one issue's reconciliation to Alto: every works order, document and charge lands
exactly once, through lost answers, refusals and crashes, recorded in a real state store.

The Alto double below keeps its records in a `simulator.lifecycle.AltoWorld` in the
contract's shapes (design 14 section 4): works orders as CreateWorkOrderRequest fields plus
``id``, ``status`` and ``modifiedDate``; documents ``{"id", "fileName", "linkedType",
"linkedId", "createdDate"}``; charges ``{"id", "post", "targetId", **form}``. The issue a
works order belongs to is what `FixfloWorld.issue_for_order` recognises it as (its
identity), never a marker in its fields. The lifecycle invariants judge that world; the
ledger they read is the store's issue state.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.errors import (
    AdapterError,
    AuthError,
    BadRequestError,
    NotFoundError,
    NotOfferedError,
    OutcomeUnknownError,
    RequestTimeoutError,
    ServerError,
)
from engine import CompiledRuleset
from engine.issues.adoption import adopt_issue_ops
from engine.issues.apply import IssueApplyResult, apply_issue_ops, attachment_kinds
from engine.issues.reconcile import IssueOps, reconcile
from engine.ports import AltoHolding, Attachment, ChargeTarget, Record
from engine.store import Store, StoreBehindError, StoreError
from simulator.lifecycle import (
    AltoWorld,
    FixfloWorld,
    Scenario,
    Simulation,
    load_scenario,
    violations,
)
from simulator.lifecycle.scenario import ruleset_for
from simulator.lifecycle.worlds import LedgerEntry, same_instant
from tests.rulesets.lifecycle import RULESET, SCENARIOS, lifecycle

NAMES = sorted(path.stem for path in SCENARIOS.glob("*.yaml"))
KINDS = attachment_kinds(lifecycle())
WRITES = ("create_works_order", "update_works_order", "attach_document", "post_charge")
# Faults a write can meet. "lost": applied, the answer lost; "timeout": not applied, no
# answer; "crash_before"/"crash_after": the process dies before or after Alto applied it.
FAULTS = ("ok", "lost", "timeout", "500", "crash_before", "crash_after")
RANDOM_SCENARIOS = ("landlord-instructed", "missed-and-late-webhooks", "tenant-pays")
# The `Charges` port's target -> the world's ``post`` (the ruleset's word).
POSTS: dict[ChargeTarget, str] = {"inventory": "property", "tenancies": "tenancy"}
# A charge's fields compared between the double's world and the simulator's.
CHARGE_KEYS = (
    *("post", "targetId", "tenantId", "totalNet", "totalVat", "invoiceReference"),
    *("invoiceDocument", "chargeType", "raiseImmediately", "supplierId", "workOrderId"),
)
# Alto's stamp on every write: the double's records do not depend on the clock.
STAMP = "2026-11-01T00:00:00Z"


class Crash(Exception):
    """The runner's process is killed in the middle of a call."""


def _error(fault: str, method: str) -> AdapterError:
    """The error the Alto adapter raises for `fault` on `method`."""
    once = method in ("attach_document", "post_charge")  # no idempotency in Alto
    if fault == "lost" and (once or method == "create_works_order"):
        return OutcomeUnknownError("the write may have landed", method="POST", path=method)
    if fault in ("lost", "timeout"):
        return RequestTimeoutError("timed out waiting for the answer", method="POST", path=method)
    if fault == "500" and once:
        return OutcomeUnknownError("the write may have landed", path=method, status=500)
    if fault == "500":
        return ServerError("the API answered 500", path=method, status=500)
    if fault == "401":
        return AuthError("the credentials or token were refused", path=method, status=401)
    return BadRequestError("Unprocessable: supplierContactId", path=method, status=int(fault))


@dataclass
class AltoDouble:
    """Alto's works orders, documents, charges and tenancies in an `AltoWorld` (the default
    agency: tenancy ``TY1`` at ``P1`` holding contact ``C1``); the works order and tenancy
    lookups of the contract, no document or charge lookups. `faults[method]` (or
    ``faults["*"]``, for any write) is consumed one per call."""

    world: AltoWorld = field(default_factory=AltoWorld.seeded)
    faults: dict[str, list[str]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    def _fault(self, method: str) -> str:
        queue = self.faults.get(method) or self.faults.get("*") or []
        return queue.pop(0) if queue else "ok"

    def _write(self, method: str, apply: Callable[[], Record]) -> Record:
        self.calls[method] += 1
        fault = self._fault(method)
        if fault == "crash_before":
            raise Crash(method)
        if fault not in ("ok", "lost", "crash_after"):
            raise _error(fault, method)
        record = apply()
        if fault == "crash_after":
            raise Crash(method)
        if fault == "lost":
            raise _error(fault, method)
        return dict(record)

    async def create_works_order(
        self, property_id: str, order: Mapping[str, Any], *, identity: Mapping[str, Any]
    ) -> Record:
        """POST /work-orders: the body as sent, at NewRequest. Stricter than the port
        promises (it does not look first by `identity`), so any resend by the engine shows
        as a duplicate. `identity` must be what the body says."""
        body = {**order, "propertyId": property_id}
        assert all(body.get(name) == value for name, value in identity.items()), identity
        return self._write("create_works_order", lambda: _stored_order(self.world, body))

    async def update_works_order(self, order_id: str, changes: Mapping[str, Any]) -> None:
        if order_id not in self.world.works_orders:
            raise NotFoundError("not found", path=f"/work-orders/{order_id}", status=404)
        self._write("update_works_order", lambda: _updated(self.world, order_id, changes))

    async def find_works_order(
        self, property_id: str, identity: Mapping[str, Any]
    ) -> Record | None:
        """The property's works order whose identity fields equal `identity` (dates as
        instants), as GET /inventory/{id}/work-orders would show it."""
        self.calls["find_works_order"] += 1
        found = [
            order
            for order in self.world.works_orders.values()
            if order.get("propertyId") == property_id and _same_identity(order, identity)
        ]
        return dict(found[0]) if found else None

    async def find_tenancy(self, property_id: str, contact_id: str) -> Record | None:
        self.calls["find_tenancy"] += 1
        return self.world.find_tenancy(property_id, contact_id)

    async def attach_document(
        self, linked_type: str, linked_id: str, document: Attachment
    ) -> Record:
        def apply() -> Record:
            record = {
                "id": f"DOC-{len(self.world.documents) + 1}",
                "fileName": document.name,
                "linkedType": linked_type,
                "linkedId": linked_id,
                "createdDate": STAMP,
            }
            self.world.documents.append(record)
            return record

        return self._write("attach_document", apply)

    async def post_charge(
        self,
        target: ChargeTarget,
        target_id: str,
        charge: Mapping[str, Any],
        invoice: Attachment | None = None,
    ) -> Record:
        def apply() -> Record:
            record = {"id": f"CH-{len(self.world.charges) + 1}", "post": POSTS[target]}
            record |= {"targetId": target_id, **charge}
            if invoice is not None:
                record["invoiceDocument"] = invoice.name
            self.world.charges.append(record)
            return record

        return self._write("post_charge", apply)


def _same_identity(order: Mapping[str, Any], identity: Mapping[str, Any]) -> bool:
    return all(
        same_instant(order.get(name), value) if name.endswith("Date") else order.get(name) == value
        for name, value in identity.items()
    )


def _stored_order(world: AltoWorld, body: Mapping[str, Any]) -> Record:
    order_id = f"WO-{len(world.works_orders) + 1}"
    record = {**body, "id": order_id, "status": "NewRequest", "modifiedDate": STAMP}
    world.works_orders[order_id] = record
    issue = world.identify_order(record)
    if issue is not None:
        world.order_issue[order_id] = issue
    return record


def _updated(world: AltoWorld, order_id: str, changes: Mapping[str, Any]) -> Record:
    world.works_orders[order_id].update(changes)
    return world.works_orders[order_id]


@dataclass
class AltoWithLookups(AltoDouble):
    """The double with document and charge lookups; `offered` False makes them answer
    like an endpoint that does not exist (404)."""

    offered: bool = True

    def _lookup(self, method: str) -> None:
        self.calls[method] += 1
        if not self.offered:
            raise NotOfferedError("not found", method="GET", path=method, status=404)

    async def find_document(self, linked_type: str, linked_id: str, name: str) -> Record | None:
        self._lookup("find_document")
        wanted = (linked_type, linked_id, name)
        docs = [
            d
            for d in self.world.documents
            if (d["linkedType"], d["linkedId"], d["fileName"]) == wanted
        ]
        return dict(docs[0]) if docs else None

    async def find_charge(
        self, target: ChargeTarget, target_id: str, invoice_reference: str
    ) -> Record | None:
        self._lookup("find_charge")
        wanted = (POSTS[target], target_id, invoice_reference)
        charges = [
            c
            for c in self.world.charges
            if (c["post"], c["targetId"], c.get("invoiceReference")) == wanted
        ]
        return dict(charges[0]) if charges else None


@dataclass
class Documents:
    """Fixflo's documents: the issue report (``IssueReport``) and the Media of the issue's
    parts (``CompletionDocs``, ``Certificates``), read from `fixflo` as it is now."""

    fixflo: FixfloWorld
    fetched: list[tuple[str, str, str]] = field(default_factory=list)

    async def fetch(self, issue_id: str, kind: str, name: str) -> Attachment:
        if kind not in ("IssueReport", "CompletionDocs", "Certificates"):
            raise KeyError(kind)
        issue = self.fixflo.issues[issue_id]
        held = {m.get("ShortDescription") for m in issue.get(kind) or []}
        if kind != "IssueReport" and name not in held:
            raise NotFoundError(f"no {kind} {name!r}", path=f"/Media/{name}", status=404)
        self.fetched.append((issue_id, kind, name))
        return Attachment(name, b"%PDF-1.4 " + name.encode())


@dataclass
class Harness:
    """Fixflo (a `Simulation`), the Alto double and a state store on disk; each delivery is
    one run. A `Crash` closes the store as a killed process would (its run stays open) and
    the next delivery opens it again. Each issue is reconciled with the ruleset under its
    scenario's agency settings (`rulesets`; the shipped defaults otherwise)."""

    path: Path
    alto: AltoDouble = field(default_factory=AltoWithLookups)
    sim: Simulation = field(default_factory=lambda: Simulation(RULESET))
    rulesets: dict[str, CompiledRuleset] = field(default_factory=dict)
    results: list[IssueApplyResult] = field(default_factory=list)
    crashes: int = 0
    _open: Store | None = None

    def __post_init__(self) -> None:
        self.docs = Documents(self.sim.fixflo)
        self.alto.world.identify = self.sim.fixflo.issue_for_order

    @property
    def store(self) -> Store:
        """The store, opened again after a crash."""
        if self._open is None:
            self._open = Store.open(self.path)
        return self._open

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None

    def ruleset(self, issue: str) -> CompiledRuleset:
        return self.rulesets.get(issue, RULESET)

    def perform(self, event: str, issue: str, details: Mapping[str, Any] | None = None) -> None:
        self.sim.perform(event, issue, details)
        self.deliver(issue)

    def deliver(self, issue: str, revision: int | None = None) -> IssueApplyResult | None:
        """Reconcile the issue (now, or at `revision`) against the ledger and apply it."""
        try:
            done = asyncio.run(self._apply(self.sim.fixflo.snapshot(issue, revision)))
        except Crash:
            self.crashes += 1
            self.close()
            return None
        self.results.append(done)
        return done

    async def _apply(self, snapshot: Mapping[str, Any]) -> IssueApplyResult:
        store = self.store
        run = store.start_run("alto-fixflo", "1", "sha256:test")
        issue = str(snapshot["Id"])
        result = reconcile(self.ruleset(issue), snapshot, store.issue_state(issue).holding())
        done = await apply_issue_ops(
            result, self.alto, self.docs, store, run=run, attachments=KINDS
        )
        store.finish_run("succeeded")
        return done

    def scenario(self, name: str, issue: str = "I1") -> Scenario:
        """A shipped scenario, its settings the agency's for `issue` from now on."""
        scenario = load_scenario(SCENARIOS / f"{name}.yaml", lifecycle())
        self.rulesets[issue] = self.sim.ruleset = ruleset_for(RULESET, scenario.settings)
        return scenario

    def play(self, name: str, issue: str = "I1") -> None:
        """Play a shipped scenario on `issue` under its settings, applying each delivered
        step."""
        for step in self.scenario(name, issue).steps:
            if step.event is None:
                self.deliver(issue, step.redeliver)
                continue
            self.sim.perform(step.event, issue, step.details, deliver=step.deliver)
            if step.deliver:
                self.deliver(issue)

    def settle(self, rounds: int = 50) -> None:
        """Deliver every issue as it is now until each apply completes."""
        for issue in self.sim.fixflo.issues:
            for _ in range(rounds):
                done = self.deliver(issue)
                if done is not None and done.complete:
                    break

    def pending(self) -> dict[str, IssueOps]:
        """Issues whose reconcile against the ledger still has operations."""
        store = self.store
        results = {
            issue: reconcile(self.ruleset(issue), held, store.issue_state(issue).holding())
            for issue, held in self.sim.fixflo.issues.items()
        }
        return {issue: result for issue, result in results.items() if result.operations}

    def judged(self) -> list[str]:
        """The lifecycle invariants over the double's Alto and the store's ledger, each
        issue judged under its own agency settings."""
        groups: dict[int, tuple[CompiledRuleset, FixfloWorld]] = {}
        for issue in self.sim.fixflo.issues:
            state = self.store.issue_state(issue)
            self.alto.world.ledger[issue] = LedgerEntry(
                state.works_order_id, set(state.documents), set(state.charges), state.revision
            )
            ruleset = self.ruleset(issue)
            _, part = groups.setdefault(id(ruleset), (ruleset, FixfloWorld()))
            part.issues[issue] = self.sim.fixflo.issues[issue]
            part.history[issue] = self.sim.fixflo.history[issue]
        found: list[str] = []
        for ruleset, part in groups.values():
            more = violations(part, self.alto.world, ruleset.settings)
            found.extend(text for text in more if text not in found)
        return found

    def letters(self) -> list[Any]:
        return list(self.store.dead_letters())


def _issue_of(world: AltoWorld, order_id: Any) -> str | None:
    return world.issue_of_order(order_id)


def _duplicates(world: AltoWorld) -> list[tuple[Any, ...]]:
    """Works orders per issue, documents per (issue, name), charges per invoice, beyond one."""
    seen: Counter[tuple[Any, ...]] = Counter()
    seen.update(("works_order", _issue_of(world, key)) for key in world.works_orders)
    seen.update(
        ("document", _issue_of(world, d["linkedId"]), d["fileName"]) for d in world.documents
    )
    seen.update(
        ("charge", _issue_of(world, c.get("workOrderId")), c.get("invoiceReference"))
        for c in world.charges
    )
    return sorted(key for key, count in seen.items() if count > 1)


def _summary(world: AltoWorld) -> dict[str, list[tuple[Any, ...]]]:
    """What Alto holds by issue, in the contract's shapes (ids of Alto's own making left
    out, so the double's world and the simulator's compare)."""
    keys = CHARGE_KEYS
    orders = world.works_orders
    return {
        "orders": sorted(
            (_issue_of(world, key), *(str(o.get(k)) for k in ("status", "propertyId", "notes")))
            for key, o in orders.items()
        ),
        "documents": sorted(
            (_issue_of(world, d["linkedId"]), d["fileName"], d["linkedType"])
            for d in world.documents
        ),
        "charges": sorted(
            (_issue_of(world, c.get("workOrderId")), *(str(c.get(k)) for k in keys))
            for c in world.charges
        ),
    }


def _closed(harness: Harness, issue: str = "I1") -> None:
    """Report, instruct, complete and close `issue` in Fixflo without delivering."""
    sim = harness.sim
    sim.perform("report", issue, deliver=False)
    sim.perform("instruct", issue, deliver=False)
    sim.perform("complete_job", issue, deliver=False)
    sim.perform("close", issue, deliver=False)


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Callable[[AltoDouble], Harness]]:
    """Harnesses on a store in `tmp_path`, closed afterwards."""
    made: list[Harness] = []

    def harness(alto: AltoDouble) -> Harness:
        made.append(Harness(tmp_path / "s.db", alto=alto))
        return made[-1]

    yield harness
    for item in made:
        item.close()


@pytest.fixture
def harness(make: Callable[[AltoDouble], Harness]) -> Harness:
    return make(AltoWithLookups())


# Scenarios end to end ------------------------------------------------------------------


@pytest.mark.req("W-01", "W-02", "W-03", "W-05", "W-07", "W-08", "W-09", "W-10")
@pytest.mark.req("CH-01", "CH-02", "CH-03", "CH-04", "CH-05", "CH-06")
@pytest.mark.parametrize("name", NAMES)
def test_each_scenario_lands_in_alto_once_and_converges(harness: Harness, name: str) -> None:
    harness.play(name)
    assert harness.judged() == []
    assert _duplicates(harness.alto.world) == []
    assert _summary(harness.alto.world) == _summary(harness.sim.alto)  # the simulator's Alto
    assert harness.pending() == {}  # level-triggered: nothing left to do
    assert all(result.complete for result in harness.results)


@pytest.mark.req("W-03", "W-09", "W-10", "CH-02", "CH-03", "CH-04")
def test_every_scenario_on_one_store_gives_one_of_each(harness: Harness) -> None:
    for number, name in enumerate(NAMES, 1):
        harness.play(name, f"I{number}")
    harness.sim.ruleset = RULESET
    harness.perform("report", "I20")
    harness.perform("instruct", "I20")
    world = harness.alto.world
    awarded = [k for k, i in harness.sim.fixflo.issues.items() if (i.get("Job") or {}).get("id")]
    assert sorted(str(_issue_of(world, key)) for key in world.works_orders) == sorted(awarded)
    assert _duplicates(world) == []
    assert harness.judged() == []
    for charge in world.charges:  # W-10: each charge names its issue's works order
        assert (
            charge["workOrderId"]
            == harness.store.issue_state(
                str(_issue_of(world, charge["workOrderId"]))
            ).works_order_id
        )
    assert harness.pending() == {}


def test_documents_are_fetched_by_their_attachment_kind(harness: Harness) -> None:
    assert KINDS == {
        "W-09.report": "IssueReport",
        "W-09.documents": "CompletionDocs",
        "W-09.certificates": "Certificates",
    }
    harness.play("documented-path")
    assert sorted(harness.docs.fetched) == [
        ("I1", "Certificates", "gas-safety-record-I1.pdf"),
        ("I1", "CompletionDocs", "gas-safety-certificate.pdf"),
        ("I1", "CompletionDocs", "invoice-I1.pdf"),  # the charge's invoice (CH-04)
        ("I1", "IssueReport", "issue-I1.pdf"),
    ]


@pytest.mark.req("W-03", "W-08")
def test_a_works_order_is_created_once_then_updated(harness: Harness) -> None:
    harness.perform("report", "I1")
    assert harness.results[-1].counts == {}
    harness.perform("instruct", "I1")
    created = harness.results[-1]
    assert dict(created.counts["works_order"]) == {"create": 1}
    # looked for first (Alto's contract documents the lookup), then created and moved on
    assert created.calls == Counter(find_works_order=1, create_works_order=1, update_works_order=1)
    (order,) = harness.alto.world.works_orders.values()
    assert order["status"] == "SupplierInstructed"  # created at NewRequest, then moved
    harness.perform("complete_job", "I1")
    assert dict(harness.results[-1].counts["works_order"]) == {"update": 1}
    assert order["status"] == "CompleteAwaitingInvoice"
    assert order["notes"] == "Replaced the washer; the tap no longer drips."
    assert len(harness.alto.world.works_orders) == 1


def test_a_stale_snapshot_changes_nothing(harness: Harness) -> None:
    harness.play("documented-path")
    calls = sum(harness.alto.calls.values())
    with Store.open(harness.path) as store:
        before = store.issue_state("I1")
    done = harness.deliver("I1", 4)
    assert done is not None
    assert done.complete
    assert done.counts == {}
    assert sum(harness.alto.calls.values()) == calls
    with Store.open(harness.path) as store:
        assert store.issue_state("I1").revision == before.revision


def test_apply_needs_the_run_in_progress(harness: Harness) -> None:
    _closed(harness)
    result = reconcile(RULESET, harness.sim.fixflo.snapshot("I1"), AltoHolding())

    async def go() -> None:
        with Store.open(harness.path) as store:
            run = store.start_run("alto-fixflo", "1", "sha256:test")
            store.finish_run("succeeded")
            await apply_issue_ops(
                result, harness.alto, harness.docs, store, run=run, attachments=KINDS
            )

    with pytest.raises(StoreError, match="not the run in progress"):
        asyncio.run(go())
    assert harness.alto.calls == Counter()


# Where a charge goes (CH-02) and what it names (W-10) -------------------------------------


def _tenancy(property_id: str, start: str, contact: str, tenant: str) -> dict[str, Any]:
    place = {"tenantId": tenant, "contactId": contact}
    return {"propertyId": property_id, "startDate": start, "places": [place]}


@pytest.mark.req("CH-02", "W-10")
def test_a_tenant_paid_charge_goes_to_the_tenancy_the_lookup_finds(harness: Harness) -> None:
    harness.alto.world.tenancies = {
        "TY1": _tenancy("P1", "2024-01-01", "C1", "TT1"),  # an older tenancy of the occupier
        "TY2": _tenancy("P1", "2025-09-01", "C1", "TT2"),  # the latest at the order's property
        "TY3": _tenancy("P2", "2026-01-01", "C1", "TT3"),  # another property
        "TY4": _tenancy("P1", "2026-02-01", "C9", "TT4"),  # another contact
    }
    harness.play("tenant-pays")
    (charge,) = harness.alto.world.charges
    (order_id,) = harness.alto.world.works_orders
    assert (charge["post"], charge["targetId"], charge["tenantId"]) == ("tenancy", "TY2", "TT2")
    assert charge["workOrderId"] == order_id  # W-10
    assert harness.alto.calls["find_tenancy"] == 1
    assert harness.judged() == []


@pytest.mark.req("CH-02", "W-10")
def test_a_landlord_paid_charge_goes_to_the_works_orders_property(harness: Harness) -> None:
    harness.play("documented-path")
    (charge,) = harness.alto.world.charges
    ((order_id, order),) = harness.alto.world.works_orders.items()
    assert (charge["post"], charge["targetId"]) == ("property", order["propertyId"])
    assert order["propertyId"] == "P1"
    assert "tenantId" not in charge
    assert charge["workOrderId"] == order_id  # W-10
    assert harness.alto.calls["find_tenancy"] == 0  # the property route asks no tenancy


@pytest.mark.req("CH-02")
def test_a_missing_tenancy_is_a_retryable_dead_letter_naming_property_and_contact(
    harness: Harness,
) -> None:
    harness.alto.world.tenancies = {"TY4": _tenancy("P1", "2026-02-01", "C9", "TT4")}
    harness.play("tenant-pays")
    (letter,) = harness.letters()
    assert letter.retryable
    assert "no tenancy at property P1 holds contact C1" in letter.reason
    assert "check in Alto that contact C1 is a tenant on a tenancy at property P1" in letter.reason
    assert harness.alto.calls["post_charge"] == 0  # nothing posted on a guess
    assert len(harness.alto.world.documents) == 3  # the rest of the issue landed
    again = harness.deliver("I1")
    assert again is not None
    assert dict(again.counts["charge"]) == {"dead": 1}  # held until a person retries it
    harness.alto.world.tenancies["TY1"] = _tenancy("P1", "2025-09-01", "C1", "TT1")  # fixed
    harness.store.retry_dead_letter(letter.id)
    done = harness.deliver("I1")
    assert done is not None
    assert done.complete
    (charge,) = harness.alto.world.charges
    assert (charge["targetId"], charge["tenantId"]) == ("TY1", "TT1")
    assert harness.judged() == []
    assert harness.pending() == {}


_PROPERTIES = st.sampled_from(["P1", "P2"])
_CONTACTS = st.sampled_from(["C1", "C2"])
_STARTS = st.sampled_from(["2024-01-01", "2025-09-01", "2026-02-01"])
_TENANCIES = st.dictionaries(
    st.sampled_from(["TY1", "TY2", "TY3", "TY4"]),
    st.builds(_tenancy, _PROPERTIES, _STARTS, _CONTACTS, st.sampled_from(["TT1", "TT2"])),
    max_size=4,
)


@pytest.mark.req("CH-02", "W-10")
@settings(max_examples=30, deadline=None)
@given(tenancies=_TENANCIES, faults=st.lists(st.sampled_from(FAULTS), max_size=6))
def test_a_tenant_paid_charge_lands_once_where_the_lookup_says_or_waits_for_a_person(
    tenancies: dict[str, dict[str, Any]], faults: list[str]
) -> None:
    """Whatever tenancies Alto holds and whatever faults the writes meet, the charge is
    posted once, to the tenancy `AltoWorld.find_tenancy` names with its tenant id, or not
    at all with a retryable letter naming the property and contact."""
    with _fresh(AltoWithLookups()) as harness:
        harness.alto.world.tenancies = tenancies
        expected = harness.alto.world.find_tenancy("P1", "C1")
        harness.alto.faults = {"*": list(faults)}
        harness.play("tenant-pays")
        harness.settle()
        world = harness.alto.world
        assert _duplicates(world) == []
        if expected is None:
            assert world.charges == []
            assert any(
                letter.retryable and "property P1 holds contact C1" in letter.reason
                for letter in harness.letters()
            )
            return
        (charge,) = world.charges
        assert (charge["targetId"], charge["tenantId"]) == (
            expected["tenancyId"],
            expected["tenantId"],
        )
        assert charge["workOrderId"] == harness.store.issue_state("I1").works_order_id
        assert harness.judged() == []


# Lost answers and crashes -------------------------------------------------------------------


@pytest.mark.req("W-03", "W-09", "CH-03")
def test_lost_answers_are_looked_up_not_written_twice(harness: Harness) -> None:
    harness.alto.faults = {method: ["lost"] * 3 for method in WRITES}
    _closed(harness)
    first = harness.deliver("I1")
    assert first is not None
    assert dict(first.counts["works_order"]) == {"unknown": 1}  # verified next run
    assert dict(first.counts["document"]) == {"blocked": 3}  # they need the works order
    assert not first.complete
    harness.settle()
    assert _duplicates(harness.alto.world) == []
    assert harness.judged() == []
    assert harness.pending() == {}
    verified = sum(
        (Counter(r.counts.get(k, {})) for r in harness.results for k in r.counts), Counter()
    )
    assert verified["verified"] == 5  # the works order, three documents and the charge
    assert harness.alto.calls["create_works_order"] == 1
    assert harness.alto.calls["attach_document"] == 3
    assert harness.alto.calls["post_charge"] == 1


@pytest.mark.req("W-03", "CH-03")
def test_an_unlanded_charge_is_looked_up_then_posted_again(harness: Harness) -> None:
    harness.alto.faults = {"post_charge": ["500", "timeout"]}
    _closed(harness)
    done = harness.deliver("I1")
    assert done is not None
    assert done.complete
    assert dict(done.counts["charge"]) == {"post": 1}
    assert harness.alto.calls["find_charge"] == 2
    assert harness.alto.calls["post_charge"] == 3
    assert len(harness.alto.world.charges) == 1
    assert done.retries == 2


@pytest.mark.parametrize("fault", ["crash_before", "crash_after"])
@pytest.mark.parametrize("point", range(6))
def test_a_crash_at_any_write_converges_on_the_next_apply(
    harness: Harness, fault: str, point: int
) -> None:
    harness.alto.faults = {"*": ["ok"] * point + [fault]}
    _closed(harness)
    assert harness.deliver("I1") is None  # the process died mid-call
    assert harness.crashes == 1
    with Store.open(harness.path) as store:
        assert len(store.in_flight()) == 1  # intent recorded, effect not
    done = harness.deliver("I1")
    assert done is not None
    assert done.complete
    assert done.retries >= 1
    assert _duplicates(harness.alto.world) == []
    assert harness.judged() == []
    assert harness.pending() == {}


# Without lookups -------------------------------------------------------------------------


@pytest.mark.req("CH-03")
@pytest.mark.parametrize("double", [AltoDouble, lambda: AltoWithLookups(offered=False)])
def test_without_a_lookup_an_unknown_charge_is_a_dead_letter_never_posted_twice(
    make: Callable[[AltoDouble], Harness], double: Callable[[], AltoDouble]
) -> None:
    harness = make(double())
    harness.alto.faults = {"post_charge": ["lost"]}
    _closed(harness)
    done = harness.deliver("I1")
    assert done is not None
    assert dict(done.counts["charge"]) == {"dead": 1}
    assert not done.complete
    (letter,) = harness.letters()
    assert done.dead_letters == [letter.id]
    assert not letter.retryable
    assert "invoice 'INV-I1'" in letter.reason
    assert "property P1" in letter.reason
    assert "rulebridge deadletters --retry" in letter.reason
    for _ in range(2):
        again = harness.deliver("I1")
        assert again is not None
        assert dict(again.counts["charge"]) == {"dead": 1}
    assert harness.alto.calls["post_charge"] == 1
    assert len(harness.alto.world.charges) == 1


def test_a_dead_letter_retried_by_a_person_is_posted_once(
    make: Callable[[AltoDouble], Harness],
) -> None:
    harness = make(AltoDouble())
    harness.alto.faults = {"attach_document": ["500"]}  # the upload did not land
    _closed(harness)
    harness.deliver("I1")
    (letter,) = harness.letters()
    assert "works order WO-1 holds document 'issue-I1.pdf'" in letter.reason
    assert "issue-I1.pdf" not in {d["fileName"] for d in harness.alto.world.documents}
    with Store.open(harness.path) as store:  # a person checked Alto: it is not there
        store.retry_dead_letter(letter.id)
    done = harness.deliver("I1")
    assert done is not None
    assert done.complete
    assert _duplicates(harness.alto.world) == []
    assert harness.judged() == []


# Refusals --------------------------------------------------------------------------------


@pytest.mark.req("W-03", "W-10")
def test_a_refused_works_order_is_a_dead_letter_and_other_issues_go_on(
    harness: Harness,
) -> None:
    harness.alto.faults = {"create_works_order": ["422"]}
    _closed(harness, "I1")
    _closed(harness, "I2")
    first = harness.deliver("I1")
    assert first is not None
    assert dict(first.counts["works_order"]) == {"dead": 1}
    assert dict(first.counts["document"]) == {"blocked": 3}
    assert dict(first.counts["charge"]) == {"blocked": 1}
    (letter,) = harness.letters()
    assert letter.reason.startswith("issue I1: create works_order: Alto answered 422")
    assert letter.retryable is False
    second = harness.deliver("I2")
    assert second is not None
    assert second.complete
    calls = sum(harness.alto.calls.values())
    again = harness.deliver("I1")
    assert again is not None
    assert dict(again.counts["works_order"]) == {"dead": 1}
    assert sum(harness.alto.calls.values()) == calls  # nothing is tried
    world = harness.alto.world
    assert [_issue_of(world, key) for key in world.works_orders] == ["I2"]
    assert {_issue_of(world, d["linkedId"]) for d in world.documents} == {"I2"}


@pytest.mark.req("W-09")
def test_a_refused_document_leaves_the_rest_of_the_issue_applied(harness: Harness) -> None:
    harness.alto.faults = {"attach_document": ["422"]}
    _closed(harness)
    done = harness.deliver("I1")
    assert done is not None
    assert done.counts["document"] == Counter(dead=1, attach=2)
    assert dict(done.counts["charge"]) == {"post": 1}
    assert not done.complete
    with Store.open(harness.path) as store:
        assert store.issue_state("I1").revision is None  # Alto does not agree yet


def test_a_server_error_is_failed_and_called_again(harness: Harness) -> None:
    harness.alto.faults = {"update_works_order": ["ok", "500"]}
    harness.perform("report", "I1")
    harness.perform("instruct", "I1")
    harness.perform("complete_job", "I1")
    failed = harness.results[-1]
    assert dict(failed.counts["works_order"]) == {"failed": 1}
    harness.deliver("I1")
    assert dict(harness.results[-1].counts["works_order"]) == {"update": 1}
    assert harness.pending() == {}


def test_a_status_update_lost_after_the_create_is_sent_again(harness: Harness) -> None:
    harness.alto.faults = {"update_works_order": ["500"]}
    harness.perform("report", "I1")
    harness.perform("instruct", "I1")
    first = harness.results[-1]
    assert dict(first.counts["works_order"]) == {"create": 1}
    assert not first.complete
    with Store.open(harness.path) as store:
        assert store.issue_state("I1").works_order["status"] == "NewRequest"  # type: ignore[index]
    harness.deliver("I1")
    assert dict(harness.results[-1].counts["works_order"]) == {"update": 1}
    (order,) = harness.alto.world.works_orders.values()
    assert order["status"] == "SupplierInstructed"
    assert harness.pending() == {}


def test_refused_credentials_stop_the_apply_and_keep_what_landed(harness: Harness) -> None:
    harness.alto.faults = {"post_charge": ["401"]}
    _closed(harness)
    with pytest.raises(AuthError):
        asyncio.run(harness._apply(harness.sim.fixflo.snapshot("I1")))
    with Store.open(harness.path) as store:
        state = store.issue_state("I1")
    assert state.works_order_id == "WO-1"
    assert state.documents == {
        "issue-I1.pdf",
        "gas-safety-certificate.pdf",
        "gas-safety-record-I1.pdf",
    }
    assert state.charges == frozenset()
    harness.settle()
    assert harness.judged() == []
    assert _duplicates(harness.alto.world) == []


# Random faults and crashes ------------------------------------------------------------------


@contextmanager
def _fresh(alto: AltoDouble) -> Iterator[Harness]:
    """A harness on a new store (Hypothesis examples cannot share `tmp_path`)."""
    with tempfile.TemporaryDirectory() as folder:
        harness = Harness(Path(folder) / "s.db", alto=alto)
        try:
            yield harness
        finally:
            harness.close()


@pytest.mark.req("W-03", "W-09", "W-10", "CH-03", "CH-04")
@given(
    faults=st.lists(st.sampled_from(FAULTS), max_size=16),
    lookups=st.booleans(),
    scenario=st.sampled_from(RANDOM_SCENARIOS),
)
def test_random_faults_and_crashes_never_duplicate_and_converge(
    faults: list[str], lookups: bool, scenario: str
) -> None:
    with _fresh(AltoWithLookups() if lookups else AltoDouble()) as harness:
        harness.alto.faults = {"*": list(faults)}
        harness.play(scenario, "I1")
        harness.sim.perform("report", "I2", deliver=False)
        harness.perform("instruct", "I2")  # a second issue, left open
        harness.settle()
        assert _duplicates(harness.alto.world) == []
        if lookups:
            assert harness.judged() == []
            assert harness.pending() == {}
            assert harness.letters() == []
        else:  # what could not be told went to a person, never written twice
            assert all(not letter.retryable for letter in harness.letters())


def test_a_second_reconcile_in_the_same_run_is_left_to_the_next_run(harness: Harness) -> None:
    harness.sim.perform("report", "I1", deliver=False)
    harness.sim.perform("instruct", "I1", deliver=False)

    async def both() -> IssueApplyResult:
        store = harness.store
        run = store.start_run("alto-fixflo", "1", "sha256:test")
        for event in ("instruct", "complete_job"):
            if event == "complete_job":
                harness.sim.perform(event, "I1", deliver=False)
            issue = harness.sim.fixflo.snapshot("I1")
            result = reconcile(RULESET, issue, store.issue_state("I1").holding())
            done = await apply_issue_ops(
                result, harness.alto, harness.docs, store, run=run, attachments=KINDS
            )
        store.finish_run("succeeded")
        return done

    second = asyncio.run(both())
    assert dict(second.counts["works_order"]) == {"deferred": 1}  # its key is done this run
    assert not second.complete
    harness.deliver("I1")
    assert dict(harness.results[-1].counts["works_order"]) == {"update": 1}
    assert harness.pending() == {}


# A store lost, emptied or restored from an older backup ---------------------------------
#
# Alto's contract documents a lookup for works orders (by the ruleset's identity fields on
# their property) and for documents (by name on their works order), none for charges. A create or
# attach the store never attempted looks first: found, the store is behind Alto and the
# apply stops (`StoreBehindError`). `adopt_issue_ops` records what Alto holds instead.


def _backup(harness: Harness, to: Path) -> None:
    """A copy of the store as it is now (the SQLite backup API, as an operator's tool)."""
    harness.close()
    with sqlite3.connect(harness.path) as source, sqlite3.connect(to) as target:
        source.backup(target)
    source.close()
    target.close()


def _restore(harness: Harness, backup: Path | None) -> None:
    """Replace the store with `backup`; None: delete it (a new, empty store in its place)."""
    harness.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{harness.path}{suffix}").unlink(missing_ok=True)
    if backup is not None:
        shutil.copyfile(backup, harness.path)


def _writes(alto: AltoDouble) -> int:
    return sum(alto.calls[method] for method in WRITES)


def _adopt(harness: Harness, issue: str) -> IssueApplyResult:
    """One adoption run for `issue`: what its reconcile owes, looked up, nothing sent."""

    async def adopt() -> IssueApplyResult:
        store = harness.store
        run = store.start_run("alto-fixflo", "1", "sha256:test")
        held = store.issue_state(issue).holding()
        result = reconcile(harness.ruleset(issue), harness.sim.fixflo.snapshot(issue), held)
        done = await adopt_issue_ops(result, harness.alto, store, run=run, attachments=KINDS)
        store.finish_run("succeeded")
        return done

    return asyncio.run(adopt())


def _resolve_by_looking(harness: Harness) -> None:
    """A person checks each open letter in Alto: resolved as landed if it is there, retried
    if it is not."""
    world = harness.alto.world
    for letter in harness.letters():
        operation, issue = letter.operation, str(letter.operation["issue_id"])
        if operation["kind"] == "document":
            there = any(
                (_issue_of(world, d["linkedId"]), d["fileName"]) == (issue, operation["name"])
                for d in world.documents
            )
        else:
            reference = operation["fields"].get("invoiceReference")
            there = any(
                (_issue_of(world, c.get("workOrderId")), c.get("invoiceReference"))
                == (issue, reference)
                for c in world.charges
            )
        if there:
            harness.store.resolve_dead_letter(letter.id, "found in Alto", landed=True)
        else:
            harness.store.retry_dead_letter(letter.id)


@pytest.mark.req("W-03")
def test_a_lost_store_refuses_to_create_a_works_order_alto_holds(harness: Harness) -> None:
    harness.perform("report", "I1")
    harness.perform("instruct", "I1")
    writes = _writes(harness.alto)
    _restore(harness, None)
    reported = harness.sim.fixflo.issues["I1"]["Created"]
    with pytest.raises(StoreBehindError) as behind:
        harness.deliver("I1")
    assert (
        "works order WO-1 on property P1 matches Fixflo issue I1 (propertyId 'P1', "
        f"reportedDate {reported!r}, summary 'Dripping kitchen tap')"
    ) in str(behind.value)
    assert "rulebridge store adopt" in str(behind.value)
    assert _writes(harness.alto) == writes
    assert len(harness.alto.world.works_orders) == 1
    store = harness.store
    assert store.audit() == []  # nothing recorded: the next run looks again
    assert store.in_flight() == []


@pytest.mark.req("W-09", "CH-03")
def test_a_store_restored_from_before_the_close_refuses_before_the_charge(
    harness: Harness, tmp_path: Path
) -> None:
    harness.sim.perform("report", "I1", deliver=False)
    harness.perform("instruct", "I1")
    _backup(harness, tmp_path / "backup.db")
    harness.perform("complete_job", "I1")
    harness.perform("close", "I1")
    charges, documents = len(harness.alto.world.charges), len(harness.alto.world.documents)
    assert charges == 1
    _restore(harness, tmp_path / "backup.db")
    with pytest.raises(StoreBehindError, match=r"holds document 'issue-I1.pdf' of issue I1"):
        harness.deliver("I1")
    # the document was found before anything of its step was sent: no charge posted twice
    assert (len(harness.alto.world.charges), len(harness.alto.world.documents)) == (
        charges,
        documents,
    )
    assert harness.alto.calls["post_charge"] == 1


@pytest.mark.req("W-03", "W-09", "CH-03")
def test_adoption_records_what_alto_holds_and_sends_nothing(harness: Harness) -> None:
    harness.play("documented-path")
    writes, before = _writes(harness.alto), _summary(harness.alto.world)
    _restore(harness, None)
    adopted = _adopt(harness, "I1")
    assert {kind: dict(c) for kind, c in adopted.counts.items()} == {
        "works_order": {"adopted": 1},
        "document": {"adopted": 3},
        "charge": {"adopted": 1},
    }
    assert adopted.complete
    assert _writes(harness.alto) == writes
    assert harness.pending() == {}  # the ledger holds what Alto holds
    harness.deliver("I1")
    assert _writes(harness.alto) == writes
    assert _summary(harness.alto.world) == before
    assert harness.judged() == []


@pytest.mark.req("CH-03")
def test_adoption_gives_a_person_what_alto_cannot_be_asked_about(
    make: Callable[[AltoDouble], Harness],
) -> None:
    harness = make(AltoWithLookups(offered=False))  # no document or charge lookup
    harness.play("documented-path")
    _restore(harness, None)
    adopted = _adopt(harness, "I1")
    assert dict(adopted.counts["works_order"]) == {"adopted": 1}
    assert dict(adopted.counts["document"]) == {"dead": 3}
    assert dict(adopted.counts["charge"]) == {"dead": 1}
    letters = harness.letters()
    assert len(letters) == 4
    assert all(not letter.retryable for letter in letters)
    assert all("the state store was rebuilt" in letter.reason for letter in letters)
    assert all("--landed" in letter.reason for letter in letters)
    harness.deliver("I1")  # the letters hold them: nothing sent on a guess
    assert _duplicates(harness.alto.world) == []
    _resolve_by_looking(harness)
    harness.settle()
    assert _duplicates(harness.alto.world) == []
    assert harness.judged() == []


@pytest.mark.req("W-03", "W-09", "W-10", "CH-03")
@given(
    scenario=st.sampled_from(NAMES),
    backup_at=st.integers(min_value=0, max_value=12),
    restore_at=st.integers(min_value=0, max_value=12),
    lookups=st.booleans(),
    adopt_at_once=st.booleans(),
)
def test_a_store_restored_from_any_older_backup_and_adopted_never_duplicates(
    scenario: str, backup_at: int, restore_at: int, lookups: bool, adopt_at_once: bool
) -> None:
    """Play a scenario; after step `restore_at` put back the store as it was after step
    `backup_at` (0: no store at all). Unless adopted at once, applying goes on until it
    refuses (it looked first and found in Alto what the store never sent), having
    duplicated nothing; it is adopted then and a person checks what Alto cannot be asked
    about. The rest of the lifecycle converges with nothing twice."""
    backup_at = min(backup_at, restore_at)
    adopt_at_once = adopt_at_once or not lookups  # no document lookup: the runner's witness
    with _fresh(AltoWithLookups(offered=lookups)) as harness, tempfile.TemporaryDirectory() as tmp:
        steps = harness.scenario(scenario).steps
        backup = Path(tmp) / "backup.db"
        for number, step in enumerate(steps, start=1):
            if number - 1 == backup_at and backup_at:
                _backup(harness, backup)
            if number - 1 == restore_at:
                _restore(harness, backup if backup_at else None)
                if adopt_at_once:
                    _recover(harness)
            _step(harness, step)
        if len(steps) <= restore_at:
            _restore(harness, backup if backup_at and len(steps) > backup_at else None)
            _recover(harness)
        harness.settle()
        assert _duplicates(harness.alto.world) == []
        assert harness.judged() == []
        assert harness.pending() == {}


def _step(harness: Harness, step: Any) -> None:
    if step.event is None:
        _deliver_or_refuse(harness, step.redeliver)
        return
    harness.sim.perform(step.event, "I1", step.details, deliver=step.deliver)
    if step.deliver:
        _deliver_or_refuse(harness, None)


def _deliver_or_refuse(harness: Harness, revision: int | None) -> None:
    """Deliver; a refusal (the store is behind) is adopted, as the runner's message says."""
    before = _duplicates(harness.alto.world)
    try:
        harness.deliver("I1", revision)
    except StoreBehindError:
        assert _duplicates(harness.alto.world) == before
        harness.close()
        _recover(harness)


def _recover(harness: Harness) -> None:
    """`rulebridge store adopt`, then a person checks the letters it wrote."""
    if "I1" in harness.sim.fixflo.issues:
        _adopt(harness, "I1")
        _resolve_by_looking(harness)
