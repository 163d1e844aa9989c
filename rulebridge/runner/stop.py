"""Stopping a run cleanly on SIGTERM (systemd's stop) or SIGINT (Ctrl-C).

`stopping` installs, in the main thread, a handler for both signals for the length of a
command that applies effects (``rulebridge run``, ``rulebridge store adopt``):

- the **first** signal only asks the run to stop: a flag is set, and the run stops at its
  next checkpoint, where nothing is half done: before the next operation of the apply
  (`engine.sync.apply.apply_plan`'s ``checkpoint``), before the next issue of the issues
  phase, at each record read in the snapshot. The effect in progress is finished and
  recorded; the run is recorded as ``interrupted`` (`rulebridge.runner.nightly`);
- a **second** signal raises `Interrupted` at once, wherever the run is: an effect cut off
  in the middle stays ``in_flight`` in the store and the next run verifies it (the ledger's
  intents come before effects), so nothing is done twice.

`checkpoint` is what the phases call; outside `stopping` (a test, a library caller) it
does nothing, and Ctrl-C raises `KeyboardInterrupt` as usual.

Example::

    with stopping():
        outcome = run_nightly(options, log)   # SIGTERM: outcome.exit_code == 143
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = ["Interrupted", "checkpoint", "requested", "signal_name", "stopping"]

_SIGNALS: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)
_requested: list[int] = []  # the signals received since `stopping` began (main thread only)


class Interrupted(BaseException):
    """The run was stopped by a signal (`signum`); a BaseException so that no ``except
    Exception`` on the way up mistakes it for a failure to record and go on from.

    Attributes:
        signum: the signal received (``signal.SIGTERM`` or ``signal.SIGINT``).

    Example:
        >>> Interrupted(signal.SIGTERM).name
        'SIGTERM'
    """

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal_name(signum)}")
        self.signum = signum

    @property
    def name(self) -> str:
        """The signal's name, e.g. ``"SIGTERM"``."""
        return signal_name(self.signum)


def signal_name(signum: int) -> str:
    """``"SIGTERM"`` for ``signal.SIGTERM`` and so on (the number for an unknown one).

    Example:
        >>> signal_name(signal.SIGINT)
        'SIGINT'
    """
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def requested() -> int | None:
    """The first signal received inside `stopping`, or None when the run may go on."""
    return _requested[0] if _requested else None


def checkpoint() -> None:
    """Raise `Interrupted` when a stop was asked for; otherwise return at once.

    Raises:
        Interrupted: a SIGTERM or SIGINT arrived since `stopping` began.

    Example:
        >>> checkpoint()  # nothing asked: returns
    """
    signum = requested()
    if signum is not None:
        raise Interrupted(signum)


def _handle(signum: int, _frame: FrameType | None) -> None:
    first = not _requested
    _requested.append(signum)
    if not first:
        raise Interrupted(_requested[0])


@contextlib.contextmanager
def stopping() -> Iterator[None]:
    """Handle SIGTERM and SIGINT as the module says while the block runs; the earlier
    handlers come back afterwards. Off the main thread (where Python lets no handler be
    installed) the block runs with the handlers as they are.

    Example::

        with stopping():
            run_nightly(options, log)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    earlier: dict[int, Any] = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    _requested.clear()
    for signum in _SIGNALS:
        signal.signal(signum, _handle)
    try:
        yield
    finally:
        for signum, handler in earlier.items():
            signal.signal(signum, handler)
        _requested.clear()
