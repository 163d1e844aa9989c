"""One issue's operations in progress against Alto: what `engine.issues.apply` and
`engine.issues.adoption` share (the job, its outcomes, lookups, and recording effects).

Example::

    job = Job(result, alto, documents, store, kinds, store.issue_state("I1"))
    record(job, op, state, EffectResult("WO-1", "I1"), "create")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine._failures import Refusal, Verdict, sort_failure
from engine._outcomes import Outcomes
from engine.errors import NotOffered, RulebridgeError
from engine.issues.reconcile import IssueOps, LifecycleOp
from engine.ports import (
    ChargeLookup,
    Charges,
    ChargeTarget,
    DocumentLookup,
    Documents,
    DocumentSource,
    Record,
    TenancyLookup,
    WorksOrderLookup,
    WorksOrders,
)
from engine.store import EffectResult, IssueState, Store

__all__ = [
    "TARGET_WORDS",
    "AltoWriter",
    "ChargeAt",
    "IssueApplyResult",
    "Job",
    "Lookup",
    "ToPerson",
    "Unsent",
    "Unverified",
    "agree",
    "bound",
    "charge_target",
    "charge_where",
    "dead_letter",
    "document_link",
    "failed",
    "left_in_flight",
    "look",
    "lookup_for",
    "mark_failed",
    "record",
    "record_id",
    "text",
    "to_person",
]


@runtime_checkable
class AltoWriter(WorksOrders, Documents, Charges, Protocol):
    """What the applier writes to: works orders, documents and charges.

    `WorksOrderLookup`, `DocumentLookup` and `ChargeLookup` are optional capabilities,
    checked with ``isinstance``.
    """


@dataclass
class IssueApplyResult(Outcomes):
    """What one apply (or adoption) did.

    Attributes:
        counts: per kind (``works_order``, ``document``, ``charge``), per outcome:
            ``create``, ``update``, ``attach``, ``post`` (applied), ``verified`` (found in
            Alto, no write), ``skipped`` (done already), ``dead``, ``failed`` (called again
            next run), ``unknown`` (left in flight, verified next run), ``blocked`` (not
            attempted: what it depends on did not complete), ``deferred`` (an update done
            earlier in the same run; the next run applies it); an adoption counts
            ``adopted`` (found in Alto and recorded), ``absent`` (not in Alto: the next run
            makes it) and ``left`` (an update, left to the next run).
        calls: calls made, by method (``create_works_order``, ``find_charge``, ``fetch``...).
        retries: attempts after an earlier one was cut off or lost.
        dead_letters: ids of the dead letters this apply wrote.
        complete: every operation is done (for a result that is not stale, the issue's
            revision is stored: Alto agrees with it).

    Example:
        >>> IssueApplyResult().applied
        0
    """

    complete: bool = False

    @property
    def applied(self) -> int:
        """Operations whose effect this apply (or adoption) recorded."""
        return self.total("create", "update", "attach", "post", "verified", "adopted")

    def to_json(self) -> dict[str, Any]:
        """The result as JSON (for run reports)."""
        return super().to_json() | {"complete": self.complete}


class ToPerson(Exception):
    """The operation goes to a person: a dead letter with `reason`."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason, self.retryable = reason, retryable


def to_person(op: LifecycleOp, problem: str, fix: str, *, retryable: bool) -> ToPerson:
    """A dead letter's reason: the issue and operation, what is wrong, what to do."""
    what = f"issue {op.issue_id}: {op.op} {op.kind}" + (f" {op.name!r}" if op.name else "")
    retry = "retry it with `rulebridge deadletters --retry ID` (ID: this letter's)"
    return ToPerson(f"{what}: {problem}; {fix}, then {retry}", retryable=retryable)


class Unverified(Exception):
    """Whether the operation landed cannot be told now: it stays in flight."""


class Unsent(Exception):
    """Nothing reached Alto (its document could not be read): called again next run."""


@dataclass
class Job:
    """One issue's operations in progress: the ports, the ledger state, the outcomes."""

    result: IssueOps
    alto: AltoWriter
    documents: DocumentSource
    store: Store
    kinds: Mapping[str, str]
    state: IssueState
    out: IssueApplyResult = field(default_factory=IssueApplyResult)
    undone: set[str] = field(default_factory=set)  # keys not done: their dependents wait
    deferred: bool = False

    def call(self, method: str) -> None:
        """Count one call of `method`."""
        self.out.calls[method] += 1

    def blocked(self, op: LifecycleOp) -> bool:
        """Whether `op` waits for an operation that is not done (its works order); counted."""
        if op.after is not None and (op.after in self.undone or self.state.works_order_id is None):
            self.undone.add(op.idempotency_key)
            self.out.count(op.kind, "blocked")
            return True
        return False


