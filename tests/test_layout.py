"""The layout holds (DESIGN.md section 1): no import loops, privates stay home, phases apart.

The import graph is read from the source with `ast` (every import, including those under
``TYPE_CHECKING``: a loop for the type checker is a loop for a reader too), so these tests
import nothing of the packages they judge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "adapters", "simulator", "tui", "rulebridge")
OUTSIDE = ("tests", "bench", "scripts")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _imported(path: Path) -> Iterator[str]:
    """Every module name `path` imports (for `from X import y`, X.y when it is a module)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in _modules() else base


def _resolve(name: str) -> str | None:
    while name and name not in _modules():
        name = name.rpartition(".")[0]
    return name or None


@cache
def _graph() -> dict[str, frozenset[str]]:
    graph = {}
    for name, path in _modules().items():
        targets = {_resolve(target) for target in _imported(path)}
        graph[name] = frozenset(t for t in targets if t is not None and t != name)
    return graph


def _loops(graph: dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_loop_finder_finds_a_loop() -> None:
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}
    assert _loops(graph) == [["a", "b", "c"]]
    assert _loops({"a": frozenset({"b"}), "b": frozenset()}) == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_loop(package: str) -> None:
    graph = _graph()
    inside = {
        name: frozenset(t for t in targets if t.split(".")[0] == package)
        for name, targets in graph.items()
        if name.split(".")[0] == package
    }
    assert _loops(inside) == []


def _private_owner(module: str) -> str | None:
    """The package a module is private to (None when every part of its name is public)."""
    parts = module.split(".")
    for position, part in enumerate(parts):
        if part.startswith("_") and part != "__init__":
            return ".".join(parts[:position])
    return None


def test_private_modules_are_imported_only_inside_their_package() -> None:
    offences = []
    for name, targets in _graph().items():
        for target in targets:
            owner = _private_owner(target)
            if owner is not None and not (name == owner or name.startswith(owner + ".")):
                offences.append(f"{name} imports {target} (private to {owner})")
    assert offences == []


def test_nothing_outside_the_engine_imports_an_engine_private() -> None:
    offences = []
    for folder in OUTSIDE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for target in _imported(path):
                module = _resolve(target) or target
                if module.startswith("engine") and _private_owner(module) is not None:
                    offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offences == []


def test_the_engine_imports_no_outer_package() -> None:
    outer = ("adapters", "simulator", "tui", "rulebridge")
    offences = [
        f"{name} imports {target}"
        for name, targets in _graph().items()
        if name.startswith("engine")
        for target in targets
        if target.split(".")[0] in outer
    ]
    assert offences == []


def test_the_store_knows_nothing_of_issues_or_the_language() -> None:
    offences = [
        f"{name} imports {target}"
        for name, targets in _graph().items()
        if name.startswith("engine.store")
        for target in targets
        if target.startswith(("engine.issues", "engine.language"))
    ]
    assert offences == []


def test_the_engine_keeps_at_most_twelve_modules_at_its_top() -> None:
    top = sorted(path.name for path in (ROOT / "engine").glob("*.py"))
    assert len(top) <= 12, top


@pytest.mark.parametrize(
    "package", sorted(name for name, path in _modules().items() if path.name == "__init__.py")
)
def test_every_package_declares_its_public_names(package: str) -> None:
    tree = ast.parse(_modules()[package].read_text("utf-8"))
    declared = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        and any(
            isinstance(target, ast.Name) and target.id == "__all__"
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
    ]
    assert declared, f"{package}/__init__.py declares no __all__"
