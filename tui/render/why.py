"""The Why pane: what each rule did at the frame's step, built from the decision itself.

One block per rule id, in the order the decision names them (`IssueOps.fired`, then the
warnings of rules that did not fire): a verb for what the rule did at this step -
``applied`` (a status, or a case that chose), ``held`` (a `require` that was met),
``refused`` (a `require` that was not: what it blocked), ``warned`` - the values it read
(``Job.PriceAgencyPayableGross = 0, expected > 0``), what it wrote (the operations whose
reasons name it; a status wrote everything its step wrote) and where it is written
(``file:line``). A rule's summary says what it is for, not what happened: it is never
printed here (the browser shows it on Enter).

Example:
    >>> from engine import load_ruleset
    >>> from tui.model.rules import rule_index
    >>> from tui.model.session import Session
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> frame = Session(ruleset).perform("report")
    >>> explain_text(frame, rule_index(ruleset)).plain.splitlines()[0]
    'W-01 applied  (v2.yaml:772)'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from rich.text import Text

from engine.explain import Because, render_value
from engine.issues.reconcile import IssueOps, LifecycleOp
from engine.language.lifecycle import Fields, Lifecycle
from engine.language.operators.case import CaseValue
from engine.language.paths import flatten
from tui.model.rules import RuleInfo
from tui.model.session import Frame
from tui.render.money import amount, money

__all__ = ["explain_text", "operation_text"]

_BLOCKED: Final = {"works order": "no works order made", "charge": "no charge posted"}
"""What a failed `require` kept from Alto, by the group its rule is shown under."""
_NOTHING: Final = object()
_STYLES: Final = {
    "applied": "bold green",
    "held": "green",
    "refused": "bold red",
    "warned": "bold yellow",
    "ignored": "yellow",
}


def explain_text(frame: Frame, rules: Mapping[str, RuleInfo]) -> Text:
    """The Why pane for the frame's step: per rule id what it did, read and wrote.

    Args:
        frame: the frame whose step is explained.
        rules: the ruleset's rule index (`tui.model.rules.rule_index`), for ``file:line``
            and to tell a status from a `require`.

    Example:
        >>> from engine import load_ruleset
        >>> from tui.model.session import Session
        >>> start = Session(load_ruleset("rulesets/alto-fixflo/v2.yaml")).frame
        >>> explain_text(start, {}).plain
        'no step yet'
    """
    refused = str(getattr(frame, "refused", "") or "")
    if refused:
        text = Text()
        text.append("refused here: this step is not legal after the one before\n", style="yellow")
        text.append(f"{refused}\nno rule ran; nothing changed", style="dim")
        return text
    result = frame.result
    if result is None:
        if frame.step is None:
            return Text("no step yet", style="dim")
        return Text(
            "not delivered: Fixflo changed, Alto heard nothing; no rule ran at this step",
            style="dim",
        )
    text = Text()
    if result.stale:
        text.append(
            "stale: an older snapshot than Alto last saw; nothing applied, nothing written\n",
            style="yellow",
        )
    chosen = _case_fields(frame.sim.lifecycle)
    for rule, reasons in _blocks(result).items():
        _block(text, result, (rule, chosen.get(rule)), reasons, rules)
    return text


def _case_fields(lifecycle: Lifecycle) -> dict[str, str]:
    """Each ``case`` branch id of the lifecycle's field maps to the field it chooses."""
    groups: list[Fields] = [lifecycle.works_order_fields]
    for spec in lifecycle.statuses.values():
        groups.append(spec.set)
        groups += [dict(case.changes).get("set", ()) for case in spec.cases]
    groups += [policy.fields for policy in lifecycle.charges.values()]
    return {
        branch.id: name
        for fields in groups
        for name, value in fields
        if isinstance(value, CaseValue)
        for branch in value.branches
        if branch.id is not None
    }


def _blocks(result: IssueOps) -> dict[str, list[tuple[Because, bool]]]:
    """Each rule id with its reasons in order, each marked whether it is a warning;
    a warning repeating a failed `require` (same rule, same field) is not listed twice."""
    blocks: dict[str, list[tuple[Because, bool]]] = {}
    for because in result.fired:
        blocks.setdefault(because.rule, []).append((because, False))
    for warning in result.warnings:
        reasons = blocks.setdefault(warning.rule, [])
        if not any(not item.held and item.field == warning.field for item, _ in reasons):
            reasons.append((warning, True))
    return blocks


