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
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from engine.errors import EvaluationError
from engine.explain import Because
from engine.language.context import Context
from engine.language.lifecycle import (
    ChargePolicy,
    ChargeRoute,
    Fields,
    Lifecycle,
    StatusCase,
    StatusSpec,
)
from engine.language.operators.case import CaseValue
from engine.language.operators.value import is_empty
from engine.language.paths import compile_path, set_path
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
    blocked: dict[str, str] = field(default_factory=dict)  # works_order/charge -> rule id


def reconcile(
    ruleset: CompiledRuleset,
    issue: Mapping[str, Any],
    held: AltoHolding,
    context: Context | None = None,
) -> IssueOps:
    """The operations that make Alto agree with `issue`, each with its reasons.

    `context`: the ruleset's evaluation context to reuse (one is made when None), as a
    simulation reconciling many snapshots does.

    What Alto must hold is the ruleset's: the status (or the first of its `cases` that
    holds) names the works order status, the fields copied, the documents and the charge;
    the charge's route, property, link and invoice document come from its policy.

    Raises:
        EvaluationError: the ruleset has no lifecycle, or the issue's status is not declared.
    """
    lifecycle = ruleset.lifecycle
    if lifecycle is None:
        raise EvaluationError(f"ruleset {ruleset.name} declares no 'lifecycle:'")
    status = lifecycle.status_of(issue)
    declared = lifecycle.statuses.get(status or "")
    if declared is None:
        raise EvaluationError(f"issue status {status!r} is not declared in the lifecycle")
    key = lifecycle.read_key(issue)
    revision = lifecycle.read_revision(issue) if lifecycle.read_revision else None
    run = _Run(lifecycle, issue, held, ruleset.context() if context is None else context, str(key))
    if _stale(revision, held.revision):
        return _ignored(run, declared, revision)
    spec, case = _resolve(run, declared)
    asked = Because(declared.id, lifecycle.status_field, status, _holds_text(spec), True)
    run.fired.append(asked)
    if case is not None:
        run.fired.append(Because(case.id, "case", status, case.check.text, True))
    _warn(run, spec)
    if not (spec.unchanged and held.works_order is not None):
        _write(run, spec)
    if run.blocked:
        _decided(run, asked, _holds_text(spec, run.blocked, held.works_order is not None))
    return IssueOps(
        run.issue_id,
        status,
        revision,
        tuple(run.ops),
        tuple(run.warnings),
        tuple(run.fired),
    )


def _resolve(run: _Run, declared: StatusSpec) -> tuple[StatusSpec, StatusCase | None]:
    """`declared` as the first of its cases that holds changes it (`StatusSpec.resolve`),
    by the lifecycle's generated code when it has some."""
    programs = run.lifecycle.programs
    if programs is None:
        return declared.resolve(run.issue, run.context)
    return declared.with_case(programs.first_case(declared, run.issue, run.context))


def _write(run: _Run, spec: StatusSpec) -> None:
    """The works order, its documents and the charge the status asks for."""
    works = _works_order(run, spec)
    if works is not None:
        _documents(run, spec, works[0])
        _charge(run, spec, works)


def _ignored(run: _Run, spec: StatusSpec, revision: Any) -> IssueOps:
    """A snapshot older than the one Alto agrees with: no operations, and why."""
    seen = run.held.revision
    field_name = run.lifecycle.revision_field or "revision"
    because = Because(
        spec.id, field_name, revision, f">= {seen!r}, the revision Alto last agreed with", False
    )
    return IssueOps(run.issue_id, spec.name, seen, fired=(because,), stale=True)


