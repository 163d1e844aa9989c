"""Sync: what the nightly job should change in Fixflo, and applying it exactly once.

`make_plan` compares the ruleset's intent (records by source) with what the target holds and
returns a `Plan` of operations, each with an idempotency key and the rules that decided it.
`apply_plan` performs a plan through a `engine.ports.RecordTarget` with exactly-once effects;
a saved plan is refused when its inputs changed since it was made (`check_fresh`).

`engine.sync.planner.make_plan` shows a plan made and read.
"""

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
from engine.sync.saved_plan import PlanFileError, StalePlanError, check_fresh, read_plan, stamp_plan

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
