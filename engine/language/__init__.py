"""The ruleset language: load, check and compile a ruleset into an immutable model.

Phases, in order: `engine.documents` reads the YAML with positions and checks it against the
JSON Schema; `engine.language.compiler` declares sources, settings and targets, compiles
conditions (`operators.conditions`), transforms (`operators.transforms`) and policies into
closures and checks the whole (contradictions, cycles, the lifecycle graph); the result is a
`CompiledRuleset` (`ruleset`, `policies`, `lifecycle`) evaluated against a `Context`.

Example:
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> ruleset.evaluate("property", {"id": "1", "recordType": "Sale"}).included
    False
"""

from engine.language.checklist import ChecklistTask
from engine.language.context import Context, Relation
from engine.language.gaps import Gap
from engine.language.lifecycle import ChargePolicy, Event, Lifecycle, StatusSpec
from engine.language.load import CheckResult, check_paths, load_ruleset
from engine.language.rule import Rule
from engine.language.ruleset import CompiledRuleset, Entity

__all__ = [
    "ChargePolicy",
    "CheckResult",
    "ChecklistTask",
    "CompiledRuleset",
    "Context",
    "Entity",
    "Event",
    "Gap",
    "Lifecycle",
    "Relation",
    "Rule",
    "StatusSpec",
    "check_paths",
    "load_ruleset",
]
