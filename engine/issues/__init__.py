"""Issues: one Fixflo issue reconciled into Alto, and that reconcile applied exactly once.

`reconcile` is pure and level-triggered: given the issue as Fixflo holds it now and what
Alto holds (`engine.ports.AltoHolding`), it says which works order, documents and charges
Alto lacks (`IssueOps`). `apply_issue_ops` performs those operations against Alto's ports
exactly once, through the state store's intent-before-effect contract; `adopt_issue_ops`
records what Alto already holds for it, sending nothing (``rulebridge store adopt``).

Those two use the state store (SQLite) and are imported on first use (PEP 562), so the TUI,
which needs only `reconcile`, does not load the store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_names

# `reconcile` is imported now: the name is also its module's, which a later import of
# `engine.issues.reconcile` would otherwise leave here in place of the function.
from engine.issues.reconcile import IssueOps, LifecycleOp, reconcile

if TYPE_CHECKING:  # the type checker sees the names; at run time `__getattr__` loads them
    from engine.issues.adoption import adopt_issue_ops
    from engine.issues.apply import (
        AltoWriter,
        IssueApplyResult,
        apply_issue_ops,
        attachment_kinds,
    )

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

_HOMES = {  # each name imported on first use: the module that defines it
    "AltoWriter": "engine.issues.apply",
    "IssueApplyResult": "engine.issues.apply",
    "adopt_issue_ops": "engine.issues.adoption",
    "apply_issue_ops": "engine.issues.apply",
    "attachment_kinds": "engine.issues.apply",
}

if not TYPE_CHECKING:  # hidden from the type checker, which would otherwise accept any name
    __getattr__, __dir__ = lazy_names(__name__, _HOMES)
