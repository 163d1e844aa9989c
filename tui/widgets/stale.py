"""The stale-ruleset line: red, at the top of a screen, while the ruleset file has errors
and the screens still show the last good ruleset (design decision 4)."""

from __future__ import annotations

from typing import Protocol

from textual.widgets import Static

__all__ = ["StaleLine", "StaleSource"]


class StaleSource(Protocol):
    """What the line reads of its app (`tui.app.RulebridgeApp`)."""

    @property
    def stale(self) -> str:
        """The marker's text, or "" while the ruleset file loads cleanly."""


class StaleLine(Static):
    """Shown only while the app's ruleset is stale; redraws on ``app.ruleset_version``."""

    DEFAULT_CSS = """
    StaleLine {
        height: auto; padding: 0 1; color: $text; background: $error; text-style: bold;
        display: none;
    }
    StaleLine.-stale { display: block; }
    """

    def __init__(self, *, id: str | None = "stale") -> None:
        super().__init__("", id=id, markup=False)

    def on_mount(self) -> None:
        """Follow the app's ruleset loads."""
        self.watch(self.app, "ruleset_version", self.redraw)

    def redraw(self, _: int = 0) -> None:
        """Show the marker, or hide the line."""
        text = getattr(self.app, "stale", "")
        self.update(text)
        self.set_class(bool(text), "-stale")
