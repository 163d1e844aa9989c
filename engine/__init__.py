"""The rulebridge engine: load, check, compile and evaluate versioned YAML rulesets.

The public names are imported on first use (PEP 562 ``__getattr__``), so ``import engine``
and every ``from engine.x import y`` stay cheap: the TUI and ``rulebridge --help`` do not
load the planner, the state store or SQLite unless they use them.

Example:
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> decision = ruleset.evaluate("property", {"id": "1", "recordType": "Sale"})
    >>> decision.included, [str(reason) for reason in decision.because]
    (False, ["P-01: recordType = 'Sale', not = 'Rent'"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine._lazy import lazy_names

if TYPE_CHECKING:  # the type checker sees the names; at run time `__getattr__` loads them
    from engine.errors import (
        EvaluationError,
        RecordError,
        RulebridgeError,
        RulesetError,
        RulesetErrors,
    )
    from engine.explain import Because, Decision, in_words
    from engine.language.checklist import ChecklistTask
    from engine.language.load import CheckResult, check_paths, load_ruleset
    from engine.language.rule import Rule
    from engine.language.ruleset import CompiledRuleset, Entity
    from engine.sync.plan import Plan
    from engine.sync.planner import make_plan

__all__ = [
    "Because",
    "CheckResult",
    "ChecklistTask",
    "CompiledRuleset",
    "Decision",
    "Entity",
    "EvaluationError",
    "Plan",
    "RecordError",
    "Rule",
    "RulebridgeError",
    "RulesetError",
    "RulesetErrors",
    "check_paths",
    "in_words",
    "load_ruleset",
    "make_plan",
]

_HOMES = {  # each public name: the module that defines it
    "Because": "engine.explain",
    "CheckResult": "engine.language.load",
    "ChecklistTask": "engine.language.checklist",
    "CompiledRuleset": "engine.language.ruleset",
    "Decision": "engine.explain",
    "Entity": "engine.language.ruleset",
    "EvaluationError": "engine.errors",
    "Plan": "engine.sync.plan",
    "RecordError": "engine.errors",
    "Rule": "engine.language.rule",
    "RulebridgeError": "engine.errors",
    "RulesetError": "engine.errors",
    "RulesetErrors": "engine.errors",
    "check_paths": "engine.language.load",
    "in_words": "engine.explain",
    "load_ruleset": "engine.language.load",
    "make_plan": "engine.sync.planner",
}

if not TYPE_CHECKING:  # hidden from the type checker, which would otherwise accept any name
    __getattr__, __dir__ = lazy_names(__name__, _HOMES)
