"""Watching a file for changes by polling: cheap when nothing moved, exact when it did.

`FileWatch.changed` looks at the file's ``(mtime_ns, size)`` first and reads and hashes it
only when those moved; it says True once for each new content that differs from the one
accepted (an editor's save that rewrites the same bytes, or a ``touch``, is no change). A
missing file (an editor between delete and write) is not a change: `FileWatch.missing`
says so until it is back.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "v2.yaml"
    >>> _ = path.write_text("a: 1\\n")
    >>> watch = FileWatch(path)
    >>> watch.changed()
    False
    >>> _ = path.write_text("a: 22\\n")
    >>> watch.changed(), watch.changed()
    (True, False)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["FileWatch"]

_Stat = tuple[int, int]


class FileWatch:
    """Polls `path`; the content when made (or last `accept`-ed) counts as seen."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.missing = False
        self._stat: _Stat | None = None
        self._seen: str | None = None
        self._accepted: str | None = None
        self.accept()

    def changed(self) -> bool:
        """Whether the file now holds content other than the accepted one (True once per
        new content; False while the file is missing or unreadable)."""
        try:
            stat = self.path.stat()
        except OSError:
            self.missing = True
            return False
        self.missing = False
        if (stat.st_mtime_ns, stat.st_size) == self._stat:
            return False
        read = self._read()
        if read is None:
            return False
        self._stat, digest = read
        if digest == self._seen:
            return False
        self._seen = digest
        return digest != self._accepted

    def accept(self) -> None:
        """Take the file's current content as seen and accepted (a reload used it)."""
        read = self._read()
        self.missing = read is None
        self._stat, digest = read if read is not None else (None, None)
        self._seen = self._accepted = digest

    def _read(self) -> tuple[_Stat, str] | None:
        """The file's ``(mtime_ns, size)`` and the hash of its bytes, from one open."""
        try:
            with self.path.open("rb") as file:
                stat = os.fstat(file.fileno())
                digest = hashlib.sha256(file.read()).hexdigest()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size), digest
