"""Modal dialogs: an event's details, the agency settings, a one-line prompt, and a
scrollable text (`TextDialog`, the base of the errors and rule screens).

The event form has one row per name the event declares under ``sets`` in the ruleset (the
Fixflo contract's Issue and Job fields, and the parts: fixflo.md sections 6-7), each starting
at what a person typically enters (`simulator.lifecycle.events.defaults`); only changed
values are returned. Closed contract values (``IssueType``, ``FaultPriority``) and the
records a person picks (who does the job, the property, the tenant) are lists to choose
from; lists of records (quotes, invoice details, documents) are a box per record to keep or
drop; a field the form cannot edit (``Address``) keeps its typical value and says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal, Protocol

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalGroup, VerticalGroup, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from engine.language.lifecycle import Event
from simulator.lifecycle.events import CONTRACTOR

__all__ = [
    "AgencyDialog",
    "EventDialog",
    "FormField",
    "PromptDialog",
    "TextDialog",
    "form_fields",
]

Details = dict[str, Any]
Options = tuple[tuple[str, Any], ...]

_CLOSED: Final[dict[str, tuple[str, ...]]] = {
    "IssueType": ("Reactive", "GeneralEnquiry", "Planned", "Remedial"),
    "FaultPriority": ("0", "1", "2", "3", "4", "5"),
}
"""Issue fields whose values the contract closes (fixflo.md section 6)."""
_NUMBERS: Final = ("Job.PriceAgencyPayable", "Job.QuotedPriceAgencyPayableGross")


@dataclass(frozen=True, slots=True)
class FormField:
    """One row of the event form.

    Attributes:
        path: the detail it writes (a name the event sets).
        label: what the row is called.
        kind: ``choice`` (one of `options`), ``text``, ``number``, ``flag`` (a checkbox),
            ``items`` (a checkbox per record of the default list) or ``fixed`` (not editable).
        options: ``(label, value)`` pairs: the choices, or the records of an ``items`` row.
    """

    path: str
    label: str
    kind: str
    options: Options = ()


def form_fields(event: Event, start: Mapping[str, Any]) -> list[FormField]:
    """The rows the dialog shows for `event` whose typical details are `start` (empty: the
    event sets nothing and is performed straight away)."""
    return [_field(path, start.get(path)) for path in event.sets]


def _field(path: str, value: Any) -> FormField:
    special = _PICKS.get(path)
    if special is not None:
        return FormField(path, path, "choice", special(value))
    if path in _CLOSED:
        return FormField(path, path, "choice", tuple((v, v) for v in _CLOSED[path]))
    if isinstance(value, bool):
        return FormField(path, path, "flag")
    if isinstance(value, int | float) or path.startswith(_NUMBERS):
        return FormField(path, path, "number")
    if isinstance(value, list):
        return FormField(path, path, "items", tuple((_item(v), v) for v in value))
    if value is None or isinstance(value, str):
        return FormField(path, path, "text")
    return FormField(path, path, "fixed", ((_brief(value), value),))


def _contractor(value: Any) -> Options:
    firm = value if isinstance(value, Mapping) else CONTRACTOR
    label = f"{firm.get('DisplayName')} ({firm.get('Id')}; Alto supplier {firm.get('ExternalRef')})"
    return ((label, dict(firm)), ("the landlord does the job (no contractor)", None))


def _property(value: Any) -> Options:
    if not isinstance(value, Mapping):
        return (("not found in Fixflo (W-05.property)", None),)
    label = f"{value.get('id')} (Alto property {value.get('ExternalPropertyRef')})"
    return ((label, dict(value)), ("not found in Fixflo (W-05.property)", None))


def _tenant(value: Any) -> Options:
    if not isinstance(value, Mapping):
        return (("none: the agent reported it", None),)
    label = f"{value.get('id')} (Alto contact {value.get('ExternalRef')})"
    return ((label, dict(value)), ("none: the agent reported it", None))


def _optional(value: Any) -> Options:
    if value is None:
        return (("none", None),)
    return ((_brief(value), value), ("none", None))


_PICKS: Final[dict[str, Callable[[Any], Options]]] = {
    "Job.Contractor": _contractor,
    "FixfloProperty": _property,
    "FixfloTenant": _tenant,
    "CompletionDetails": _optional,
}
"""Records a person picks, each offered as the typical one or none."""


def _item(record: Any) -> str:
    if not isinstance(record, Mapping):
        return str(record)
    if "ShortDescription" in record:
        return f"{record['ShortDescription']} ({record.get('MediaTypeDescription')})"
    if "InvoiceNumber" in record:
        return f"invoice {record['InvoiceNumber']} of {record.get('InvoiceDate')}"
    contractor = record.get("Contractor") or {}
    price = record.get("PriceAgencyPayableGross")
    return f"quote {record.get('id')}: {contractor.get('DisplayName')} {price}"


def _brief(value: Any) -> str:
    if isinstance(value, Mapping):
        shown = [str(v) for v in value.values() if v not in (None, "")]
        text = ", ".join(shown)
        return text if len(text) <= 40 else text[:39] + "…"
    return str(value)


class _Dialog(ModalScreen[Any]):
    DEFAULT_CSS = """
    _Dialog { align: center middle; }
    _Dialog > VerticalGroup {
        width: 96; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    _Dialog Label.title { text-style: bold; margin-bottom: 1; width: 100%; }
    _Dialog VerticalScroll { height: auto; max-height: 18; }
    _Dialog HorizontalGroup { height: auto; }
    _Dialog Label.name { width: 34; color: $text-muted; }
    _Dialog Label.error { color: $error; width: 100%; }
    _Dialog Input, _Dialog Select { width: 1fr; }
    _Dialog .buttons { margin-top: 1; }
    _Dialog Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)

    def buttons(self) -> ComposeResult:
        """The error line (empty until a value is refused), OK and Cancel."""
        yield Label("", id="error", classes="error")
        with HorizontalGroup(classes="buttons"):
            yield Button("OK (enter)", id="ok", variant="primary", compact=True)
            yield Button("Cancel (esc)", id="cancel", compact=True)

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def _confirmed(self) -> None:
        try:
            answer = self.answer()
        except ValueError as exc:
            self.query_one("#error", Label).update(str(exc))
            return
        self.dismiss(answer)

    def answer(self) -> Any:
        """What the dialog dismisses with.

        Raises:
            ValueError: a value is refused (the message says which and why).
        """
        raise NotImplementedError


