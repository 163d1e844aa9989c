"""The plan as an operator reads it: counts first, then the details, grouped.

`PlanDigest` is a plan sink (`engine.sync.plan.PlanSink`) that keeps, as items go by, the
counts and the few lines of each group the table shows (never the items themselves), so
the table of a plan of any size prints in flat memory.

Example::

    digest = PlanDigest()
    head = plan_into(ruleset, records, digest)
    digest.show(head, Console())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.sync.plan import (
    ACTIONS,
    ManualAction,
    MergeDecision,
    Operation,
    Plan,
    PlanHead,
    PlanItem,
    PlanWarning,
    Skip,
    Tally,
)

__all__ = ["PlanDigest", "print_plan"]

SHOWN = 20
SKIP_IDS = 10


@dataclass
class _Group:
    """A group's count and its first lines (or ids, for skips)."""

    count: int = 0
    lines: list[str] = field(default_factory=list)
    example: str = ""

    def take(self, line: str, keep: int = SHOWN) -> None:
        self.count += 1
        if len(self.lines) < keep:
            self.lines.append(line)


class PlanDigest:
    """What the table shows of a plan, kept as its items arrive (a `PlanSink`)."""

    def __init__(self) -> None:
        self.tally = Tally()
        self.operations: dict[tuple[str, str], _Group] = {}
        self.skips: dict[tuple[str, str], _Group] = {}
        self.skipped = 0
        self.sections = {name: _Group() for name in ("merges", "manual", "warnings")}

    def add(self, item: PlanItem) -> None:
        """Count `item` and keep its line if its group shows it."""
        self.tally.add(item)
        if isinstance(item, Operation):
            where = f"target {item.target_id}" if item.target_id is not None else item.target
            line = f"{item.source_id} -> {where}: {_short(item.fields)}"
            self.operations.setdefault((item.kind, item.op), _Group()).take(line)
        elif isinstance(item, Skip):
            self._skip(item)
        elif isinstance(item, MergeDecision):
            self.sections["merges"].take(
                f"{item.kind} {item.source_id} -> target {item.target_id} by {item.rule} "
                f"{_short(item.matched_on)}"
            )
        elif isinstance(item, ManualAction):
            self.sections["manual"].take(
                f"{item.kind}: {item.action.replace('_', ' ')} target {item.target_id} "
                f"({item.rule}): {item.reason} {_short(item.record)}"
            )
        else:
            self.sections["warnings"].take(_warning(item))

    def _skip(self, skip: Skip) -> None:
        self.skipped += 1
        group = self.skips.get((skip.kind, ",".join(skip.rules)))
        if group is None:
            example = str(skip.because[-1]) if skip.because else ""
            group = self.skips[(skip.kind, ",".join(skip.rules))] = _Group(example=example)
        group.take(str(skip.source_id), SKIP_IDS)

    @property
    def changes(self) -> int:
        """The operations seen (what the exit code reports)."""
        return sum(group.count for group in self.operations.values())

    def show(self, head: PlanHead, console: Console) -> None:
        """Print counts per kind and action, then operations, skips, merges, manual
        actions, warnings and rejected records, each group cut at a few lines (JSON has
        them all)."""
        ruleset = head.ruleset
        console.print(
            f"Plan for ruleset {ruleset['name']} v{ruleset['version']} "
            f"(sha256:{str(ruleset['content_hash'])[:12]}), as of {head.as_of or 'unset'}"
        )
        console.print(self._counts(head))
        for (kind, action), group in self.operations.items():
            _section(console, f"{action} {kind} ({group.count})", group)
        self._print_skips(console)
        titles = {
            "merges": "Merged into existing target records",
            "manual": "For a person to do",
            "warnings": "Warnings",
        }
        for name, title in titles.items():
            _section(console, title, self.sections[name])
        rejected = _Group()
        for item in head.rejected:
            rejected.take(f"{item['where']}: {item['message']}")
        _section(console, "Records that could not be read (not planned)", rejected)
        changes = self.changes
        verdict = f"{changes} change(s) to apply." if changes else "No changes."
        console.print(verdict, style="bold")

    def _counts(self, head: PlanHead) -> Table:
        table = Table(title="Summary", title_justify="left")
        table.add_column("kind")
        for action in ACTIONS:
            table.add_column(action, justify="right")
        for kind, counts in self.tally.summary(head.unchanged).items():
            table.add_row(
                kind, *(str(counts[action]) if counts[action] else "." for action in ACTIONS)
            )
        return table

    def _print_skips(self, console: Console) -> None:
        lines = [
            f"{kind} by {rule}: {group.count} e.g. {group.example}\n    ids: "
            f"{', '.join(group.lines)}{' ...' if group.count > SKIP_IDS else ''}"
            for (kind, rule), group in self.skips.items()
        ]
        groups = _Group(count=len(lines), lines=lines)
        _section(console, f"Skipped source records ({self.skipped})", groups, limit=len(lines))


def print_plan(plan: Plan, console: Console) -> None:
    """Print a plan held in memory as `PlanDigest.show` does."""
    digest = PlanDigest()
    for item in plan.items():
        digest.add(item)
    head = PlanHead(plan.ruleset, plan.inputs, plan.as_of, plan.unchanged, plan.rejected)
    digest.show(head, console)


def _warning(item: PlanWarning) -> str:
    return f"{item.rule}: {item.summary}" + "".join(f"\n    {b}" for b in item.because)


def _section(console: Console, title: str, group: _Group, limit: int = SHOWN) -> None:
    if not group.count:
        return
    console.print(f"\n[bold]{title}[/bold]", highlight=False)
    for line in group.lines[:limit]:
        console.print(f"  {line}", highlight=False, markup=False)
    if group.count > limit:
        console.print(f"  ... {group.count - limit} more (see --format json)", highlight=False)


def _short(fields: Any, width: int = 110) -> str:
    text = ", ".join(f"{key}={value!r}" for key, value in _flat(fields))
    return text if len(text) <= width else text[: width - 3] + "..."


def _flat(fields: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if not isinstance(fields, dict):
        return [(prefix, fields)]
    items: list[tuple[str, Any]] = []
    for key, value in fields.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        items.extend(_flat(value, name) if isinstance(value, dict) else [(name, value)])
    return [(key, value) for key, value in items if value not in (None, "")]