Lookup = Callable[[], Awaitable[Record | None]]


def bound(
    job: Job, method: str, lookup: Callable[..., Awaitable[Record | None]], *args: Any
) -> Lookup:
    """`look` with its arguments bound, to be asked later."""

    async def find() -> Record | None:
        return await look(job, method, lookup, *args)

    return find


async def look(
    job: Job, method: str, lookup: Callable[..., Awaitable[Record | None]], *args: Any
) -> Record | None:
    """Ask a lookup; `NotOffered` when it does not exist, `Unverified` when it failed."""
    job.call(method)
    try:
        return await lookup(*args)
    except NotOffered:
        raise
    except RulebridgeError as exc:
        if sort_failure(exc) is Verdict.STOP:
            raise
        raise Unverified(str(exc)) from exc


def lookup_for(job: Job, op: LifecycleOp, at: ChargeAt | None = None) -> Lookup | None:
    """How to ask Alto for the record `op` makes: the works order whose identity fields
    equal the op's ``target["identity"]`` on its property, the document called so on the
    works order, the charge for the invoice where `at` (or the op's target) says it goes.
    None when the port offers no such lookup."""
    if (op.op, op.kind) == ("create", "works_order"):
        property_id = op.fields.get("propertyId")
        if not isinstance(job.alto, WorksOrderLookup) or property_id is None:
            return None
        identity = dict(op.target.get("identity", {}))
        find_order = job.alto.find_works_order
        return bound(job, "find_works_order", find_order, str(property_id), identity)
    order_id = job.state.works_order_id
    if (op.op, op.kind) == ("attach", "document"):
        if not isinstance(job.alto, DocumentLookup) or order_id is None:
            return None
        linked, name = document_link(op)
        return bound(job, "find_document", job.alto.find_document, linked, order_id, name)
    if (op.op, op.kind) == ("post", "charge"):
        return _charge_lookup(job, op, at)
    return None


def _charge_lookup(job: Job, op: LifecycleOp, at: ChargeAt | None) -> Lookup | None:
    reference = op.fields.get("invoiceReference")
    alto = job.alto
    if not isinstance(alto, ChargeLookup) or reference is None:
        return None

    async def find() -> Record | None:
        where = at or await charge_target(job, op)
        return await look(
            job, "find_charge", alto.find_charge, where.target, where.target_id, str(reference)
        )

    return find


def document_link(op: LifecycleOp) -> tuple[str, str]:
    """The record type a document is linked to in Alto, and the document's name."""
    return str(op.fields.get("linkedType", "WorkOrder")), str(op.fields.get("name", op.name))


TARGET_WORDS: dict[ChargeTarget, str] = {"tenancies": "tenancy", "inventory": "property"}
_POSTS: dict[str, ChargeTarget] = {word: target for target, word in TARGET_WORDS.items()}
"""A route's ``post`` (the ruleset's word) -> the `Charges` port's target."""


@dataclass(frozen=True, slots=True)
class ChargeAt:
    """Where a charge is posted: the port's target, its id, and the form fields the
    target adds (a tenancy's tenant id in the route's tenant field)."""

    target: ChargeTarget
    target_id: str
    fields: Mapping[str, Any] = field(default_factory=dict)


async def charge_target(job: Job, op: LifecycleOp) -> ChargeAt:
    """Where the ruleset's route sends the charge (``op.target``, CH-02).

    ``post: property`` - the property the target names; ``post: tenancy`` - the tenancy at
    that property holding the target's tenant contact (`TenancyLookup`), its tenant id in
    the target's tenant field.

    Raises:
        ToPerson: the target names no property or route, Alto offers no tenancy lookup, or
            no tenancy at the property holds the contact (retryable: fixed in Alto, the
            next run finds it).
    """
    post = _POSTS.get(str(op.target.get("post")))
    property_id = text(op.target.get("propertyId"))
    if post is None or not property_id:
        problem = f"the charge names no route or property to post to (target {dict(op.target)})"
        raise to_person(op, problem, "check the works order's property in Alto", retryable=True)
    if post == "inventory":
        return ChargeAt(post, property_id)
    return await _tenancy(job, op, property_id)


