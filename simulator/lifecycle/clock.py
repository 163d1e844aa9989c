"""A deterministic clock: every reading is one step later than the last."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

__all__ = ["Clock"]


@dataclass
class Clock:
    """Starts at `start` and moves on by `step` at each `tick`.

    Example:
        >>> clock = Clock(datetime(2026, 11, 2, 9, 0))
        >>> clock.tick(), clock.tick()
        ('2026-11-02T09:00:00', '2026-11-02T10:00:00')
    """

    start: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 9, 0))
    step: timedelta = timedelta(hours=1)
    ticks: int = 0

    def now(self) -> datetime:
        """The current time (does not move the clock)."""
        return self.start + self.step * self.ticks

    def text(self) -> str:
        """The current time as ISO text (``now().isoformat()``; does not move the clock).

        Example:
            >>> clock = Clock(datetime(2026, 11, 2, 9, 0), ticks=2)
            >>> clock.text() == clock.now().isoformat() == "2026-11-02T11:00:00"
            True
        """
        if type(self).now is not Clock.now:  # a clock that reads the time its own way
            return self.now().isoformat()
        return _iso(self.start, self.step, self.ticks)

    def tick(self) -> str:
        """The current time as ISO text, then move the clock on."""
        now = self.text()
        self.ticks += 1
        return now


@lru_cache(maxsize=4096)
def _iso(start: datetime, step: timedelta, ticks: int) -> str:
    """`Clock.now` as text, remembered (an explorer reads the same few instants again and
    again)."""
    return (start + step * ticks).isoformat()
