"""The typed records the state store reads and writes (see `engine.store._store`).

Example:
    >>> IssueState("FF-1", documents=frozenset({"invoice"})).holding().documents
    frozenset({'invoice'})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from engine.canonical import canonical_json
from engine.explain import Because
from engine.ports import AltoHolding

__all__ = [
    "DeadLetter",
    "EffectResult",
    "IdMapEntry",
    "Intent",
    "IssueState",
    "OpStatus",
    "Run",
    "RunKind",
    "RunStatus",
    "StoredOperation",
]

OpStatus = Literal["planned", "in_flight", "done", "failed", "dead"]
RunStatus = Literal["running", "succeeded", "failed", "interrupted"]
RunKind = Literal["night", "live"]
"""``night``: a nightly run (and ``apply``, ``adopt``); ``live``: the webhook server's run."""

# Operations whose effect must happen once per key, ever (a second create or charge is a
# duplicate); any other operation (update, archive, link) sets a state and may recur in a
# later run when the world has moved back.
ONCE_OPS = frozenset({"create", "attach", "post"})


class StoredOperation(Protocol):
    """What the store needs of an operation: `engine.sync.plan.Operation` and
    `engine.issues.reconcile.LifecycleOp` both fit."""

    @property
    def op(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def idempotency_key(self) -> str: ...
    @property
    def because(self) -> tuple[Because, ...]: ...
    def to_json(self) -> dict[str, Any]: ...


def dumps(value: Any) -> str:
    """Canonical JSON text (sorted keys, no spaces) for the store's TEXT columns."""
    return canonical_json(value)


@dataclass(frozen=True, slots=True)
class EffectResult:
    """What an effect produced, kept for reports and for resuming after a crash.

    Only identifiers: the record the target returned is not stored (it may carry personal
    data the plan did not).
    """

    target_id: str | None = None
    target_ref: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The result as JSON."""
        return {"target_id": self.target_id, "target_ref": self.target_ref}


@dataclass(frozen=True, slots=True)
class Intent:
    """The answer to `Store.record_intent`: what the caller must do next.

    Attributes:
        action: ``call`` make the call; ``verify`` an earlier attempt's outcome is unknown
            (a crash between intent and effect): look for an existing record carrying the
            reference before calling; ``skip`` the effect is already recorded (`result`);
            ``dead`` the operation is dead-lettered: do not call it until it is retried.
        attempts: attempts so far, this one included (0 for ``skip``).
        result: the recorded result when ``skip``.
    """

    key: str
    action: Literal["call", "verify", "skip", "dead"]
    attempts: int
    result: EffectResult | None = None


@dataclass(frozen=True, slots=True)
class Run:
    """One run as the store records it (`Store.runs`, `Store.run`); `night` is the
    agency-night a durable engine started it for (None: a run of its own)."""

    id: int
    started: str
    finished: str | None
    status: RunStatus
    ruleset_name: str
    ruleset_version: str
    ruleset_hash: str
    dry_run: bool
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    report: Mapping[str, Any] | None = None
    kind: RunKind = "night"
    night: str | None = None
    """The agency-night a durable engine started the run for (`Store.run_of_night`)."""


@dataclass(frozen=True, slots=True)
class IdMapEntry:
    """One source record's counterpart in the target, and the hash last written."""

    entity: str
    source_id: str
    target_id: str | None
    target_ref: str | None = None
    content_hash: str | None = None
    last_run: int | None = None


@dataclass(frozen=True, slots=True)
class IssueState:
    """What Alto holds for one Fixflo issue, as far as the runner's own effects tell."""

    issue_id: str
    works_order_id: str | None = None
    works_order: Mapping[str, Any] | None = None
    documents: frozenset[str] = frozenset()
    charges: frozenset[str] = frozenset()
    revision: Any = None
    last_run: int | None = None

    def holding(self) -> AltoHolding:
        """The state in the form `engine.issues.reconcile.reconcile` takes."""
        return AltoHolding(self.works_order, self.documents, self.charges, self.revision)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An operation given up on, with why; `retryable` says whether retrying may help.

    A letter is open until a person either retries it (`retried`, when) or resolves it by
    hand (`resolved`, when, and their note, `resolution`).
    """

    id: int
    idempotency_key: str
    run_id: int
    operation: Mapping[str, Any]
    reason: str
    attempts: int
    last_error: str | None
    retryable: bool
    created: str
    retried: str | None = None
    resolved: str | None = None
    resolution: str | None = None
