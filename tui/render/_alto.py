"""The Alto pane's lines and the pieces the Fixflo pane shares: a changed line in bold
yellow with what it was, a value shown by its key (money for amounts), a charge in words.

Example:
    >>> charge = {"id": "CH-1", "post": "property", "targetId": "P1", "chargeType": "Maintenance",
    ...           "totalNet": "100.00", "totalVat": "20.00", "workOrderId": "WO-1"}
    >>> charge_line(charge)
    'Maintenance £120.00 (net £100.00 + VAT £20.00) POST /inventory/P1/charges, works order WO-1'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from rich.text import Text

from engine.language.paths import flatten
from tui.model.changes import FieldChange, StepChanges
from tui.model.session import Frame
from tui.render.money import amount, money

__all__ = ["CHANGED", "alto_lines", "changed_line", "charge_line", "show", "summary_line"]

CHANGED: Final = "bold yellow"
"""The style of what the step under the cursor changed."""

_SHOWN: Final = {"id", "status"}
_CHARGE_SETTINGS: Final = ("paying_party", "invoice_recipient", "invoice_media_type")
_MONEY: Final = {"quote", "totalNet", "totalVat", "amount", "price"}
_TRUE: Final = {"true", "1", "yes"}


def show(key: str, value: Any) -> str:
    """`value` for the screen: an amount (a key such as ``quote``, ``totalNet``,
    ``PriceAgencyPayableGross``) as money, lists and mappings inline, the rest as text.

    Example:
        >>> show("Job.PriceAgencyPayableGross", 120.0), show("tags", ["a", "b"])
        ('£120.00', 'a, b')
    """
    last = key.rsplit(".", 1)[-1]
    is_money = last in _MONEY or "PriceAgencyPayable" in last
    if is_money and amount(value) is not None:
        return money(value)
    if isinstance(value, list):
        return ", ".join(show(key, item) for item in value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {show(str(k), v)}" for k, v in value.items()) + "}"
    return str(value)


def changed_line(
    text: Text, line: str, change: FieldChange | str | bool | None, key: str = ""
) -> None:
    """Append `line`: in bold yellow when `change` says it changed at this step, with
    ``(was X)`` for a field that had a value before (`key` decides how X is shown) or
    ``(NOTE)`` for a note given as text."""
    if not change:
        text.append(line + "\n")
        return
    note = ""
    if isinstance(change, FieldChange) and change.before not in (None, ""):
        note = f" (was {show(key or change.path, change.before)})"
    elif isinstance(change, str):
        note = f" ({change})"
    text.append(line + note + "\n", style=CHANGED)


def charge_line(charge: Mapping[str, Any], route: str | None = None) -> str:
    """A charge Alto holds, in words: its type, total (net + VAT), the request that posted
    it, the tenant, whether it is raised immediately, the works order it is linked to, the
    invoice document and the route that sent it."""
    net, vat = charge.get("totalNet"), charge.get("totalVat")
    total = None
    if amount(net) is not None and amount(vat) is not None:
        total = amount(net) + amount(vat)  # type: ignore[operator]
    line = f"{charge.get('chargeType')}"
    line += f" {money(total)}" if total is not None else ""
    line += f" (net {_amount(net)} + VAT {_amount(vat)})"
    path = "tenancies" if charge.get("post") == "tenancy" else "inventory"
    line += f" POST /{path}/{charge.get('targetId')}/charges"
    if charge.get("tenantId"):
        line += f" tenant {charge['tenantId']}"
    raised = charge.get("raiseImmediately")
    if raised not in (None, ""):
        raise_now = raised is True or str(raised).strip().lower() in _TRUE
        line += ", raise immediately" if raise_now else ", not raised immediately"
    if charge.get("workOrderId"):
        line += f", works order {charge['workOrderId']}"
    if charge.get("invoiceDocument"):
        line += f", invoice {charge['invoiceDocument']}"
    if route:
        line += f" (route {route})"
    return line


def _amount(value: Any) -> str:
    return "?" if value in (None, "") else money(value)


def summary_line(changes: StepChanges) -> Text:
    """The Alto pane's first line: what the step changed in Alto, or that it changed
    nothing (dim), or that the step was refused here."""
    text = Text()
    if changes.refused:
        text.append(f"step refused here, nothing changed: {changes.refused}\n", style="yellow")
    elif changes.nothing:
        text.append("nothing changed in Alto at this step\n", style="dim")
    else:
        text.append(f"changed at this step: {'; '.join(_summary(changes))}\n", style=CHANGED)
    return text


def _summary(changes: StepChanges) -> list[str]:
    parts: list[str] = []
    status = changes.field("status")
    if changes.works_order_created:
        parts.append(f"works order created at {status.after if status else '?'}")
    elif changes.works_order_removed:
        parts.append("works order gone")
    elif status is not None:
        parts.append(f"works order status {status.before} -> {status.after}")
    others = [
        f"{change.path} {change.kind}"
        for change in changes.works_order
        if change.path not in {"status", "modifiedDate", "id"}
    ]
    if others and not changes.works_order_created:
        parts.append(", ".join(others) if len(others) <= 3 else f"{len(others)} fields changed")
    added, removed = len(changes.documents_added), len(changes.documents_removed)
    for count, word in ((added, ""), (removed, " removed")):
        if count:
            parts.append(f"{count} document{'s' if count > 1 else ''}{word}")
    for posted in changes.charges:
        net, vat = amount(posted.charge.get("totalNet")), amount(posted.charge.get("totalVat"))
        total = money(net + vat) if net is not None and vat is not None else "?"
        parts.append(f"charge {total}")
    if changes.refusals:
        parts.append(f"{len(changes.refusals)} refused by Alto")
    return parts


def alto_lines(
    frame: Frame, issue_id: str, agency: Mapping[str, Any], changes: StepChanges | None
) -> Text:
    """The Alto pane (see `tui.render.panes.alto_text`); `changes` None: no change view."""
    alto = frame.sim.alto
    text = summary_line(changes) if changes is not None else Text()
    seen = changes or StepChanges()
    works = alto.works_order_of(issue_id)
    if works is None:
        text.append("nothing in Alto yet\n", style="dim")
        _agency(text, agency)
        return text
    title = CHANGED if seen.works_order_created else "bold"
    text.append(f"works order {works.get('id')}  ", style=title)
    status = seen.field("status")
    text.append(f"{works.get('status')}", style=CHANGED if status else "bold cyan")
    if status is not None and not seen.works_order_created:
        text.append(f" (was {status.before})", style=CHANGED)
    text.append("\n")
    _documents(text, alto.documents_of(issue_id), seen)
    _charges(text, alto.charges_of(issue_id), seen)
    for refusal in alto.refused:
        if refusal.startswith(f"issue {issue_id}:"):
            new = " (at this step)" if refusal in seen.refusals else ""
            text.append(f"refused: {refusal}{new}\n", style="bold red")
    _agency(text, agency)
    _fields(text, works, seen)
    return text


def _documents(text: Text, documents: list[dict[str, Any]], seen: StepChanges) -> None:
    added = [doc.get("id") for doc in seen.documents_added]
    text.append("documents: ")
    if not documents:
        text.append("none")
    for index, doc in enumerate(documents):
        name = f"{doc.get('fileName')} ({doc.get('linkedType')} {doc.get('linkedId')})"
        text.append(name, style=CHANGED if doc.get("id") in added else "")
        text.append(", " if index < len(documents) - 1 else "")
    gone = [str(doc.get("fileName")) for doc in seen.documents_removed]
    if gone:
        text.append(f" ({', '.join(gone)} removed)", style=CHANGED)
    text.append("\n")


def _charges(text: Text, charges: list[dict[str, Any]], seen: StepChanges) -> None:
    if not charges:
        text.append("charges: none\n")
    posted = {posted.charge.get("id"): posted.route for posted in seen.charges}
    for charge in charges:
        new = charge.get("id") in posted
        line = charge_line(charge, posted.get(charge.get("id")))
        note = " (posted at this step)" if new else ""
        text.append(f"charge {charge.get('id')}: {line}{note}\n", style=CHANGED if new else "green")


def _agency(text: Text, agency: Mapping[str, Any]) -> None:
    shown = [f"{name} {agency[name]}" for name in _CHARGE_SETTINGS if name in agency]
    if shown:
        text.append(f"decided by agency (a): {', '.join(shown)}\n", style="dim")


def _fields(text: Text, works: Mapping[str, Any], seen: StepChanges) -> None:
    text.append("fields:\n", style="bold")
    fresh = seen.works_order_created
    for path, value in flatten({k: v for k, v in works.items() if k not in _SHOWN}):
        if value in (None, "", [], {}):
            continue
        change = None if fresh else seen.field(path)
        changed_line(text, f"  {path}: {show(path, value)}", change, path)
    for change in seen.works_order:
        if change.kind == "removed" and change.path not in _SHOWN:
            changed_line(text, f"  {change.path}: removed", change, change.path)
