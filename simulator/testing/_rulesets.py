"""What the test runner asks of a ruleset: compiled variants per settings, the ids it
declares, and the ``case`` branches of an entity's map."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.language import CompiledRuleset, Context, Entity, load_ruleset
from engine.language.operators.case import CaseValue

__all__ = [
    "Rulesets",
    "branch_ids",
    "case_fields",
    "chosen_branch",
    "known_ids",
    "policy_ids",
    "rulesets_for",
]

_KEPT = 8
_LOADED: dict[tuple[str, int, int], Rulesets] = {}


class Rulesets:
    """One ruleset file compiled once per distinct set of settings (cases share them).

    Example:
        >>> rulesets = Rulesets(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
        >>> rulesets.get({"paying_party": "Tenant"}).settings["paying_party"]
        'Tenant'
    """

    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.base = ruleset
        self._compiled: dict[str, CompiledRuleset] = {"{}": ruleset}

    def get(self, settings: Mapping[str, Any]) -> CompiledRuleset:
        """The ruleset compiled with `settings` over its defaults.

        Raises:
            RulesetErrors: a setting is not declared or its value is not allowed.
        """
        key = json.dumps(dict(settings), sort_keys=True, default=str)
        found = self._compiled.get(key)
        if found is None:
            found = self._compiled[key] = load_ruleset(self.base.path, dict(settings))
        return found


def rulesets_for(path: str | os.PathLike[str]) -> Rulesets:
    """The ruleset file at `path`, compiled (kept while the file is unchanged: a run loads
    each ruleset once, however many test files name it).

    Raises:
        RulesetErrors: the ruleset has errors (every problem, located).
    """
    resolved = Path(path).resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_mtime_ns, stat.st_size)
    found = _LOADED.get(key)
    if found is None:
        found = Rulesets(load_ruleset(path))
        if len(_LOADED) >= _KEPT:
            _LOADED.clear()
        _LOADED[key] = found
    return found


def case_fields(entity: Entity) -> dict[str, CaseValue]:
    """The target paths of `entity` whose value is a ``case``, by dotted path."""
    return {
        ".".join(path): value
        for path, value in (*entity.fields, *entity.on_create)
        if isinstance(value, CaseValue)
    }


def branch_ids(entity: Entity) -> list[str]:
    """The ids of the ``case`` branches of `entity`'s map, in map order."""
    return [
        branch.id
        for value in case_fields(entity).values()
        for branch in value.branches
        if branch.id is not None
    ]


def chosen_branch(value: CaseValue, record: Any, context: Context) -> str | None:
    """The id of the branch that decides `record`'s value (None: no branch with an id)."""
    _, because = value.explain(record, context)
    return None if because is None else because.rule


def policy_ids(ruleset: CompiledRuleset) -> dict[str, str]:
    """Every sync policy id (merge, near, unmatched, departed, dedupe, link, unlink) to the
    entity or link that declares it."""
    found: dict[str, str] = {}
    for entity in ruleset.entities.values():
        policies = [*entity.merge, entity.near, entity.unmatched, entity.departed, entity.dedupe]
        for policy in policies:
            if policy is not None:
                found[policy.id] = entity.name
    for link in ruleset.links:
        found[link.id] = link.name
        if link.unlink is not None:
            found[link.unlink.id] = link.name
    return found


def known_ids(ruleset: CompiledRuleset) -> set[str]:
    """Every id a test may name: rules, case branches, policies, and summarised ids."""
    ids = set(ruleset.rules) | set(ruleset.summaries) | set(policy_ids(ruleset))
    for entity in ruleset.entities.values():
        ids.update(branch_ids(entity))
    return ids
