"""A titled, scrolling pane showing one piece of rich text."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

__all__ = ["Pane"]


class Pane(VerticalScroll):
    """A bordered pane with a title; `show` replaces its text."""

    DEFAULT_CSS = """
    Pane {
        border: round $primary 50%;
        border-title-color: $text;
        padding: 0 1;
        height: 1fr;
        scrollbar-size-vertical: 1;
    }
    Pane:focus-within, Pane:focus { border: round $accent; }
    """

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = title
        self._body = Static("", classes="body")

    def compose(self) -> ComposeResult:
        """The one text body."""
        yield self._body

    def show(self, text: Text) -> None:
        """Replace the pane's text."""
        self._body.update(text)

    @property
    def plain(self) -> str:
        """The pane's text without styles (for tests)."""
        return str(self._body.render())