def _holds_text(
    spec: StatusSpec, blocked: Mapping[str, str] | None = None, had_order: bool = False
) -> str:
    """What the status decided for Alto at this step, in words (from the ruleset): what it
    asks, less what a failed `require` kept back (`blocked`: ``works_order`` or ``charge`` ->
    the rule that failed, e.g. ``the maintenance charge not posted (CH-05)``)."""
    blocked = blocked or {}
    if spec.works_order is None:
        return "so Alto holds no works order"
    rule = blocked.get("works_order")
    if rule is not None and not had_order:
        return f"no works order made ({rule}); the status asks for one at {spec.works_order}"
    parts = [f"so Alto holds a works order at {spec.works_order}"]
    if rule is not None:
        parts = [f"the works order not brought to {spec.works_order} ({rule})"]
    if spec.unchanged:
        parts.append("left as it is once it exists")
    if spec.set:
        parts.append(f"with {', '.join(name for name, _ in spec.set)} copied")
    if spec.attach:
        parts.append(f"{', '.join(spec.attach)} attached")
    if spec.charge and "charge" in blocked:
        parts.append(f"the {spec.charge} charge not posted ({blocked['charge']})")
    elif spec.charge:
        parts.append(f"the {spec.charge} charge posted")
    return "; ".join(parts)


def _decided(run: _Run, asked: Because, text: str) -> None:
    """`asked` replaced, in `fired` and the operations' reasons, by what was decided."""
    decided = Because(asked.rule, asked.field, asked.value, text, asked.held)
    run.fired = [decided if item is asked else item for item in run.fired]
    run.ops = [
        replace(op, because=tuple(decided if item is asked else item for item in op.because))
        for op in run.ops
    ]


def _stale(revision: Any, seen: Any) -> bool:
    """Whether `revision` is older than `seen` (ISO date-times compared as instants)."""
    if revision is None or seen is None:
        return False
    older, newer = _instant(revision), _instant(seen)
    try:
        return bool(older < newer)
    except TypeError:
        return False


def _instant(value: Any) -> Any:
    if type(value) is str:
        return _parsed(value)
    return _parsed.__wrapped__(value) if isinstance(value, str) else value


@lru_cache(maxsize=4096)
def _parsed(value: str) -> Any:
    """`value` as an aware datetime, or itself (not ISO, or no zone); remembered, as a
    simulation compares the same few revisions at every step (datetimes are immutable)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment if moment.tzinfo is not None else value


def _warn(run: _Run, spec: StatusSpec) -> None:
    programs = run.lifecycle.programs
    for warning in run.lifecycle.warnings:
        if spec.name in warning.at:
            if programs is not None and not programs.warns(warning, run.issue, run.context):
                continue  # explained only when it holds: the closures would add nothing
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
    programs = run.lifecycle.programs
    if programs is not None:
        found, explained = programs.mapped(fields, run.issue, run.context)
        run.fired.extend(because for _, because in explained if because is not None)
        return found
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


def _unmet(run: _Run, reasons: list[Because], what: str) -> None:
    """An unmet `require`: silent when the ruleset says quiet, else a warning."""
    run.fired.extend(reasons)
    failed = reasons[-1]
    if failed.rule in run.lifecycle.quiet:
        return
    run.warnings.append(
        Because(failed.rule, failed.field, failed.value, f"{failed.expected}: {what}", False)
    )


def _works_order(run: _Run, spec: StatusSpec) -> tuple[str, Mapping[str, Any]] | None:
    """Create or update the works order: its idempotency key and fields, when one exists or
    is created."""
    key = idempotency_key("works_order", run.issue_id)
    held = run.held.works_order
    if spec.works_order is None:
        return (key, held) if held is not None else None
    ok, reasons = _holds(run, run.lifecycle.works_order_require)
    if not ok:
        _unmet(run, reasons, "no works order is made")
        run.blocked["works_order"] = reasons[-1].rule
        return (key, held) if held is not None else None
    wanted = _mapped(run, run.lifecycle.works_order_fields) | _mapped(run, spec.set)
    wanted["status"] = spec.works_order
    because = (*run.fired, *reasons)
    run.fired.extend(reasons)
    if held is None:
        target = {"identity": _identity(run.lifecycle, wanted)}
        op = LifecycleOp("create", "works_order", run.issue_id, wanted, key, because)
        run.ops.append(_with_target(op, target))
        return key, wanted
    if run.lifecycle.rank(held.get("status")) > run.lifecycle.rank(spec.works_order):
        wanted.pop("status")  # Alto is further on already: never move a works order back
    changed = {name: value for name, value in wanted.items() if held.get(name) != value}
    if changed:
        run.ops.append(LifecycleOp("update", "works_order", run.issue_id, changed, key, because))
    return key, {**wanted, **held}


def _identity(lifecycle: Lifecycle, order: Mapping[str, Any]) -> dict[str, Any]:
    """The works order's identity fields (``works_order.identity``) with their values."""
    return {name: compile_path(name)(order) for name in lifecycle.works_order_identity}


