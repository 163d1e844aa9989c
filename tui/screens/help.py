"""The help screen (``?``): every key of every screen, read from their bindings, and the
legend of the marks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType

from tui.screens.dialogs import TextDialog

__all__ = ["HelpScreen", "keys_table"]


def keys_table(sections: Sequence[tuple[str, Sequence[BindingType]]]) -> str:
    """The keys of each section as aligned lines, one binding per line.

    Example:
        >>> print(keys_table([("Everywhere", [Binding("q", "quit", "Quit", tooltip="quit")])]))
        Everywhere
          q              Quit: quit
        <BLANKLINE>
    """
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


class HelpScreen(TextDialog):
    """Lists every key and mark; any of escape, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__("Keys", text)

    @property
    def text(self) -> str:
        """The keys and marks listed."""
        return self.plain
