"""Write a plan's JSON as the planner decides it, item by item, in flat memory.

`PlanWriter` is a plan sink (`engine.sync.plan.PlanSink`): each item's JSON goes to a file
of its section (operations, skips, merges, manual, warnings) in a private folder as it
arrives; `PlanWriter.write_to` then writes the whole plan, the summary first, copying the
sections in. The text is exactly ``json.dumps(plan.to_json(), indent=2,
ensure_ascii=False, default=str)`` of the same plan held in memory.

`write_plan` writes a `Plan` already made (by `engine.sync.planner.make_plan`, its sections
read back from their spill files) the same way, one item at a time, never building the
plan's JSON whole.

Example::

    with tempfile.TemporaryDirectory() as folder:
        writer = PlanWriter(Path(folder))
        head = plan_into(ruleset, records, writer)
        with open("plan.json", "w", encoding="utf-8") as out:
            writer.write_to(head, out)
        writer.close()
"""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path
from typing import Any, Protocol

from engine.sync.plan import (
    ITEM_SECTIONS,
    ManualAction,
    MergeDecision,
    Operation,
    Plan,
    PlanHead,
    PlanItem,
    Skip,
    Tally,
)

__all__ = ["PlanWriter", "Writable", "write_plan"]

SECTIONS = ("operations", "skips", "merges", "manual", "warnings")


class Writable(Protocol):
    """Where the plan goes: a text file, or anything with its `write`."""

    def write(self, text: str, /) -> int:
        """Write `text`."""
        ...


class PlanWriter:
    """A plan sink that spills each section to a file in `folder` (which must exist and be
    private: items carry personal data), then writes the plan JSON in one pass.

    Attributes:
        tally: counts per kind and action of the items written.
        counts: items per section.
    """

    def __init__(self, folder: Path) -> None:
        self.tally = Tally()
        self.counts = dict.fromkeys(SECTIONS, 0)
        self._files = {
            name: (folder / f"plan.{name}.json").open("x", encoding="utf-8") for name in SECTIONS
        }

    def add(self, item: PlanItem) -> None:
        """Spill `item`'s JSON to its section's file."""
        self.tally.add(item)
        name = _section(item)
        handle = self._files[name]
        if self.counts[name]:
            handle.write(",\n")
        handle.write(_indented(item.to_json(), "    ", first=True))
        self.counts[name] += 1

    @property
    def changes(self) -> int:
        """The operations written (what the exit code reports)."""
        return self.counts["operations"]

    def write_to(self, head: PlanHead, out: Writable) -> None:
        """Write the whole plan JSON to `out` (the summary from the tally, then the items)."""
        values: dict[str, Any] = {**head.json_head(), "summary": self.tally.summary(head.unchanged)}
        out.write("{")
        for key, value in values.items():
            out.write(f"\n  {_dumps(key)}: {_indented(value, '  ')},")
        for name in SECTIONS:
            out.write(f"\n  {_dumps(name)}: ")
            self._copy(name, out)
            out.write(",")
        out.write(f'\n  "rejected": {_indented([dict(item) for item in head.rejected], "  ")}\n}}')

    def _copy(self, name: str, out: Writable) -> None:
        if not self.counts[name]:
            out.write("[]")
            return
        handle = self._files[name]
        handle.flush()
        out.write("[\n")
        with open(handle.name, encoding="utf-8") as spilled:
            shutil.copyfileobj(spilled, out)
        out.write("\n  ]")

    def close(self) -> None:
        """Close the section files (their folder's removal deletes them)."""
        for handle in self._files.values():
            handle.close()


def write_plan(plan: Plan, out: Writable, *, ensure_ascii: bool = False) -> None:
    """Write `plan`'s JSON to `out` item by item: the text of ``json.dumps(plan.to_json(),
    indent=2, ensure_ascii=ensure_ascii, default=str)``, without holding it.

    Example::

        with open("plan.json", "w", encoding="utf-8") as out:
            write_plan(make_plan(ruleset, records), out)
    """
    dumps = functools.partial(json.dumps, indent=2, ensure_ascii=ensure_ascii, default=str)
    out.write("{")
    for number, (key, value) in enumerate(plan.json_parts().items()):
        out.write(("\n  " if number == 0 else ",\n  ") + dumps(key) + ": ")
        if key not in ITEM_SECTIONS:
            out.write(dumps(value).replace("\n", "\n  "))
            continue
        first = True
        for item in value:
            out.write("[\n    " if first else ",\n    ")
            out.write(dumps(item.to_json()).replace("\n", "\n    "))
            first = False
        out.write("[]" if first else "\n  ]")
    out.write("\n}")


def _section(item: PlanItem) -> str:
    if isinstance(item, Operation):
        return "operations"
    if isinstance(item, Skip):
        return "skips"
    if isinstance(item, MergeDecision):
        return "merges"
    return "manual" if isinstance(item, ManualAction) else "warnings"


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _indented(value: Any, prefix: str, *, first: bool = False) -> str:
    """`value` as indented JSON nested under `prefix` (its first line too when `first`)."""
    text = _dumps(value).replace("\n", "\n" + prefix)
    return prefix + text if first else text
