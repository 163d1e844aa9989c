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
        self._top: int | None = None

    def compose(self) -> ComposeResult:
        """The one text body."""
        yield self._body

    def show(self, text: Text, top: int | None = None) -> None:
        """Replace the pane's text; with `top`, keep that line at the top of the view (once
        the new text is laid out: until then the pane does not know how far it scrolls)."""
        self._top = top
        self._body.update(text)
        self._keep_top()

    def watch_virtual_size(self) -> None:
        """The text's new height is known: scroll to the line asked for."""
        self._keep_top()

    def _keep_top(self) -> None:
        if self._top is not None:
            self.scroll_to(y=self._top, animate=False, immediate=True)

    @property
    def plain(self) -> str:
        """The pane's text without styles (for tests)."""
        return str(self._body.render())
