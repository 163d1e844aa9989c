"""Level-triggered reconcile of one Fixflo issue into Alto (DESIGN.md section 2).

A pure function of (compiled ruleset, the issue as it is now, what Alto holds for it): the
ruleset's lifecycle says what Alto must hold at the issue's status; the operations close the
difference. Whatever events were skipped, repeated or delivered out of order, the same issue
gives the same Alto state: a works order is created once (then updated), each document is
attached once, each charge is posted once, and a snapshot older than the one Alto last saw
changes nothing.

Example::

    result = reconcile(ruleset, instructed_issue, AltoHolding())
    [(op.op, op.kind) for op in result.operations]  # [('create', 'works_order')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import EvaluationError
from engine.explain import Because
from engine.language.context import Context
from engine.language.lifecycle import Fields, Lifecycle, StatusSpec
from engine.language.operators.case import CaseValue
from engine.language.paths import set_path
from engine.language.rule import Rule
from engine.language.ruleset import CompiledRuleset
from engine.ports import AltoHolding
from engine.sync.plan import idempotency_key

__all__ = ["IssueOps", "LifecycleOp", "reconcile"]


@dataclass(frozen=True, slots=True)
class LifecycleOp:
    """One change to Alto: create or update the works order, attach a document, post a charge.

    `after` is the idempotency key of the operation this one depends on (a charge is linked
    to its works order, W-10: the applier fills the field ``target["link"]`` names with the
    works order's id). `target` says where the operation goes, as the ruleset decided (JSON):

    - create works_order: ``{"identity": {field: value, ...}}`` (``works_order.identity``);
    - attach document: ``{"from": "IssueReport" | a part such as "CompletionDocs"}``;
    - post charge: ``{"post": "tenancy" | "property", "propertyId": ..., "tenant": ...,
      "tenantField": ..., "link": ..., "invoice": {"from": ..., "name": ...}, "route": ...}``.
    """

    op: str
    kind: str
    issue_id: str
    fields: Mapping[str, Any]
    idempotency_key: str
    because: tuple[Because, ...]
    after: str | None = None
    name: str | None = None
    target: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The operation as JSON, like a plan's operations."""
        return {
            "op": self.op,
            "kind": self.kind,
            "issue_id": self.issue_id,
            "fields": dict(self.fields),
            "idempotency_key": self.idempotency_key,
            "because": [item.to_json() for item in self.because],
            "after": self.after,
            "name": self.name,
            "target": dict(self.target),
        }


@dataclass(frozen=True, slots=True)
class IssueOps:
    """The outcome for one issue: operations, warnings and the rules that fired."""

    issue_id: str
    status: str | None
    revision: Any
    operations: tuple[LifecycleOp, ...] = ()
    warnings: tuple[Because, ...] = ()
    fired: tuple[Because, ...] = ()
    stale: bool = False


@dataclass
class _Run:
    lifecycle: Lifecycle
    issue: Mapping[str, Any]
    held: AltoHolding
    context: Context
    issue_id: str
    ops: list[LifecycleOp] = field(default_factory=list)
    warnings: list[Because] = field(default_factory=list)
    fired: list[Because] = field(default_factory=list)


def reconcile(ruleset: CompiledRuleset, issue: Mapping[str, Any], held: AltoHolding) -> IssueOps:
    """The operations that make Alto agree with `issue`, each with its reasons.

    Raises:
        EvaluationError: the ruleset has no lifecycle, or the issue's status is not declared.
    """
    lifecycle = ruleset.lifecycle
    if lifecycle is None:
        raise EvaluationError(f"ruleset {ruleset.name} declares no 'lifecycle:'")
    status = lifecycle.status_of(issue)
    spec = lifecycle.statuses.get(status or "")
    if spec is None:
        raise EvaluationError(f"issue status {status!r} is not declared in the lifecycle")
    key = lifecycle.read_key(issue)
    revision = lifecycle.read_revision(issue) if lifecycle.read_revision else None
    run = _Run(lifecycle, issue, held, ruleset.context(), str(key))
    if _stale(revision, held.revision):
        return _ignored(run, spec, revision)
    run.fired.append(Because(spec.id, lifecycle.status_field, status, _holds_text(spec), True))
    _warn(run, spec)
    works_key = _works_order(run, spec)
    if works_key is not None:
        _documents(run, spec, works_key)
        _charge(run, spec, works_key)
    return IssueOps(
        run.issue_id,
        status,
        revision,
        tuple(run.ops),
        tuple(run.warnings),
        tuple(run.fired),
    )


def _ignored(run: _Run, spec: StatusSpec, revision: Any) -> IssueOps:
    """A snapshot older than the one Alto agrees with: no operations, and why."""
    seen = run.held.revision
    field_name = run.lifecycle.revision_field or "revision"
    because = Because(
        spec.id, field_name, revision, f">= {seen!r}, the revision Alto last agreed with", False
    )
    return IssueOps(run.issue_id, spec.name, seen, fired=(because,), stale=True)


def _holds_text(spec: StatusSpec) -> str:
    """What the status asks of Alto, in words (from the ruleset, not from code)."""
    if spec.works_order is None:
        return "so Alto holds no works order"
    parts = [f"so Alto holds a works order at {spec.works_order}"]
    if spec.set:
        parts.append(f"with {', '.join(name for name, _ in spec.set)} copied")
    if spec.attach:
        parts.append(f"{', '.join(spec.attach)} attached")
    if spec.charge:
        parts.append(f"the {spec.charge} charge posted")
    return "; ".join(parts)


def _stale(revision: Any, seen: Any) -> bool:
    try:
        return revision is not None and seen is not None and revision < seen
    except TypeError:
        return False


def _warn(run: _Run, spec: StatusSpec) -> None:
    for warning in run.lifecycle.warnings:
        if spec.name in warning.at:
            held, because = warning.check.explain(run.issue, run.context)
            if held:
                run.warnings.extend(_renamed(because, warning.id))


def _renamed(because: list[Because], rule: str) -> list[Because]:
    return [Because(rule, item.field, item.value, item.expected, item.held) for item in because]


def _holds(run: _Run, rules: tuple[Rule, ...]) -> tuple[bool, list[Because]]:
    reasons: list[Because] = []
    for rule in rules:
        held, because = rule.check.explain(run.issue, run.context)
        reasons.extend(_renamed(because, rule.id))
        if not held:
            return False, reasons
    return True, reasons


def _mapped(run: _Run, fields: Fields) -> dict[str, Any]:
    """The mapped fields, a dotted name nested (``reporterDetails.type``); a ``case`` branch
    with an id that decides one is named in `fired`."""
    mapped: dict[str, Any] = {}
    for name, value in fields:
        if isinstance(value, CaseValue):
            found, because = value.explain(run.issue, run.context)
            if because is not None:
                run.fired.append(because)
        else:
            found = value.get(run.issue, run.context)
        set_path(mapped, tuple(name.split(".")), found)
    return mapped


def _works_order(run: _Run, spec: StatusSpec) -> str | None:
    """Create or update the works order; its idempotency key when one exists or is created."""
    key = idempotency_key("works_order", run.issue_id)
    held = run.held.works_order
    if spec.works_order is None:
        return key if held is not None else None
    ok, reasons = _holds(run, run.lifecycle.works_order_require)
    if not ok:
        run.fired.extend(reasons)  # e.g. closed without a job: nothing to hold, no warning
        return key if held is not None else None
    wanted = _mapped(run, run.lifecycle.works_order_fields) | _mapped(run, spec.set)
    wanted["status"] = spec.works_order
    because = (run.fired[0], *reasons)
    run.fired.extend(reasons)
    if held is None:
        run.ops.append(LifecycleOp("create", "works_order", run.issue_id, wanted, key, because))
        return key
    if run.lifecycle.rank(held.get("status")) > run.lifecycle.rank(spec.works_order):
        wanted.pop("status")  # Alto is further on already: never move a works order back
    changed = {name: value for name, value in wanted.items() if held.get(name) != value}
    if changed:
        run.ops.append(LifecycleOp("update", "works_order", run.issue_id, changed, key, because))
    return key


def _documents(run: _Run, spec: StatusSpec, works_key: str) -> None:
    for name in spec.attach:
        attachment = run.lifecycle.attachments[name]
        for document in attachment.documents(run.issue, run.context):
            if document in run.held.documents:
                continue
            because = Because(attachment.id, "document", document, attachment.summary, True)
            run.ops.append(
                LifecycleOp(
                    "attach",
                    "document",
                    run.issue_id,
                    {"name": document, "linkedType": "WorkOrder"},
                    idempotency_key("document", run.issue_id, document),
                    (because,),
                    after=works_key,
                    name=document,
                )
            )


def _charge(run: _Run, spec: StatusSpec, works_key: str) -> None:
    if spec.charge is None or spec.charge in run.held.charges:
        return
    policy = run.lifecycle.charges[spec.charge]
    ok, reasons = _holds(run, policy.require)
    if not ok:
        failed = reasons[-1]
        run.warnings.append(
            Because(
                failed.rule,
                failed.field,
                failed.value,
                f"{failed.expected}: the {spec.charge} charge cannot be sent",
                False,
            )
        )
        return
    fields = _mapped(run, policy.fields)
    run.fired.extend(reasons)
    run.ops.append(
        LifecycleOp(
            "post",
            "charge",
            run.issue_id,
            fields,
            idempotency_key("charge", run.issue_id, spec.charge),
            tuple(reasons),
            after=works_key,
            name=spec.charge,
        )
    )
