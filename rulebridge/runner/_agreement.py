"""Whether the ledger already agrees with an issue as read, and the charge a final status
still waits for (the issue phase's judgements, `rulebridge.runner.issues`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from engine.errors import EvaluationError
from engine.issues.reconcile import IssueOps
from engine.language.lifecycle import Lifecycle, StatusSpec
from engine.store import IssueState
from rulebridge.runner._night import Night

__all__ = ["INVOICE_GAP", "LIFECYCLE_KINDS", "agrees", "same_instant", "warn_waiting_charge"]

LIFECYCLE_KINDS: Final = frozenset({"works_order", "document", "charge"})
INVOICE_GAP: Final = "gap.issue-updates"
"""The declared gap whose ``rules`` name the charge requirements that wait for an invoice."""


def agrees(night: Night, lifecycle: Lifecycle, issue: Mapping[str, Any], held: IssueState) -> bool:
    """Whether the ledger already agrees with this very snapshot and nothing waits: the same
    revision instant, the works order the status asks for held, its charge posted (or held
    back by what the Issue alone decides, `_never_due`), and no operation of the issue
    queued again by a person. Such an issue needs no part and no
    operation (reconciling it would read its parts for nothing)."""
    if held.revision is None or lifecycle.read_revision is None:
        return False
    if not same_instant(lifecycle.read_revision(issue), held.revision):
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


def same_instant(left: Any, right: Any) -> bool:
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


def warn_waiting_charge(
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
