"""The reconciliation of a migration: counts per entity, and every difference explained.

Every source record has exactly one `Outcome`: ``migrated`` (some entity wrote it to the
target), ``merged`` (a ``dedupe`` policy folded it into another record), ``manual`` (only
listed for a person), ``not migrated`` (no entity included it) or ``unreadable`` (the reader
rejected it; `where` says ``file:line``). Each `Difference` names the rule and the record:
a record an entity did not include, a record merged into another, or a value a ``case``
branch with a rule id decided (a property re-statused to Let, an estate agent typed Client).

Example::

    report = migration.reconciliation
    print(report.to_markdown())
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

__all__ = [
    "Difference",
    "EntityCount",
    "Journal",
    "MigrationReport",
    "Outcome",
    "listing_line",
    "listing_markdown",
]

OutcomeKind = Literal["migrated", "merged", "manual", "not migrated", "unreadable"]
OUTCOMES: tuple[OutcomeKind, ...] = ("migrated", "merged", "manual", "not migrated", "unreadable")
_SHOWN = 50


@dataclass(frozen=True, slots=True)
class Difference:
    """Why an entity's count in the target differs from its source, for one record."""

    entity: str
    rule: str
    record: str | None
    change: Literal["not migrated", "merged", "changed"]
    detail: str
    label: str | None = None
    """How a person recognises the record (its source's ``label:``), when declared."""

    def to_json(self) -> dict[str, Any]:
        """``{entity, rule, record, change, detail, label?}``."""
        data: dict[str, Any] = {
            "entity": self.entity,
            "rule": self.rule,
            "record": self.record,
            "change": self.change,
            "detail": self.detail,
        }
        if self.label is not None:
            data["label"] = self.label
        return data


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one source record (each record has exactly one)."""

    source: str
    record: str | None
    outcome: OutcomeKind
    entities: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    where: str | None = None
    detail: str = ""
    label: str | None = None
    """How a person recognises the record (its source's ``label:``); set for every outcome
    but ``migrated`` and ``unreadable``, when the source declares a label."""

    def to_json(self) -> dict[str, Any]:
        """``{source, record, outcome, entities, rules, where?, detail?, label?}``."""
        data: dict[str, Any] = {
            "source": self.source,
            "record": self.record,
            "outcome": self.outcome,
            "entities": list(self.entities),
            "rules": list(self.rules),
        }
        if self.where:
            data["where"] = self.where
        if self.detail:
            data["detail"] = self.detail
        if self.label is not None:
            data["label"] = self.label
        return data


@dataclass(slots=True)
class EntityCount:
    """One entity's counts: records read from its source and records it wrote."""

    entity: str
    source: str
    target: str | None
    role: str
    source_count: int = 0
    target_count: int = 0

    def to_json(self) -> dict[str, Any]:
        """``{entity, source, target, role, source_count, target_count}``."""
        return {
            "entity": self.entity,
            "source": self.source,
            "target": self.target,
            "role": self.role,
            "source_count": self.source_count,
            "target_count": self.target_count,
        }


class Journal(Protocol):
    """Where a streaming reconciliation sends its per-record items (e.g. JSON-lines files)."""

    def outcome(self, item: Outcome) -> None:
        """Take one record's outcome."""

    def difference(self, item: Difference) -> None:
        """Take one difference."""


@dataclass(slots=True)
class MigrationReport:
    """Counts, differences and one outcome per source record (J-16).

    With a `journal`, outcomes and differences go to it as they come and only counts, the
    first few differences of each rule and the unreadable records stay in memory, so the
    report's size does not grow with the export's.
    """

    ruleset: str
    as_of: date
    journal: Journal | None = None
    entities: list[EntityCount] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    unreadable: list[Outcome] = field(default_factory=list)
    _counts: dict[str, Counter[str]] = field(default_factory=dict)
    _groups: dict[tuple[str, str, str], list[Difference]] = field(default_factory=dict)
    _sizes: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def add_outcome(self, item: Outcome) -> None:
        """Record what became of one source record."""
        self._counts.setdefault(item.source, Counter())[item.outcome] += 1
        if item.outcome == "unreadable":
            self.unreadable.append(item)
        if self.journal is None:
            self.outcomes.append(item)
        else:
            self.journal.outcome(item)

    def add_difference(self, item: Difference) -> None:
        """Record one difference between source and target."""
        group = (item.entity, item.rule, item.change)
        self._sizes[group] += 1
        shown = self._groups.setdefault(group, [])
        if len(shown) < _SHOWN:
            shown.append(item)
        if self.journal is None:
            self.differences.append(item)
        else:
            self.journal.difference(item)

    def outcome_counts(self) -> dict[str, dict[str, int]]:
        """``{source: {outcome: count}}`` over every source record."""
        return {
            source: {kind: found[kind] for kind in OUTCOMES}
            for source, found in self._counts.items()
        }

    def summary_json(self) -> dict[str, Any]:
        """The report without its per-record lists: ruleset, date, entities, sources."""
        return {
            "ruleset": self.ruleset,
            "as_of": self.as_of.isoformat(),
            "entities": [entity.to_json() for entity in self.entities],
            "sources": self.outcome_counts(),
        }

    def to_json(self) -> dict[str, Any]:
        """The report for tools: counts, differences, outcomes per source and per record.

        Without a journal only: with one, the lists are wherever the journal put them.
        """
        return {
            **self.summary_json(),
            "differences": [difference.to_json() for difference in self.differences],
            "records": [outcome.to_json() for outcome in self.outcomes],
        }

    def to_markdown(self) -> str:
        """The report for people: tables of counts, then the differences by rule."""
        return "\n".join(self._markdown_lines()) + "\n"

    def _markdown_lines(self) -> Iterator[str]:
        yield f"# MigrationReport: {self.ruleset}, migrated as of {self.as_of.isoformat()}"
        yield ""
        yield "| entity | from | to | in source | in target | difference |"
        yield "|---|---|---|---:|---:|---:|"
        listed = [entity for entity in self.entities if entity.role != "record"]
        for entity in self.entities:
            if entity.role == "record":
                gap = entity.target_count - entity.source_count
                yield (
                    f"| {entity.entity} | {entity.source} | {entity.target or '-'} | "
                    f"{entity.source_count} | {entity.target_count} | {gap:+d} |"
                )
        if listed:
            yield ""
            yield "| listed for a person | from | read | listed |"
            yield "|---|---|---:|---:|"
            for entity in listed:
                yield (
                    f"| {entity.entity} | {entity.source} | {entity.source_count} | "
                    f"{entity.target_count} |"
                )
        yield ""
        yield "## Every source record, once"
        yield ""
        yield "| source | " + " | ".join(OUTCOMES) + " | total |"
        yield "|---|" + "---:|" * (len(OUTCOMES) + 1)
        for source, counts in self.outcome_counts().items():
            cells = [str(counts[kind]) for kind in OUTCOMES] + [str(sum(counts.values()))]
            yield f"| {source} | " + " | ".join(cells) + " |"
        yield from self._difference_lines()
        yield from self._unreadable_lines()

    def _difference_lines(self) -> Iterator[str]:
        yield ""
        yield "## Differences by rule"
        for group, items in self._groups.items():
            entity, rule, change = group
            size = self._sizes[group]
            yield ""
            yield f"### {entity}: {rule}, {change} ({size})"
            yield ""
            for item in items:
                yield f"- `{item.record}`: {item.detail}"
            if size > len(items):
                yield f"- ... and {size - len(items)} more (every one is in the JSON report)"

    def _unreadable_lines(self) -> Iterator[str]:
        bad = self.unreadable
        if bad:
            yield ""
            yield f"## Not migrated: unreadable ({len(bad)})"
            yield ""
            yield from (f"- {item.where} (record {item.record}): {item.detail}" for item in bad)


def listing_markdown(title: str, items: list[dict[str, Any]], group: str) -> str:
    """A Markdown list of `items` (manual actions, housekeeping checks), grouped by `group`.

    Example:
        >>> print(listing_markdown("Manual actions", [{"action": "Remarket", "recordId": "P2",
        ...       "rule": "J-05", "detail": "1 High St"}], "action"))
        # Manual actions (1)
        <BLANKLINE>
        ## Remarket (1)
        <BLANKLINE>
        - `P2` (J-05): 1 High St
        <BLANKLINE>
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(str(item.get(group, "")), []).append(item)
    lines = [f"# {title} ({len(items)})"]
    for name, members in groups.items():
        lines += ["", f"## {name} ({len(members)})", ""]
        lines += [listing_line(item) for item in members]
    return "\n".join(lines) + "\n"


def listing_line(item: Mapping[str, Any]) -> str:
    """One listed item as a Markdown bullet: ``- `P2` (J-05): 1 High St``.

    Example:
        >>> listing_line({"recordId": "SC1", "rule": "J-14", "detail": "chain note"})
        '- `SC1` (J-14): chain note'
    """
    return f"- `{item.get('recordId')}` ({item.get('rule')}): {item.get('detail') or ''}"
