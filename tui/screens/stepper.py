"""The lifecycle stepper: Fixflo beside Alto, the events possible now, the timeline, why
the last step did what it did, and the invariants."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header

from simulator.lifecycle.events import defaults
from tui.messages import EventChosen
from tui.model.rules import RuleInfo
from tui.model.session import Session
from tui.render import alto_text, explain_text, fixflo_text, invariants_text, timeline_text
from tui.screens.dialogs import EventDialog, form_fields
from tui.widgets import EventBar, Pane

__all__ = ["StepperScreen"]


class StepperHost(Protocol):
    """What the stepper needs of its app (`tui.app.RulebridgeApp`): messages up, calls down."""

    session: Session
    rules: dict[str, RuleInfo]

    def changed(self) -> None:
        """Tell the screens the session changed."""

    def perform(self, event: str, details: Mapping[str, Any]) -> None:
        """Perform `event` with `details` on the session."""


EVENT_KEYS = [
    Binding(str(n), f"event({n})", f"event {n}", show=False, tooltip="events") for n in range(1, 10)
]


class StepperScreen(Screen[None]):
    """The main screen; redraws whenever the app's session changes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *EVENT_KEYS,
        # priority: the panes would otherwise take the arrows for scrolling sideways
        Binding("left", "back", "Back", key_display="←", priority=True, tooltip="one step back"),
        Binding(
            "right", "forward", "Forward", key_display="→", priority=True, tooltip="one step on"
        ),
    ]

    @property
    def rb(self) -> StepperHost:
        """The app, as the stepper uses it."""
        return cast("StepperHost", self.app)

    def compose(self) -> ComposeResult:
        """Two worlds, the events, the timeline and explanation, the invariants."""
        yield Header()
        with Horizontal(id="worlds"):
            yield Pane("Fixflo issue", id="fixflo")
            yield Pane("Alto", id="alto")
        yield EventBar(id="events")
        with Horizontal(id="lower"):
            yield Pane("Timeline ←/→", id="timeline")
            yield Pane("Why: rules for this step", id="explain")
        yield Pane("Invariants", id="invariants")
        yield Footer()

    def on_mount(self) -> None:
        """Redraw whenever the session changes."""
        self.watch(self.app, "version", self._redraw)

    async def _redraw(self, _: int = 0) -> None:
        session = self.rb.session
        frame, issue = session.frame, session.issue
        name = Path(session.ruleset.path).name
        self.sub_title = f"{name} - step {session.cursor} of {len(session.frames) - 1}"
        agency = session.agency()
        self.query_one("#fixflo", Pane).show(fixflo_text(frame, issue, agency))
        self.query_one("#alto", Pane).show(alto_text(frame, issue, agency))
        timeline = self.query_one("#timeline", Pane)
        timeline.show(timeline_text(session))
        timeline.scroll_to(y=max(0, session.cursor - 2), animate=False)
        self.query_one("#explain", Pane).show(explain_text(frame, self.rb.rules))
        invariants = self.query_one("#invariants", Pane)
        invariants.show(invariants_text(frame.problems))
        invariants.set_class(bool(frame.problems), "broken")
        await self.query_one(EventBar).show(session.legal())

    def action_event(self, number: int) -> None:
        """Perform the `number`th event possible now (asking for its parameters)."""
        events = self.rb.session.legal()
        if 0 < number <= len(events):
            self.post_message(EventChosen(events[number - 1].name))

    @on(EventChosen)
    def _chosen(self, chosen: EventChosen) -> None:
        session = self.rb.session
        event = session.frame.sim.lifecycle.events[chosen.event]
        issue = session.frame.sim.fixflo.issues.get(session.issue) or {}
        now = session.frame.sim.clock.now().isoformat()
        start = defaults(event.name, session.issue, issue, now)
        if not form_fields(event, start):
            self.rb.perform(event.name, {})
            return
        dialog = EventDialog(event, session.issue, start)
        self.app.push_screen(dialog, lambda details: self._answered(event.name, details))

    def _answered(self, event: str, details: dict[str, object] | None) -> None:
        if details is not None:
            self.rb.perform(event, details)

    def action_back(self) -> None:
        """One step back in the timeline."""
        if self.rb.session.back():
            self.rb.changed()

    def action_forward(self) -> None:
        """One step forward in the timeline."""
        if self.rb.session.forward():
            self.rb.changed()
