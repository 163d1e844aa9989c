"""Apply one issue's reconciliation to Alto with exactly-once effects (DESIGN.md 2 and 6).

`apply_issue_ops` performs the operations `engine.issues.reconcile.reconcile` gave for one
Fixflo issue, as `engine.sync.apply.apply_plan` does for reference data. For each, in order:

1. ``store.record_intent(op)`` *before* the call. ``skip`` and ``dead`` make no call; the
   documents and charge of a works order that is not done wait for it (``op.after``).
2. ``verify`` (an earlier attempt was cut off): look in Alto first (`find_works_order`,
   `find_document`, `find_charge`, when offered); found, it is recorded with no write.
3. The call. A works order is created at NewRequest, then moved to the status asked for;
   updates are JSON Patches (safe to resend). **Documents and charges have no idempotency
   in Alto**: after a lost answer the record is looked up and posted again only when it
   is surely missing. Without a lookup nothing is guessed: a dead letter tells a person
   what to check in Alto.
4. ``record_effect`` and the issue's `IssueState` in one transaction; when every operation
   is done, the issue's revision too, so reconciling the issue again gives no operations.

Failures are sorted by their type, as `engine.sync.apply`'s are (`engine._failures`; the
engine imports no adapter): `CredentialsRefused` raises; `RecordRefused` and `NotOffered`
are dead letters; `Retryable` (5xx, 429) is ``failed`` (called again next run);
`OutcomeUnknown` (no answer) stays in flight (verified next run).

Apply one reconciliation per issue per run: the store skips an update whose key is done in
the same run (a second reconciliation in that run is left to the next run).

Example::

    kinds = attachment_kinds(ruleset.lifecycle)
    held = store.issue_state(issue["Id"]).holding()
    result = reconcile(ruleset, issue, held)
    done = await apply_issue_ops(
        result, alto, fixflo_documents, store, run=run, attachments=kinds
    )
    done.complete, dict(done.counts["works_order"])  # (True, {'create': 1})
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine._failures import Refusal, Verdict, sort_failure
from engine._outcomes import Outcomes
from engine.errors import NotOffered, RulebridgeError
from engine.issues.reconcile import IssueOps, LifecycleOp
from engine.language.lifecycle import Lifecycle
from engine.ports import (
    Attachment,
    ChargeLookup,
    Charges,
    ChargeTarget,
    DocumentLookup,
    Documents,
    DocumentSource,
    Record,
    WorksOrderLookup,
    WorksOrders,
)
from engine.store import EffectResult, IssueState, Run, Store, StoreError

__all__ = ["AltoWriter", "IssueApplyResult", "apply_issue_ops", "attachment_kinds"]

# Posts of one document or charge in one apply, each after a lookup found the last one did
# not land (`_once`); past it the operation stays in flight and the next run verifies it.
_POSTS_PER_APPLY = 3


@runtime_checkable
class AltoWriter(WorksOrders, Documents, Charges, Protocol):
    """What the applier writes to: works orders, documents and charges.

    `WorksOrderLookup`, `DocumentLookup` and `ChargeLookup` are optional capabilities,
    checked with ``isinstance``.
    """


@dataclass
class IssueApplyResult(Outcomes):
    """What one apply did.

    Attributes:
        counts: per kind (``works_order``, ``document``, ``charge``), per outcome:
            ``create``, ``update``, ``attach``, ``post`` (applied), ``verified`` (found in
            Alto, no write), ``skipped`` (done already), ``dead``, ``failed`` (called again
            next run), ``unknown`` (left in flight, verified next run), ``blocked`` (not
            attempted: what it depends on did not complete), ``deferred`` (an update done
            earlier in the same run; the next run applies it).
        calls: calls made, by method (``create_works_order``, ``find_charge``, ``fetch``...).
        retries: attempts after an earlier one was cut off or lost.
        dead_letters: ids of the dead letters this apply wrote.
        complete: every operation is done (for a result that is not stale, the issue's
            revision is stored: Alto agrees with it).

    Example:
        >>> IssueApplyResult().applied
        0
    """

    complete: bool = False

    @property
    def applied(self) -> int:
        """Operations whose effect this apply recorded."""
        return self.total("create", "update", "attach", "post", "verified")

    def to_json(self) -> dict[str, Any]:
        """The result as JSON (for run reports)."""
        return super().to_json() | {"complete": self.complete}


def attachment_kinds(lifecycle: Lifecycle) -> dict[str, str]:
    """Attachment rule id -> attachment name, the document kind `DocumentSource` knows.

    Example:
        >>> from engine import load_ruleset
        >>> ruleset = load_ruleset("rulesets/alto-fixflo/v1.yaml")
        >>> attachment_kinds(ruleset.lifecycle)["W-09.report"]
        'issue_report'
    """
    return {attachment.id: attachment.name for attachment in lifecycle.attachments.values()}


class _ToPerson(Exception):
    """The operation goes to a person: a dead letter with `reason`."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason, self.retryable = reason, retryable


