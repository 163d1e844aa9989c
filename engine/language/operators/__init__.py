"""The language's closed sets of operators: conditions, comparisons and transforms.

Each compiles its part of a ruleset once into closures (`Check`, `Value`) that evaluation
calls; every name and argument is checked at load time and errors carry their position.
"""

from engine.language.operators.case import CaseValue
from engine.language.operators.comparisons import LEAF_OPERATORS
from engine.language.operators.conditions import Check, ConditionCompiler
from engine.language.operators.transforms import TRANSFORMS, Value, ValueCompiler

__all__ = [
    "LEAF_OPERATORS",
    "TRANSFORMS",
    "CaseValue",
    "Check",
    "ConditionCompiler",
    "Value",
    "ValueCompiler",
]
