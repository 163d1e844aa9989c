"""A deterministic clock: every reading is one step later than the last."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

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

    def tick(self) -> str:
        """The current time as ISO text, then move the clock on."""
        now = self.now()
        self.ticks += 1
        return now.isoformat()
