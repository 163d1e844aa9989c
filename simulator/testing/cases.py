"""The model of a ruleset test file: its cases, what each expects, and what running one gave.

A case's kind follows from its keys (`CaseKind`): ``entity`` + ``record`` is a decision,
``records`` a plan (sync ruleset) or a migration (migration ruleset), ``scenario`` or
``steps`` a lifecycle. `Case.expect` holds the expectation as written (checked when the file
was loaded), `Case.lines` where each of its parts was written, so a failure names its line.

Example:
    >>> case = Case("a sale is skipped", "decision", "t.yaml", 4, entity="property",
    ...             record={"inventoryId": "1"}, expect={"skipped_by": "P-01"})
    >>> Failure(case, 5, "skipped_by", "'P-01'", "'P-02'").message()
    "t.yaml:5: case a sale is skipped: expected skipped_by 'P-01', got 'P-02'"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Literal

__all__ = ["Case", "CaseKind", "CaseResult", "Failure", "TestFile"]

CaseKind = Literal["decision", "plan", "migration", "lifecycle"]

Records = Mapping[str, list[Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class Case:
    """One test case, checked against its ruleset when the file was loaded.

    Attributes:
        name: what it shows, in plain words.
        kind: decision, plan, migration or lifecycle.
        file: the test file it was written in.
        line: the line of its ``name:``.
        requirements: the ids it says it checks.
        settings: the agency settings it runs with (the file's, then its own).
        as_of: the run date (its own, else the file's), or None.
        entity, record, related: a decision case's entity, record and related records.
        records: a plan or migration case's records by source or target name.
        scenario: a lifecycle case's scenario file, or None.
        steps: a lifecycle case's steps (``simulator.lifecycle`` Steps), read from the
            scenario file or written inline.
        expect: the expectation as written (decision, plan and migration cases).
        lines: where each part was written: ``expect.KEY`` and ``expect.KEY.N`` for the
            N-th item of a list.
    """

    name: str
    kind: CaseKind
    file: str
    line: int
    requirements: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    as_of: date | None = None
    entity: str | None = None
    record: Mapping[str, Any] | None = None
    related: Records = field(default_factory=dict)
    records: Records = field(default_factory=dict)
    scenario: Path | None = None
    steps: tuple[Any, ...] = ()
    expect: Mapping[str, Any] = field(default_factory=dict)
    lines: Mapping[str, int] = field(default_factory=dict)

    def line_of(self, part: str) -> int:
        """The line where `part` (e.g. ``expect.fields``) was written, else the case's."""
        while part:
            if part in self.lines:
                return self.lines[part]
            part = part.rpartition(".")[0]
        return self.line


@dataclass(frozen=True, slots=True)
class TestFile:
    """A loaded test file: the ruleset it tests and its cases, in file order."""

    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name

    path: str
    ruleset_path: Path
    summary: str
    cases: tuple[Case, ...]


@dataclass(frozen=True, slots=True)
class Failure:
    """One expectation not met: what was expected and what the ruleset did (as text).
    `file` is where the expectation is written when not in the case's file (a scenario's
    ``expect:`` block)."""

    case: Case
    line: int
    what: str
    expected: str
    actual: str
    file: str | None = None

    def message(self) -> str:
        """``file:line: case NAME: expected WHAT X, got Y``."""
        return (
            f"{self.file or self.case.file}:{self.line}: case {self.case.name}: "
            f"expected {' '.join(filter(None, (self.what, self.expected)))}, got {self.actual}"
        )

    def to_json(self) -> dict[str, Any]:
        """``{line, what, expected, actual, message}``."""
        return {
            "file": self.file or self.case.file,
            "line": self.line,
            "what": self.what,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message(),
        }


@dataclass(frozen=True, slots=True)
class CaseResult:
    """What running one case gave.

    Attributes:
        case: the case run.
        failures: every expectation not met (none: it passed).
        explanation: the decision's ``because`` lines (each also in words) or the step
            reports, shown under a failure.
        covered: the coverage items (``kind:id``) its passing expectations decided.
        error: why the case could not run at all (e.g. a rule needs an ``as_of``), or None.
        seconds: how long it took to run (JUnit's ``time``).
    """

    case: Case
    failures: tuple[Failure, ...] = ()
    explanation: tuple[str, ...] = ()
    covered: frozenset[str] = frozenset()
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """True when every expectation was met and nothing went wrong."""
        return not self.failures and self.error is None

    def messages(self) -> list[str]:
        """One ``file:line: case NAME: ...`` line per failure (or the error)."""
        if self.error is not None:
            case = self.case
            return [f"{case.file}:{case.line}: case {case.name}: error: {self.error}"]
        return [failure.message() for failure in self.failures]

    def to_json(self) -> dict[str, Any]:
        """``{name, kind, file, line, requirements, passed, failures, error, explanation}``."""
        case = self.case
        return {
            "name": case.name,
            "kind": case.kind,
            "file": case.file,
            "line": case.line,
            "requirements": list(case.requirements),
            "passed": self.passed,
            "failures": [failure.to_json() for failure in self.failures],
            "error": self.error,
            "explanation": list(self.explanation) if not self.passed else [],
        }
