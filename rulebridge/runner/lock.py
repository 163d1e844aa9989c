"""One run per agency at a time: advisory locks on the agency and on its store file.

`AgencyLock` takes two ``fcntl.flock`` locks, each non-blocking: first the agency's own
(``run.lock`` in its folder of the per-user state home, `rulebridge.runner.home`; keyed by
the agency's identity, so two runs of one agency exclude each other whatever ``--store``
each names), then the store's (``<store>.lock``, so two agencies pointed at one file
exclude each other too, until the store's identity check refuses one). The kernel releases
a flock when its holder ends, however it ends (SIGKILL included), so a crashed run never
leaves a stale lock behind. Each file holds its holder's pid for the message a second run
prints.

Example::

    with AgencyLock(AgencyHome(state_home(), identity), Path("state/acme.db")):
        run_the_night()
"""

from __future__ import annotations

import fcntl
import os
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import IO

from engine.errors import RulebridgeError
from rulebridge.runner.home import AgencyHome

__all__ = ["AgencyLock", "LockedError", "RunLock"]


class LockedError(RulebridgeError):
    """Another run for the same agency holds the lock."""


class RunLock:
    """An exclusive, non-blocking flock on one file (`path`), holding the holder's pid.

    `RunLock(store_path)` locks ``<store>.lock``; `for_file` locks a file named exactly.
    """

    def __init__(self, store_path: Path, *, what: str = "") -> None:
        self.path = store_path.with_name(store_path.name + ".lock")
        self.what = what
        self._file: IO[str] | None = None

    @classmethod
    def for_file(cls, path: Path, *, what: str = "") -> RunLock:
        """A lock on `path` itself."""
        lock = cls(path, what=what)
        lock.path = path
        return lock

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
                f"another run for this agency{self.what} is in progress (pid {holder}, lock "
                f"{self.path}); this run did nothing. Wait for it to finish: the lock is "
                "released when it ends, even if it is killed"
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


class AgencyLock(ExitStack):
    """The agency's run lock, then its store's; both released on exit.

    Raises:
        LockedError: another run holds either (nothing was done).
    """

    def __init__(self, home: AgencyHome, store_path: Path) -> None:
        super().__init__()
        self.home, self.store_path = home, store_path

    def __enter__(self) -> AgencyLock:
        self.home.prepare()
        what = f" ({self.home.identity.describe()})"
        with ExitStack() as stack:
            stack.enter_context(RunLock.for_file(self.home.lock_path, what=what))
            stack.enter_context(RunLock(self.store_path))
            self.push(stack.pop_all())
        return self
