"""A report on a terminal: each section's title, sentences, table (rich) and notes.

Example::

    render_report(report, Console())
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from rulebridge.runner.report._sections import Grid, Section, report_sections

__all__ = ["render_report"]


def render_report(
    report: Mapping[str, Any],
    console: Console,
    *,
    counts: Mapping[str, Mapping[str, int]] | None = None,
) -> None:
    """Print `report` as sentences and tables: the run, counts, items for a person, drift,
    issues, warnings, dead letters by reason, API calls (`report_sections`).

    Args:
        report: the run's report (JSON, as stored); an older shape prints what it holds.
        console: where to print.
        counts: the store's effects of the run, for the changes of an older report.
    """
    for section in report_sections(report, counts):
        _section(section, console)


def _section(section: Section, console: Console) -> None:
    style = "bold" if section.key != "run" else "bold underline"
    console.print(Text(_clean(section.title), style=style))
    for line in section.lines:
        console.print(Text(_clean(line)))
    if section.grid is not None:
        console.print(_table(section.grid))
    for note in section.notes:
        console.print(Text(f"  {_clean(note)}"))


def _clean(text: str) -> str:
    """`text` on one line, without control characters (a reason an API sent back could
    otherwise move the cursor or clear the terminal)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _table(grid: Grid) -> Table:
    table = Table(show_header=grid.header, box=box.HEAVY_HEAD if grid.header else None)
    for number, name in enumerate(grid.columns):
        table.add_column(name, justify="right" if number in grid.numeric else "left")
    for row in grid.rows:
        table.add_row(*(Text(_clean(cell)) for cell in row))
    return table
