"""Read a whole system through its adapter and stream it into a snapshot file.

The adapter is async and `engine.snapshot.write_snapshot` takes plain iterables: a thread
runs the reads on its own event loop and hands records over a bounded queue, so records
are never all held in memory.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

from engine.ports import Record, RecordSource
from engine.snapshot import write_snapshot

__all__ = ["take_snapshot"]

Opener = Callable[[Callable[[RecordSource], Awaitable[None]]], Coroutine[Any, Any, None]]
_END = object()


def take_snapshot(
    out: Path,
    system: str,
    open_source: Opener,
    *,
    taken_at: str,
    agency_ref: str | None = None,
    on_record: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Read every collection of the source `open_source` yields and write the snapshot.

    `open_source(use)` opens a client and adapter and awaits ``use(adapter)`` (so the client
    is closed however reading ends). Returns the records written per collection.

    Raises:
        adapters.errors.AdapterError: reading failed (nothing is written).
        engine.snapshot.SnapshotError: writing failed.
    """
    pipe: queue.Queue[Any] = queue.Queue(maxsize=2000)
    stop = threading.Event()
    names: list[str] = []
    ready = threading.Event()

    async def produce(source: RecordSource) -> None:
        names.extend(source.collections())
        ready.set()
        for name in names:
            async for record in source.read(name):
                _put(pipe, stop, ("record", record))
            _put(pipe, stop, _END)

    def run() -> None:
        try:
            asyncio.run(open_source(produce))
        except BaseException as exc:  # handed to the writer, re-raised there
            _put(pipe, stop, ("error", exc))
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="snapshot-reader", daemon=True)
    thread.start()
    try:
        ready.wait()
        first = _peek_error(pipe, names)
        collections = {name: _records(pipe, name, on_record) for name in names}
        if first is not None:
            raise first
        return write_snapshot(out, system, collections, taken_at, agency_ref)
    finally:
        stop.set()
        thread.join(30)


def _peek_error(pipe: queue.Queue[Any], names: list[str]) -> BaseException | None:
    if names:
        return None
    item = pipe.get()
    return item[1] if isinstance(item, tuple) and item[0] == "error" else None


def _records(
    pipe: queue.Queue[Any], name: str, on_record: Callable[[str], None] | None
) -> Iterator[Record]:
    while True:
        item = pipe.get()
        if item is _END:
            return
        kind, value = item
        if kind == "error":
            raise value
        if on_record is not None:
            on_record(name)
        yield value


def _put(pipe: queue.Queue[Any], stop: threading.Event, item: Any) -> None:
    while not stop.is_set():
        try:
            pipe.put(item, timeout=0.1)
            return
        except queue.Full:
            continue
