"""The plan as an operator reads it: counts first, then the details, grouped."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from engine.sync.plan import ACTIONS, Plan

__all__ = ["print_plan"]

SHOWN = 20


def print_plan(plan: Plan, console: Console) -> None:
    """Print counts per kind and action, then operations, skips, merges, manual actions,
    warnings and rejected records, each group cut at a few lines (JSON has them all)."""
    ruleset = plan.ruleset
    console.print(
        f"Plan for ruleset {ruleset['name']} v{ruleset['version']} "
        f"(sha256:{str(ruleset['content_hash'])[:12]}), as of {plan.as_of or 'unset'}"
    )
    console.print(_counts(plan))
    _operations(plan, console)
    _skips(plan, console)
    _section(
        console,
        "Merged into existing target records",
        [
            f"{m.kind} {m.source_id} -> target {m.target_id} by {m.rule} {_short(m.matched_on)}"
            for m in plan.merges
        ],
    )
    _section(
        console,
        "For a person to do",
        [
            f"{m.kind}: {m.action.replace('_', ' ')} target {m.target_id} ({m.rule}): {m.reason}"
            f" {_short(m.record)}"
            for m in plan.manual
        ],
    )
    _section(
        console,
        "Warnings",
        [
            f"{w.rule}: {w.summary}" + "".join(f"\n    {b}" for b in w.because)
            for w in plan.warnings
        ],
    )
    _section(
        console,
        "Records that could not be read (not planned)",
        [f"{r['where']}: {r['message']}" for r in plan.rejected],
    )
    verdict = f"{len(plan.operations)} change(s) to apply." if plan.has_changes else "No changes."
    console.print(verdict, style="bold")


def _counts(plan: Plan) -> Table:
    table = Table(title="Summary", title_justify="left")
    table.add_column("kind")
    for action in ACTIONS:
        table.add_column(action, justify="right")
    for kind, counts in plan.summary().items():
        table.add_row(kind, *(str(counts[action]) if counts[action] else "." for action in ACTIONS))
    return table


def _operations(plan: Plan, console: Console) -> None:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for op in plan.operations:
        where = f"target {op.target_id}" if op.target_id is not None else op.target
        groups[(op.kind, op.op)].append(f"{op.source_id} -> {where}: {_short(op.fields)}")
    for (kind, action), lines in groups.items():
        _section(console, f"{action} {kind} ({len(lines)})", lines)


def _skips(plan: Plan, console: Console) -> None:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    example: dict[tuple[str, str], str] = {}
    for skip in plan.skips:
        key = (skip.kind, ",".join(skip.rules))
        groups[key].append(str(skip.source_id))
        example.setdefault(key, str(skip.because[-1]) if skip.because else "")
    lines = [
        f"{kind} by {rule}: {len(ids)} e.g. {example[(kind, rule)]}\n    ids: "
        f"{', '.join(ids[:10])}{' ...' if len(ids) > 10 else ''}"
        for (kind, rule), ids in groups.items()
    ]
    _section(console, f"Skipped source records ({len(plan.skips)})", lines, limit=len(lines))


def _section(console: Console, title: str, lines: Iterable[str], limit: int = SHOWN) -> None:
    shown = list(lines)
    if not shown:
        return
    console.print(f"\n[bold]{title}[/bold]", highlight=False)
    for line in shown[:limit]:
        console.print(f"  {line}", highlight=False, markup=False)
    if len(shown) > limit:
        console.print(f"  ... {len(shown) - limit} more (see --format json)", highlight=False)


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
