"""Modal dialogs: an event's parameters, and a one-line prompt (a path, a seed).

The parameter form shows only the fields the event declares under ``sets`` in the ruleset,
each starting at what a person typically enters; only changed values are returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalGroup, VerticalGroup
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

from engine.language.lifecycle import Event

__all__ = ["EventDialog", "PromptDialog", "form_fields"]

Details = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Choice:
    """A field chosen from a closed list of values."""

    path: str
    label: str
    values: tuple[str, ...]


CHOICES = (
    Choice("Job.AssignedTo", "Instructed to (contractor or landlord)", ("Contractor", "Landlord")),
    Choice(
        "InvoiceRecipient",
        "Invoice recipient",
        ("Landlord", "AllLandlords", "Occupier", "Agency", "Other"),
    ),
    Choice("Job.PayingParty", "Paying party", ("Landlord", "Tenant")),
)
"""Fixflo's closed fields; a field appears when the event's ``sets`` names it."""


def form_fields(event: Event) -> list[str]:
    """The parameters the dialog asks for `event` (empty: perform it straight away)."""
    fields = [choice.path for choice in CHOICES if choice.path in event.sets]
    fields += [name for name in ("Invoice", "FeedbackEnabled", "CloseReason") if name in event.sets]
    return fields


class _Dialog(ModalScreen[Any]):
    DEFAULT_CSS = """
    _Dialog { align: center middle; }
    _Dialog > VerticalGroup {
        width: 64; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    _Dialog Label.title { text-style: bold; margin-bottom: 1; width: 100%; }
    _Dialog HorizontalGroup { height: auto; }
    _Dialog .buttons { margin-top: 1; }
    _Dialog Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


class EventDialog(_Dialog):
    """Asks for an event's parameters; dismisses with the details, or None if cancelled."""

    AUTO_FOCUS = "#ok"

    def __init__(self, event: Event, issue_id: str, defaults: Mapping[str, Any]) -> None:
        super().__init__()
        self.event = event
        self.issue_id = issue_id
        self.defaults = dict(defaults)

    def compose(self) -> ComposeResult:
        """A labelled input per parameter, then OK and Cancel."""
        with VerticalGroup():
            yield Label(f"{self.event.name}: {self.event.summary}", classes="title")
            for path in form_fields(self.event):
                yield from self._field(path)
            with HorizontalGroup(classes="buttons"):
                yield Button("OK (enter)", id="ok", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def _field(self, path: str) -> ComposeResult:
        choice = next((c for c in CHOICES if c.path == path), None)
        if choice is not None:
            yield Label(choice.label)
            start = self.defaults.get(path)
            value = start if start in choice.values else choice.values[0]
            yield Select(
                [(v, v) for v in choice.values],
                value=value,
                allow_blank=False,
                id=_id(path),
                compact=True,
            )
        elif path == "Invoice":
            invoice = self.defaults.get("Invoice") or {}
            yield Label("Invoice amount (total, 0 for none)")
            yield Input(str(invoice.get("Total", 0)), id="amount", type="number", compact=True)
            yield _switch("Invoice document present", "document", bool(invoice.get("Document")))
        elif path == "FeedbackEnabled":
            yield _switch("Feedback on", "feedback", bool(self.defaults.get(path)))
        else:
            yield Label("Close reason")
            yield Input(str(self.defaults.get(path, "")), id="reason", compact=True)

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def _confirmed(self) -> None:
        self.dismiss(self.details())

    def details(self) -> Details:
        """The values in the form that differ from the defaults."""
        values: Details = {}
        for choice in CHOICES:
            for select in self.query(f"#{_id(choice.path)}").results(Select):
                values[choice.path] = select.value
        for switch in self.query("#feedback").results(Checkbox):
            values["FeedbackEnabled"] = switch.value
        for reason in self.query("#reason").results(Input):
            values["CloseReason"] = reason.value
        if self.query("#amount"):
            values["Invoice"] = self._invoice()
        return {k: v for k, v in values.items() if self.defaults.get(k) != v}

    def _invoice(self) -> Details:
        try:
            total = float(self.query_one("#amount", Input).value or 0)
        except ValueError:
            total = 0.0
        net = round(total / 1.2, 2)
        invoice: Details = {
            "InvoiceNumber": f"INV-{self.issue_id}",
            "TotalNet": net,
            "TotalTax": round(total - net, 2),
            "Total": total,
        }
        if self.query_one("#document", Checkbox).value:
            invoice["Document"] = f"invoice-{self.issue_id}.pdf"
        return invoice


class PromptDialog(_Dialog):
    """Asks for one line of text (a file path, a seed); dismisses with it, or None."""

    def __init__(self, title: str, value: str = "", *, number: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.number = number

    def compose(self) -> ComposeResult:
        """The question, the input, and a hint."""
        with VerticalGroup():
            yield Label(self.title_text, classes="title")
            yield Input(self.value, type="integer" if self.number else "text", id="answer")
            yield Label("enter: OK   esc: cancel", classes="hint")

    @on(Input.Submitted)
    def _submitted(self, submitted: Input.Submitted) -> None:
        self.dismiss(submitted.value.strip() or None)


def _switch(label: str, id: str, value: bool) -> Checkbox:
    return Checkbox(label, value, id=id, compact=True)


def _id(path: str) -> str:
    return "field-" + path.replace(".", "-")
