"""The rulebridge engine: load, check, compile and evaluate versioned YAML rulesets.

Example:
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> decision = ruleset.evaluate("property", {"id": "1", "recordType": "Sale"})
    >>> decision.included, [str(reason) for reason in decision.because]
    (False, ["P-01: recordType = 'Sale', not = 'Rent'"])
"""

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
