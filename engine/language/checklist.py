"""The agency's checklist: what a person must do around a migration that no rule can do.

A ruleset lists tasks under ``checklist:``; each has an id (unique among the ruleset's ids),
the `phase` it belongs to, a one-line summary, an optional longer detail and the
requirement or rule ids it serves. The compiler checks every reference (with a "did you
mean"); reports group the tasks by phase.

```yaml
checklist:
  - id: window
    phase: export-day
    summary: Note every change made in Jupix on the day of the copy.
    detail: Record changes, viewings and diary appointments made that day are re-entered in
      Alto the next day.
    rules: [J-15]
```

Example:
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/jupix-alto/v1.yaml")
    >>> any(task.phase == "export-day" for task in ruleset.checklist)
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["PHASES", "ChecklistTask", "Phase"]

Phase = Literal["before-export", "export-day", "after-go-live"]
PHASES: tuple[Phase, ...] = ("before-export", "export-day", "after-go-live")
"""The phases in the order an agency meets them."""


@dataclass(frozen=True, slots=True)
class ChecklistTask:
    """One task of the checklist, located in the ruleset file.

    Attributes:
        id: the task's id (unique among the ruleset's ids).
        phase: ``before-export``, ``export-day`` or ``after-go-live``.
        summary: one line saying what to do.
        detail: more words on how (empty when none).
        rules: the requirement ids or rule ids the task serves (may be empty).
        line: where the task is declared.
    """

    id: str
    phase: Phase
    summary: str
    detail: str = ""
    rules: tuple[str, ...] = ()
    line: int = 0
