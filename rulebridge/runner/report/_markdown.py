"""A report as Markdown (GitHub tables), to attach to a ticket or paste into a chat.

Every text that comes from data (a reason, a record id, a message a vendor sent back) is
escaped: Markdown punctuation gets a backslash, so a reason can neither draw a table
cell's edge nor start a heading, a link or raw HTML.

Example:
    >>> print(render_markdown({"run": {"id": 3, "agency": "acme"}}).splitlines()[0])
    # Run 3 for acme: -, exit code -, 0.0 s
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from rulebridge.runner.report._sections import Grid, Section, report_sections

__all__ = ["md_escape", "render_markdown"]

_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|~&])")
_LEADING: Final = re.compile(r"^(\d{0,9})((?<=^)[#=+>-]|(?<=\d)[.)](?=\s|$))")
_SPACE: Final = re.compile(r"\s+")


def render_markdown(
    report: Mapping[str, Any], *, counts: Mapping[str, Mapping[str, int]] | None = None
) -> str:
    """`report` as a Markdown document: the run as its heading, then one ``##`` section
    each (`report_sections`), tables in GitHub's form.

    Args:
        report: the run's report (JSON, as stored); an older shape gives what it holds.
        counts: the store's effects of the run, for the changes of an older report.
    """
    sections = report_sections(report, counts)
    blocks = [_section(section, level=1 if n == 0 else 2) for n, section in enumerate(sections)]
    return "\n\n".join(blocks) + "\n"


def md_escape(text: str) -> str:
    r"""`text` on one line, every mark that could start Markdown inline (emphasis, code, a
    link, HTML, a table cell's edge) escaped, and a start that could open a block (a
    heading, a list, a quote, a rule) too.

    Example:
        >>> md_escape("<b>|x")
        '\\<b\\>\\|x'
        >>> md_escape("- 1. item")
        '\\- 1. item'
    """
    escaped = _SPECIAL.sub(r"\\\1", _SPACE.sub(" ", text).strip())
    return _LEADING.sub(r"\1\\\2", escaped)


def _section(section: Section, level: int) -> str:
    parts = [f"{'#' * level} {md_escape(section.title)}"]
    parts.extend(md_escape(line) for line in section.lines)
    if section.grid is not None:
        parts.append(_table(section.grid))
    if section.notes:
        parts.append("\n".join(f"- {md_escape(note)}" for note in section.notes))
    return "\n\n".join(parts)


def _table(grid: Grid) -> str:
    columns = grid.columns if grid.header else tuple(" " for _ in grid.columns)
    rules = ("---:" if n in grid.numeric else "---" for n in range(len(grid.columns)))
    lines = [_row(columns), _row(tuple(rules), escape=False)]
    lines.extend(_row(row) for row in grid.rows)
    return "\n".join(lines)


def _row(cells: tuple[str, ...], *, escape: bool = True) -> str:
    shown = (md_escape(cell) if escape else cell for cell in cells)
    return "| " + " | ".join(cell or " " for cell in shown) + " |"
