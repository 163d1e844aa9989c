"""One run per agency at a time: an advisory lock on a file beside the state store.

The lock is ``fcntl.flock`` on ``<store>.lock``: the kernel releases it when the process
ends, however it ends (SIGKILL included), so a crashed run never leaves a stale lock
behind. The file holds the holder's pid, for the message a second run prints.

Example::

    with RunLock(Path("state/acme.db")):
        run_the_night()
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import IO

from engine.errors import RulebridgeError

__all__ = ["LockedError", "RunLock"]


class LockedError(RulebridgeError):
    """Another run for the same agency holds the lock."""


class RunLock:
    """An exclusive, non-blocking lock for the runs of one state store."""

    def __init__(self, store_path: Path) -> None:
        self.path = store_path.with_name(store_path.name + ".lock")
        self._file: IO[str] | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LockedError(
                f"another run for this agency is in progress (pid {holder}, lock {self.path}); "
                "this run did nothing. Wait for it to finish: the lock is released when it "
                "ends, even if it is killed"
            ) from None
        os.chmod(self.path, 0o600)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock
            self._file = None
