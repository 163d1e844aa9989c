"""Rich text for each pane of the stepper, drawn from a `Session` frame.

The same facts `rulebridge simulate` prints after each step, laid out for the screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text

from engine.explain import Because
from simulator.lifecycle import Step
from tui.rules import RuleInfo
from tui.session import Frame, Session

__all__ = ["alto_text", "explain_text", "fixflo_text", "invariants_text", "timeline_text"]

_ISSUE_FIELDS = ("Title", "InvoiceRecipient", "FeedbackEnabled", "CloseReason")


def fixflo_text(frame: Frame, issue_id: str) -> Text:
    """The Fixflo issue: status, job, quotes, invoice, documents."""
    issue = frame.sim.fixflo.issues.get(issue_id)
    if issue is None:
        return Text("no issue yet: press 1 to report one", style="dim")
    text = Text()
    text.append(f"{issue_id}  ", style="bold")
    text.append(f"{frame.sim.lifecycle.status_of(issue)}\n", style="bold cyan")
    for key in _ISSUE_FIELDS:
        if key in issue:
            text.append(f"{key}: {_show(issue[key])}\n")
    job = issue.get("Job") or {}
    if job:
        text.append("Job: ", style="bold")
        text.append(", ".join(f"{k} {_show(v)}" for k, v in job.items() if v is not None) + "\n")
    quotes = issue.get("Quotes") or []
    if quotes:
        shown = ", ".join(f"{q.get('ContractorRef')} {q.get('Amount')}" for q in quotes)
        text.append(f"Quotes: {shown}\n")
    _invoice(text, issue.get("Invoice"))
    docs = [str(d.get("Name")) for d in issue.get("CompletionDocuments") or []]
    text.append(f"Documents: {', '.join(docs) or 'none'}")
    return text


def _invoice(text: Text, invoice: Any) -> None:
    if not isinstance(invoice, Mapping):
        return
    document = invoice.get("Document") or "no document"
    text.append(
        f"Invoice: {invoice.get('InvoiceNumber')} total {invoice.get('Total')}, {document}\n"
    )


def alto_text(frame: Frame, issue_id: str) -> Text:
    """Alto's works order and fields, documents and charges for the issue."""
    alto = frame.sim.alto
    works = alto.works_order_of(issue_id)
    if works is None:
        return Text("nothing in Alto yet", style="dim")
    text = Text()
    text.append(f"works order {works.get('id')}  ", style="bold")
    text.append(f"{works.get('status')}\n", style="bold cyan")
    docs = [str(d["name"]) for d in alto.documents if d["issueId"] == issue_id]
    text.append(f"documents: {', '.join(docs) or 'none'}\n")
    charges = [c for c in alto.charges if c["issueId"] == issue_id]
    if not charges:
        text.append("charges: none\n")
    for charge in charges:
        raised = "raised" if charge.get("raised") else "unraised"
        text.append(
            f"charge {charge.get('chargeType')} to {charge.get('payer')}, "
            f"{charge.get('totalGross')}, {raised}, on {charge.get('workOrderId')}\n",
            style="green",
        )
    text.append("fields:\n", style="bold")
    for key, value in works.items():
        if key not in ("id", "status", "issueId") and value not in (None, ""):
            text.append(f"  {key}: {_show(value)}\n")
    return text


def timeline_text(session: Session) -> Text:
    """Every step, one line each, the cursor's marked; steps after the cursor are dimmed."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for index, frame in enumerate(session.frames):
        mark = "▶ " if index == session.cursor else "  "
        style = "bold reverse" if index == session.cursor else ""
        if index > session.cursor:
            style = "dim"
        text.append(f"{mark}{index} {_label(frame.step)}", style=style)
        if frame.problems:
            text.append(" ✗", style="bold red")
        text.append("\n")
    return text


def _label(step: Step | None) -> str:
    if step is None:
        return "start"
    if step.event is None:
        return f"redeliver revision {step.redeliver}"
    extra = ", ".join(f"{k}={_show(v)}" for k, v in step.details.items())
    label = step.event + (f" ({extra})" if extra else "")
    return label if step.deliver else label + " [not delivered]"


def explain_text(frame: Frame, rules: Mapping[str, RuleInfo]) -> Text:
    """The warnings and the rules that fired for the frame's step, with their summaries."""
    result = frame.result
    if result is None:
        return Text("no step yet" if frame.step is None else "not delivered", style="dim")
    text = Text()
    if result.stale:
        text.append("an older snapshot than Alto last saw: nothing changed\n", style="yellow")
    for because in result.warnings:
        _because(text, because, rules, "⚠ ", "bold yellow")
    for because in result.fired:
        _because(text, because, rules, "✓ " if because.held else "✗ ", "")
    for op in result.operations:
        text.append(f"→ {op.op} {op.kind}{' ' + op.name if op.name else ''}\n", style="cyan")
    return text


def _because(
    text: Text, because: Because, rules: Mapping[str, RuleInfo], mark: str, style: str
) -> None:
    text.append(f"{mark}{because}\n", style=style)
    info = rules.get(because.rule)
    if info is not None:
        text.append(f"   {info.summary.strip()} ({info.where})\n", style="dim")


def invariants_text(problems: Sequence[str]) -> Text:
    """Green when every invariant holds, else each broken one in red with its reason."""
    if not problems:
        return Text(
            "✓ all hold: a works order iff a job was awarded; no duplicates; charges "
            "Maintenance, unraised, linked",
            style="green",
        )
    text = Text()
    for problem in problems:
        text.append(f"✗ {problem}\n", style="bold red")
    return text


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_show(item) for item in value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)
