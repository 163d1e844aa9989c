"""Generated code for a lifecycle: which case of a status, which charge route, which warning
holds, and the maps of works orders, statuses and charges, as Python functions.

Issue 21 asks for code "per lifecycle status and charge". Like `_codegen` for entities, each
unit is an `ast.Module` built node by node: ruleset values only ever become `ast.Constant`,
names are generated (``_x1``, ``_c2`` ...) or are among `_codegen.ALLOWED_NAMES`, and the
tree is compiled and run by `_codegen.run_tree`, the one module that may. Two kinds of unit:

- ``tests(record, context) -> int``: the position of the first condition that holds, -1
  when none does (a status's ``cases``, a charge's ``routes``, one warning's ``when``);
- ``fields(record, context) -> (dict, explained)``: the map, nested by dotted name as
  `engine.issues.reconcile` builds it, and, in field order, what each ``case`` value's
  `CaseValue.explain` gave (the reconcile names a deciding branch in its reasons).

Translated: ``all``, ``any``, ``not``/``none``, ``setting`` and ``rule`` conditions; plain
and nested field reads, ``const``, ``default`` and ``join`` values. Every other operator
calls its compiled closure, bound in the module's globals under a generated name, and so
does any record that is not a dict. The closures stay the reference: the functions give
exactly what they give (tests/engine/test_codegen_lifecycle.py checks it).

Example:
    >>> from engine import load_ruleset
    >>> lifecycle = load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle
    >>> programs = generate_lifecycle(lifecycle)
    >>> closed = lifecycle.statuses["Closed"]
    >>> programs.first_case(closed, {"Status": "Closed", "Job": {"id": "J1"}}, None)
    0
    >>> programs.mapped(closed.set, {"Job": {"JobberNotes": "Fixed."}}, None)[0]
    {'notes': 'Fixed.'}
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

from engine.explain import Because
from engine.language.compiler._codegen import (
    PLAIN_KEY,
    Builder,
    call,
    compare,
    display,
    load,
    run_tree,
    tree_shaped,
)
from engine.language.lifecycle import (
    ChargePolicy,
    Fields,
    Lifecycle,
    LifecycleWarning,
    StatusSpec,
)
from engine.language.operators.case import CaseValue
from engine.language.operators.conditions import Check
from engine.language.paths import set_path

__all__ = ["LifecyclePrograms", "generate_lifecycle"]

Test = Callable[[Any, Any], int]
Mapper = Callable[[Any, Any], tuple[dict[str, Any], tuple[tuple[Any, Because | None], ...]]]

_RECORD_CONTEXT = ("record", "context")


class LifecyclePrograms:
    """The generated functions of one lifecycle, found by what they stand for.

    Attributes:
        trees: every unit's label (``status Closed``, ``map works_order`` ...) and tree
            (None where Python could not compile it: the closures then serve).
    """

    __slots__ = ("_cases", "_maps", "_routes", "_warnings", "trees")

    def __init__(
        self,
        cases: dict[str, tuple[StatusSpec, Test]],
        routes: dict[str, tuple[ChargePolicy, Test]],
        warnings: dict[str, tuple[LifecycleWarning, Test]],
        maps: dict[int, tuple[Fields, Mapper]],
        trees: list[tuple[str, ast.Module | None]],
    ) -> None:
        self._cases = cases
        self._routes = routes
        self._warnings = warnings
        self._maps = maps
        self.trees = tuple(trees)

    def first_case(self, status: StatusSpec, record: Any, context: Any) -> int:
        """The position of the first of `status`'s cases whose `when` holds, or -1."""
        known = self._cases.get(status.name)
        if known is None or known[0] is not status:  # not this lifecycle's: the closures
            return _first_holding([case.check for case in status.cases], record, context)
        return known[1](record, context)

    def first_route(self, policy: ChargePolicy, record: Any, context: Any) -> int:
        """The position of the first of `policy`'s routes whose `when` holds (none: always),
        or -1."""
        known = self._routes.get(policy.name)
        if known is None or known[0] is not policy:
            return _first_holding([route.check for route in policy.routes], record, context)
        return known[1](record, context)

    def warns(self, warning: LifecycleWarning, record: Any, context: Any) -> bool:
        """Whether `warning`'s `when` holds."""
        known = self._warnings.get(warning.id)
        if known is None or known[0] is not warning:
            return warning.check.test(record, context)
        return known[1](record, context) == 0

    def mapped(
        self, fields: Fields, record: Any, context: Any
    ) -> tuple[dict[str, Any], tuple[tuple[Any, Because | None], ...]]:
        """`fields` mapped over `record` (nested by dotted name), and what each ``case``
        value's `CaseValue.explain` gave, in field order."""
        known = self._maps.get(id(fields))
        if known is None or known[0] is not fields:
            return _map_closures(fields)(record, context)
        return known[1](record, context)