async def _tenancy(job: Job, op: LifecycleOp, property_id: str) -> ChargeAt:
    contact = str(op.target.get("tenant"))
    tenant_field = str(op.target.get("tenantField"))
    if not isinstance(job.alto, TenancyLookup):
        problem = "the charge goes to a tenancy and Alto's adapter offers no tenancy lookup"
        raise to_person(op, problem, "wire an Alto writer with find_tenancy", retryable=True)
    try:
        found = await look(job, "find_tenancy", job.alto.find_tenancy, property_id, contact)
    except NotOffered as exc:
        problem = f"Alto offers no tenancy lookup to find the tenancy ({exc})"
        raise to_person(op, problem, "post the charge by hand", retryable=False) from exc
    except Unverified as exc:
        raise Unsent(f"the tenancy could not be looked up ({exc})") from exc
    if found is None or not text(found.get("tenancyId")):
        problem = f"no tenancy at property {property_id} holds contact {contact}"
        fix = (
            f"check in Alto that contact {contact} is a tenant on a tenancy at property "
            f"{property_id} (and in Fixflo that the issue's tenant is that contact)"
        )
        raise to_person(op, problem, fix, retryable=True)
    fields = {tenant_field: found.get("tenantId")}
    return ChargeAt("tenancies", str(found["tenancyId"]), fields)


def charge_where(op: LifecycleOp) -> str:
    """Where a person looks for the op's charge in Alto, in words (no lookup asked)."""
    reference = op.fields.get("invoiceReference")
    property_id = op.target.get("propertyId")
    if op.target.get("post") == "tenancy":
        place = f"the tenancy at property {property_id} holding contact {op.target.get('tenant')}"
    else:
        place = f"property {property_id}"
    return f"{place} holds a charge for invoice {reference!r}"


def record_id(record: Record) -> str | None:
    """The id Alto gave a record (``id`` or ``Id``), as text."""
    return text(record.get("id", record.get("Id")))


def text(value: Any) -> str | None:
    """`value` as text; None stays None."""
    return None if value is None else str(value)


# Recording -------------------------------------------------------------------------------


def record(
    job: Job, op: LifecycleOp, state: IssueState, effect: EffectResult, outcome: str
) -> None:
    """The effect and the issue's ledger state, all or nothing."""
    with job.store.transaction():
        job.store.record_effect(op, effect)
        job.store.put_issue_state(state)
    job.state = state
    job.out.count(op.kind, outcome)


def agree(job: Job) -> None:
    """Every operation is done: Alto agrees with this revision of the issue."""
    revision = job.result.revision
    if revision is not None and job.state.revision != revision:
        job.state = dataclasses.replace(job.state, revision=revision)
        job.store.put_issue_state(job.state)


def failed(job: Job, op: LifecycleOp, exc: RulebridgeError) -> None:
    """Sort a failed call by its type (`engine._failures`) and record what follows."""
    match sort_failure(exc):
        case Verdict.STOP:
            raise exc  # left in flight: verified, not guessed, when the credentials are fixed
        case Refusal() as refusal:
            what = f"issue {op.issue_id}: {op.op} {op.kind} {op.name or ''}".rstrip()
            reason = f"{what}: Alto {refusal.answer('refused it')}: {refusal.message}"
            dead_letter(job, op, reason, retryable=refusal.retryable, error=str(exc))
        case Verdict.FAILED:
            mark_failed(job, op, str(exc))  # answered, applied nothing: call again next run
        case Verdict.UNKNOWN:
            left_in_flight(job, op)


def mark_failed(job: Job, op: LifecycleOp, error: str) -> None:
    """Nothing was applied: ``failed``, called again next run."""
    job.store.mark_failed(op, error)
    job.undone.add(op.idempotency_key)
    job.out.count(op.kind, "failed")


def left_in_flight(job: Job, op: LifecycleOp) -> None:
    """The outcome is unknown: left ``in_flight``, verified next run."""
    job.undone.add(op.idempotency_key)
    job.out.count(op.kind, "unknown")


def dead_letter(
    job: Job, op: LifecycleOp, reason: str, *, retryable: bool, error: str | None = None
) -> None:
    """Give the operation to a person with `reason`."""
    letter = job.store.dead_letter(op, reason, error=error, retryable=retryable)
    job.undone.add(op.idempotency_key)
    job.out.dead_letters.append(letter.id)
    job.out.count(op.kind, "dead")
