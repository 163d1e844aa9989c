"""Listings for the agency (manual actions, housekeeping): grouped Markdown and a CSV.

A `Listing` is read in passes, never held: its groups with their counts, the rules each
group names, and its items in grouped order (within a group, items that concern a sale come
together, sale by sale). `MemoryListing` is one over a list, for small listings and tests;
the `rulebridge migrate` command reads one from a spill file.

In Markdown each group names its rules with their plain-English summaries, then lists its
items: the name a person knows (label or full address), the record id in small print and
the detail in words. A group whose every item concerns a sale (J-14's progression
milestones, sale chain notes) is one table per sale instead of a flat list of hundreds.

Example:
    >>> items = [{"action": "Remarket", "recordId": "P2", "rule": "J-05",
    ...           "label": "2 High St, Leeds LS1 1AA", "detail": "was On Market"}]
    >>> print("".join(listing_lines(MemoryListing("action", items), "Manual actions",
    ...                             lambda rule, entity: "Let properties are remarketed.")))
    # Manual actions (1)
    <BLANKLINE>
    ## Remarket (1)
    <BLANKLINE>
    Rule J-05: Let properties are remarketed.
    <BLANKLINE>
    - **2 High St, Leeds LS1 1AA** `P2`: was On Market
    <BLANKLINE>
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Final, Protocol

from engine.migration._pack_text import RuleSummary, csv_cell, item_name, md_code, md_text

__all__ = [
    "CSV_COLUMNS",
    "Listing",
    "MemoryListing",
    "listing_lines",
    "write_listing_csv",
]

CSV_COLUMNS: Final = (
    "rule",
    "rule summary",
    "name",
    "address",
    "record id",
    "sale id",
    "property id",
    "detail",
    "entity",
    "id",
)
"""The columns of ``manual-actions.csv`` and ``housekeeping.csv`` after the first, which is
the listing's group (``action`` or ``check``)."""

_SALE: Final = "saleId"


class Listing(Protocol):
    """Listed records read in passes (manual actions or housekeeping checks).

    Attributes:
        key: The field that groups the items (``action`` or ``check``).
    """

    key: str

    def group_sizes(self) -> Mapping[str, int]:
        """Each group's size, in the order groups first appeared."""

    def rules(self, group: str) -> Mapping[str, int]:
        """The rules `group`'s items name, with how many items name each."""

    def items(self, group: str | None = None) -> Iterator[Mapping[str, Any]]:
        """A fresh pass over `group`'s items (every item, group by group, when None); within
        a group, items with a ``saleId`` come sale by sale."""


class MemoryListing:
    """A `Listing` over a list in memory, for small listings and tests.

    Example:
        >>> MemoryListing("check", [{"check": "Archive", "rule": "J-01"}]).group_sizes()
        {'Archive': 1}
    """

    def __init__(self, key: str, items: Iterable[Mapping[str, Any]]) -> None:
        self.key = key
        self._items = list(items)

    def group_sizes(self) -> dict[str, int]:
        """Each group's size, in the order groups first appeared."""
        return dict(Counter(str(item.get(self.key, "")) for item in self._items))

    def rules(self, group: str) -> dict[str, int]:
        """The rules `group`'s items name, with how many items name each."""
        return dict(Counter(str(item.get("rule", "")) for item in self._in(group)))

    def items(self, group: str | None = None) -> Iterator[Mapping[str, Any]]:
        """The items, group by group; within a group, those of a sale sale by sale."""
        for name in self.group_sizes() if group is None else (group,):
            members = self._in(name)
            yield from sorted(
                members,
                key=lambda item: (_SALE in item, len(str(item.get(_SALE))), str(item.get(_SALE))),
            )

    def _in(self, group: str) -> list[Mapping[str, Any]]:
        return [item for item in self._items if str(item.get(self.key, "")) == group]


def listing_lines(listing: Listing, title: str, summary: RuleSummary) -> Iterator[str]:
    """`listing` as Markdown, line by line (each ends with a newline), a pass per group.

    Args:
        listing: The items.
        title: The document's heading; the item count follows it.
        summary: Each rule's plain-English summary (`rule_summaries`).
    """
    groups = listing.group_sizes()
    yield f"# {md_text(title)} ({sum(groups.values())})\n"
    for group, size in groups.items():
        yield f"\n## {md_text(group or '(no ' + listing.key + ')')} ({size})\n"
        yield from group_lines(listing, group, summary)


