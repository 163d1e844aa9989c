"""The lifecycle screen (mode ``lifecycle``, `d` from the stepper and the browser): the
ruleset's lifecycle as ``rulebridge graph --format text`` draws it, with the issue's current
status in bold reverse and the transition of the step under the cursor (from the previous
frame's status by the step's event) in yellow. It follows the stepper's cursor: it redraws
whenever the app's `version` changes; escape or `d` goes back to the stepper."""

from __future__ import annotations

from typing import ClassVar, Protocol, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from engine.language.diagram import CURRENT, LAST
from engine.language.diagram import text as lifecycle_text
from tui.model.session import Frame, Session

__all__ = ["LifecycleHost", "LifecycleScreen", "lifecycle_view", "marks"]


class LifecycleHost(Protocol):
    """What the lifecycle screen reads of its app (`tui.app.RulebridgeApp`)."""

    session: Session


def _status(frame: Frame, issue: str) -> str | None:
    record = frame.sim.fixflo.issues.get(issue)
    lifecycle = frame.sim.ruleset.lifecycle
    if record is None or lifecycle is None:
        return None
    return str(lifecycle.status_of(record))


def marks(session: Session) -> tuple[str | None, tuple[str | None, str] | None]:
    """The status to mark as current and the transition to mark as the last one taken:
    ``(from status or None, event)`` of the step under the cursor (None at the start and
    for a redelivery, which moves nothing)."""
    frame, issue = session.frame, session.issue
    current = _status(frame, issue)
    if frame.step is None or frame.step.event is None or session.cursor == 0:
        return current, None  # the start, or a late delivery (no transition)
    before = session.frames[session.cursor - 1]
    return current, (_status(before, issue), frame.step.event)


def lifecycle_view(session: Session) -> Text:
    """The session ruleset's lifecycle drawn as text, the current status in bold reverse
    and the last transition in bold yellow."""
    lifecycle = session.ruleset.lifecycle
    if lifecycle is None:
        return Text("This ruleset has no lifecycle.", style="dim")
    current, last = marks(session)
    drawn = Text()
    for line in lifecycle_text(lifecycle, current=current, last=last).splitlines():
        if line.startswith(CURRENT):
            drawn.append(line, style="bold reverse")
        elif line.startswith(LAST):
            drawn.append(line, style="bold yellow")
        else:
            drawn.append(line)
        drawn.append("\n")
    drawn.rstrip()
    return drawn


class LifecycleScreen(Screen[None]):
    """The lifecycle diagram with where the issue is; redraws on the app's `version`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,d",
            "app.switch_mode('stepper')",
            "Stepper",
            key_display="esc, d",
            tooltip="back to the stepper",
        ),
    ]
    AUTO_FOCUS = "#lifecycle-scroll"

    @property
    def rb(self) -> LifecycleHost:
        """The app, as this screen reads it."""
        return cast("LifecycleHost", self.app)

    def compose(self) -> ComposeResult:
        """Header, the diagram (scrollable), the footer."""
        yield Header()
        with VerticalScroll(id="lifecycle-scroll"):
            yield Static("", id="lifecycle", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Redraw whenever the session changes."""
        self.watch(self.app, "version", self._redraw)

    def _redraw(self, _: int = 0) -> None:
        session = self.rb.session
        current, last = marks(session)
        where = f"at {current}" if current else "no issue yet"
        step = f"step {session.cursor} of {len(session.frames) - 1}"
        moved = f", last {last[1]} from {last[0] or '(new)'}" if last else ""
        self.sub_title = f"Lifecycle - {where} ({step}{moved})"
        self.query_one("#lifecycle", Static).update(lifecycle_view(session))
        self._show_current()

    def _show_current(self) -> None:
        """Scroll so the current status's line is in view."""
        drawn = self.query_one("#lifecycle", Static)
        lines = str(drawn.render()).splitlines()
        row = next((n for n, line in enumerate(lines) if line.startswith(CURRENT)), 0)
        scroll = self.query_one("#lifecycle-scroll", VerticalScroll)
        scroll.scroll_to(y=max(0, row - 3), animate=False)

    @property
    def plain(self) -> str:
        """The diagram as shown, without styles (for tests)."""
        return str(self.query_one("#lifecycle", Static).render())
