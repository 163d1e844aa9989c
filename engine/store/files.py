"""The store's file: owner-only permissions, and SQLite's errors translated at the boundary.

Example:
    >>> str(StoreError("state/a.db", "is locked by another run", "wait for it to finish"))
    'state/a.db: is locked by another run (wait for it to finish)'
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from pathlib import Path

from engine.errors import RulebridgeError

__all__ = ["StoreError", "prepare_file", "secure_companions", "translate"]

_OWNER_FILE = 0o600
_OWNER_DIR = 0o700


class StoreError(RulebridgeError):
    """The state store cannot do what was asked: which file, what is wrong, what to do.

    ``RulebridgeError`` > ``StoreError``. Raised for a file locked by another run, a file
    that is not a rulebridge store, a store written by a newer rulebridge, a full disk,
    unsafe permissions, and for calls the exactly-once contract forbids (an effect without
    an intent, or for another action than the intent's).
    """

    def __init__(self, path: str, problem: str, fix: str) -> None:
        self.path, self.problem, self.fix = path, problem, fix
        super().__init__(f"{path}: {problem} ({fix})")


# sqlite3's extended error names (Python 3.11+) mapped to what the operator should do.
_BY_NAME: dict[str, tuple[str, str]] = {
    "SQLITE_BUSY": (
        "is locked by another run",
        "wait for that run to finish, or check no other rulebridge is using this agency",
    ),
    "SQLITE_LOCKED": ("is locked by another connection", "retry when the other one is done"),
    "SQLITE_NOTADB": (
        "is not a rulebridge store (not an SQLite database)",
        "point --state at the agency's store file, or move this file away",
    ),
    "SQLITE_CORRUPT": (
        "is damaged",
        "move it away and rebuild it from Alto and Fixflo with `rulebridge store adopt "
        "--config AGENCY.yaml`; a backup put back instead is checked by the next run, which "
        "refuses one older than the agency's last run",
    ),
    "SQLITE_FULL": ("cannot be written: the disk is full", "free disk space and run again"),
    "SQLITE_READONLY": ("is read-only", "give the owner write permission (chmod 600)"),
    "SQLITE_CANTOPEN": ("cannot be opened", "check that the folder exists and is writable"),
    "SQLITE_IOERR": ("could not be read or written", "check the disk and run again"),
}


def translate(exc: sqlite3.Error, path: str) -> StoreError:
    """The `StoreError` for an sqlite3 exception (its primary error name decides)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    primary = "_".join(name.split("_")[:2])  # SQLITE_BUSY_SNAPSHOT -> SQLITE_BUSY
    problem, fix = _BY_NAME.get(primary, (f"failed: {exc}", "see the message above"))
    return StoreError(path, problem, fix)


def prepare_file(path: Path) -> None:
    """Create the folder (0700) and the file (0600) before SQLite opens it.

    An existing folder that others may read or write is refused: the store holds the
    id map and the audit log of an agency.
    """
    try:
        _create(path)
    except OSError as exc:
        raise StoreError(
            str(path), f"cannot be created or opened ({exc.strerror})", "check the path"
        ) from exc


def _create(path: Path) -> None:
    folder = path.parent
    if not folder.exists():
        try:
            folder.mkdir(mode=_OWNER_DIR, parents=True)
        except FileExistsError:
            pass  # another process opening the same new store made it a moment ago
        else:
            os.chmod(folder, _OWNER_DIR)  # mkdir's mode is filtered by the umask
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "its folder is not a directory", str(folder))
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise StoreError(
            str(folder),
            f"the store's folder is readable or writable by others (mode {mode:o})",
            f"run: chmod o-rwx {folder}",
        )
    # Never open and close a descriptor of an existing store: closing any descriptor of a
    # file drops every POSIX lock this process holds on it, SQLite's included, so another
    # connection of this process (the live server has several) would lose its locks and
    # another process could checkpoint and delete the WAL under it (writes then vanish).
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, _OWNER_FILE)
    except FileExistsError:
        os.chmod(path, _OWNER_FILE)  # an existing file too: the store is owner-only
        return
    try:
        os.fchmod(fd, _OWNER_FILE)  # a new file: no connection can hold locks on it yet
    finally:
        os.close(fd)


def secure_companions(path: Path) -> None:
    """Make the WAL and shared-memory files owner-only too (SQLite copies the main
    file's mode when it creates them; this also fixes files left by older versions)."""
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, _OWNER_FILE)