def _to_person(op: LifecycleOp, problem: str, fix: str, *, retryable: bool) -> _ToPerson:
    """A dead letter's reason: the issue and operation, what is wrong, what to do."""
    what = f"issue {op.issue_id}: {op.op} {op.kind}" + (f" {op.name!r}" if op.name else "")
    retry = "retry it with `rulebridge deadletters --retry ID` (ID: this letter's)"
    return _ToPerson(f"{what}: {problem}; {fix}, then {retry}", retryable=retryable)


class _Unverified(Exception):
    """Whether the operation landed cannot be told now: it stays in flight."""


class _Unsent(Exception):
    """Nothing reached Alto (its document could not be read): called again next run."""


@dataclass
class _Job:
    result: IssueOps
    alto: AltoWriter
    documents: DocumentSource
    store: Store
    kinds: Mapping[str, str]
    state: IssueState
    out: IssueApplyResult = field(default_factory=IssueApplyResult)
    undone: set[str] = field(default_factory=set)  # keys not done: their dependents wait
    deferred: bool = False

    def call(self, method: str) -> None:
        self.out.calls[method] += 1


async def apply_issue_ops(
    result: IssueOps,
    alto: AltoWriter,
    documents: DocumentSource,
    store: Store,
    *,
    run: Run,
    attachments: Mapping[str, str],
) -> IssueApplyResult:
    """Perform the operations of `result` in Alto, each effect recorded exactly once.

    Args:
        result: one issue's reconciliation, made against ``store.issue_state(id).holding()``.
        alto: the CRM written to, e.g. `adapters.alto.AltoAdapter`.
        documents: where document bytes come from (the issue's report, completion
            documents and invoice).
        store: the agency's state store, with `run` started on it.
        run: the run this apply belongs to; the caller finishes it.
        attachments: attachment rule id -> document kind (`attachment_kinds`).

    Raises:
        StoreError: `run` is not the store's current run.
        CredentialsRefused: Alto refused the credentials (401/403); nothing more is tried.
            Effects recorded so far stay recorded.

    Example::

        await apply_issue_ops(result, alto, docs, store, run=run, attachments=kinds)
    """
    if store.current_run_id() != run.id:
        raise StoreError(
            str(store.path), f"run {run.id} is not the run in progress", "start_run() first"
        )
    job = _Job(result, alto, documents, store, attachments, store.issue_state(result.issue_id))
    store.record_plan(result.operations)
    for op in result.operations:
        await _apply_one(job, op)
    job.out.complete = not job.undone and not job.deferred
    if job.out.complete and not result.stale:
        _agree(job)
    return job.out


async def _apply_one(job: _Job, op: LifecycleOp) -> None:
    if op.after is not None and (op.after in job.undone or job.state.works_order_id is None):
        job.undone.add(op.idempotency_key)
        job.out.count(op.kind, "blocked")
        return
    intent = job.store.record_intent(op)
    if intent.action == "skip":
        _skipped(job, op)
        return
    if intent.action == "dead":
        job.undone.add(op.idempotency_key)
        job.out.count(op.kind, "dead")
        return
    verify = intent.action == "verify"
    if verify:
        job.out.retries += 1
    try:
        await _PERFORM[(op.op, op.kind)](job, op, verify)
    except _ToPerson as exc:
        _dead_letter(job, op, exc.reason, retryable=exc.retryable)
    except _Unverified:
        _left_in_flight(job, op)
    except _Unsent as exc:
        _mark_failed(job, op, str(exc))
    except RulebridgeError as exc:
        _failed(job, op, exc)


