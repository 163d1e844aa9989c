"""Generated code for one entity: its include rules, its map and its decisions.

Per entity it builds an `ast.Module` (compiled by `_codegen.run_tree`, the one module that
may) holding

- ``tests(record, context) -> int``: the position of the first include rule that fails,
  -1 when every one holds;
- ``fields(record, context) -> dict``: the mapped target fields, nested by dotted path;
- ``decide(record, context) -> Decision``: `Entity.evaluate`'s decision, its reasons built
  by the closures when first read.

No source text is ever formatted or parsed: the tree is built node by node, every value
taken from the ruleset is an `ast.Constant` (or a dict key), and every name is generated
(``_v0``, ``_c3`` ...) or is one of `_codegen.ALLOWED_NAMES`. What the generator does not
translate calls the compiled closure (`Check.test`, `Value.get`), bound in the function's
globals under a generated name; so is any record the fast path does not cover (a value of
another kind, a key in another case, a record that is not a dict). The closures stay the
reference: the generated functions give exactly what they give.

Translated: ``eq``/``in``/``ne``/``not_in`` with text or a boolean and
``present``/``absent`` on a path of plain keys (``a.b``) or a one-item projection
(``a.b[]``); ``all``, ``any``, ``not``/``none``, ``setting`` and ``rule`` conditions; plain
and nested field reads, ``const``, ``default`` and ``join`` values (the join inline), and
``related`` values (no ``where``, pick ``first``), whose records are fetched once per record
for the whole map.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Any

from engine.explain import Decision, RuleReasons
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
from engine.language.operators.conditions import Check
from engine.language.operators.value import Value
from engine.language.paths import compile_path, set_path
from engine.language.rule import Rule

__all__ = ["DECISION_SLOTS", "GeneratedProgram", "generate_program"]

DECISION_SLOTS = ("entity", "key", "included", "fields", "_because", "_pending")
"""The slots of `Decision`, in `Decision.__init__`'s order: the only attributes generated
code stores (on a decision it has just made with ``object.__new__``)."""

Fields = tuple[tuple[tuple[str, ...], Value], ...]

_NOTHING: dict[str, Any] = {}  # never written: its `get` answers "missing" to every key
_POSITIVE = frozenset({"eq", "in", "present"})
_NEGATIVE = {"ne": "eq", "not_in": "in", "absent": "present"}


class GeneratedProgram:
    """One entity's generated functions, with the tree they were compiled from.

    Attributes:
        tree: the `ast.Module` (None when the entity could not be generated, e.g. a
            condition nested too deep for Python's compiler: the closures then serve).
        tests: ``tests(record, context)``, the first failing include rule or -1.
        fields: ``fields(record, context)``, the mapped target fields.
        decide: ``decide(record, context)``, `Entity.evaluate`'s `Decision`, its reasons
            built by the closures when first read.
    """

    __slots__ = ("decide", "fields", "tests", "tree")

    def __init__(
        self,
        tree: ast.Module | None,
        tests: Callable[[Any, Any], int],
        fields: Callable[[Any, Any], dict[str, Any]],
        decide: Callable[[Any, Any], Decision],
    ) -> None:
        self.tree = tree
        self.tests = tests
        self.fields = fields
        self.decide = decide


def generate_program(
    name: str, include: Sequence[Rule], fields: Fields, key: str = "id"
) -> GeneratedProgram:
    """The generated code of entity `name`: its include rules, its map (`fields`) and its
    decisions, the record's key read at path `key`.

    Never fails on a valid compiled entity: where Python cannot compile the tree (nesting
    deeper than its compiler allows), the program calls the closures instead.

    Example:
        >>> from engine import load_ruleset
        >>> entity = load_ruleset("rulesets/alto-fixflo/v2.yaml").entity("property")
        >>> program = generate_program(entity.name, entity.include, entity.fields)
        >>> program.tests({"recordType": "Sale"}, None)
        0
    """
    slow = _Closures(name, include, fields, key)
    generator = _Generator(slow)
    try:
        tree = generator.module(name, include, fields, key)
    except (RecursionError, ValueError, TypeError, MemoryError):
        tree = None
    namespace = None if tree is None else run_tree(tree, f"<entity {name}>", generator.bound)
    if tree is None or namespace is None:
        return GeneratedProgram(None, slow.tests, slow.fields, slow.decide)
    return GeneratedProgram(tree, namespace["tests"], namespace["fields"], namespace["decide"])


class _Closures:
    """The entity's functions by its closures alone: what the generated code leaves to
    them (records that are not dicts) and what serves when nothing could be generated."""

    def __init__(self, name: str, include: Sequence[Rule], fields: Fields, key: str) -> None:
        self.name = name
        self.checks = tuple(rule.check.test for rule in include)
        self.map = fields
        self.read_key = compile_path(key)
        self.reasons = RuleReasons(tuple(rule.check.explain for rule in include))

    def tests(self, record: Any, context: Any) -> int:
        for position, test in enumerate(self.checks):
            if not test(record, context):
                return position
        return -1

    def fields(self, record: Any, context: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for path, value in self.map:
            set_path(found, path, value.get(record, context))
        return found

    def decide(self, record: Any, context: Any) -> Decision:
        failing = self.tests(record, context)
        key = self.read_key(record)
        mapped = {} if failing >= 0 else self.fields(record, context)
        return Decision(
            self.name,
            None if key is None else str(key),
            failing < 0,
            mapped,
            None,
            (self.reasons, record, context, failing),
        )


def _record_context() -> list[ast.expr]:
    return [load("record"), load("context")]


class _Generator(Builder):
    """Builds the module of one entity; `bound` holds what its names refer to."""

    def __init__(self, slow: _Closures) -> None:
        super().__init__(
            {
                "_nothing": _NOTHING.get,
                "_decision": Decision,
                "_s0": slow.tests,
                "_s1": slow.fields,
                "_s2": slow.decide,
                "_s3": slow.read_key,
                "_r0": slow.reasons,
            }
        )
        self.firsts: dict[str, str] = {}  # the first key of each nested path read: its local
        self.relateds: dict[str, str] = {}  # each relation the map reads: its records' local

    def module(self, name: str, include: Sequence[Rule], fields: Fields, key: str) -> ast.Module:
        body: list[ast.stmt] = [
            self.tests_function(include),
            self.fields_function(fields),
            self.decide_function(name, include, fields, key),
        ]
        return ast.fix_missing_locations(ast.Module(body, []))

    def function(self, name: str, slow: str, body: list[ast.stmt]) -> ast.FunctionDef:
        """``def name(record, context)``: records that are not dicts go to `slow`."""
        guard = ast.If(
            compare(call(load("type"), load("record")), ast.IsNot(), load("dict")),
            [ast.Return(call(load(slow), *_record_context()))],
            [],
        )
        alias = ast.Assign(
            [ast.Name("_get", ast.Store())], ast.Attribute(load("record"), "get", ast.Load())
        )
        arguments = ast.arguments(
            [], [ast.arg("record"), ast.arg("context")], None, [], [], None, []
        )
        return ast.FunctionDef(
            name=name, args=arguments, body=[guard, alias, *body], decorator_list=[]
        )

    def rules(
        self, include: Sequence[Rule], failed: Callable[[int], list[ast.stmt]]
    ) -> list[ast.stmt]:
        """``if not <rule>: <failed(position)>`` for each include rule in turn."""
        return [
            ast.If(ast.UnaryOp(ast.Not(), self.check(rule.check)), failed(position), [])
            for position, rule in enumerate(include)
        ]

    def tests_function(self, include: Sequence[Rule]) -> ast.FunctionDef:
        body = self.rules(include, lambda at: [ast.Return(ast.Constant(at))])
        body.append(ast.Return(ast.Constant(-1)))
        return self.function("tests", "_s0", body)

    def decide_function(
        self, name: str, include: Sequence[Rule], fields: Fields, key: str
    ) -> ast.FunctionDef:
        made = self.bind("o", object.__new__)

        def decision(included: bool, mapped: ast.expr, deciding: int) -> list[ast.stmt]:
            # ``_d0 = object.__new__(Decision)`` then its slots stored one by one: what
            # `Decision.__init__` does, without the class call and its frame (~75 ns).
            pending = ast.Tuple(
                [load("_r0"), *_record_context(), ast.Constant(deciding)], ast.Load()
            )
            values: tuple[ast.expr, ...] = (ast.Constant(name), load("_k0"))
            values += (ast.Constant(included), mapped, ast.Constant(None), pending)
            return [
                ast.Assign([ast.Name("_d0", ast.Store())], call(made, load("_decision"))),
                *(
                    ast.Assign([ast.Attribute(load("_d0"), slot, ast.Store())], value)
                    for slot, value in zip(DECISION_SLOTS, values, strict=True)
                ),
                ast.Return(load("_d0")),
            ]

        body = [
            *self.key(key),
            *self.rules(include, lambda at: decision(False, ast.Dict([], []), at)),
        ]
        mapped = self.mapped(fields)
        if mapped is None:
            body.extend(decision(True, call(load("_s1"), *_record_context()), -1))
        else:
            body.extend([*mapped[0], *decision(True, mapped[1], -1)])
        return self.function("decide", "_s2", body)

    def key(self, path: str) -> list[ast.stmt]:
        """``_k0``: the record's key as text (None when it has none), as `Entity.key_of`."""
        store: list[ast.expr] = [ast.Name("_k0", ast.Store())]
        by_reader = call(load("_s3"), load("record"))
        if PLAIN_KEY.match(path):
            read: list[ast.stmt] = [
                ast.Assign(store, call(load("_get"), ast.Constant(path), load("_missing"))),
                ast.If(
                    compare(load("_k0"), ast.Is(), load("_missing")),
                    [ast.Assign(store, by_reader)],
                    [],
                ),
            ]
        else:
            read = [ast.Assign(store, by_reader)]
        not_text = ast.BoolOp(
            ast.And(),
            [
                compare(load("_k0"), ast.IsNot(), ast.Constant(None)),
                compare(call(load("type"), load("_k0")), ast.IsNot(), load("str")),
            ],
        )
        as_text = ast.Assign(store, call(load("str"), load("_k0")))
        return [*read, ast.If(not_text, [as_text], [])]

    # -- conditions ------------------------------------------------------------------------

    def leaf(self, check: Check) -> ast.expr | None:
        leaf = check.leaf
        if leaf is None:
            return None
        return self.inline_leaf(check, leaf.field, leaf.operator, leaf.compared)

    def inline_leaf(
        self, check: Check, path: str, operator: str, allowed: frozenset[Any] | None
    ) -> ast.expr | None:
        """The fast path of a leaf on a path of plain keys (``a.b``), or a list of them
        (``a.b[]``, read inline when it holds exactly one item): text or a boolean compared
        inline; None for a positive leaf; any other value, a missing key (it may be there
        in another case) or a step that is no dict goes to the closure."""
        projected = path.endswith("[]")
        read = self.path_read(path[:-2] if projected else path)
        comparison = _inline_comparison(operator, allowed)
        if read is None or comparison is None or (projected and operator not in _POSITIVE):
            return None
        kind, negative, make = comparison
        value = self.fresh("v")
        if projected:  # the one item of a one-item list, else missing
            items = self.fresh("v")
            single = ast.BoolOp(
                ast.And(),
                [
                    compare(
                        call(load("type"), ast.NamedExpr(ast.Name(items, ast.Store()), read)),
                        ast.Is(),
                        load("list"),
                    ),
                    compare(call(load("len"), load(items)), ast.Eq(), ast.Constant(1)),
                ],
            )
            first = ast.Subscript(load(items), ast.Constant(0), ast.Load())
            read = ast.IfExp(single, first, load("_missing"))
        named = ast.NamedExpr(ast.Name(value, ast.Store()), read)
        is_kind = compare(call(load("type"), named), ast.Is(), load(kind))
        # None never satisfies a positive leaf (nor an empty projection); anything else
        # but the kind compared inline asks the closure.
        none = compare(load(value), ast.Is() if negative else ast.IsNot(), ast.Constant(None))
        otherwise = ast.BoolOp(
            ast.Or() if negative else ast.And(), [none, self.closure("c", check.test)]
        )
        return ast.IfExp(is_kind, make(load(value)), otherwise)

    def path_read(self, path: str) -> ast.expr | None:
        """The inline read of a path of plain keys from the record, `_missing` wherever a
        key is missing or a step is no dict; None for a path of another shape."""
        keys = path.split(".")
        if not all(PLAIN_KEY.match(key) for key in keys):
            return None
        found: ast.expr = call(load("_get"), ast.Constant(keys[0]), load("_missing"))
        for key in keys[1:]:
            found = self.step(found, key)
        return found

    def step(self, found: ast.expr, key: str) -> ast.expr:
        """``found.get(key, _missing)`` when `found` is a dict, else `_missing`."""
        step = self.fresh("v")
        return ast.IfExp(
            compare(
                call(load("type"), ast.NamedExpr(ast.Name(step, ast.Store()), found)),
                ast.Is(),
                load("dict"),
            ),
            call(ast.Attribute(load(step), "get", ast.Load()), ast.Constant(key), load("_missing")),
            load("_missing"),
        )

    # -- the map ---------------------------------------------------------------------------

    def fields_function(self, fields: Fields) -> ast.FunctionDef:
        mapped = self.mapped(fields)
        if mapped is None:
            slow = ast.Return(call(load("_s1"), *_record_context()))
            return self.function("fields", "_s1", [slow])
        return self.function("fields", "_s1", [*mapped[0], ast.Return(mapped[1])])

    def mapped(self, fields: Fields) -> tuple[list[ast.stmt], ast.expr] | None:
        """The statements reading the nested records the map reads, and the dict display
        of the map; None when a target path repeats or lies inside another."""
        paths = [path for path, _ in fields]
        if not tree_shaped(paths):
            return None
        self.firsts, self.relateds = {}, {}
        nested: dict[str, Any] = {}
        for path, value in fields:
            node = nested
            for key in path[:-1]:
                node = node.setdefault(key, {})
            node[path[-1]] = self.value(value)
        prelude: list[ast.stmt] = []
        for key, local in self.firsts.items():
            # _pN = the nested dict's get; a missing or other value reads as missing
            inner = ast.NamedExpr(
                ast.Name(local, ast.Store()),
                call(load("_get"), ast.Constant(key), load("_missing")),
            )
            getter = ast.IfExp(
                compare(call(load("type"), inner), ast.Is(), load("dict")),
                ast.Attribute(load(local), "get", ast.Load()),
                load("_nothing"),
            )
            prelude.append(ast.Assign([ast.Name(local, ast.Store())], getter))
        for relation, local in self.relateds.items():
            # _qN = the records related through the relation, fetched once for the map
            fetch = ast.Attribute(load("context"), "related", ast.Load())
            related = call(fetch, ast.Constant(relation), load("record"))
            prelude.append(ast.Assign([ast.Name(local, ast.Store())], related))
        return prelude, display(nested)

    def more_value(self, value: Value) -> ast.expr | None:
        shape = value.shape
        if shape and shape[0] == "related" and shape[3] is None and shape[4] == "first":
            local = self.relateds.setdefault(str(shape[1]), self.fresh("q"))
            first = self.bind("h", _first_related(shape[2]))
            return call(first, load(local), load("context"))
        return None

    def field(self, path: str) -> ast.expr | None:
        """The inline read of a path of plain keys, giving `_missing` wherever the fast path
        does not apply (a missing key, a step that is no dict); None for other paths."""
        keys = path.split(".")
        if not all(PLAIN_KEY.match(key) for key in keys):
            return None
        if len(keys) == 1:
            return call(load("_get"), ast.Constant(keys[0]), load("_missing"))
        first = self.firsts.setdefault(keys[0], self.fresh("p"))
        found: ast.expr = call(load(first), ast.Constant(keys[1]), load("_missing"))
        for key in keys[2:]:
            found = self.step(found, key)
        return found


def _first_related(inner: Value) -> Callable[[list[Any], Any], Any]:
    """What a ``related`` value (no ``where``, pick ``first``) gives from the related
    records fetched once: `inner`'s first non-empty value among them, else None."""
    shape = inner.shape
    read = compile_path(str(shape[1])) if shape and shape[0] == "field" else None
    get = inner.get

    def first(items: list[Any], context: Any) -> Any:
        for item in items:
            value = get(item, context) if read is None else read(item)
            if value is not None and value != "" and value != []:
                return value
        return None

    return first


Make = Callable[[ast.expr], ast.expr]


def _inline_comparison(
    operator: str, allowed: frozenset[Any] | None
) -> tuple[str, bool, Make] | None:
    """How a leaf compares a value of one kind inline: the kind's builtin name, whether the
    leaf is negative (ne, not_in, absent), and the comparison of a value of that kind;
    None for the leaves left to the closures (order, dates, matches, ignore_case...)."""
    negative = operator in _NEGATIVE
    positive = _NEGATIVE.get(operator, operator)
    if positive == "present":
        return (
            "str",
            negative,
            lambda value: compare(value, ast.Eq() if negative else ast.NotEq(), ast.Constant("")),
        )
    if positive not in ("eq", "in") or not allowed:
        return None
    kinds = {item[0] for item in allowed}
    if kinds == {"s"}:
        strings = sorted(item[1] for item in allowed)
        if len(strings) == 1:
            right: ast.expr = ast.Constant(strings[0])
            test: ast.cmpop = ast.NotEq() if negative else ast.Eq()
        else:
            right = ast.Constant(frozenset(strings))  # type: ignore[arg-type]
            test = ast.NotIn() if negative else ast.In()
        return "str", negative, lambda value: compare(value, test, right)
    if kinds == {"b"} and len(allowed) == 1:
        ((_, flag),) = allowed
        same: ast.cmpop = ast.IsNot() if negative else ast.Is()
        return "bool", negative, lambda value: compare(value, same, ast.Constant(bool(flag)))
    return None
