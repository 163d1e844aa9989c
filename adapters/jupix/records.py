"""A Jupix export as the record sources of a migration ruleset (``jupix.<table>``).

Each source is re-iterable and streams its file afresh on every pass, so a migration holds
only the tables it needs to index. Bad rows come through as `RecordError` items in their
place, for the migration to account for as unreadable.

Example::

    from engine import load_ruleset
    ruleset = load_ruleset("rulesets/jupix-alto/v1.yaml")
    records = export_records(JupixExport("export"), ruleset.sources)
    sorted(records)[:2]
    # ['jupix.applicants', 'jupix.contacts']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from engine.errors import RecordError

from ._coerce import Row
from .reader import JupixExport

__all__ = ["PREFIX", "TableRows", "export_records"]

PREFIX = "jupix."
"""Sources named ``jupix.<table>`` read the export's table of that name."""


class TableRows:
    """The rows of one table of an export; each iteration reads the file again."""

    def __init__(self, export: JupixExport, table: str) -> None:
        self.export, self.table = export, table

    def __iter__(self) -> Iterator[Row | RecordError]:
        return self.export.iter_rows(self.table)

    def __repr__(self) -> str:
        return f"TableRows({self.export!r}, {self.table!r})"


def export_records(export: JupixExport, sources: Iterable[str]) -> dict[str, TableRows]:
    """The rows of every ``jupix.<table>`` source in `sources`, by source name.

    Example::

        export_records(JupixExport("export"), ["jupix.offers"])
        # {'jupix.offers': TableRows(JupixExport('export'), 'offers')}
    """
    return {
        source: TableRows(export, source.removeprefix(PREFIX))
        for source in sources
        if source.startswith(PREFIX)
    }