def generate_lifecycle(lifecycle: Lifecycle) -> LifecyclePrograms:
    """The generated code of `lifecycle`: its statuses' cases and maps (``set``, a case's
    ``set``), the works order's map, its warnings, its charges' routes and maps.

    Never fails on a compiled lifecycle: a unit Python cannot compile calls the closures.
    """
    trees: list[tuple[str, ast.Module | None]] = []
    maps: dict[int, tuple[Fields, Mapper]] = {}

    def add_map(label: str, fields: Fields) -> None:
        if id(fields) not in maps:
            maps[id(fields)] = (fields, _unit(trees, label, _Map(fields)))

    cases: dict[str, tuple[StatusSpec, Test]] = {}
    for name, status in lifecycle.statuses.items():
        checks = [case.check for case in status.cases]
        cases[name] = (status, _unit(trees, f"status {name}", _Tests(checks)))
        add_map(f"map {name}", status.set)
        for case in status.cases:
            changed = dict(case.changes).get("set")
            if isinstance(changed, tuple):
                add_map(f"map {case.id}", changed)
    add_map("map works_order", lifecycle.works_order_fields)
    warnings = {
        warning.id: (warning, _unit(trees, f"warning {warning.id}", _Tests([warning.check])))
        for warning in lifecycle.warnings
    }
    routes: dict[str, tuple[ChargePolicy, Test]] = {}
    for name, policy in lifecycle.charges.items():
        route_checks: list[Check | None] = [route.check for route in policy.routes]
        routes[name] = (policy, _unit(trees, f"routes {name}", _Tests(route_checks)))
        add_map(f"map charge {name}", policy.fields)
    return LifecyclePrograms(cases, routes, warnings, maps, trees)


def _unit(trees: list[tuple[str, ast.Module | None]], label: str, unit: _Unit) -> Any:
    """Generate `unit`'s module and give its function (the closures' where it cannot be);
    the tree is added to `trees` under `label`."""
    try:
        tree: ast.Module | None = unit.module()
    except (RecursionError, ValueError, TypeError, MemoryError):
        tree = None
    namespace = None if tree is None else run_tree(tree, f"<lifecycle {label}>", unit.bound)
    trees.append((label, None if namespace is None else tree))
    return unit.slow if namespace is None else namespace[unit.name]


# -- the closures: the reference, and what serves records that are not dicts ------------


def _first_holding(checks: Sequence[Check | None], record: Any, context: Any) -> int:
    for position, check in enumerate(checks):
        if check is None or check.test(record, context):
            return position
    return -1


def _map_closures(fields: Fields) -> Mapper:
    def mapped(record: Any, context: Any) -> tuple[dict[str, Any], tuple[Any, ...]]:
        found: dict[str, Any] = {}
        explained = []
        for name, value in fields:
            if isinstance(value, CaseValue):
                pair = value.explain(record, context)
                explained.append(pair)
                result = pair[0]
            else:
                result = value.get(record, context)
            set_path(found, tuple(name.split(".")), result)
        return found, tuple(explained)

    return mapped