def _block(
    text: Text,
    result: IssueOps,
    which: tuple[str, str | None],
    reasons: Sequence[tuple[Because, bool]],
    rules: Mapping[str, RuleInfo],
) -> None:
    rule, chosen = which
    info = rules.get(rule)
    group = info.group if info is not None else ""
    verb, blocked = _verb(result, rule, reasons, group)
    text.append(rule, style="bold")
    text.append(f" {verb}", style=_STYLES[verb])
    if blocked:
        text.append(f": {blocked}", style=_STYLES[verb])
    if info is not None:
        text.append(f"  ({info.where})", style="dim")
    text.append("\n")
    status = group.startswith("status") and rule == result.fired[0].rule if result.fired else False
    for because, warning in reasons:
        if warning:
            text.append(f"  ⚠ {_read(because, True)}\n", style="yellow")
        else:
            style = "dim" if because.held else ""
            text.append(f"  {_read(because, status)}\n", style=style)
    if verb == "warned" and info is not None:
        # a warning's summary is the warning itself (what a person is told), not a claim
        text.append(f"  ⚠ {' '.join(info.summary.split())}\n", style="yellow")
    if result.stale:
        return
    if chosen is not None:
        for op in result.operations:
            value = dict(flatten(dict(op.fields))).get(chosen, _NOTHING)
            if value is not _NOTHING and any(item.rule == rule for item in op.because):
                text.append(f"  → {op.op} {op.kind} {chosen} = {value}\n", style="cyan")
        return
    if status:
        for op in result.operations:
            text.append(f"  → {operation_text(op)}\n", style="cyan")
    elif verb == "held":
        allowed = dict.fromkeys(f"{op.op} {op.kind}" for op in _naming(result.operations, rule))
        if allowed:
            text.append(f"  → let through: {', '.join(allowed)}\n", style="cyan")
    else:
        for op in _naming(result.operations, rule):
            text.append(f"  → {operation_text(op)}\n", style="cyan")
    if status and not result.operations:
        text.append("  → nothing written\n", style="dim")


def _verb(
    result: IssueOps, rule: str, reasons: Sequence[tuple[Because, bool]], group: str
) -> tuple[str, str]:
    """What the rule did (`_STYLES`' keys) and, for a refusal, what it blocked."""
    if result.stale:
        return "ignored", "an older snapshot"
    if all(warning for _, warning in reasons):
        return "warned", ""
    failed = [because for because, warning in reasons if not warning and not because.held]
    kind = group.split(" ", 1)[0] if group.startswith("charge") else group
    if failed and kind in _BLOCKED:
        return "refused", _BLOCKED[kind]
    if failed:
        return "refused", ""
    if group in ("works order",) or group.startswith("charge"):
        return "held", ""
    return "applied", ""


def _read(because: Because, decided: bool) -> str:
    """The value a rule read and what it expected (or, for a status, what it decided)."""
    value = f"{because.field} = {render_value(because.value)}"
    if decided:  # a status's decision, a warning's message
        return f"{value}: {because.expected}" if because.held else f"{value}, {because.expected}"
    if because.held:
        return f"{value}, {because.expected} ✓"
    return f"{value}, expected {because.expected} ✗"


def _naming(operations: Sequence[LifecycleOp], rule: str) -> list[LifecycleOp]:
    """The operations whose reasons name `rule` (a case branch's are told apart: only the
    field it chose, where it is written, as its reasons name it on every works order write).
    """
    return [op for op in operations if any(item.rule == rule for item in op.because)]


def operation_text(op: LifecycleOp) -> str:
    """One write in words: ``update works_order status -> CompleteInvoicingReceived, notes``,
    ``attach issue-I1.pdf``, ``post charge Maintenance £120.00 by CH-02.landlord``.

    Example:
        >>> from engine.issues.reconcile import LifecycleOp
        >>> operation_text(LifecycleOp("attach", "document", "I1", {}, "k", (), name="a.pdf"))
        'attach a.pdf'
    """
    if op.kind == "document":
        return f"{op.op} {op.name}"
    if op.kind == "charge":
        line = f"{op.op} charge {op.fields.get('chargeType') or op.name}"
        total = _total(op.fields)
        line += f" {total}" if total else ""
        route = op.target.get("route")
        return line + (f" by {route}" if route else "")
    fields = dict(op.fields)
    status = fields.pop("status", None)
    named = [f"status -> {status}"] if status is not None else []
    line = f"{op.op} {op.kind} " + ", ".join(named + sorted(fields)[:4])
    more = len(fields) - 4
    return line + (f" and {more} more" if more > 0 else "")


def _total(fields: Mapping[str, Any]) -> str:
    net, vat = amount(fields.get("totalNet")), amount(fields.get("totalVat"))
    return money(net + vat) if net is not None and vat is not None else ""
