"""What a run says while it works: JSON lines for machines, a progress bar for people.

A run's events go through the standard logging tree (logger ``rulebridge.run``). While a
run log is configured (``with RunLog() as log:``, or `configure`), its handler sits on the
root logger and writes every record, the run's own and the libraries' (stamina's retries,
httpx's requests, uvicorn, the adapters), to the log's stream: off a terminal (cron,
systemd, a pipe) one JSON object per line, e.g.::

    {"at": "2026-11-22T01:00:03.120+00:00", "level": "info", "event": "phase", "run": 12,
     "logger": "rulebridge.run", "phase": "apply", "state": "started", "total": 140}

On a terminal the phases show as a rich progress display (a count and a spinner when the
total is unknown), events as readable lines, library records from WARNING up as lines and
the libraries' INFO chatter hidden. A run log that is not configured still writes its own
events to its stream (tests read them); a logging failure never stops the run.

Nothing personal is logged: events carry ids, counts and rule ids by construction, and
every string passes through `redact_personal` (email addresses, phone numbers and UK
postcodes masked); query strings and bearer tokens are dropped
(`rulebridge.runner._log_lines`).

Example:
    >>> redact_personal("refused ann@example.com, call 07700 900123")
    'refused [email], call [phone]'
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Any, Final

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from rulebridge.runner._log_lines import (
    LINE,
    JsonLines,
    RunLine,
    clean,
    human,
    human_library,
    redact_personal,
)

__all__ = ["RUN_LOGGER", "RunLog", "configure", "redact_personal"]

RUN_LOGGER: Final = "rulebridge.run"
"""The logger a run's own events go through."""
_LEVELS: Final = {"error": logging.ERROR, "warning": logging.WARNING}
"""An event's level by its name; every other event is INFO."""
_LIBRARIES: Final = {
    "rulebridge": logging.INFO,
    "stamina": logging.INFO,
    "httpx": logging.INFO,
    "httpcore": logging.WARNING,
    "uvicorn": logging.WARNING,
}
"""The levels of the loggers a configured run sets (httpx: WARNING on a terminal)."""


class RunLog:
    """The run's voice: `event` for facts, `phase` for a step with a progress bar.

    Used as a context manager, it is the process's log for the block (`configure`).

    Args:
        stream: where lines go (standard error by default).
        terminal: show a progress bar and readable lines instead of JSON lines (default:
            when `stream` is a terminal).
        clock: the time stamp of each of the run's own lines.

    Example::

        with RunLog() as log:
            outcome = run_nightly(options, log)
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        terminal: bool | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.stream = stream or sys.stderr
        self.terminal = _is_terminal(self.stream) if terminal is None else terminal
        self.clock = clock
        self.run_id: int | None = None
        self._console = Console(file=self.stream, force_terminal=True) if self.terminal else None
        self._progress: Progress | None = None
        self._task: Any = None
        self.handler: logging.Handler = _RunHandler(self)
        self._undo: list[Callable[[], None]] = []

    def __enter__(self) -> RunLog:
        self._undo.append(configure(self))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._undo.pop()()

    def event(self, event: str, **fields: Any) -> None:
        """One fact: a JSON line, or a line above the progress bar on a terminal."""
        with contextlib.suppress(Exception):  # logging must never take the run down
            line = RunLine(self, self.clock(), event, fields, self.run_id)
            level = _LEVELS.get(event, logging.INFO)
            logger = logging.getLogger(RUN_LOGGER)
            record = logger.makeRecord(
                RUN_LOGGER, level, "rulebridge", 0, event, (), None, extra={LINE: line}
            )
            if logger.hasHandlers():  # else logging's last resort would print it bare
                logger.handle(record)
            if not line.written:  # not configured: the log's own handler still writes it
                self.handler.handle(record)

    def say(self, text: str) -> None:
        """`text` as a line on the terminal (above the progress bar when one shows)."""
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
                _Count(),
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


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # no fileno, or closed
        return False


class _Count(ProgressColumn):
    """``12/140`` when the phase has a total, ``12`` when it has none (never ``12/None``)."""

    def render(self, task: Task) -> Text:
        """The count column of `task`."""
        done = int(task.completed)
        return Text(f"{done}/{int(task.total)}" if task.total is not None else str(done))


class _RunHandler(logging.Handler):
    """Writes records to a run log's stream: JSON lines, or readable lines on a terminal.

    The run's own records of another run log are not its to write (each run log writes
    its own); a failure to write is swallowed (`handleError`), never printed or raised.
    """

    def __init__(self, log: RunLog) -> None:
        super().__init__()
        self.log = log
        self.setFormatter(JsonLines(run_of=lambda: log.run_id))

    def emit(self, record: logging.LogRecord) -> None:
        line = getattr(record, LINE, None)
        if isinstance(line, RunLine):
            if line.owner is not self.log:
                return
            line.written = True
        try:
            if self.log.terminal:
                self._say(record, line)
                return
            self.log.stream.write(self.format(record) + "\n")
            self.log.stream.flush()
        except Exception:
            self.handleError(record)

    def _say(self, record: logging.LogRecord, line: RunLine | None) -> None:
        if line is None:
            if record.levelno >= logging.WARNING:  # the libraries' INFO chatter: hidden
                self.log.say(human_library(record))
            return
        fields = clean(line.fields)
        if line.event == "phase":  # a phase's start is the progress bar itself
            if fields.get("state") == "finished":
                self.log.say(f"{fields.get('phase')}: done in {fields.get('seconds')} s")
            return
        self.log.say(human(line.event, fields))

    def handleError(self, record: logging.LogRecord) -> None:
        """A line that could not be written is dropped: logging never stops the run."""


@dataclass(eq=False)
class _Installed:
    handler: logging.Handler
    terminal: bool


_GUARD: Final = threading.Lock()
_STACK: list[_Installed] = []
_SAVED: dict[str, int] = {}


def configure(log: RunLog) -> Callable[[], None]:
    """Make `log` the process's log until the returned function is called.

    Its handler goes on the root logger (ONE such handler at a time: a later `configure`
    stands in for an earlier one until it is undone), and the levels of the loggers the
    run cares about are set: rulebridge's, stamina's and httpx's records from INFO
    (httpx's from WARNING on a terminal), httpcore's and uvicorn's from WARNING, any other
    library's as the root logger says. Undoing restores the levels and the previous log.

    Example::

        undo = configure(RunLog())
        try:
            ...
        finally:
            undo()
    """
    entry = _Installed(log.handler, log.terminal)
    with _GUARD:
        if not _STACK:
            _SAVED.update({name: logging.getLogger(name).level for name in _LIBRARIES})
        _swap(_STACK[-1] if _STACK else None, entry)
        _STACK.append(entry)

    def undo() -> None:
        with _GUARD:
            if entry not in _STACK:
                return
            on_top = _STACK[-1] is entry
            _STACK.remove(entry)
            if on_top:
                _swap(entry, _STACK[-1] if _STACK else None)
            if not _STACK:
                for name, level in _SAVED.items():
                    logging.getLogger(name).setLevel(level)
                _SAVED.clear()

    return undo


def _swap(old: _Installed | None, new: _Installed | None) -> None:
    root = logging.getLogger()
    if old is not None:
        root.removeHandler(old.handler)
    if new is not None:
        root.addHandler(new.handler)
        for name, level in _LIBRARIES.items():
            quiet = name == "httpx" and new.terminal
            logging.getLogger(name).setLevel(logging.WARNING if quiet else level)
