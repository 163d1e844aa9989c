"""The issue phase of a run: Fixflo issues changed since the cursor, reconciled into Alto.

Each issue is read once per run, completed with what its status needs and the issue
resource may not carry (the invoice, the completion documents' names), reconciled with
the ruleset against the ledger (`engine.issues.reconcile`) and applied to Alto exactly once
(`engine.issues.apply`). Issues whose dead letters a person queued again
(``rulebridge deadletters --retry``) are read again too, wherever the cursor is.

The cursor then moves to the latest ``StatusChanged`` read, never past an issue held back:
one whose effects are not all recorded (a failure, an unanswered call) or whose status
the ruleset cannot read. An issue whose only open operations are dead letters is parked:
the dead letters hold it, not the cursor, so one bad issue does not make every later
night read everything after it again.

Example::

    async with fixflo_ports(night) as fixflo, alto_writer(night) as alto:
        await reconcile_issues(night, fixflo.issues, fixflo.documents, alto)
    night.issues["reconciled"]
    # 6
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from engine.errors import CredentialsRefused, EvaluationError, RulebridgeError
from engine.issues.adoption import adopt_issue_ops
from engine.issues.apply import AltoWriter, IssueApplyResult, apply_issue_ops, attachment_kinds
from engine.issues.reconcile import reconcile
from engine.language.lifecycle import Lifecycle
from engine.ports import DocumentSource, IssueSource
from engine.store import IssueState
from rulebridge.runner._night import Night

__all__ = ["ISSUES_CURSOR", "LIFECYCLE_KINDS", "next_cursor", "reconcile_issues"]

ISSUES_CURSOR: Final = "fixflo.issues"
LIFECYCLE_KINDS: Final = frozenset({"works_order", "document", "charge"})
_INVOICE_FIELDS: Final = ("InvoiceNumber", "TotalNet", "TotalTax", "Total", "Document")
Fate = Literal["reconciled", "parked", "held"]


@dataclass
class _Phase:
    """The ports the phase reads and writes through, and what it has seen: stamps by fate,
    outcomes per kind, issues read."""

    lifecycle: Lifecycle
    issues: IssueSource
    documents: DocumentSource
    alto: AltoWriter
    kinds: dict[str, str]
    stamps: dict[Fate, list[str]] = field(
        default_factory=lambda: {"reconciled": [], "parked": [], "held": []}
    )
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    read: set[str] = field(default_factory=set)


async def reconcile_issues(
    night: Night, issues: IssueSource, documents: DocumentSource, alto: AltoWriter
) -> None:
    """Reconcile every issue changed since the cursor (and every requeued one) into Alto,
    then advance the cursor; the counts go to ``night.issues``.

    Args:
        night: the run.
        issues: the repair system's issues (Fixflo).
        documents: their files, attached to Alto's works orders.
        alto: the CRM written to.
    """
    lifecycle = night.ruleset.lifecycle
    if lifecycle is None:
        return
    adopting = night.options.adopt
    since = None if adopting else night.store.cursor(ISSUES_CURSOR)
    phase = _Phase(lifecycle, issues, documents, alto, attachment_kinds(lifecycle))
    with night.log.phase("issues") as advance:
        async for issue_id in issues.issue_ids(since=since):
            await _read_and_reconcile(night, phase, issue_id, stamped=True)
            advance(1)
        for issue_id in _requeued(night, phase):
            await _read_and_reconcile(night, phase, issue_id, stamped=False)
            advance(1)
    cursor = next_cursor(since, phase.stamps["reconciled"] + phase.stamps["parked"],
                         phase.stamps["held"])  # fmt: skip
    if cursor is not None and not night.options.dry_run and not adopting:
        night.store.advance_cursor(ISSUES_CURSOR, cursor)
    night.issues = {
        "since": since,
        "read": len(phase.read),
        **{fate: len(stamps) for fate, stamps in phase.stamps.items()},
        "cursor": night.store.cursor(ISSUES_CURSOR),
        "outcomes": {kind: dict(counter) for kind, counter in phase.outcomes.items()},
    }
    night.log.event("issues", **{k: v for k, v in night.issues.items() if k != "outcomes"})


def _requeued(night: Night, phase: _Phase) -> list[str]:
    """Issues with an operation a person queued again, not read yet in this run."""
    found = {str(op.get("issue_id")) for op in night.store.requeued(LIFECYCLE_KINDS)}
    return sorted(found - phase.read - {"None"})


async def _read_and_reconcile(night: Night, phase: _Phase, issue_id: str, *, stamped: bool) -> None:
    """Read one issue and reconcile it. An issue Fixflo will not give (an unreadable
    answer after the adapter's retries) is a warning and holds the cursor where it is;
    the other issues go on. Refused credentials stop the phase."""
    phase.read.add(issue_id)
    try:
        issue = await phase.issues.read_issue(issue_id)
    except CredentialsRefused:
        raise
    except RulebridgeError as exc:
        night.warn("fixflo", f"issue {issue_id} could not be read ({exc}); read again next run")
        night.incomplete += 1
        if stamped:
            phase.stamps["held"].append("")  # its stamp is unknown: the cursor stays
        return
    fate = await _reconcile_one(night, phase, issue)
    if stamped:
        phase.stamps[fate].append(str(issue.get("StatusChanged") or ""))


async def _reconcile_one(night: Night, phase: _Phase, issue: dict[str, Any]) -> Fate:
    issue_id = str(issue.get("Id"))
    state = night.store.issue_state(issue_id)
    try:
        issue = await _with_details(phase.lifecycle, phase.issues, issue, state)
    except RulebridgeError as exc:
        night.warn("fixflo", f"issue {issue_id}: {exc}; it is read again next run")
        night.incomplete += 1
        return "held"
    try:
        result = reconcile(night.ruleset, issue, state.holding())
    except EvaluationError as exc:
        night.warn("lifecycle", f"issue {issue_id}: {exc}; it is read again until the ruleset can")
        return "held"
    for because in result.warnings:
        night.warn(because.rule, f"issue {issue_id}: {because}")
    wanted = {op.idempotency_key for op in result.operations}
    for queued in night.store.requeued(LIFECYCLE_KINDS):
        key = str(queued.get("idempotency_key"))
        if queued.get("issue_id") == issue_id and key not in wanted:
            night.store.settle(key, "superseded: the issue moved on")
    if night.options.dry_run:
        for op in result.operations:
            phase.outcomes.setdefault(op.kind, Counter())[f"would {op.op}"] += 1
        night.changes += len(result.operations)
        return "reconciled"
    if night.options.adopt:  # look only: record what Alto holds, send nothing
        adopted = await adopt_issue_ops(
            result, phase.alto, night.store, run=night.run, attachments=phase.kinds
        )
        return _note(night, phase, adopted)
    applied = await apply_issue_ops(
        result, phase.alto, phase.documents, night.store, run=night.run, attachments=phase.kinds
    )
    return _note(night, phase, applied)


def _note(night: Night, phase: _Phase, applied: IssueApplyResult) -> Fate:
    for kind, counter in applied.counts.items():
        phase.outcomes.setdefault(kind, Counter()).update(counter)
    night.changes += applied.applied
    night.dead_letters.extend(applied.dead_letters)
    if applied.complete:
        return "reconciled"
    if applied.total("failed", "unknown", "deferred"):
        night.incomplete += 1
        return "held"
    return "parked"  # only dead letters (and what waits on them) are open


async def _with_details(
    lifecycle: Lifecycle, issues: IssueSource, issue: dict[str, Any], held: IssueState
) -> dict[str, Any]:
    """The issue with the invoice and completion documents its status needs, read from
    their own endpoints when the issue resource does not carry them."""
    spec = lifecycle.statuses.get(lifecycle.status_of(issue) or "")
    if spec is None or (held.revision is not None and held.revision == issue.get("Revision")):
        return issue
    issue_id = str(issue.get("Id"))
    if spec.charge and spec.charge not in held.charges and issue.get("Invoice") is None:
        invoice = await issues.invoice(issue_id)
        if invoice is not None:
            issue = {**issue, "Invoice": _invoice(invoice)}
    if spec.attach and issue.get("CompletionDocuments") is None:
        documents = await issues.completion_documents(issue_id)
        issue = {**issue, "CompletionDocuments": [{"Name": doc.name} for doc in documents]}
    return issue


def _invoice(details: dict[str, Any]) -> dict[str, Any]:
    """The invoice as the lifecycle reads it; totals from the line items when absent."""
    invoice = {name: details.get(name) for name in _INVOICE_FIELDS}
    lines = [line for line in details.get("LineItems") or [] if isinstance(line, dict)]
    for total, column in (("TotalNet", "Net"), ("TotalTax", "Tax"), ("Total", "Total")):
        if invoice[total] is None and lines:
            values = [line.get(column) for line in lines]
            numbers = [value for value in values if isinstance(value, int | float)]
            if len(numbers) == len(values):
                invoice[total] = round(sum(numbers), 2)
    return invoice


def next_cursor(since: str | None, passed: list[str], held: list[str]) -> str | None:
    """The new cursor: up to the last issue read, never past one held back
    (``UpdatedSince`` is inclusive, so the next run reads that issue again). None: stay.

    Example:
        >>> next_cursor("2026-11-01", ["2026-11-03", "2026-11-02"], [])
        '2026-11-03'
        >>> next_cursor("2026-11-01", ["2026-11-03"], ["2026-11-02"])
        '2026-11-02'
    """
    if not all(held):
        return None  # an issue held without a stamp (it could not be read): stay
    stamps = [stamp for stamp in passed if stamp]
    cursor = min(held) if held else max(stamps, default=since)
    if cursor is None or (since is not None and cursor <= since):
        return None
    return cursor
