"""Coverage: which of a ruleset's items the passing cases decided an outcome for.

Items, by kind, with the ruleset line each is declared on: ``rule`` (every include,
archive and preflight rule, every ``case`` branch of an entity's map, every sync policy:
merge, near, unmatched, departed, dedupe, link, unlink) and, for a ruleset with a
lifecycle, ``event``, ``transition``, ``status``, ``charge``, ``warning`` and
``attachment`` (`simulator.lifecycle.expect.lifecycle_items`). An item is covered when a
case that passed asserted an outcome it decided (see docs/ruleset-tests.md).

Example:
    >>> from engine import load_ruleset
    >>> coverage = Coverage.of(load_ruleset("rulesets/alto-fixflo/v2.yaml"), {"rule:P-01"})
    >>> [(kind.kind, kind.covered) for kind in coverage.kinds()][0]
    ('rule', 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.documents import JsonPath, load_document
from engine.errors import RulesetErrors
from engine.language import CompiledRuleset
from simulator.testing._rulesets import branch_ids, policy_ids

__all__ = ["KINDS", "Coverage", "KindCoverage", "ruleset_items"]

KINDS = ("rule", "event", "transition", "status", "charge", "warning", "attachment")


@dataclass(frozen=True, slots=True)
class KindCoverage:
    """One kind's coverage: how many of its items were covered, and those that were not
    (each with the ruleset line it is declared on)."""

    kind: str
    covered: int
    total: int
    uncovered: tuple[tuple[str, int], ...]

    @property
    def percent(self) -> float:
        """Covered items as a percentage of all (100 when the kind has none)."""
        return 100.0 if not self.total else 100.0 * self.covered / self.total

    def to_json(self) -> dict[str, Any]:
        """``{kind, covered, total, percent, uncovered: [{id, line}]}``."""
        return {
            "kind": self.kind,
            "covered": self.covered,
            "total": self.total,
            "percent": round(self.percent, 1),
            "uncovered": [{"id": item, "line": line} for item, line in self.uncovered],
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """The coverage of one ruleset file by the cases run against it.

    Attributes:
        ruleset: the ruleset file.
        items: kind -> item id -> the line it is declared on.
        covered: the items covered, as ``kind:id``.
    """

    ruleset: str
    items: Mapping[str, Mapping[str, int]]
    covered: frozenset[str]

    @classmethod
    def of(cls, ruleset: CompiledRuleset, covered: Iterable[str]) -> Coverage:
        """The coverage of `ruleset` given the items (``kind:id``) the cases covered."""
        items = ruleset_items(ruleset)
        known = {f"{kind}:{item}" for kind, ids in items.items() for item in ids}
        return cls(ruleset.path, items, frozenset(known.intersection(covered)))

    def kinds(self) -> list[KindCoverage]:
        """Each kind the ruleset has items of, in `KINDS` order."""
        found = []
        for kind in KINDS:
            ids = self.items.get(kind, {})
            if not ids:
                continue
            missing = tuple(
                sorted(
                    (
                        (item, line)
                        for item, line in ids.items()
                        if f"{kind}:{item}" not in self.covered
                    ),
                    key=lambda pair: pair[1],
                )
            )
            found.append(KindCoverage(kind, len(ids) - len(missing), len(ids), missing))
        return found

    @property
    def total(self) -> int:
        """How many items the ruleset has, all kinds together."""
        return sum(len(ids) for ids in self.items.values())

    @property
    def percent(self) -> float:
        """Covered items as a percentage of all, all kinds together."""
        return 100.0 if not self.total else 100.0 * len(self.covered) / self.total

    def to_json(self) -> dict[str, Any]:
        """``{ruleset, covered, total, percent, kinds: [...]}``."""
        return {
            "ruleset": self.ruleset,
            "covered": len(self.covered),
            "total": self.total,
            "percent": round(self.percent, 1),
            "kinds": [kind.to_json() for kind in self.kinds()],
        }


def ruleset_items(ruleset: CompiledRuleset) -> dict[str, dict[str, int]]:
    """Every coverage item of `ruleset`, by kind, with the line it is declared on.

    Example:
        >>> from engine import load_ruleset
        >>> items = ruleset_items(load_ruleset("rulesets/jupix-alto/v1.yaml"))
        >>> "J-05" in items["rule"], "J-02" in items["rule"]
        (True, True)
    """
    lines = _id_lines(ruleset.path, ruleset.content_hash)
    rules: dict[str, int] = {rule.id: rule.line for rule in ruleset.rules.values()}
    for entity in ruleset.entities.values():
        for branch in branch_ids(entity):
            rules.setdefault(branch, lines.get(branch, 1))
    for policy in policy_ids(ruleset):
        rules.setdefault(policy, lines.get(policy, 1))
    return {"rule": rules}


@lru_cache(maxsize=8)
def _id_lines(path: str, content_hash: str) -> dict[str, int]:
    """Every ``id:`` value in the ruleset file to the line it is written on."""
    try:
        document = load_document(path, partial=True)
    except RulesetErrors:
        return {}
    return {str(value): document.where(where)[0] for where, value in _ids(document.data, ())}


def _ids(data: Any, path: JsonPath) -> Iterator[tuple[JsonPath, Any]]:
    if isinstance(data, Mapping):
        if isinstance(data.get("id"), str):
            yield (*path, "id"), data["id"]
        for key, value in data.items():
            yield from _ids(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _ids(value, (*path, index))
