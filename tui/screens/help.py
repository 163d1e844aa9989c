"""The help screen (`?`): every key of every screen, read from their bindings."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["HelpScreen", "keys_table"]


def keys_table(sections: list[tuple[str, list[BindingType]]]) -> str:
    """The keys of each section as aligned lines, one binding per line."""
    lines: list[str] = []
    for title, bindings in sections:
        lines.append(f"{title}")
        shown = [b for b in bindings if isinstance(b, Binding) and b.tooltip != "events"]
        if len(shown) < len(bindings):
            lines.append(f"  {'1 to 9':<14} perform the event with that number (as its button)")
        for binding in shown:
            key = binding.key_display or binding.key
            lines.append(f"  {key:<14} {binding.description}: {binding.tooltip or ''}".rstrip(": "))
        lines.append("")
    return "\n".join(lines)


class HelpScreen(ModalScreen[None]):
    """Lists every key; any of escape, q or ? closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        """The keys, and how to reach everything from the command palette."""
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys (esc closes)"
            yield Static(self.text, markup=False)
