"""Issues: one Fixflo issue reconciled into Alto, and that reconcile applied exactly once.

`reconcile` is pure and level-triggered: given the issue as Fixflo holds it now and what
Alto holds (`engine.ports.AltoHolding`), it says which works order, documents and charges
Alto lacks (`IssueOps`). `apply_issue_ops` performs those operations against Alto's ports
exactly once, through the state store's intent-before-effect contract; `adopt_issue_ops`
records what Alto already holds for it, sending nothing (``rulebridge store adopt``).
"""

from engine.issues.adoption import adopt_issue_ops
from engine.issues.apply import AltoWriter, IssueApplyResult, apply_issue_ops, attachment_kinds
from engine.issues.reconcile import IssueOps, LifecycleOp, reconcile

__all__ = [
    "AltoWriter",
    "IssueApplyResult",
    "IssueOps",
    "LifecycleOp",
    "adopt_issue_ops",
    "apply_issue_ops",
    "attachment_kinds",
    "reconcile",
]
