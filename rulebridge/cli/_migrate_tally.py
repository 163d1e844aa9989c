"""What a full migration would write, counted in its one pass: records per Alto collection,
manual actions by action, housekeeping items by check (`Tally`, an `emit`).

Example:
    >>> from engine import load_ruleset
    >>> tally = Tally(load_ruleset("rulesets/jupix-alto/v1.yaml"))
    >>> tally("alto.contacts", {"id": "C1"})
    >>> tally.collections["contacts"]
    1
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine import CompiledRuleset
from rulebridge.cli._migrate_out import role_targets

__all__ = ["HousekeepingCount", "Listed", "Tally"]

Listed = Callable[[Mapping[str, Any]], None]
"""Takes one listed record (a manual action or a housekeeping item)."""


class Tally:
    """An `emit` for a full migration: counts records per Alto collection, manual actions
    by action and housekeeping items by check, and hands each on to its sink (if any).

    Args:
        ruleset: the migration ruleset (which entities list records, and how).
        records: takes ``(target, record)`` of each migrated record (None: only counted).
        manual: takes each manual action (None: only counted).
        checks: takes each housekeeping item (None: only counted).

    Example:
        >>> from engine import load_ruleset
        >>> tally = Tally(load_ruleset("rulesets/jupix-alto/v1.yaml"))
        >>> tally("alto.contacts", {"id": "C1"})
        >>> tally.collections["contacts"]
        1
    """

    def __init__(
        self,
        ruleset: CompiledRuleset,
        *,
        records: Callable[[str, dict[str, Any]], None] | None = None,
        manual: Listed | None = None,
        checks: Listed | None = None,
    ) -> None:
        self.record_targets = role_targets(ruleset, "record")
        self.roles = {name: entity.role for name, entity in ruleset.entities.items()}
        self.summaries = {name: entity.summary for name, entity in ruleset.entities.items()}
        self.sources = frozenset(ruleset.sources)
        self.collections: Counter[str] = Counter(
            {_collection(target): 0 for target in sorted(self.record_targets)}
        )
        self.manual: Counter[str] = Counter()
        self.checks: dict[str, HousekeepingCount] = {}
        self.sinks = (records, manual, checks)

    def __call__(self, target: str, record: dict[str, Any]) -> None:
        records, manual, checks = self.sinks
        role = (
            "record" if target in self.record_targets else self.roles.get(str(record.get("entity")))
        )
        if role == "check":
            self._check(record)
            if checks is not None:
                checks(record)
        elif role == "record":
            self.collections[_collection(target)] += 1
            if records is not None:
                records(target, record)
        else:
            self.manual[str(record.get("action", ""))] += 1
            if manual is not None:
                manual(record)

    def _check(self, record: Mapping[str, Any]) -> None:
        name = str(record.get("check", ""))
        found = self.checks.get(name)
        if found is None:
            rule, entity = str(record.get("rule", "")), str(record.get("entity", ""))
            summary = self.summaries.get(entity, "")
            found = self.checks[name] = HousekeepingCount(name, rule, entity, summary)
        found.count += 1


def _collection(target: str) -> str:
    return target.split(".", 1)[-1]


@dataclass(slots=True)
class HousekeepingCount:
    """The housekeeping items of one kind: the check (what to do), its rule, how many."""

    check: str
    rule: str
    entity: str
    summary: str
    count: int = 0

    def to_json(self) -> dict[str, Any]:
        """``{check, rule, entity, summary, count}``."""
        return {
            "check": self.check,
            "rule": self.rule,
            "entity": self.entity,
            "summary": self.summary,
            "count": self.count,
        }
