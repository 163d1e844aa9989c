"""What a run says while it works: JSON lines for machines, a progress bar for people.

On a terminal the phases show as a rich progress display; otherwise (cron, systemd, a
pipe) each event is one JSON object per line on standard error, e.g.::

    {"at": "2026-11-22T01:00:03Z", "run": 12, "event": "phase", "phase": "apply", ...}

Nothing personal is logged: events carry ids, counts and rule ids by construction, and
every free text (an error an API sent back, a reason) passes through `redact_personal`,
which masks email addresses, phone numbers and UK postcodes.

Example:
    >>> redact_personal("refused ann@example.com, call 07700 900123")
    'refused [email], call [phone]'
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any, Final

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

__all__ = ["RunLog", "redact_personal"]

_EMAIL: Final = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE: Final = re.compile(r"(?<![\w/])\+?\d[\d ()-]{8,}\d(?![\w/])")
_POSTCODE: Final = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b", re.IGNORECASE)


def redact_personal(text: str) -> str:
    """`text` with email addresses, phone numbers and UK postcodes masked."""
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub("[phone]", text)
    return _POSTCODE.sub("[postcode]", text)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return redact_personal(value)
    if isinstance(value, dict):
        return {str(key): _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


class RunLog:
    """The run's voice: `event` for facts, `phase` for a step with a progress bar.

    Args:
        stream: where JSON lines go (standard error by default).
        terminal: show a progress bar instead of JSON lines (default: when `stream` is a
            terminal).
        clock: the time stamp of each line.
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        terminal: bool | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.clock = clock
        self.run_id: int | None = None
        self._console = Console(file=self.stream) if self.terminal else None
        self._progress: Progress | None = None
        self._task: Any = None

    def event(self, event: str, **fields: Any) -> None:
        """One fact: a JSON line, or a line above the progress bar on a terminal."""
        fields = _clean(fields)
        if self._console is not None:
            self._say(event, fields)
            return
        line = {"at": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"), "run": self.run_id}
        self.stream.write(json.dumps(line | {"event": event} | fields, default=str) + "\n")
        self.stream.flush()

    def _say(self, event: str, fields: dict[str, Any]) -> None:
        """An event as a line for a person (a phase's start is the progress bar itself)."""
        if event == "phase":
            if fields.get("state") != "finished":
                return
            text = f"{fields.get('phase')}: done in {fields.get('seconds')} s"
        else:
            details = ", ".join(f"{key} {value}" for key, value in fields.items())
            text = f"{event}: {details}" if details else event
        target = self._progress.console if self._progress else self._console
        if target is not None:
            target.print(text, markup=False, highlight=False)

    @contextmanager
    def phase(self, name: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        """A step of the run; yields ``advance(n)`` for its progress. Logs start and end."""
        started = self.clock()
        self.event("phase", phase=name, state="started", total=total)
        if self._console is None:
            yield lambda n: None
        else:
            columns = (
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=self._console, transient=True) as progress:
                self._progress = progress
                self._task = progress.add_task(name, total=total)
                try:
                    yield lambda n: progress.advance(self._task, n)
                finally:
                    self._progress = None
        seconds = (self.clock() - started).total_seconds()
        self.event("phase", phase=name, state="finished", seconds=round(seconds, 3))
