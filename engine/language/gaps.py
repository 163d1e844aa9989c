"""Declared gaps: where the vendors' published contracts do not carry what a rule needs.

A ruleset lists them under ``gaps:``; each names the rules it affects, what is missing and
what the ruleset does instead, and what it reads instead (`Gap.uses`). The compiler checks
every reference; `rulebridge validate` prints each gap as a note under the file's ok line.

Example:
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> gap = next(gap for gap in ruleset.gaps if gap.id == "gap.oid")
    >>> gap.rules, gap.uses
    (('G-02', 'P-07', 'C-03'), ('field', 'alto.inventory.inventoryId'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Gap", "UsesKind"]

UsesKind = Literal["field", "setting", "listing", "none"]


@dataclass(frozen=True, slots=True)
class Gap:
    """One declared gap, located in the ruleset file.

    Attributes:
        id: the gap's id (unique among the ruleset's ids).
        rules: the requirement ids or rule ids it affects.
        missing: what the contract lacks.
        instead: what the ruleset does instead.
        uses: (kind, what): ``("field", "alto.inventory.inventoryId")``,
            ``("setting", name)``, ``("listing", rule id)`` or ``("none", "")``.
        line, column: where the gap is declared.
    """

    id: str
    rules: tuple[str, ...]
    missing: str
    instead: str
    uses: tuple[UsesKind, str]
    line: int = 0
    column: int = 0

    def note(self) -> str:
        """One line for a person: the gap, its rules, what is missing and done instead."""
        kind, what = self.uses
        reads = "Reads nothing instead." if kind == "none" else f"Uses {kind} {what}."
        return (
            f"{self.id} ({', '.join(self.rules)}): missing: {self.missing.rstrip('.')}. "
            f"Instead: {self.instead.rstrip('.')}. {reads}"
        )
