"""The issue phase of a run: Fixflo issues changed since the cursor, reconciled into Alto.

Each issue is read once per run: the Issue first, then the parts the lifecycle reads at
its status (`engine.language.lifecycle.Lifecycle.parts_read`: the property, the occupier,
invoice details, completion documents...), each from its own endpoint through the Fixflo
adapter's `read_parts`. It is reconciled with the ruleset against the ledger
(`engine.issues.reconcile`) and applied to Alto exactly once (`engine.issues.apply`).
Issues whose dead letters a person queued again (``rulebridge deadletters --retry``) are
read again too, wherever the cursor is.

An issue the ledger already agrees with (the same ``StatusChanged`` instant, the works
order its status asks for held and its charge, if any, posted) reads no part and sends
nothing: ``UpdatedSince`` is inclusive, so the last issue of a night is listed again the
next. An issue at a final status whose charge still waits for what the ruleset's gap
``gap.issue-updates`` names (an invoice: Fixflo's ``UpdatedSince`` sees status changes
only) is read in full and is a warning every run it is read.

The cursor then moves to the latest ``StatusChanged`` read, never past an issue held back:
one whose effects are not all recorded (a failure, an unanswered call) or whose status
the ruleset cannot read. An issue whose only open operations are dead letters is parked:
the dead letters hold it, not the cursor, so one bad issue does not make every later
night read everything after it again.

Example::

    async with fixflo_ports(night, ruleset=night.ruleset) as fixflo, alto_writer(night) as alto:
        await reconcile_issues(night, fixflo.issues, fixflo.documents, alto)
    night.issues["reconciled"]
    # 6
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, Protocol, runtime_checkable

from engine.errors import CredentialsRefused, EvaluationError, RulebridgeError
from engine.issues.adoption import adopt_issue_ops
from engine.issues.apply import AltoWriter, IssueApplyResult, apply_issue_ops, attachment_kinds
from engine.issues.reconcile import IssueOps, reconcile
from engine.language.lifecycle import Lifecycle, StatusSpec
from engine.ports import DocumentSource, IssueSource, Record
from engine.store import IssueState
from rulebridge.runner._night import Night

__all__ = [
    "INVOICE_GAP",
    "ISSUES_CURSOR",
    "LIFECYCLE_KINDS",
    "PartReader",
    "next_cursor",
    "reconcile_issues",
]

ISSUES_CURSOR: Final = "fixflo.issues"
LIFECYCLE_KINDS: Final = frozenset({"works_order", "document", "charge"})
INVOICE_GAP: Final = "gap.issue-updates"
"""The declared gap whose ``rules`` name the charge requirements that wait for an invoice."""
Fate = Literal["reconciled", "parked", "held"]


@runtime_checkable
class PartReader(Protocol):
    """An issue source that adds parts to an issue it already read (the Fixflo adapter)."""

    async def read_parts(self, issue: Mapping[str, Any], parts: Iterable[str]) -> Record:
        """`issue` with `parts` read from their endpoints and added under their names."""
        ...


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
    if _agrees(night, phase.lifecycle, issue, state):
        return "reconciled"
    try:
        issue = await _with_parts(phase, issue)
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
    _warn_waiting_charge(night, phase.lifecycle, issue, state, result)
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


async def _with_parts(phase: _Phase, issue: dict[str, Any]) -> dict[str, Any]:
    """The issue with the parts the lifecycle reads at its status (none: as it is).

    A source without `PartReader` is asked for the issue again with the parts."""
    parts = phase.lifecycle.parts_read(phase.lifecycle.status_of(issue) or "")
    if not parts:
        return issue
    if isinstance(phase.issues, PartReader):
        return dict(await phase.issues.read_parts(issue, parts))
    return dict(await phase.issues.read_issue(str(issue.get("Id")), parts))


def _agrees(night: Night, lifecycle: Lifecycle, issue: Mapping[str, Any], held: IssueState) -> bool:
    """Whether the ledger already agrees with this very snapshot and nothing waits: the same
    revision instant, the works order the status asks for held, its charge posted (or held
    back by what the Issue alone decides, `_never_due`), and no operation of the issue
    queued again by a person. Such an issue needs no part and no
    operation (reconciling it would read its parts for nothing)."""
    if held.revision is None or lifecycle.read_revision is None:
        return False
    if not _same_instant(lifecycle.read_revision(issue), held.revision):
        return False
    spec = _spec(night, lifecycle, issue)
    if spec is None:
        return False
    if spec.works_order is not None and held.works_order_id is None:
        return False
    if spec.charge and spec.charge not in held.charges and not _never_due(night, spec, issue):
        return False
    issue_id = str(issue.get("Id"))
    return not any(op.get("issue_id") == issue_id for op in night.store.requeued(LIFECYCLE_KINDS))


def _never_due(night: Night, spec: StatusSpec, issue: Mapping[str, Any]) -> bool:
    """Whether the status's charge is held back by a requirement the Issue alone decides
    (no part read, not one of the rules ``gap.issue-updates`` names as waiting for an
    invoice): a landlord's job, say, whose snapshot cannot come to need a charge."""
    lifecycle = night.ruleset.lifecycle
    policy = None if lifecycle is None else lifecycle.charges.get(str(spec.charge))
    source = None if lifecycle is None else night.ruleset.sources.get(lifecycle.source)
    if policy is None or source is None:
        return False
    waiting = next((set(g.rules) for g in night.ruleset.gaps if g.id == INVOICE_GAP), set())
    context = night.ruleset.context()
    for rule in policy.require:
        try:
            held, because = rule.check.explain(issue, context)
        except (EvaluationError, LookupError, TypeError, ValueError):
            return False
        if held:
            continue
        fields = [str(reason.field) for reason in because]
        reads_part = any(source.part_of(name) is not None for name in fields)
        return bool(fields) and not reads_part and rule.id not in waiting
    return False


def _spec(night: Night, lifecycle: Lifecycle, issue: Mapping[str, Any]) -> StatusSpec | None:
    """The status spec as it applies to the issue (its first case that holds), or None when
    the status is not declared or a case cannot be judged without the parts."""
    declared = lifecycle.statuses.get(lifecycle.status_of(issue) or "")
    if declared is None:
        return None
    try:
        return declared.resolve(issue, night.ruleset.context())[0]
    except (EvaluationError, LookupError, TypeError, ValueError):
        return None


def _same_instant(left: Any, right: Any) -> bool:
    """Whether two revisions are equal: ISO date-times as instants, anything else as is."""
    first, second = _instant(left), _instant(right)
    if first is None or second is None:
        return bool(left == right)
    return first == second


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _warn_waiting_charge(
    night: Night, lifecycle: Lifecycle, issue: Mapping[str, Any], held: IssueState, result: IssueOps
) -> None:
    """gap.issue-updates: an issue at a final status whose charge is not posted, held back
    by a requirement the gap names (an invoice not there yet), is a warning each run."""
    gap = next((g for g in night.ruleset.gaps if g.id == INVOICE_GAP), None)
    spec = _spec(night, lifecycle, issue)
    if gap is None or spec is None or not spec.charge or result.stale:
        return
    if result.status not in lifecycle.final or spec.charge in held.charges:
        return
    if any(op.kind == "charge" for op in result.operations):
        return
    waiting = [because for because in result.warnings if because.rule in gap.rules]
    if waiting:
        night.warn(
            INVOICE_GAP,
            f"issue {issue.get('Id')} is {result.status} and its {spec.charge} charge waits "
            f"({waiting[0]}); {gap.instead}",
        )


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