def _skipped(job: _Job, op: LifecycleOp) -> None:
    """Done already; an update done earlier in this run is left to the next run."""
    held = job.state.works_order or {}
    if op.op == "update" and any(held.get(k) != v for k, v in op.fields.items()):
        job.deferred = True
        job.out.count(op.kind, "deferred")
    else:
        job.out.count(op.kind, "skipped")


# Works orders ----------------------------------------------------------------------------


async def _create_works_order(job: _Job, op: LifecycleOp, verify: bool) -> None:
    wanted = dict(op.fields)
    status = wanted.pop("status", None)
    property_id = str(wanted.pop("propertyId"))
    found = await _find_works_order(job, property_id) if verify else None
    if found is not None:
        changes = {k: v for k, v in op.fields.items() if k != "propertyId" and found.get(k) != v}
        record, outcome = found, "verified"
    else:
        job.call("create_works_order")
        record = await job.alto.create_works_order(property_id, wanted, reference=op.issue_id)
        changes = {} if status is None or record.get("status") == status else {"status": status}
        outcome = "create"
    order_id = _id(record)
    if order_id is None:
        raise _Unverified(f"Alto gave no id for the works order of {op.issue_id}")
    failure = await _settle_new_order(job, order_id, changes)
    held = dict(op.fields) if failure is None else _held(op, record, changes)
    state = dataclasses.replace(job.state, works_order_id=order_id, works_order=held)
    _record(job, op, state, EffectResult(order_id, op.issue_id), outcome)
    if failure is not None and sort_failure(failure) is Verdict.STOP:
        raise failure


async def _settle_new_order(
    job: _Job, order_id: str, changes: Mapping[str, Any]
) -> RulebridgeError | None:
    """Bring a new order to the wanted fields (its status); the error when that failed.

    The create has landed whatever happens here, so its effect is recorded either way with
    what Alto holds: the next reconcile sees the old status and sends the update again.
    """
    if not changes:
        return None
    job.call("update_works_order")
    try:
        await job.alto.update_works_order(order_id, changes)
    except RulebridgeError as exc:
        job.deferred = True
        return exc
    return None


