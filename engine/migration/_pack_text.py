"""How the agency's pack writes data: Markdown-safe text, spreadsheet-safe cells, an item's
name for a person, and each rule's plain-English summary.

Every mark that comes from data (a contact's name, an address, a note) is escaped before
it reaches Markdown, so data can neither draw a table cell, a link nor HTML; and a CSV cell
that a spreadsheet would read as a formula gets a leading ``'``.

Example:
    >>> md_text("Smith | Sons <b>")
    'Smith \\\\| Sons \\\\<b\\\\>'
    >>> csv_cell("=HYPERLINK(1)")
    "'=HYPERLINK(1)"
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from engine.language.ruleset import CompiledRuleset

__all__ = ["RuleSummary", "csv_cell", "item_name", "md_code", "md_text", "rule_summaries"]

RuleSummary = Callable[[str, str | None], str | None]
"""``(rule, entity) -> summary``: a listed item's rule in plain English, or None."""

_SPECIAL: Final = re.compile(r"([\\`*_\[\]<>|~&#])")
_LEADING: Final = re.compile(r"^(\d{0,9})((?<=^)[=+>-]|(?<=\d)[.)](?=\s|$))")
_SPACE: Final = re.compile(r"\s+")
_FORMULA: Final = ("=", "+", "-", "@", "\t", "\r")


def md_text(value: Any) -> str:
    r"""`value` as Markdown text on one line: every mark that could start Markdown (emphasis,
    code, a link, HTML, a table cell's edge, a heading's end) escaped, and a start that
    could open a block too.

    Example:
        >>> md_text("- 1 High St")
        '\\- 1 High St'
    """
    text = "" if value is None else str(value)
    escaped = _SPECIAL.sub(r"\\\1", _SPACE.sub(" ", text).strip())
    return _LEADING.sub(r"\1\\\2", escaped)


def md_code(value: Any) -> str:
    """`value` as a Markdown code span (a record id in small print), whatever it holds.

    Example:
        >>> md_code("P2")
        '`P2`'
        >>> md_code("a`b")
        '`` a`b ``'
    """
    text = _SPACE.sub(" ", "" if value is None else str(value)).strip()
    if "`" not in text:
        return f"`{text}`"
    fence = "`" * (max(len(run) for run in re.findall("`+", text)) + 1)
    return f"{fence} {text} {fence}"


def csv_cell(value: Any) -> str:
    """`value` as a CSV cell a spreadsheet shows as text: a cell beginning with ``=``, ``+``,
    ``-``, ``@`` (or a tab or carriage return) gets a leading ``'``, so it is never run as a
    formula.

    Example:
        >>> csv_cell("-5"), csv_cell("5"), csv_cell(None)
        ("'-5", '5', '')
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else _plain(value)
    return f"'{text}" if text.startswith(_FORMULA) else text


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(part) for part in value)
    return str(value)


def item_name(item: Mapping[str, Any]) -> str:
    """How a person recognises a listed item: its label, else its address, else its id.

    Example:
        >>> item_name({"recordId": "P2", "address": "1 High St, Leeds LS1 1AA"})
        '1 High St, Leeds LS1 1AA'
    """
    for key in ("label", "address", "recordId", "id"):
        value = item.get(key)
        if value not in (None, ""):
            return _plain(value)
    return "(no name)"


def rule_summaries(ruleset: CompiledRuleset) -> RuleSummary:
    """A listed item's rule in plain English: the ruleset's summary of that id
    (`CompiledRuleset.rule_summary`), else the summary of the entity that listed it (items
    name requirement ids, such as ``J-14``, which several rules share).

    Example:
        >>> from engine import load_ruleset
        >>> summary = rule_summaries(load_ruleset("rulesets/jupix-alto/v1.yaml"))
        >>> summary("J-02", "applicant")[:9]
        'Applicant'
    """

    def summary(rule: str, entity: str | None) -> str | None:
        found = ruleset.rule_summary(rule) if rule else None
        if found:
            return found
        listed = ruleset.entities.get(entity or "")
        return listed.summary if listed is not None and listed.summary else None

    return summary
