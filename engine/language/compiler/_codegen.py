"""The one module that compiles and runs generated code (DESIGN.md section 9), and the AST
node builders its generators share.

The generators (`_codegen_entity` for an entity's include rules, map and decisions,
`_codegen_lifecycle` for a lifecycle's statuses, warnings, charges and maps) build an
`ast.Module` node by node: no source text is ever formatted or parsed, every value taken
from the ruleset is an `ast.Constant` (or a dict key), and every name is generated
(``_v0``, ``_c3`` ...) or is one of `ALLOWED_NAMES`. What a generator does not translate
calls the compiled closure, bound in the module's globals under a generated name. The
closures stay the reference: the generated functions give exactly what they give.
`run_tree` is the only `compile`/`exec` of the code base (a test scans for others).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.language.operators.value import as_text

if TYPE_CHECKING:
    from engine.language.operators.conditions import Check
    from engine.language.operators.value import Value

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_NAMES",
    "MISSING",
    "PLAIN_KEY",
    "SCALARS",
    "Builder",
    "call",
    "compare",
    "defaulted",
    "display",
    "joined",
    "load",
    "part_text",
    "run_tree",
    "tree_shaped",
]

ALLOWED_NAMES = frozenset(
    {
        "record",
        "context",
        "type",
        "str",
        "dict",
        "bool",
        "list",
        "len",
        "_get",
        "_missing",
        "filter",
        "_nothing",
        "_decision",
    }
)
"""The names generated code may use besides its generated ones (``_`` + letter + number)."""
ALLOWED_ATTRIBUTES = frozenset({"get", "join", "related", "rule", "strip"})
"""The attributes generated code may read: ``dict.get``, ``Context.rule`` and
``Context.related``, and a ``join``'s
``str.join`` (of its separator, a constant) and ``str.strip`` (of a value that is text)."""

_BUILTINS = {
    "type": type,
    "str": str,
    "dict": dict,
    "bool": bool,
    "list": list,
    "len": len,
    "filter": filter,
}


MISSING = object()
"""``_missing`` in generated code: what a read gives where the fast path does not apply."""
PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
"""A key generated code reads inline (others go to the closures)."""
SCALARS = (str, int, float, bool, type(None))
"""The kinds of ruleset constant a ``const`` or ``default`` becomes inline."""


def run_tree(tree: ast.Module, filename: str, bound: Mapping[str, Any]) -> dict[str, Any] | None:
    """The names a generated module defines, or None when Python cannot compile the tree
    (nesting deeper than its compiler allows): the caller's closures then serve.

    The one place generated code is compiled and run. `tree` must have been built node by
    node by a generator of this package, every ruleset value an `ast.Constant`; `bound` is
    what its generated names refer to (the closures it calls).

    Args:
        tree: the generated module.
        filename: what tracebacks name, e.g. ``<entity property>``.
        bound: the module's globals besides a few builtins (type, str, dict, bool, list,
            len, filter).
    """
    try:
        code = compile(tree, filename, "exec")  # ast-only
    except (RecursionError, ValueError, SyntaxError, TypeError, MemoryError):
        return None
    namespace: dict[str, Any] = {
        "__builtins__": dict(_BUILTINS),
        **bound,
    }
    exec(code, namespace)  # ast-only  # noqa: S102 - the tree above, built node by node
    return namespace


def load(name: str) -> ast.Name:
    """A read of `name`."""
    return ast.Name(name, ast.Load())


def call(function: ast.expr, *args: ast.expr) -> ast.Call:
    """``function(*args)``."""
    return ast.Call(function, list(args), [])


def compare(left: ast.expr, operator: ast.cmpop, right: ast.expr) -> ast.Compare:
    """``left <operator> right``."""
    return ast.Compare(left, [operator], [right])


def defaulted(inner: ast.expr, default: Any, fresh: Callable[[str], str]) -> ast.expr:
    """`inner`, or the constant `default` when it is empty (None, empty text, an empty
    list): what a ``default`` value gives. `fresh` names the local holding `inner`."""
    found = fresh("d")
    empty = ast.BoolOp(
        ast.Or(),
        [
            compare(
                ast.NamedExpr(ast.Name(found, ast.Store()), inner), ast.Is(), ast.Constant(None)
            ),
            compare(load(found), ast.Eq(), ast.Constant("")),
            compare(load(found), ast.Eq(), ast.List([], ast.Load())),
        ],
    )
    return ast.IfExp(empty, ast.Constant(default), load(found))


def joined(
    separator: str, parts: list[ast.expr], fresh: Callable[[str], str], text_of: str
) -> ast.expr:
    """``separator.join(filter(None, (<part text>, ...))) or None``: what ``join`` gives
    (texts stripped, the empty ones left out, None when nothing is left).

    Args:
        separator: the join's separator (a constant of the ruleset).
        parts: the parts' expressions.
        fresh: gives a new generated name for a letter (each part's local).
        text_of: the generated name bound to `part_text`, for parts neither text nor None.
    """
    texts: list[ast.expr] = []
    for part in parts:
        found = fresh("v")
        is_text = compare(
            call(load("type"), ast.NamedExpr(ast.Name(found, ast.Store()), part)),
            ast.Is(),
            load("str"),
        )
        other = ast.IfExp(
            compare(load(found), ast.Is(), ast.Constant(None)),
            ast.Constant(""),
            call(load(text_of), load(found)),
        )
        strip = call(ast.Attribute(load(found), "strip", ast.Load()))
        texts.append(ast.IfExp(is_text, strip, other))
    kept = call(load("filter"), ast.Constant(None), ast.Tuple(texts, ast.Load()))
    text = call(ast.Attribute(ast.Constant(separator), "join", ast.Load()), kept)
    return ast.BoolOp(ast.Or(), [text, ast.Constant(None)])


def display(nested: dict[str, Any]) -> ast.Dict:
    """A dict display of `nested` (expressions, nested by key)."""
    keys: list[ast.expr | None] = [ast.Constant(key) for key in nested]
    values = [display(item) if isinstance(item, dict) else item for item in nested.values()]
    return ast.Dict(keys, values)


def tree_shaped(paths: list[tuple[str, ...]]) -> bool:
    """True when no path repeats or lies inside another (a dict display then builds what
    `set_path` builds, in the same key order)."""
    seen = set(paths)
    if len(seen) != len(paths):
        return False
    prefixes = {path[:end] for path in paths for end in range(1, len(path))}
    return not prefixes & seen


def part_text(part: Any) -> str:
    """A ``join`` part that is neither text nor None, as the closure reads it."""
    return as_text(part).strip()


class Builder:
    """What both generators share: generated names, the closures a module calls, and the
    conditions and values they translate alike.

    A subclass says how a field is read inline (`field`) and may translate more: a leaf
    condition (`leaf`) or another kind of value (`more_value`); what nothing translates
    calls its closure, bound under a generated name. `bound` holds what the module's names
    refer to (``_missing``, ``_s4`` for `part_text`, and the subclass's own).
    """

    def __init__(self, bound: Mapping[str, Any]) -> None:
        self.bound: dict[str, Any] = {"_missing": MISSING, "_s4": part_text, **bound}
        self.count = 0

    def fresh(self, letter: str) -> str:
        """A new generated name, ``_`` + `letter` + a number."""
        self.count += 1
        return f"_{letter}{self.count}"

    def bind(self, letter: str, thing: Any) -> ast.Name:
        """A read of a new generated name bound to `thing`."""
        name = self.fresh(letter)
        self.bound[name] = thing
        return load(name)

    def closure(self, letter: str, function: Callable[..., Any]) -> ast.expr:
        """``function(record, context)``, `function` bound under a new name."""
        return call(self.bind(letter, function), load("record"), load("context"))

    def check(self, check: Check) -> ast.expr:
        """A boolean expression giving what `check.test` gives."""
        shape = check.shape
        if shape and shape[0] in ("all", "any"):
            parts = [self.check(part) for part in shape[1:]]
            if len(parts) < 2:
                return parts[0] if parts else ast.Constant(shape[0] == "all")
            return ast.BoolOp(ast.And() if shape[0] == "all" else ast.Or(), parts)
        if shape and shape[0] == "not":
            return ast.UnaryOp(ast.Not(), self.check(shape[1]))
        if shape and shape[0] == "setting":
            return ast.Constant(bool(shape[1]))
        if shape and shape[0] == "rule":
            rule = ast.Attribute(load("context"), "rule", ast.Load())
            return call(rule, ast.Constant(str(shape[1])), load("record"))
        fast = self.leaf(check)
        return fast if fast is not None else self.closure("c", check.test)

    def leaf(self, check: Check) -> ast.expr | None:
        """A leaf condition translated inline, or None (its closure then serves)."""
        return None

    def value(self, value: Value) -> ast.expr:
        """An expression giving what `value.get` gives."""
        shape = value.shape
        if shape and shape[0] == "field":
            read = self.field(str(shape[1]))
            if read is not None:
                found = self.fresh("v")
                present = compare(
                    ast.NamedExpr(ast.Name(found, ast.Store()), read),
                    ast.IsNot(),
                    load("_missing"),
                )
                return ast.IfExp(present, load(found), self.closure("g", value.get))
        if shape and shape[0] == "const" and type(shape[1]) in SCALARS:
            return ast.Constant(shape[1])
        if shape and shape[0] == "default" and type(shape[2]) in SCALARS:
            return defaulted(self.value(shape[1]), shape[2], self.fresh)
        more = self.more_value(value)
        if more is not None:
            return more
        if shape and shape[0] == "join" and type(shape[1]) is str:
            parts = [self.value(part) for part in shape[2:]]
            return joined(shape[1], parts, self.fresh, "_s4")
        return self.closure("g", value.get)

    def more_value(self, value: Value) -> ast.expr | None:
        """Another kind of value translated inline, or None."""
        return None

    def field(self, path: str) -> ast.expr | None:
        """The inline read of `path`, giving ``_missing`` where the fast path does not
        apply; None for a path not read inline."""
        raise NotImplementedError