def _held(op: LifecycleOp, record: Record, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The order's fields as Alto holds them when the changes after the create failed."""
    return {k: record.get(k) if k in changes else v for k, v in op.fields.items()}


async def _find_works_order(job: _Job, property_id: str) -> Record | None:
    """The order a cut-off create left behind; None (create again, which the port says is
    safe by reference) when the adapter has no lookup."""
    if not isinstance(job.alto, WorksOrderLookup):
        return None
    try:
        return await _look(
            job, "find_works_order", job.alto.find_works_order, property_id, job.result.issue_id
        )
    except NotOffered:
        return None


async def _update_works_order(job: _Job, op: LifecycleOp, verify: bool) -> None:
    order_id = _works_order_id(job, op)
    job.call("update_works_order")
    await job.alto.update_works_order(order_id, op.fields)
    held = {**(job.state.works_order or {}), **op.fields}
    state = dataclasses.replace(job.state, works_order=held)
    _record(job, op, state, EffectResult(order_id, op.issue_id), "update")


def _works_order_id(job: _Job, op: LifecycleOp) -> str:
    if job.state.works_order_id is None:
        problem = "the ledger knows no works order for the issue"
        raise _to_person(op, problem, "find it in Alto", retryable=True)
    return job.state.works_order_id


# Documents and charges -------------------------------------------------------------------


async def _attach_document(job: _Job, op: LifecycleOp, verify: bool) -> None:
    order_id = _works_order_id(job, op)
    name = str(op.fields.get("name", op.name))
    linked_type = str(op.fields.get("linkedType", "WorkOrder"))
    kind = _kind(job, op)
    find = None
    if isinstance(job.alto, DocumentLookup):
        find = _bound(job, "find_document", job.alto.find_document, linked_type, order_id, name)

    async def fetch() -> Attachment | None:
        return await _fetch(job, op, kind, name)

    async def post(document: Attachment | None) -> Record:
        assert document is not None  # fetch() above always gives one
        job.call("attach_document")
        return await job.alto.attach_document(linked_type, order_id, document)

    where = f"works order {order_id} holds document {name!r}"
    record, outcome = await _once(job, op, verify, _Post(fetch, post, find, where))
    state = dataclasses.replace(job.state, documents=job.state.documents | {name})
    _record(job, op, state, EffectResult(_id(record), name), outcome)


async def _post_charge(job: _Job, op: LifecycleOp, verify: bool) -> None:
    order_id = _works_order_id(job, op)
    fields = dict(op.fields)
    target, target_id = _charge_target(op, fields.pop("payer", None), job.state.works_order)
    fields.pop("totalGross", None)
    invoice_name = fields.pop("invoiceDocument", None)
    reference = fields.get("invoiceReference")
    charge = fields | {"workOrderId": order_id}
    find = None
    if isinstance(job.alto, ChargeLookup) and reference is not None:
        find = _bound(job, "find_charge", job.alto.find_charge, target, target_id, str(reference))

    async def fetch() -> Attachment | None:
        if invoice_name is None:
            return None
        return await _fetch(job, op, "invoice", str(invoice_name))

    async def post(invoice: Attachment | None) -> Record:
        job.call("post_charge")
        return await job.alto.post_charge(target, target_id, charge, invoice)

    where = f"{_TARGET_WORDS[target]} {target_id} holds a charge for invoice {reference!r}"
    record, outcome = await _once(job, op, verify, _Post(fetch, post, find, where))
    state = dataclasses.replace(job.state, charges=job.state.charges | {str(op.name)})
    _record(job, op, state, EffectResult(_id(record), _text(reference)), outcome)


_TARGET_WORDS: dict[ChargeTarget, str] = {"tenancies": "tenancy", "inventory": "property"}


def _charge_target(
    op: LifecycleOp, payer: Any, works_order: Mapping[str, Any] | None
) -> tuple[ChargeTarget, str]:
    """A tenant's charge goes on the tenancy, a landlord's on the property (CH-02)."""
    target: ChargeTarget = "tenancies" if payer == "Tenant" else "inventory"
    field_name = "tenantId" if target == "tenancies" else "propertyId"
    value = (works_order or {}).get(field_name)
    if value in (None, ""):
        problem = f"the works order has no {field_name} to post the {payer} charge against"
        raise _to_person(op, problem, "fill it in Fixflo", retryable=True)
    return target, str(value)


_Lookup = Callable[[], Awaitable[Record | None]]


@dataclass(frozen=True, slots=True)
class _Post:
    """A write Alto cannot make idempotent: how to fetch its file, post it, look it up."""

    fetch: Callable[[], Awaitable[Attachment | None]]
    post: Callable[[Attachment | None], Awaitable[Record]]
    find: _Lookup | None
    where: str  # what a person checks in Alto when there is no lookup


async def _once(job: _Job, op: LifecycleOp, verify: bool, write: _Post) -> tuple[Record, str]:
    """Post once: look first when verifying, and after a lost answer post again only when
    the lookup says it did not land. Raises `_ToPerson` when there is no lookup to ask.

    This loop is verify-then-write, not a retry layer. Inside each post the HTTP layer has
    retried (with backoff) what surely did not land (no connection, 429) and resends
    nothing that may have: such a post reaches here as `OutcomeUnknown`, is looked up, and
    is sent again only when the lookup says it is not in Alto. It stays in the engine
    because the lookups are optional ports and the engine's policy without one is a dead
    letter, never a guess; the bound keeps a run from spinning on an Alto that keeps losing
    answers.
    """
    if verify:
        found = await _ask(op, write)
        if found is not None:
            return found, "verified"
    document = await write.fetch()
    for attempt in range(_POSTS_PER_APPLY):
        if attempt:
            job.out.retries += 1
        try:
            return await write.post(document), op.op
        except RulebridgeError as exc:
            if sort_failure(exc) is not Verdict.UNKNOWN:
                raise
        found = await _ask(op, write)
        if found is not None:
            return found, "verified"
    raise _Unverified(op.idempotency_key)


async def _ask(op: LifecycleOp, write: _Post) -> Record | None:
    """The record if it landed; a person is asked when Alto cannot tell (never a guess)."""
    if write.find is not None:
        try:
            return await write.find()
        except NotOffered:
            pass
    problem = "the write may have landed and Alto offers no lookup to tell"
    fix = (
        f"check in Alto whether {write.where}: if it does, record it with `rulebridge "
        "deadletters --resolve ID --landed --note ...` (a retry would write it twice); "
        "if it does not"
    )
    raise _to_person(op, problem, fix, retryable=False)


def _bound(
    job: _Job, method: str, lookup: Callable[..., Awaitable[Record | None]], *args: str
) -> _Lookup:
    async def find() -> Record | None:
        return await _look(job, method, lookup, *args)

    return find


async def _look(
    job: _Job, method: str, lookup: Callable[..., Awaitable[Record | None]], *args: str
) -> Record | None:
    """Ask a lookup; `NotOffered` when it does not exist, `_Unverified` when it failed."""
    job.call(method)
    try:
        return await lookup(*args)
    except NotOffered:
        raise
    except RulebridgeError as exc:
        if sort_failure(exc) is Verdict.STOP:
            raise
        raise _Unverified(str(exc)) from exc


async def _fetch(job: _Job, op: LifecycleOp, kind: str, name: str) -> Attachment:
    """The document's bytes; nothing has been sent to Alto when this fails."""
    job.call("fetch")
    try:
        return await job.documents.fetch(op.issue_id, kind, name)
    except KeyError as exc:
        problem = f"the document source knows no documents of kind {kind!r}"
        raise _to_person(op, problem, "fix the runner's document source", retryable=True) from exc
    except RulebridgeError as exc:
        verdict = sort_failure(exc)
        if verdict is Verdict.STOP:
            raise
        if isinstance(verdict, Refusal):
            problem = f"document {name!r} could not be read ({exc})"
            raise _to_person(op, problem, "check it in Fixflo", retryable=True) from exc
        raise _Unsent(str(exc)) from exc


def _kind(job: _Job, op: LifecycleOp) -> str:
    rule = op.because[0].rule if op.because else ""
    kind = job.kinds.get(rule)
    if kind is None:
        problem = f"no attachment kind for rule {rule!r}"
        raise _to_person(op, problem, "pass attachment_kinds(lifecycle)", retryable=True)
    return kind


def _id(record: Record) -> str | None:
    return _text(record.get("id", record.get("Id")))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


_PERFORM: dict[tuple[str, str], Callable[[_Job, LifecycleOp, bool], Awaitable[None]]] = {
    ("create", "works_order"): _create_works_order,
    ("update", "works_order"): _update_works_order,
    ("attach", "document"): _attach_document,
    ("post", "charge"): _post_charge,
}


# Recording -------------------------------------------------------------------------------


def _record(
    job: _Job, op: LifecycleOp, state: IssueState, effect: EffectResult, outcome: str
) -> None:
    """The effect and the issue's ledger state, all or nothing."""
    with job.store.transaction():
        job.store.record_effect(op, effect)
        job.store.put_issue_state(state)
    job.state = state
    job.out.count(op.kind, outcome)


def _agree(job: _Job) -> None:
    """Every operation is done: Alto agrees with this revision of the issue."""
    revision = job.result.revision
    if revision is not None and job.state.revision != revision:
        job.state = dataclasses.replace(job.state, revision=revision)
        job.store.put_issue_state(job.state)


def _failed(job: _Job, op: LifecycleOp, exc: RulebridgeError) -> None:
    match sort_failure(exc):
        case Verdict.STOP:
            raise exc  # left in flight: verified, not guessed, when the credentials are fixed
        case Refusal() as refusal:
            what = f"issue {op.issue_id}: {op.op} {op.kind} {op.name or ''}".rstrip()
            reason = f"{what}: Alto {refusal.answer('refused it')}: {refusal.message}"
            _dead_letter(job, op, reason, retryable=refusal.retryable, error=str(exc))
        case Verdict.FAILED:
            _mark_failed(job, op, str(exc))  # answered, applied nothing: call again next run
        case Verdict.UNKNOWN:
            _left_in_flight(job, op)


def _mark_failed(job: _Job, op: LifecycleOp, error: str) -> None:
    job.store.mark_failed(op, error)
    job.undone.add(op.idempotency_key)
    job.out.count(op.kind, "failed")


def _left_in_flight(job: _Job, op: LifecycleOp) -> None:
    job.undone.add(op.idempotency_key)
    job.out.count(op.kind, "unknown")


def _dead_letter(
    job: _Job, op: LifecycleOp, reason: str, *, retryable: bool, error: str | None = None
) -> None:
    letter = job.store.dead_letter(op, reason, error=error, retryable=retryable)
    job.undone.add(op.idempotency_key)
    job.out.dead_letters.append(letter.id)
    job.out.count(op.kind, "dead")
