"""The exceptions the engine raises, and those its ports may raise.

Every failure a user can cause is a subclass of `RulebridgeError`, so the command line can
turn any of them into a clean message and an exit code::

    RulebridgeError
    ├── RulesetError            one located problem in a ruleset or settings file
    │                           (path, line, column, code, message)
    ├── RulesetErrors           every RulesetError of a load, sorted
    ├── EvaluationError         a compiled ruleset was asked something it cannot answer
    │                           (unknown entity, missing `as_of` for a date rule)
    ├── RecordError             one bad source record (file, position, record id, message)
    └── PortError               a call through a port (`engine.ports`) failed (message, status)
        ├── CredentialsRefused  the system refused the credentials: every call would fail
        ├── RecordRefused       the system refused this record; sending it again as it is
        │                       will not help (status: 4xx, or 200 whose body lists errors)
        ├── NotOffered          the system offers no such lookup or endpoint (404/405)
        ├── Retryable           a transient failure that applied nothing (429, 5xx) or no
        │                       answer (timeout, connection): worth trying again later
        └── OutcomeUnknown      the call may or may not have taken effect: its answer was
                                lost (a timeout or a dropped connection is both this and
                                Retryable)

Adapters raise subclasses of these (`adapters.errors`), so the engine sorts a failure by
its type and never imports an adapter. A `PortError` of none of the five kinds tells
nothing: the engine reads it as `OutcomeUnknown`, the safe reading for a write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CredentialsRefused",
    "EvaluationError",
    "NotOffered",
    "OutcomeUnknown",
    "PortError",
    "RecordError",
    "RecordRefused",
    "Retryable",
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
        return f"{self.path}:{self.line}:{self.column}: {self.code}: {self.one_line}"

    @property
    def one_line(self) -> str:
        """The message on one line, whatever it quotes."""
        return " ".join(self.message.split())

    def to_json(self) -> dict[str, Any]:
        """``{path, line, column, code, message}`` (the message on one line), for tools."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message": self.one_line,
        }


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


class PortError(RulebridgeError):
    """A call through one of the engine's ports failed.

    Args:
        message: what failed, in one line.
        status: the HTTP status of the system's answer, when there was one.

    Example:
        >>> str(RecordRefused("supplierContactId is required", status=422))
        'supplierContactId is required'
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.message, self.status = message, status
        super().__init__(str(self))

    def __str__(self) -> str:
        return self.message


class CredentialsRefused(PortError):
    """The system refused the credentials (401) or the account they name (403).

    Nothing more is tried: every later call would be refused the same way.
    """


class RecordRefused(PortError):
    """The system refused this record (a 4xx, or a 200 whose body lists errors).

    Sending it again as it is will not help: it goes to a person. A 404 says what the record
    refers to is missing, which may be there by the time the person retries it.
    """


class NotOffered(PortError):
    """The system offers no such lookup or endpoint (404 or 405 on an optional one).

    The caller must not guess what the lookup would have said.
    """


class Retryable(PortError):
    """A transient failure: the system was unreachable, or answered 429 or 5xx.

    Worth trying again later. When it was answered, nothing was applied; when it was not
    (a timeout, a dropped connection), the error is an `OutcomeUnknown` too.
    """


class OutcomeUnknown(PortError):
    """The call may or may not have taken effect: its answer was lost or cannot be read.

    A write that is not idempotent must be looked up before it is sent again.
    """
