"""Snapshots read into file-backed tables for `rulebridge plan`, keeping every bad record
in view (as `rulebridge._snapshots.load_snapshots` does, without holding the records).

Example::

    with tempfile.TemporaryDirectory() as folder:
        with spilled_snapshots(alto, fixflo, Path(folder)) as loaded:
            plan_into(ruleset, loaded.records, sink, inputs=loaded.inputs())
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from engine.errors import RecordError
from engine.snapshot import SnapshotHeader, iter_records, read_header
from engine.sync.tables import RecordTable

__all__ = ["SpilledSnapshots", "spilled_snapshots"]


@dataclass
class SpilledSnapshots:
    """Each collection's good records as a `RecordTable` (``system.collection``), the
    headers, and the records that could not be read."""

    records: dict[str, RecordTable] = field(default_factory=dict)
    headers: dict[str, SnapshotHeader] = field(default_factory=dict)
    rejected: list[RecordError] = field(default_factory=list)

    def run_date(self, given: date | datetime | None) -> date:
        """The run's date: `given` (``--as-of``), else the day the Alto snapshot was taken."""
        if isinstance(given, datetime):
            return given.date()
        if given is not None:
            return given
        return date.fromisoformat(self.headers["alto"].taken_at[:10])

    def inputs(self) -> dict[str, str]:
        """The sha256 of each snapshot read, by system."""
        return {system: header.sha256 for system, header in self.headers.items()}

    def close(self) -> None:
        """Close every table."""
        for table in self.records.values():
            table.close()


@contextmanager
def spilled_snapshots(alto: Path, fixflo: Path | None, folder: Path) -> Iterator[SpilledSnapshots]:
    """Stream the Alto snapshot and, if given, the Fixflo one (else Fixflo is empty) into
    tables in `folder` (private, removed by the caller), one collection at a time.

    Raises:
        SnapshotError: a file is unusable as a whole (bad records are collected instead).
    """
    loaded = SpilledSnapshots()
    try:
        for system, path in (("alto", alto), ("fixflo", fixflo)):
            if path is not None:
                _spill(loaded, system, path, folder)
        yield loaded
    finally:
        loaded.close()


def _spill(loaded: SpilledSnapshots, system: str, path: Path, folder: Path) -> None:
    header = read_header(path, system=system)
    loaded.headers[system] = header
    for collection in header.collections:
        name = f"{system}.{collection}"
        items = iter_records(path, collection, header=header)
        loaded.records[name] = RecordTable.write(folder / f"{name}.jsonl", _good(items, loaded))


def _good(
    items: Iterable[dict[str, Any] | RecordError], loaded: SpilledSnapshots
) -> Iterator[dict[str, Any]]:
    for item in items:
        if isinstance(item, RecordError):
            loaded.rejected.append(item)
        else:
            yield item
