"""Read snapshots into the records a plan needs, keeping every bad record in view."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import RecordError
from engine.snapshot import SnapshotHeader, iter_snapshot, read_header

__all__ = ["LoadedSnapshots", "load_snapshots"]


@dataclass
class LoadedSnapshots:
    """The records of each collection as ``system.collection``, headers and bad records."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    headers: dict[str, SnapshotHeader] = field(default_factory=dict)
    rejected: list[RecordError] = field(default_factory=list)

    def inputs(self) -> dict[str, str]:
        """The sha256 of each snapshot read, by system."""
        return {system: header.sha256 for system, header in self.headers.items()}


def load_snapshots(alto: Path, fixflo: Path | None) -> LoadedSnapshots:
    """Read the Alto snapshot and, if given, the Fixflo one (else Fixflo is empty).

    Raises:
        SnapshotError: a file is unusable as a whole (bad records are collected instead).
    """
    loaded = LoadedSnapshots()
    for system, path in (("alto", alto), ("fixflo", fixflo)):
        if path is not None:
            _load(loaded, system, path)
    return loaded


def _load(loaded: LoadedSnapshots, system: str, path: Path) -> None:
    header = read_header(path, system=system)
    loaded.headers[system] = header
    rows = {name: loaded.records.setdefault(f"{system}.{name}", []) for name in header.collections}
    for collection, item in iter_snapshot(path, header=header):
        if isinstance(item, RecordError):
            loaded.rejected.append(item)
        else:
            rows[collection].append(item)
