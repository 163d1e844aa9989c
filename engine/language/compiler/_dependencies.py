"""What each rule reads: the rules, entities and settings its outcome depends on.

Computed once at compile time for `CompiledRuleset.dependencies`, from two sources:

* the references the condition compiler records (`ConditionCompiler.references`): ``{rule:
  ID}`` gives ``rule:ID``, ``{included: RELATION}`` gives ``entity:NAME``;
* the settings a rule's own text names (``{setting: NAME}`` as a value or a condition),
  found in the document under the node that carries the rule's ``id``, leaving out nested
  nodes with an ``id`` of their own (a status's cases are rules of their own).

Lifecycle parts count as rules: statuses, their cases, warnings, the works order's and the
charges' ``require`` checks, attachments and charge routes. A status also depends on what
decides its outcome: its cases, the attachments it asks for, its charge's ``require``
checks and routes, and (when it asks for a works order) the works order's ``require``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from engine.documents.document import JsonPath
from engine.language.lifecycle import Lifecycle, StatusSpec

__all__ = ["rule_dependencies", "settings_named"]

Reference = tuple[str, str, JsonPath]


def rule_dependencies(
    data: Any,
    references: list[Reference],
    rule_ids: set[str],
    lifecycle: Lifecycle | None,
) -> Mapping[str, tuple[str, ...]]:
    """Each rule id (of `rule_ids` and the lifecycle's parts) to the sorted ``rule:ID``,
    ``entity:NAME`` and ``setting:NAME`` it reads.

    Args:
        data: the ruleset document's data (for the settings each rule names).
        references: ``(reader, read, path)`` as the condition compiler records them, the
            reader ``rule:ID``.
        rule_ids: the ids of the compiled entity and preflight rules.
        lifecycle: the compiled lifecycle, if any.
    """
    found: dict[str, set[str]] = {rule_id: set() for rule_id in rule_ids}
    if lifecycle is not None:
        for rule_id, reads in _lifecycle_parts(lifecycle):
            found.setdefault(rule_id, set()).update(reads)
    for reader, read, _ in references:
        rule_id = reader.removeprefix("rule:")
        if reader.startswith("rule:") and rule_id in found:
            found[rule_id].add(read)
    for rule_id, node in _id_nodes(data, set(found)):
        found[rule_id].update(f"setting:{name}" for name in settings_named(node, own=True))
    return MappingProxyType({key: tuple(sorted(found[key])) for key in sorted(found)})


def _lifecycle_parts(lifecycle: Lifecycle) -> Iterator[tuple[str, set[str]]]:
    """Every lifecycle part's id with the rules it depends on by construction."""
    for status in lifecycle.statuses.values():
        yield status.id, _status_reads(status, lifecycle)
        for case in status.cases:
            yield case.id, set()
    for warning in lifecycle.warnings:
        yield warning.id, set()
    for rule in lifecycle.works_order_require:
        yield rule.id, set()
    for attachment in lifecycle.attachments.values():
        yield attachment.id, set()
    for policy in lifecycle.charges.values():
        for rule in policy.require:
            yield rule.id, set()
        for route in policy.routes:
            yield route.id, set()


def _status_reads(status: StatusSpec, lifecycle: Lifecycle) -> set[str]:
    reads = {f"rule:{case.id}" for case in status.cases}
    attach = set(status.attach)
    charges = {status.charge} if status.charge else set()
    works = status.works_order is not None
    for case in status.cases:
        changes = dict(case.changes)
        attach.update(changes.get("attach") or ())
        charge = changes.get("charge")
        if isinstance(charge, str) and charge in lifecycle.charges:
            charges.add(charge)
        works = works or changes.get("works_order") is not None
    reads |= {
        f"rule:{lifecycle.attachments[name].id}" for name in attach if name in lifecycle.attachments
    }
    for name in charges:
        policy = lifecycle.charges.get(name)
        if policy is not None:
            reads |= {f"rule:{rule.id}" for rule in policy.require}
            reads |= {f"rule:{route.id}" for route in policy.routes}
    if works:
        reads |= {f"rule:{rule.id}" for rule in lifecycle.works_order_require}
    return reads


def _id_nodes(node: Any, wanted: set[str]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every mapping in `node` whose ``id`` is one of `wanted` (the first of each id)."""
    seen: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Mapping):
            rule_id = current.get("id")
            if isinstance(rule_id, str) and rule_id in wanted and rule_id not in seen:
                seen.add(rule_id)
                yield rule_id, current
            stack.extend(reversed(list(current.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))


def settings_named(node: Any, *, own: bool = False) -> Iterator[str]:
    """The settings named (``{setting: NAME}``) anywhere under `node`; with `own`, not under
    a nested node with an ``id`` of its own (a status's case names its own settings)."""
    if isinstance(node, Mapping):
        if isinstance(node.get("setting"), str):
            yield node["setting"]
        for value in node.values():
            if not (own and isinstance(value, Mapping) and isinstance(value.get("id"), str)):
                yield from settings_named(value, own=own)
    elif isinstance(node, list):
        for value in node:
            if not (own and isinstance(value, Mapping) and isinstance(value.get("id"), str)):
                yield from settings_named(value, own=own)