class EventDialog(_Dialog):
    """Asks for an event's details; dismisses with the changed ones, or None if cancelled."""

    AUTO_FOCUS = "#ok"

    def __init__(self, event: Event, issue_id: str, defaults: Mapping[str, Any]) -> None:
        super().__init__()
        self.event = event
        self.issue_id = issue_id
        self.defaults = dict(defaults)
        self.fields = form_fields(event, self.defaults)

    def compose(self) -> ComposeResult:
        """A row per detail the event sets, then OK and Cancel."""
        with VerticalGroup():
            yield Label(f"{self.event.name}: {self.event.summary}", classes="title")
            with VerticalScroll():
                for field in self.fields:
                    with HorizontalGroup():
                        yield Label(field.label, classes="name")
                        yield from self._editor(field)
            yield from self.buttons()

    def _editor(self, field: FormField) -> ComposeResult:
        value = self.defaults.get(field.path)
        if field.kind == "choice":
            start = next((i for i, (_, v) in enumerate(field.options) if v == value), 0)
            options = [(label, index) for index, (label, _) in enumerate(field.options)]
            yield Select(options, value=start, allow_blank=False, id=_id(field.path), compact=True)
        elif field.kind == "flag":
            yield Checkbox("yes", bool(value), id=_id(field.path), compact=True)
        elif field.kind == "items":
            with VerticalGroup(id=_id(field.path)):
                if not field.options:
                    yield Label("none", classes="name")
                for label, _ in field.options:
                    yield Checkbox(label, True, compact=True)
        elif field.kind == "fixed":
            yield Label(f"{field.options[0][0]} (typical; not editable here)")
        else:
            shown = "" if value is None else str(value)
            number = field.kind == "number"
            kind: Literal["number", "text"] = "number" if number else "text"
            yield Input(shown, id=_id(field.path), type=kind, compact=True)

    def answer(self) -> Details:
        """The details in the form that differ from the defaults.

        Raises:
            ValueError: a number field holds something that is not a number.
        """
        values = {field.path: self._value(field) for field in self.fields if field.kind != "fixed"}
        return {k: v for k, v in values.items() if self.defaults.get(k) != v}

    def _value(self, field: FormField) -> Any:
        if field.kind == "choice":
            index = self.query_one(f"#{_id(field.path)}", Select).value
            return field.options[int(str(index))][1]
        if field.kind == "flag":
            return self.query_one(f"#{_id(field.path)}", Checkbox).value
        if field.kind == "items":
            boxes = self.query_one(f"#{_id(field.path)}").query(Checkbox).results(Checkbox)
            return [v for (_, v), box in zip(field.options, boxes, strict=True) if box.value]
        text = self.query_one(f"#{_id(field.path)}", Input).value.strip()
        return _number(field.path, text) if field.kind == "number" else text or None


