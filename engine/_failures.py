"""What a failed call through a port means for the operation: one sorting for both appliers.

`engine.sync.apply` (reference data to Fixflo) and `engine.issues.apply` (an issue's works
order, documents and charges to Alto) sort a port's failure by its type alone
(`engine.errors`), never by a status, a flag or a class name::

    CredentialsRefused     STOP     raised: every later call would be refused the same way
    OutcomeUnknown         UNKNOWN  left in flight: the next apply verifies it
    RecordRefused          Refusal  a dead letter for a person (retryable after a 404)
    NotOffered             Refusal
    Retryable              FAILED   applied nothing: called again by the next apply
    any other failure      UNKNOWN  it says nothing, so it is read the safe way

One status overrides the type: an answer that says the system could not take the call
*now* (408 Request Timeout, 423 Locked, 425 Too Early, 429 Too Many Requests, any 5xx) is
never a refusal of the record, whatever class carried it (an adapter maps the 4xx it does
not name to a refusal): FAILED, called again by the next apply, never a dead letter. A 409
is a refusal: both vendors' contracts use it for a duplicate or a conflict a person must
resolve (Alto's POST /contacts and owner link; Fixflo's notes). docs/store.md has the
whole table.

Example:
    >>> sort_failure(CredentialsRefused("401", status=401))
    <Verdict.STOP: 'stop'>
    >>> sort_failure(RecordRefused("Unprocessable", status=422)).answer("refused it")
    'answered 422'
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from engine.errors import (
    CredentialsRefused,
    NotOffered,
    OutcomeUnknown,
    PortError,
    RecordRefused,
    Retryable,
)

__all__ = ["TRANSIENT_STATUSES", "Refusal", "Verdict", "sort_failure", "transient"]


class Verdict(enum.Enum):
    """What becomes of an operation whose call failed, unless the system refused it."""

    STOP = "stop"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Refusal:
    """The system refused the operation: what a dead letter says about it.

    Attributes:
        status: the status of the system's answer (200 when its body listed errors).
        message: the system's reason, in a line.
        retryable: whether a person may retry the letter as it is: a 404 says what the
            record refers to is missing (a tenant not created yet), and it may be there by
            then. Anything else needs the record fixed first.
    """

    status: int | None
    message: str
    retryable: bool

    def answer(self, refused: str) -> str:
        """``answered 422``; `refused` when the refusal came in a successful answer."""
        status = self.status
        return f"answered {status}" if status is not None and status >= 300 else refused


# Answers that say "not now" rather than "not this record" (RFC 9110, RFC 6585, RFC 8470).
TRANSIENT_STATUSES = frozenset({408, 423, 425, 429})


def transient(status: int | None) -> bool:
    """Whether an answer of `status` says the system could not take the call now.

    Example:
        >>> transient(503), transient(429), transient(409), transient(None)
        (True, True, False, False)
    """
    return status is not None and (status in TRANSIENT_STATUSES or 500 <= status <= 599)


def sort_failure(exc: Exception) -> Verdict | Refusal:
    """The verdict of an operation whose call raised `exc` (the module docstring's table)."""
    if isinstance(exc, CredentialsRefused):
        return Verdict.STOP
    if isinstance(exc, OutcomeUnknown):
        return Verdict.UNKNOWN
    if isinstance(exc, RecordRefused | NotOffered):
        return Verdict.FAILED if transient(exc.status) else _refusal(exc)
    if isinstance(exc, Retryable):
        return Verdict.FAILED
    return Verdict.UNKNOWN


def _refusal(exc: PortError) -> Refusal:
    message = exc.message or type(exc).__name__
    return Refusal(exc.status, message, retryable=exc.status == 404)
