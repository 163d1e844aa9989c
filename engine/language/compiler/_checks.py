"""Whole-ruleset checks made after compiling: dependency cycles, and include rules of one
entity that can never hold together (so the entity could never include anything)."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

from engine.documents.document import Document, JsonPath
from engine.errors import RulesetError
from engine.language.operators.comparisons import Leaf
from engine.language.rule import Rule
from engine.language.ruleset import Entity

__all__ = ["find_contradictions", "find_cycles"]


def find_cycles(
    document: Document,
    references: list[tuple[str, str, JsonPath]],
    entities: Mapping[str, Entity],
    errors: list[RulesetError],
) -> None:
    """Report each cycle of rule and entity references once, at its first reference."""
    graph: dict[str, set[str]] = {}
    for start, end, _ in references:
        graph.setdefault(start, set()).add(end)
    for name, entity in entities.items():
        graph.setdefault(f"entity:{name}", set()).update(
            f"rule:{rule.id}" for rule in entity.include
        )
    seen: set[frozenset[str]] = set()
    for start, end, path in sorted(references, key=lambda ref: document.where(ref[2])):
        loop = _route(graph, end, start)
        if loop is None or frozenset(loop) in seen:
            continue
        seen.add(frozenset(loop))
        chain = " -> ".join(node.split(":", 1)[1] for node in [start, *loop])
        errors.append(
            document.error(
                path,
                "cycle",
                f"this reference makes a cycle ({chain}); a rule cannot depend on its own outcome",
            )
        )


def _route(graph: Mapping[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The nodes from `start` to `goal` following `graph`, or None if unreachable."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        node, route = stack.pop()
        if node == goal:
            return route
        if node in visited:
            continue
        visited.add(node)
        stack.extend((following, [*route, following]) for following in sorted(graph.get(node, ())))
    return None


def find_contradictions(
    document: Document, entities: Mapping[str, Entity], errors: list[RulesetError]
) -> None:
    """Report include rules that demand disjoint values of one field."""
    for entity in entities.values():
        constraints = [(rule, leaf) for rule in entity.include for leaf in _leaves(rule)]
        for (first, one), (second, other) in combinations(constraints, 2):
            if first.id == second.id or one.field != other.field:
                continue
            if (
                one.allowed is not None
                and other.allowed is not None
                and not one.allowed & other.allowed
            ):
                errors.append(
                    RulesetError(
                        document.path,
                        second.line,
                        second.column,
                        "contradiction",
                        f"rule {second.id!r} can never hold together with rule {first.id!r}: "
                        f"{one.field} must be {one.text} and {other.text}, so no {entity.name} "
                        "record could ever be included",
                    )
                )


def _leaves(rule: Rule) -> list[Leaf]:
    checks = rule.check.conjuncts or (rule.check,)
    return [
        check.leaf
        for check in checks
        if check.leaf is not None and not check.leaf.is_list and check.leaf.allowed is not None
    ]
