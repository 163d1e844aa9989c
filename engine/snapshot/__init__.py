"""Snapshot files: the records an adapter read from Alto or Fixflo, streamed both ways.

See `engine.snapshot._files` for the reader and writer and ``schema/snapshot.schema.json``
for the shape every record is checked against; `RecordLimits` bounds the records a reader
builds.
"""

from engine.snapshot._build import RecordLimits
from engine.snapshot._files import (
    SnapshotError,
    SnapshotHeader,
    iter_records,
    iter_snapshot,
    read_header,
    write_snapshot,
)

__all__ = [
    "RecordLimits",
    "SnapshotError",
    "SnapshotHeader",
    "iter_records",
    "iter_snapshot",
    "read_header",
    "write_snapshot",
]
