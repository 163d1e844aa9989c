"""Apply one issue's reconciliation to Alto with exactly-once effects (DESIGN.md 2 and 6).

`apply_issue_ops` performs the operations `engine.issues.reconcile.reconcile` gave for one
Fixflo issue, as `engine.sync.apply.apply_plan` does for reference data. For each, in order:

1. **Look first** when the store never attempted the operation and Alto's contract documents
   a lookup for it: a works order by its identity fields (the ruleset's
   ``works_order.identity``) on its property, a document by name on its works order. Found,
   the store is behind Alto (deleted, emptied, restored from an older backup, or another
   store ran for the agency): `StoreBehindError` stops the apply before anything is recorded
   or sent. Charges have no lookup in Alto's contract, so none is asked; the runner's store
   checks guard them (docs/store.md).
2. ``store.record_intent(op)`` *before* the call. ``skip`` and ``dead`` make no call; the
   documents and charge of a works order that is not done wait for it (``op.after``).
3. ``verify`` (an earlier attempt was cut off): look in Alto first (`find_works_order`,
   `find_document`, `find_charge`, when offered); found, it is recorded with no write.
4. The call, exactly as the operation says: a works order is created at NewRequest, then
   moved to the status asked for; updates are JSON Patches (safe to resend); a charge goes
   where its ``target`` says (``post: property`` - the property; ``post: tenancy`` - the
   tenancy `TenancyLookup` finds at that property holding the tenant contact, its tenant id
   in ``target["tenantField"]``; none found: a dead letter naming both), the works order's
   id in ``target["link"]``, the invoice document ``target["invoice"]`` attached.
   **Documents and charges have no idempotency in Alto**: after a lost answer the record is
   looked up and posted again only when it is surely missing. Without a lookup nothing is
   guessed: a dead letter tells a person what to check in Alto.
5. ``record_effect`` and the issue's `IssueState` in one transaction; when every operation
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
from dataclasses import dataclass
from typing import Any

from engine._failures import Refusal, Verdict, sort_failure
from engine.errors import NotOffered, RulebridgeError
from engine.issues._job import (
    AltoWriter,
    IssueApplyResult,
    Job,
    Lookup,
    ToPerson,
    Unsent,
    Unverified,
    agree,
    charge_target,
    charge_where,
    dead_letter,
    document_link,
    failed,
    left_in_flight,
    lookup_for,
    mark_failed,
    record,
    record_id,
    text,
    to_person,
)
from engine.issues.reconcile import IssueOps, LifecycleOp
from engine.language.lifecycle import Lifecycle
from engine.ports import Attachment, DocumentSource, Record
from engine.store import EffectResult, Run, Store, StoreBehindError, StoreError

__all__ = ["AltoWriter", "IssueApplyResult", "apply_issue_ops", "attachment_kinds", "start_job"]

# Posts of one document or charge in one apply, each after a lookup found the last one did
# not land (`_once`); past it the operation stays in flight and the next run verifies it.
_POSTS_PER_APPLY = 3
# The writes whose record Alto's contract lets us find (contracts/alto.md sections 7, 9):
# one this store never attempted is looked for before it is made.
_LOOKED_FOR_FIRST = frozenset({("create", "works_order"), ("attach", "document")})


def attachment_kinds(lifecycle: Lifecycle) -> dict[str, str]:
    """Attachment rule id -> where its documents come from (its ``from``), the kind
    `DocumentSource.fetch` is asked for. An operation's own ``target["from"]`` comes first;
    this serves operations made without one.

    Example:
        >>> from engine import load_ruleset
        >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
        >>> attachment_kinds(ruleset.lifecycle)["W-09.report"]
        'IssueReport'
    """
    return {attachment.id: attachment.from_ for attachment in lifecycle.attachments.values()}


def start_job(
    result: IssueOps,
    alto: AltoWriter,
    documents: DocumentSource,
    store: Store,
    *,
    run: Run,
    attachments: Mapping[str, str],
) -> Job:
    """The job for one issue's operations, its plan recorded in `store`.

    Raises:
        StoreError: `run` is not the store's current run.
    """
    if store.current_run_id() != run.id:
        raise StoreError(
            str(store.path), f"run {run.id} is not the run in progress", "start_run() first"
        )
    job = Job(result, alto, documents, store, attachments, store.issue_state(result.issue_id))
    store.record_plan(result.operations)
    return job


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
        StoreBehindError: Alto holds a works order or document this store never attempted
            to make; nothing of that operation was recorded or sent, and nothing after it.
        CredentialsRefused: Alto refused the credentials (401/403); nothing more is tried.
            Effects recorded so far stay recorded.

    Example::

        await apply_issue_ops(result, alto, docs, store, run=run, attachments=kinds)
    """
    job = start_job(result, alto, documents, store, run=run, attachments=attachments)
    for op in result.operations:
        await _apply_one(job, op)
    job.out.complete = not job.undone and not job.deferred
    if job.out.complete and not result.stale:
        agree(job)
    return job.out


