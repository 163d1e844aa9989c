"""What a plan case and a migration case share when their run is compared with what the
case expects: the case's records and context, the failures found, the items covered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.language.context import Context
from engine.language.ruleset import CompiledRuleset
from simulator.testing.cases import Case, CaseResult, Failure

__all__ = ["Comparison"]


class Comparison:
    """One case's expectations against one run: subclasses check, `fail` records what was
    not met, `covered` what the met expectations decided, `finish` gives the result."""

    def __init__(
        self,
        case: Case,
        ruleset: CompiledRuleset,
        records: Mapping[str, list[dict[str, Any]]],
        context: Context,
    ) -> None:
        self.case, self.ruleset = case, ruleset
        self.records, self.context = records, context
        self.failures: list[Failure] = []
        self.covered: set[str] = set()

    def fail(self, part: str, what: str, expected: str, actual: str) -> None:
        """An expectation not met, located at the case's line for `part` of ``expect``."""
        self.failures.append(Failure(self.case, self.case.line_of(part), what, expected, actual))

    def finish(self, explanation: tuple[str, ...]) -> CaseResult:
        """The case's result: its failures with `explanation` (what the run did), or, when
        every expectation was met, the items it covered."""
        failed = bool(self.failures)
        return CaseResult(
            self.case,
            tuple(self.failures),
            explanation if failed else (),
            frozenset() if failed else frozenset(self.covered),
        )
