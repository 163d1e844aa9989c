"""Snapshot files: the records an adapter read from Alto or Fixflo, streamed both ways.

See `engine.snapshot._files` for the reader and writer and ``schema/snapshot.schema.json``
for the shape every record is checked against.
"""

from engine.snapshot._files import (
    SnapshotError,
    SnapshotHeader,
    iter_records,
    read_header,
    write_snapshot,
)

__all__ = ["SnapshotError", "SnapshotHeader", "iter_records", "read_header", "write_snapshot"]