async def _apply_one(job: Job, op: LifecycleOp) -> None:
    if job.blocked(op) or not await _looked_first(job, op):
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
    except ToPerson as exc:
        dead_letter(job, op, exc.reason, retryable=exc.retryable)
    except Unverified:
        left_in_flight(job, op)
    except Unsent as exc:
        mark_failed(job, op, str(exc))
    except RulebridgeError as exc:
        failed(job, op, exc)


async def _looked_first(job: Job, op: LifecycleOp) -> bool:
    """Look in Alto for a works order or document this store never attempted to make.

    Returns whether to go on with the operation: False when the lookup failed (nothing
    sent; ``failed``, tried again next run). Raises `StoreBehindError` when it is there.
    """
    if (op.op, op.kind) not in _LOOKED_FOR_FIRST or job.store.attempted(op.idempotency_key):
        return True
    find = lookup_for(job, op)
    try:
        found = None if find is None else await find()
    except NotOffered:
        return True  # Alto cannot be asked: the store's record (and its checks) decide
    except Unverified as exc:
        mark_failed(job, op, f"Alto could not be asked whether it holds it already ({exc})")
        return False
    if found is not None:
        raise _behind(job, op, found)
    return True


def _behind(job: Job, op: LifecycleOp, found: Record) -> StoreBehindError:
    issue = op.issue_id
    if op.kind == "works_order":
        identity = dict(op.target.get("identity", {}))
        what = (
            f"works order {record_id(found)} on property {op.fields.get('propertyId')} "
            f"matches Fixflo issue {issue} ({_listed(identity)})"
        )
    else:
        what = f"works order {job.state.works_order_id} holds document {op.name!r} of issue {issue}"
    problem = f"is behind what Alto holds: {what}, which this store has no record of sending"
    return StoreBehindError(
        str(job.store.path), problem, "rebuild what it is missing with `rulebridge store adopt`"
    )


def _listed(fields: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} {value!r}" for name, value in fields.items()) or "no identity"


def _skipped(job: Job, op: LifecycleOp) -> None:
    """Done already; an update done earlier in this run is left to the next run."""
    held = job.state.works_order or {}
    if op.op == "update" and any(held.get(k) != v for k, v in op.fields.items()):
        job.deferred = True
        job.out.count(op.kind, "deferred")
    else:
        job.out.count(op.kind, "skipped")


# Works orders ----------------------------------------------------------------------------


async def _create_works_order(job: Job, op: LifecycleOp, verify: bool) -> None:
    wanted = dict(op.fields)
    status = wanted.pop("status", None)
    property_id = str(wanted.pop("propertyId"))
    found = await _find_works_order(job, op) if verify else None
    if found is not None:
        changes = {k: v for k, v in op.fields.items() if k != "propertyId" and found.get(k) != v}
        created, outcome = found, "verified"
    else:
        job.call("create_works_order")
        identity = dict(op.target.get("identity", {}))
        created = await job.alto.create_works_order(property_id, wanted, identity=identity)
        changes = {} if status is None or created.get("status") == status else {"status": status}
        outcome = "create"
    order_id = record_id(created)
    if order_id is None:
        raise Unverified(f"Alto gave no id for the works order of {op.issue_id}")
    failure = await _settle_new_order(job, order_id, changes)
    held = dict(op.fields) if failure is None else _held(op, created, changes)
    state = dataclasses.replace(job.state, works_order_id=order_id, works_order=held)
    record(job, op, state, EffectResult(order_id, op.issue_id), outcome)
    if failure is not None and sort_failure(failure) is Verdict.STOP:
        raise failure