def _number(path: str, text: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}: {text!r} is not a number; enter one such as 120.00") from None


class SettingLike(Protocol):
    """What the agency dialog reads of a declared setting."""

    @property
    def type(self) -> str:
        """``string``, ``boolean``, ``integer``, ``list``..."""

    @property
    def allowed(self) -> tuple[Any, ...] | None:
        """The values allowed, or None for any of the type."""

    @property
    def summary(self) -> str:
        """The requirement the setting answers."""


class AgencyDialog(_Dialog):
    """Asks for the agency settings; dismisses with the changed ones, or None."""

    AUTO_FOCUS = "#ok"

    def __init__(self, declared: Mapping[str, SettingLike], values: Mapping[str, Any]) -> None:
        super().__init__()
        self.declared = declared
        self.values = dict(values)

    def compose(self) -> ComposeResult:
        """A row per setting, with its requirement text, then OK and Cancel."""
        with VerticalGroup():
            yield Label("Agency settings for this session", classes="title")
            with VerticalScroll():
                for name, value in self.values.items():
                    with HorizontalGroup():
                        yield Label(name, classes="name")
                        yield self._editor(name, value)
            yield from self.buttons()

    def _editor(self, name: str, value: Any) -> Select[Any] | Checkbox | Input:
        decl = self.declared[name]
        tip = " ".join(decl.summary.split())
        if decl.type == "boolean":
            return Checkbox("on", bool(value), id=_id(name), compact=True, tooltip=tip)
        if decl.allowed:
            options = [(str(v), v) for v in decl.allowed]
            return Select(options, value=value, allow_blank=False, id=_id(name), compact=True)
        return Input(str(value or ""), id=_id(name), compact=True, tooltip=tip)

    def answer(self) -> Details:
        """The settings that differ from those the session runs under.

        Raises:
            ValueError: a text setting left empty.
        """
        chosen: Details = {}
        for name in self.values:
            widget = self.query_one(f"#{_id(name)}")
            if isinstance(widget, Input):
                if not widget.value.strip():
                    raise ValueError(f"{name}: enter a value (was {self.values[name]!r})")
                chosen[name] = widget.value.strip()
            elif isinstance(widget, Checkbox | Select):
                chosen[name] = widget.value
        return {k: v for k, v in chosen.items() if self.values.get(k) != v}


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

    def answer(self) -> str | None:
        """The line entered, or None when empty."""
        return self.query_one("#answer", Input).value.strip() or None


class TextDialog(ModalScreen[None]):
    """A titled, scrollable text in a box; escape (or q) closes it.

    Args:
        title: the box's title (``esc closes`` is added).
        body: the text, plain or styled.
    """

    DEFAULT_CSS = """
    TextDialog { align: center middle; }
    TextDialog > VerticalScroll {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
    ]
    AUTO_FOCUS = "#text-scroll"

    def __init__(self, title: str, body: str | Text) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        """The text in a scrolling box."""
        with VerticalScroll(id="text-scroll") as scroll:
            scroll.border_title = f"{self.title_text} (esc closes)"
            yield Static(self.body, markup=False, id="text")

    @property
    def plain(self) -> str:
        """The text shown, without styles (for tests)."""
        return self.body.plain if isinstance(self.body, Text) else self.body


def _id(path: str) -> str:
    return "field-" + path.replace(".", "-")
