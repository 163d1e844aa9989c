"""A rule: an id from the requirement catalogue, where it sits, and its compiled condition."""

from __future__ import annotations

from dataclasses import dataclass

from engine.language.operators.conditions import Check

__all__ = ["Rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id, where it sits (entity, section, line) and its compiled condition."""

    id: str
    entity: str
    section: str
    summary: str
    line: int
    column: int
    check: Check

    @property
    def text(self) -> str:
        """The condition in words, e.g. ``managementType in [Managed, PartManaged]``."""
        return self.check.text