async def _settle_new_order(
    job: Job, order_id: str, changes: Mapping[str, Any]
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


def _held(op: LifecycleOp, found: Record, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The order's fields as Alto holds them when the changes after the create failed."""
    return {k: found.get(k) if k in changes else v for k, v in op.fields.items()}


async def _find_works_order(job: Job, op: LifecycleOp) -> Record | None:
    """The order a cut-off create left behind; None (create again, which the port promises
    is once per identity: `WorksOrders.create_works_order`) when the adapter has no lookup."""
    find = lookup_for(job, op)
    try:
        return None if find is None else await find()
    except NotOffered:
        return None


async def _update_works_order(job: Job, op: LifecycleOp, verify: bool) -> None:
    order_id = _works_order_id(job, op)
    job.call("update_works_order")
    await job.alto.update_works_order(order_id, op.fields)
    held = {**(job.state.works_order or {}), **op.fields}
    state = dataclasses.replace(job.state, works_order=held)
    record(job, op, state, EffectResult(order_id, op.issue_id), "update")


def _works_order_id(job: Job, op: LifecycleOp) -> str:
    if job.state.works_order_id is None:
        problem = "the ledger knows no works order for the issue"
        raise to_person(op, problem, "find it in Alto", retryable=True)
    return job.state.works_order_id


# Documents and charges -------------------------------------------------------------------


async def _attach_document(job: Job, op: LifecycleOp, verify: bool) -> None:
    order_id = _works_order_id(job, op)
    linked_type, name = document_link(op)
    kind = _kind(job, op)

    async def fetch() -> Attachment | None:
        return await _fetch(job, op, kind, name)

    async def post(document: Attachment | None) -> Record:
        assert document is not None  # fetch() above always gives one
        job.call("attach_document")
        return await job.alto.attach_document(linked_type, order_id, document)

    where = f"works order {order_id} holds document {name!r}"
    posted, outcome = await _once(job, op, verify, _Post(fetch, post, lookup_for(job, op), where))
    state = dataclasses.replace(job.state, documents=job.state.documents | {name})
    record(job, op, state, EffectResult(record_id(posted), name), outcome)


async def _post_charge(job: Job, op: LifecycleOp, verify: bool) -> None:
    """Post the charge where its route says, the works order's id in the link field and
    the invoice document (``target["invoice"]``) attached."""
    order_id = _works_order_id(job, op)
    at = await charge_target(job, op)
    link = op.target.get("link")
    charge = dict(op.fields) | dict(at.fields) | ({str(link): order_id} if link else {})
    invoice = op.target.get("invoice")
    reference = op.fields.get("invoiceReference")

    async def fetch() -> Attachment | None:
        if not isinstance(invoice, Mapping) or not invoice.get("name"):
            return None
        return await _fetch(job, op, str(invoice.get("from")), str(invoice["name"]))

    async def post(document: Attachment | None) -> Record:
        job.call("post_charge")
        return await job.alto.post_charge(at.target, at.target_id, charge, document)

    write = _Post(fetch, post, lookup_for(job, op, at), charge_where(op))
    posted, outcome = await _once(job, op, verify, write)
    state = dataclasses.replace(job.state, charges=job.state.charges | {str(op.name)})
    record(job, op, state, EffectResult(record_id(posted), text(reference)), outcome)


@dataclass(frozen=True, slots=True)
class _Post:
    """A write Alto cannot make idempotent: how to fetch its file, post it, look it up."""

    fetch: Callable[[], Awaitable[Attachment | None]]
    post: Callable[[Attachment | None], Awaitable[Record]]
    find: Lookup | None
    where: str  # what a person checks in Alto when there is no lookup


async def _once(job: Job, op: LifecycleOp, verify: bool, write: _Post) -> tuple[Record, str]:
    """Post once: look first when verifying, and after a lost answer post again only when
    the lookup says it did not land. Raises `ToPerson` when there is no lookup to ask.

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
    raise Unverified(op.idempotency_key)


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
    raise to_person(op, problem, fix, retryable=False)


async def _fetch(job: Job, op: LifecycleOp, kind: str, name: str) -> Attachment:
    """The document's bytes; nothing has been sent to Alto when this fails."""
    job.call("fetch")
    try:
        return await job.documents.fetch(op.issue_id, kind, name)
    except KeyError as exc:
        problem = f"the document source knows no documents of kind {kind!r}"
        raise to_person(op, problem, "fix the runner's document source", retryable=True) from exc
    except RulebridgeError as exc:
        verdict = sort_failure(exc)
        if verdict is Verdict.STOP:
            raise
        if isinstance(verdict, Refusal):
            problem = f"document {name!r} could not be read ({exc})"
            raise to_person(op, problem, "check it in Fixflo", retryable=True) from exc
        raise Unsent(str(exc)) from exc


def _kind(job: Job, op: LifecycleOp) -> str:
    """Where the document's bytes come from: the op's ``target["from"]``, else the kind
    its attachment rule has in `job.kinds`."""
    origin = op.target.get("from")
    if origin:
        return str(origin)
    rule = op.because[0].rule if op.because else ""
    kind = job.kinds.get(rule)
    if kind is None:
        problem = f"no attachment kind for rule {rule!r}"
        raise to_person(op, problem, "pass attachment_kinds(lifecycle)", retryable=True)
    return kind


_PERFORM: dict[tuple[str, str], Callable[[Job, LifecycleOp, bool], Awaitable[None]]] = {
    ("create", "works_order"): _create_works_order,
    ("update", "works_order"): _update_works_order,
    ("attach", "document"): _attach_document,
    ("post", "charge"): _post_charge,
}
