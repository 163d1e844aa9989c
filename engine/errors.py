"""The exceptions the engine raises.

Every failure a user can cause is a subclass of `RulebridgeError`, so the command line can
turn any of them into a clean message and an exit code::

    RulebridgeError
    ├── RulesetError            one located problem in a ruleset or settings file
    │                           (path, line, column, code, message)
    ├── RulesetErrors           every RulesetError of a load, sorted
    ├── EvaluationError         a compiled ruleset was asked something it cannot answer
    │                           (unknown entity, missing `as_of` for a date rule)
    └── RecordError             one bad source record (file, position, record id, message)
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "EvaluationError",
    "RecordError",
    "RulebridgeError",
    "RulesetError",
    "RulesetErrors",
]


class RulebridgeError(Exception):
    """Root of every error rulebridge raises on purpose."""


@dataclass(frozen=True, order=True)
class RulesetError(RulebridgeError):
    """One problem in a ruleset or settings file, at a line and column (both 1-based).

    Prints as ``path:line:column: code: message``. A problem with the whole file (empty,
    too large, not text) is placed at line 1, column 1.
    """

    path: str
    line: int
    column: int
    code: str = field(compare=True)
    message: str = field(compare=True)

    def __str__(self) -> str:
        message = " ".join(self.message.split())  # one error, one line, whatever it quotes
        return f"{self.path}:{self.line}:{self.column}: {self.code}: {message}"


class RulesetErrors(RulebridgeError):
    """All the problems found while loading one or more files, sorted by place."""

    def __init__(self, errors: list[RulesetError]) -> None:
        self.errors = sorted(set(errors))
        super().__init__("\n".join(str(error) for error in self.errors))


class EvaluationError(RulebridgeError, ValueError):
    """A compiled ruleset was used in a way its declaration does not allow."""


@dataclass(frozen=True)
class RecordError(RulebridgeError):
    """One bad record in a snapshot or export: where it is, which record, what is wrong.

    `where` is ``file:line`` for line-based files or ``file#collection[index]`` for JSON.
    """

    where: str
    record_id: str | None
    message: str

    def __str__(self) -> str:
        record = f" (record {self.record_id})" if self.record_id else ""
        return f"{self.where}{record}: {self.message}"
