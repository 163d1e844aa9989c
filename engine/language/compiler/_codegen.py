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
from collections.abc import Callable, Mapping
from typing import Any

from engine.language.operators.value import as_text

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "ALLOWED_NAMES",
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
