"""The invariants line: one line while everything holds or the line is folded, the whole list
when it is opened (``i``, a click, or focus) or the screen is tall."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.reactive import reactive
from textual.widgets import Static

from tui.render.panes import invariants_text

__all__ = ["Invariants", "invariants_summary"]


def invariants_summary(problems: Sequence[str]) -> Text:
    """One line: all hold (green), or the first broken invariant and how many more (red).

    Example:
        >>> invariants_summary([]).plain
        '✓ all hold: works orders, duplicates, charges, bodies (i: what each says)'
        >>> invariants_summary(["issue I1: 2 works orders (W-03)", "x"]).plain
        '✗ 2 invariants broken: issue I1: 2 works orders (W-03) (+1 more: i opens)'
    """
    if not problems:  # short enough for 80 columns; `i` opens what they are
        return Text(
            "✓ all hold: works orders, duplicates, charges, bodies (i: what each says)",
            style="green",
            no_wrap=True,
            overflow="ellipsis",
        )
    count = len(problems)
    head = f"✗ {count} invariant{'s' if count > 1 else ''} broken: {problems[0]}"
    more = f" (+{count - 1} more: i opens)" if count > 1 else ""
    return Text(head + more, style="bold red", no_wrap=True, overflow="ellipsis")


def _full(problems: Sequence[str]) -> Text:
    text = invariants_text(problems)
    text.rstrip()
    return text


class Invariants(Static, can_focus=True):
    """The invariants of the frame under the cursor, folded to one line unless `opened`."""

    DEFAULT_CSS = """
    Invariants { height: 1; padding: 0 1; background: $success 10%; }
    Invariants.broken { background: $error 20%; }
    Invariants.-opened { height: auto; max-height: 8; }
    Invariants:focus { background-tint: $foreground 10%; }
    """

    opened: reactive[bool] = reactive(False)
    """Show every broken invariant, one a line (the class ``-opened``)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.problems: tuple[str, ...] = ()

    def show(self, problems: Sequence[str]) -> None:
        """Draw `problems` (empty: all hold)."""
        self.problems = tuple(problems)
        self.set_class(bool(self.problems), "broken")
        self._draw()

    def toggle(self) -> None:
        """Open or fold the list."""
        self.opened = not self.opened

    def watch_opened(self, opened: bool) -> None:
        """Redraw, folded or opened."""
        self.set_class(opened, "-opened")
        self._draw()

    def _draw(self) -> None:
        open_now = self.opened or self.has_focus
        self.update(_full(self.problems) if open_now else invariants_summary(self.problems))

    def on_focus(self, _: events.Focus) -> None:
        """Opened while it has the focus."""
        self.set_class(True, "-opened")
        self._draw()

    def on_blur(self, _: events.Blur) -> None:
        """Folded again when the focus leaves (unless opened with ``i``)."""
        self.set_class(self.opened, "-opened")
        self._draw()

    def on_click(self, _: events.Click) -> None:
        """A click opens or folds the list."""
        self.toggle()

    @property
    def plain(self) -> str:
        """The text shown, without styles (for tests)."""
        return str(self.render())
