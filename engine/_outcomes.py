"""What applying operations did: outcomes per kind, calls per method, retries, dead letters.

Shared by `engine.sync.apply.ApplyResult` (reference data) and
`engine.issues.apply.IssueApplyResult` (one issue's lifecycle effects).

Example:
    >>> done = Outcomes()
    >>> done.count("property", "create")
    >>> done.total("create", "update")
    1
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outcomes"]


@dataclass
class Outcomes:
    """Counts of outcomes per kind of operation, and what it took to reach them."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    dead_letters: list[int] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> None:
        """Add one `outcome` for operations of `kind`."""
        self.counts.setdefault(kind, Counter())[outcome] += 1

    def total(self, *outcomes: str) -> int:
        """How many operations ended in any of `outcomes`."""
        return sum(counter[name] for counter in self.counts.values() for name in outcomes)

    @property
    def dead_lettered(self) -> int:
        """Operations given up on (dead letters written)."""
        return len(self.dead_letters)

    def to_json(self) -> dict[str, Any]:
        """The outcomes as JSON (for ``--format json`` and run reports)."""
        return {
            "counts": {kind: dict(counter) for kind, counter in self.counts.items()},
            "calls": dict(self.calls),
            "retries": self.retries,
            "dead_letters": list(self.dead_letters),
        }
