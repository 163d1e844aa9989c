"""An entity's generated code, generated when first used.

Compiling a ruleset builds every entity's closures; generating and compiling each entity's
Python code as well costs a few milliseconds an entity (about 0.1 s for the 24 entities of
jupix-alto), which `rulebridge validate`, `fmt`, `graph` and the TUI's browser never use.
So `Entity.program` is a `LazyProgram`: the first read of its `tests`, `fields`, `decide` or
`tree` generates the code (`_codegen_entity.generate_program`), and from then on those are
plain slot reads, as fast as the generated program's own.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from engine.language.compiler._codegen_entity import generate_program
from engine.language.rule import Rule

if TYPE_CHECKING:
    from engine.explain import Decision
    from engine.language.operators.value import Value

__all__ = ["LazyProgram"]

_GENERATED = frozenset({"decide", "fields", "tests", "tree"})


class LazyProgram:
    """`Entity.program`: the entity's generated functions, generated on first use.

    Attributes:
        tests: ``tests(record, context)``, the first failing include rule or -1.
        fields: ``fields(record, context)``, the mapped target fields.
        decide: ``decide(record, context)``, `Entity.evaluate`'s decision.
        tree: the generated `ast.Module` (None where the closures serve instead).

    Example:
        >>> from engine import load_ruleset
        >>> program = load_ruleset("rulesets/alto-fixflo/v2.yaml").entity("property").program
        >>> program.tests({"recordType": "Sale"}, None)
        0
    """

    __slots__ = ("_entity", "decide", "fields", "tests", "tree")

    tests: Callable[[Any, Any], int]
    fields: Callable[[Any, Any], dict[str, Any]]
    decide: Callable[[Any, Any], Decision]
    tree: ast.Module | None

    def __init__(
        self,
        name: str,
        include: Sequence[Rule],
        fields: tuple[tuple[tuple[str, ...], Value], ...],
        key: str,
    ) -> None:
        self._entity = (name, include, fields, key)

    def __getattr__(self, name: str) -> Any:
        # Called only while a slot is unset, i.e. before the first generation.
        if name not in _GENERATED:
            raise AttributeError(name)
        program = generate_program(*self._entity)
        self.tests, self.fields = program.tests, program.fields
        self.decide, self.tree = program.decide, program.tree
        return getattr(self, name)

    def __repr__(self) -> str:
        return f"LazyProgram({self._entity[0]!r})"