def group_lines(
    listing: Listing, group: str, summary: RuleSummary, level: int = 3
) -> Iterator[str]:
    """One group's body in Markdown: its rules with their summaries, then its items (one
    table per sale when every item concerns a sale, each under a heading of `level`)."""
    rules = listing.rules(group)
    items = listing.items(group)
    first = next(items, None)
    if first is None:
        return
    entity = _text(first.get("entity")) or None
    yield "\n"
    for rule in rules:
        said = summary(rule, entity)
        yield f"Rule {md_text(rule or '(none)')}" + (f": {md_text(said)}" if said else "")
        yield "  \n" if len(rules) > 1 else "\n"
    yield "\n"
    together = _chain(first, items)
    if _SALE in first:
        yield from _sale_tables(together, len(rules) > 1, level)
    else:
        yield from (item_line(item, len(rules) > 1) for item in together)


def item_line(item: Mapping[str, Any], with_rule: bool = False) -> str:
    """One item as a Markdown bullet: its name in bold, the record id in small print, the
    address when the name does not hold it, the rule when asked, and the detail.

    Example:
        >>> item_line({"label": "Mr A Ng", "recordId": "C1", "rule": "J-10", "detail": "x"}, True)
        '- **Mr A Ng** `C1` (J-10): x\\n'
    """
    label = md_text(item.get("label"))
    address = md_text(item.get("address"))
    record = md_code(item.get("recordId"))
    parts = [f"- **{label or address}** {record}" if label or address else f"- {record}"]
    if label and address and address not in label:
        parts.append(f", {address}")
    if with_rule:
        parts.append(f" ({md_text(item.get('rule'))})")
    detail = _text(item.get("detail"))
    if detail:
        parts.append(f": {md_text(detail)}")
    return "".join(parts) + "\n"


def _sale_tables(items: Iterator[Mapping[str, Any]], with_rule: bool, level: int) -> Iterator[str]:
    sale: object = object()
    for item in items:
        if item.get(_SALE) != sale:
            sale = item.get(_SALE)
            yield from _sale_head(item, sale, with_rule, level)
        rule = f" {md_text(item.get('rule'))} |" if with_rule else ""
        yield f"| {md_text(item.get('detail'))} |{rule} {md_code(item.get('recordId'))} |\n"


def _sale_head(item: Mapping[str, Any], sale: object, with_rule: bool, level: int) -> Iterator[str]:
    address = _text(item.get("address")) or f"property {_text(item.get('propertyId')) or '?'}"
    yield f"\n{'#' * level} Sale {md_text(sale)} at {md_text(address)}\n\n"
    yield "| what, and when it was done |" + (" rule |" if with_rule else "") + " record |\n"
    yield "|---|" + ("---|" if with_rule else "") + "---|\n"


def write_listing_csv(out: IO[str], listing: Listing, summary: RuleSummary) -> int:
    """`listing` as CSV into `out` (opened with ``newline=""``): a header, then one row per
    item in grouped order, every cell spreadsheet-safe (`csv_cell`). Returns the row count.

    The columns are the listing's key (``action`` or ``check``) then `CSV_COLUMNS`.

    Example:
        >>> import io
        >>> out = io.StringIO(newline="")
        >>> write_listing_csv(out, MemoryListing("check", [{"check": "=1", "rule": "J-01"}]),
        ...                   lambda rule, entity: None)
        1
        >>> out.getvalue().splitlines()[1]
        "'=1,J-01,,(no name),,,,,,,"
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow((listing.key, *CSV_COLUMNS))
    rows = 0
    for item in listing.items():
        writer.writerow(_csv_row(listing.key, item, summary))
        rows += 1
    return rows


def _csv_row(key: str, item: Mapping[str, Any], summary: RuleSummary) -> Sequence[str]:
    rule = _text(item.get("rule"))
    entity = _text(item.get("entity")) or None
    values = (
        item.get(key),
        rule,
        summary(rule, entity),
        item_name(item),
        item.get("address"),
        item.get("recordId"),
        item.get(_SALE),
        item.get("propertyId"),
        item.get("detail"),
        entity,
        item.get("id"),
    )
    return [csv_cell(value) for value in values]


def _chain(
    first: Mapping[str, Any], rest: Iterator[Mapping[str, Any]]
) -> Iterator[Mapping[str, Any]]:
    yield first
    yield from rest


def _text(value: Any) -> str:
    return "" if value is None else str(value)
