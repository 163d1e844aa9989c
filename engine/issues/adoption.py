"""Adopt what Alto already holds for one issue into the ledger, sending nothing.

When a state store is lost, emptied, restored from an older backup, or replaced by another
store of the same agency, what the runner made in Alto is still there but the store has
no record of it; a run would refuse it (`engine.issues.apply` looks first). ``rulebridge
store adopt`` rebuilds the ledger from Alto instead: for each issue, the operations its
reconcile owes (against what the store holds) are looked up in Alto, never made:

- found (a works order whose identity fields equal the operation's on its property, a
  document of that name on the works order, a charge for the invoice where a lookup is
  offered): recorded as done, with an audit row, as if the run that made it had recorded
  it (``adopted``);
- not there (the lookup answered and found nothing): left for the next run to make
  (``absent``); what depends on a works order that is not there is ``blocked``;
- cannot be told (Alto offers no lookup: a charge, or a document where the document list
  is not offered; or the lookup failed): a dead letter asking a person to check Alto, so
  it is never sent a second time on a guess (``dead``);
- updates (a works order's status) are left to the next run (``left``): a JSON Patch is
  safe to send again.

Example::

    done = await adopt_issue_ops(result, alto, store, run=run, attachments=kinds)

    dict(done.counts["works_order"])
    # {'adopted': 1}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from engine.errors import NotOffered
from engine.issues._job import (
    AltoWriter,
    IssueApplyResult,
    Job,
    ToPerson,
    Unverified,
    agree,
    charge_where,
    dead_letter,
    document_link,
    lookup_for,
    record,
    record_id,
    text,
    to_person,
)
from engine.issues.apply import start_job
from engine.issues.reconcile import IssueOps, LifecycleOp
from engine.ports import Attachment, DocumentSource, Record
from engine.store import EffectResult, IssueState, Run, Store

__all__ = ["adopt_issue_ops"]


async def adopt_issue_ops(
    result: IssueOps,
    alto: AltoWriter,
    store: Store,
    *,
    run: Run,
    attachments: Mapping[str, str],
) -> IssueApplyResult:
    """Record as done what `result` owes and Alto already holds; send nothing.

    Args:
        result: one issue's reconciliation, made against ``store.issue_state(id).holding()``.
        alto: the CRM (only its lookups are called).
        store: the agency's state store, with `run` (the adoption) started on it.
        run: the adoption's run.
        attachments: attachment rule id -> document kind (`attachment_kinds`).

    Raises:
        StoreError: `run` is not the store's current run.
        CredentialsRefused: Alto refused the credentials.
    """
    job = start_job(result, alto, _NO_DOCUMENTS, store, run=run, attachments=attachments)
    for op in result.operations:
        await _adopt_one(job, op)
    job.out.complete = not job.undone
    if job.out.complete and not result.stale:
        agree(job)
    return job.out


async def _adopt_one(job: Job, op: LifecycleOp) -> None:
    if job.blocked(op):
        return
    status = job.store.operation_status(op.idempotency_key)
    if status == "done":
        job.out.count(op.kind, "skipped")
        return
    if status == "dead" or op.op == "update":  # a person's; or a patch the next run sends
        job.undone.add(op.idempotency_key)
        job.out.count(op.kind, "dead" if status == "dead" else "left")
        return
    try:
        found = await _find(job, op)
        if found is None:
            job.undone.add(op.idempotency_key)
            job.out.count(op.kind, "absent")
            return
        state, effect = _effect(job, op, found)
    except ToPerson as exc:
        dead_letter(job, op, exc.reason, retryable=exc.retryable)
        return
    _adopted(job, op, state, effect)


async def _find(job: Job, op: LifecycleOp) -> Record | None:
    """What Alto holds for `op`; `ToPerson` when Alto cannot tell."""
    find = lookup_for(job, op)
    try:
        if find is not None:
            return await find()
    except NotOffered:
        pass
    except Unverified as exc:
        raise _cannot_tell(job, op, f"the lookup failed ({exc})") from exc
    raise _cannot_tell(job, op, "Alto offers no lookup for it")


def _cannot_tell(job: Job, op: LifecycleOp, why: str) -> ToPerson:
    where = _where(job, op)
    problem = f"the state store was rebuilt and whether {where} cannot be told: {why}"
    fix = (
        f"check in Alto whether {where}: if it does, record it with `rulebridge deadletters "
        "--resolve ID --landed --note ...` (a retry would send it twice); if it does not"
    )
    return to_person(op, problem, fix, retryable=False)


def _where(job: Job, op: LifecycleOp) -> str:
    if op.kind == "works_order":
        identity = ", ".join(f"{k} {v!r}" for k, v in op.target.get("identity", {}).items())
        return (
            f"property {op.fields.get('propertyId')} has a works order for issue "
            f"{op.issue_id} ({identity})"
        )
    if op.kind == "document":
        _, name = document_link(op)
        return f"works order {job.state.works_order_id} holds document {name!r}"
    return charge_where(op)


def _adopted(job: Job, op: LifecycleOp, state: IssueState, effect: EffectResult) -> None:
    """Record `op` as done with what Alto holds, as the run that made it would have."""
    intent = job.store.record_intent(op)
    if intent.action in ("skip", "dead"):  # the store knew it after all
        job.out.count(op.kind, "skipped")
        return
    record(job, op, state, effect, "adopted")


def _effect(job: Job, op: LifecycleOp, found: Record) -> tuple[IssueState, EffectResult]:
    state, found_id = job.state, record_id(found)
    if op.kind == "works_order":
        held = dict(op.fields)
        if found.get("status") is not None:  # the next run moves it on from there
            held["status"] = found["status"]
        if found_id is None:
            problem = "Alto gave no id for the works order it holds"
            raise to_person(op, problem, "find it in Alto", retryable=True)
        state = dataclasses.replace(state, works_order_id=found_id, works_order=held)
        return state, EffectResult(found_id, op.issue_id)
    if op.kind == "document":
        _, name = document_link(op)
        return dataclasses.replace(state, documents=state.documents | {name}), EffectResult(
            found_id, name
        )
    reference = text(op.fields.get("invoiceReference"))
    state = dataclasses.replace(state, charges=state.charges | {str(op.name)})
    return state, EffectResult(found_id, reference)


class _NoDocuments:
    """An adoption sends nothing, so it fetches no document."""

    async def fetch(self, issue_id: str, kind: str, name: str) -> Attachment:
        """Never called: an adoption only looks."""
        raise KeyError(kind)


_NO_DOCUMENTS: DocumentSource = _NoDocuments()