def _with_target(op: LifecycleOp, target: Mapping[str, Any]) -> LifecycleOp:
    return LifecycleOp(
        op.op,
        op.kind,
        op.issue_id,
        op.fields,
        op.idempotency_key,
        op.because,
        op.after,
        op.name,
        target,
    )


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
                    {"name": document, "linkedType": run.lifecycle.document_link},
                    idempotency_key("document", run.issue_id, document),
                    (because,),
                    after=works_key,
                    name=document,
                    target={"from": attachment.from_},
                )
            )


def _charge(run: _Run, spec: StatusSpec, works: tuple[str, Mapping[str, Any]]) -> None:
    if spec.charge is None or spec.charge in run.held.charges:
        return
    policy = run.lifecycle.charges[spec.charge]
    ok, reasons = _holds(run, policy.require)
    if not ok:
        _unmet(run, reasons, f"the {spec.charge} charge cannot be sent")
        run.blocked["charge"] = reasons[-1].rule
        return
    target = _charge_route(run, policy, works[1])
    if target is None:
        failed = run.warnings[-1].rule
        run.blocked["charge"] = "no route holds" if failed == policy.name else failed
        return
    run.fired.extend(reasons)
    route_because = Because(str(target["route"]), "post", target["post"], "the route taken", True)
    run.ops.append(
        LifecycleOp(
            "post",
            "charge",
            run.issue_id,
            _mapped(run, policy.fields),
            idempotency_key("charge", run.issue_id, spec.charge),
            (*reasons, route_because),
            after=works[0],
            name=spec.charge,
            target=target,
        )
    )


def _charge_route(
    run: _Run, policy: ChargePolicy, order: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Where the charge goes (the first route that holds), or None with a warning why not."""
    programs = run.lifecycle.programs
    if programs is None:
        route = policy.route(run.issue, run.context)
    else:
        at = programs.first_route(policy, run.issue, run.context)
        route = policy.routes[at] if at >= 0 else None
    if route is None:
        texts = "; ".join(each.check.text for each in policy.routes if each.check) or "none"
        run.warnings.append(
            Because(policy.name, "to", None, f"a route whose when holds ({texts})", False)
        )
        return None
    target: dict[str, Any] = {
        "post": route.post,
        "propertyId": compile_path(policy.property_field)(order),
        "route": route.id,
    }
    if policy.link is not None:
        target["link"] = policy.link
    if policy.invoice_document is not None:
        name = policy.invoice_document.name.get(run.issue, run.context)
        target["invoice"] = {"from": policy.invoice_document.from_, "name": name}
    return _tenant(run, route, target)


def _tenant(run: _Run, route: ChargeRoute, target: dict[str, Any]) -> dict[str, Any] | None:
    """A tenancy route's tenant (contact id) and tenant field; an empty tenant: a warning."""
    if route.post != "tenancy" or route.tenant is None:
        return target
    tenant = route.tenant.get(run.issue, run.context)
    if is_empty(tenant):
        run.warnings.append(
            Because(
                route.id,
                route.tenant.text,
                tenant,
                f"{route.id}: the issue names no occupier, so no tenancy can be charged; "
                "link the issue's tenant to its contact in the CRM, or let another route "
                "pay it",
                False,
            )
        )
        return None
    return target | {"tenant": tenant, "tenantField": route.tenant_field}
