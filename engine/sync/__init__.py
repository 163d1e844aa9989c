"""Sync: what the nightly job should change in Fixflo, and applying it exactly once.

`make_plan` compares the ruleset's intent (records by source) with what the target holds and
returns a `Plan` of operations, each with an idempotency key and the rules that decided it.
`apply_plan` performs a plan through a `engine.ports.RecordTarget` with exactly-once effects;
a saved plan is refused when its inputs changed since it was made (`check_fresh`).

The public names are imported on first use (PEP 562), so a module that needs only
`engine.sync.plan` (the TUI's reconcile does) does not load the state store and SQLite.

`engine.sync.planner.make_plan` shows a plan made and read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_names

if TYPE_CHECKING:  # the type checker sees the names; at run time `__getattr__` loads them
    from engine.sync.apply import ApplyResult, RecordLookup, apply_plan
    from engine.sync.plan import (
        PLAN_FORMAT,
        ManualAction,
        MergeDecision,
        Operation,
        Plan,
        PlanWarning,
        Skip,
    )
    from engine.sync.planner import make_plan
    from engine.sync.saved_plan import (
        PlanFileError,
        StalePlanError,
        check_fresh,
        read_plan,
        stamp_plan,
    )

__all__ = [
    "PLAN_FORMAT",
    "ApplyResult",
    "ManualAction",
    "MergeDecision",
    "Operation",
    "Plan",
    "PlanFileError",
    "PlanWarning",
    "RecordLookup",
    "Skip",
    "StalePlanError",
    "apply_plan",
    "check_fresh",
    "make_plan",
    "read_plan",
    "stamp_plan",
]

_HOMES = {  # each public name: the module that defines it
    "PLAN_FORMAT": "engine.sync.plan",
    "ApplyResult": "engine.sync.apply",
    "ManualAction": "engine.sync.plan",
    "MergeDecision": "engine.sync.plan",
    "Operation": "engine.sync.plan",
    "Plan": "engine.sync.plan",
    "PlanFileError": "engine.sync.saved_plan",
    "PlanWarning": "engine.sync.plan",
    "RecordLookup": "engine.sync.apply",
    "Skip": "engine.sync.plan",
    "StalePlanError": "engine.sync.saved_plan",
    "apply_plan": "engine.sync.apply",
    "check_fresh": "engine.sync.saved_plan",
    "make_plan": "engine.sync.planner",
    "read_plan": "engine.sync.saved_plan",
    "stamp_plan": "engine.sync.saved_plan",
}

if not TYPE_CHECKING:  # hidden from the type checker, which would otherwise accept any name
    __getattr__, __dir__ = lazy_names(__name__, _HOMES)