# -- the generators ----------------------------------------------------------------------


class _Unit(Builder):
    """One generated function `name` and what its names are bound to."""

    name = ""

    def __init__(self, slow: Callable[..., Any]) -> None:
        super().__init__({"_s0": slow})
        self.slow = slow

    def body(self) -> list[ast.stmt]:
        raise NotImplementedError

    def module(self) -> ast.Module:
        """``def name(record, context)``: a record that is not a dict goes to the closures."""
        guard = ast.If(
            compare(call(load("type"), load("record")), ast.IsNot(), load("dict")),
            [ast.Return(self.closure("s", self.slow))],
            [],
        )
        alias = ast.Assign(
            [ast.Name("_get", ast.Store())], ast.Attribute(load("record"), "get", ast.Load())
        )
        arguments = ast.arguments([], [ast.arg(n) for n in _RECORD_CONTEXT], None, [], [], None, [])
        function = ast.FunctionDef(
            name=self.name, args=arguments, body=[guard, alias, *self.body()], decorator_list=[]
        )
        return ast.fix_missing_locations(ast.Module([function], []))

    def field(self, path: str) -> ast.expr | None:
        """The inline read of a path of plain keys, `_missing` wherever a key is missing or
        a step is no dict (the closure then reads it); None for any other path."""
        keys = path.split(".")
        if not all(PLAIN_KEY.match(key) for key in keys):
            return None
        found: ast.expr = call(load("_get"), ast.Constant(keys[0]), load("_missing"))
        for key in keys[1:]:
            step = self.fresh("v")
            is_dict = compare(
                call(load("type"), ast.NamedExpr(ast.Name(step, ast.Store()), found)),
                ast.Is(),
                load("dict"),
            )
            read = call(
                ast.Attribute(load(step), "get", ast.Load()),
                ast.Constant(key),
                load("_missing"),
            )
            found = ast.IfExp(is_dict, read, load("_missing"))
        return found


class _Tests(_Unit):
    """``tests``: the position of the first of `checks` that holds (None: always), or -1."""

    name = "tests"

    def __init__(self, checks: Sequence[Check | None]) -> None:
        listed = tuple(checks)
        super().__init__(lambda record, context: _first_holding(listed, record, context))
        self.checks = listed

    def body(self) -> list[ast.stmt]:
        body: list[ast.stmt] = []
        for position, check in enumerate(self.checks):
            answer = ast.Return(ast.Constant(position))
            if check is None:
                return [*body, answer]
            body.append(ast.If(self.check(check), [answer], []))
        return [*body, ast.Return(ast.Constant(-1))]


class _Map(_Unit):
    """``fields``: the map as a nested dict display, with each ``case`` value's
    explanation (`CaseValue.explain`, a closure) taken first, in field order."""

    name = "fields"

    def __init__(self, fields: Fields) -> None:
        super().__init__(_map_closures(fields))
        self.fields = fields

    def body(self) -> list[ast.stmt]:
        paths = [tuple(name.split(".")) for name, _ in self.fields]
        if not tree_shaped(paths):
            return [ast.Return(self.closure("s", self.slow))]
        prelude: list[ast.stmt] = []
        explained: list[ast.expr] = []
        nested: dict[str, Any] = {}
        for path, (_, value) in zip(paths, self.fields, strict=True):
            node = nested
            for key in path[:-1]:
                node = node.setdefault(key, {})
            if isinstance(value, CaseValue):
                pair = self.fresh("e")
                prelude.append(
                    ast.Assign([ast.Name(pair, ast.Store())], self.closure("x", value.explain))
                )
                explained.append(load(pair))
                node[path[-1]] = ast.Subscript(load(pair), ast.Constant(0), ast.Load())
            else:
                node[path[-1]] = self.value(value)
        result = ast.Tuple([display(nested), ast.Tuple(explained, ast.Load())], ast.Load())
        return [*prelude, ast.Return(result)]
