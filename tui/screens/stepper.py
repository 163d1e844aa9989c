"""The lifecycle stepper: Fixflo beside Alto (what changed at this step highlighted), the
events possible now, the timeline, why the step did what it did, its expectations, and the
invariants.

The layout follows the terminal (design decision 9): below 120 columns the Why and Expect
panes share one place (``x`` swaps them; the shown pane's title names the other and its
unmet count); from 120 columns all three lower panes are open. The invariants are one line,
opened with ``i`` (or a click, or focus) and always open on a tall screen (36 rows or more).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer, Header, Input

from simulator.lifecycle.events import defaults
from tui.messages import EventChosen
from tui.model.rules import RuleInfo
from tui.model.session import Session
from tui.render import alto_text, explain_text, fixflo_text, timeline_text
from tui.render.expect import expect_text
from tui.screens.dialogs import EventDialog, PromptDialog, form_fields
from tui.widgets import EventBar, Invariants, Pane, StaleLine

__all__ = ["NoteDialog", "StepperScreen", "sub_title"]


class StepperHost(Protocol):
    """What the stepper needs of its app (`tui.app.RulebridgeApp`): messages up, calls down."""

    session: Session
    rules: dict[str, RuleInfo]

    @property
    def stale(self) -> str:
        """The stale marker's text, or "" while the ruleset loads cleanly."""

    def changed(self) -> None:
        """Tell the screens the session changed."""

    def perform(self, event: str, details: Mapping[str, Any]) -> None:
        """Perform `event` with `details` on the session."""


EVENT_KEYS = [
    Binding(str(n), f"event({n})", f"event {n}", show=False, tooltip="events") for n in range(1, 10)
]
WHY = "Why: what the rules did"
EXPECT = "Expect"


def sub_title(session: Session, stale: bool) -> str:
    """The header's sub-title: the ruleset file, the step, the expectations met, STALE.

    Example:
        >>> from engine import load_ruleset
        >>> sub_title(Session(load_ruleset("rulesets/alto-fixflo/v2.yaml")), stale=True)
        'v2.yaml - step 0 of 0 - STALE'
    """
    parts = [Path(session.ruleset.path).name, f"step {session.cursor} of {len(session.frames) - 1}"]
    met, expected = session.expect_summary
    if expected:
        parts.append(f"expect {met}/{expected} met")
    if stale:
        parts.append("STALE")
    return " - ".join(parts)


class NoteDialog(PromptDialog):
    """The note of the step under the cursor; an empty answer clears it, esc keeps it."""

    def answer(self) -> str | None:
        """The note entered ("" clears the note)."""
        return self.query_one("#answer", Input).value.strip()


class StepperScreen(Screen[None]):
    """The main screen; redraws whenever the app's session changes."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012 - Textual's
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        *EVENT_KEYS,
        # priority: the panes would otherwise take the arrows for scrolling sideways
        Binding("left", "back", "Back", key_display="←", priority=True, tooltip="one step back"),
        Binding(
            "right", "forward", "Forward", key_display="→", priority=True, tooltip="one step on"
        ),
        Binding(
            "x", "swap", "Why/Expect", show=False, tooltip="swap the Why and Expect panes (narrow)"
        ),
        Binding(
            "i", "invariants", "Invariants", show=False, tooltip="open or fold the invariants list"
        ),
        Binding("m", "note", "Note", tooltip="write the note of the step under the cursor"),
        Binding(
            "e",
            "app.show_errors",
            "Errors",
            show=False,
            tooltip="the stale ruleset's located errors",
        ),
    ]

    showing: reactive[str] = reactive("why")
    """Which of the Why and Expect panes a narrow screen shows (``why`` or ``expect``)."""

    @property
    def rb(self) -> StepperHost:
        """The app, as the stepper uses it."""
        return cast("StepperHost", self.app)

    def compose(self) -> ComposeResult:
        """Header, stale line, two worlds, the events, the lower panes, invariants, keys."""
        yield Header(icon="≡")
        yield StaleLine()
        with Horizontal(id="worlds"):
            yield Pane("Fixflo issue", id="fixflo")
            yield Pane("Alto", id="alto")
        yield EventBar(id="events")
        with Horizontal(id="lower"):
            yield Pane("Timeline ←/→", id="timeline")
            yield Pane(WHY, id="explain")
            yield Pane(EXPECT, id="expect")
        yield Invariants(id="invariants")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Redraw whenever the session changes or a ruleset loads (or fails to)."""
        self.set_class(True, "-show-why")
        self.watch(self.app, "version", self._redraw)
        self.watch(self.app, "ruleset_version", self._redraw)

    def on_resize(self, event: events.Resize) -> None:
        """A tall screen keeps the invariants open."""
        self.query_one(Invariants).opened = event.size.height >= 36

    def watch_showing(self, showing: str) -> None:
        """Show the chosen lower pane on a narrow screen."""
        self.set_class(showing == "why", "-show-why")
        self.set_class(showing == "expect", "-show-expect")
        self._titles()

    async def _redraw(self, _: int = 0) -> None:
        session = self.rb.session
        frame, issue, before = session.frame, session.issue, session.before()
        self.sub_title = sub_title(session, bool(self.rb.stale))
        agency = session.agency()
        self.query_one("#fixflo", Pane).show(fixflo_text(frame, issue, agency, before))
        self.query_one("#alto", Pane).show(alto_text(frame, issue, agency, before))
        timeline = self.query_one("#timeline", Pane)
        timeline.show(timeline_text(session), top=max(0, session.cursor - 2))
        self.query_one("#explain", Pane).show(explain_text(frame, self.rb.rules))
        self.query_one("#expect", Pane).show(expect_text(frame, self._scenario_name()))
        self._titles()
        self.query_one(Invariants).show(frame.problems)
        await self.query_one(EventBar).show(session.legal())

    def _scenario_name(self) -> str:
        source = self.rb.session.source
        return source.path.name if source is not None else ""

    def _titles(self) -> None:
        """The lower panes' titles say what a narrow screen hides: ``x: Expect ✗2``."""
        unmet = len(self.rb.session.frame.mismatches)
        mark = f" ✗{unmet}" if unmet else ""
        narrow = self.has_class("-narrow")
        why, expect = self.query_one("#explain", Pane), self.query_one("#expect", Pane)
        why.border_title = f"{WHY} (x: {EXPECT}{mark})" if narrow else WHY
        expect.border_title = f"{EXPECT}{mark} (x: Why)" if narrow else f"{EXPECT}{mark}"

    def action_event(self, number: int) -> None:
        """Perform the `number`th event possible now (asking for its parameters)."""
        events_now = self.rb.session.legal()
        if 0 < number <= len(events_now):
            self.post_message(EventChosen(events_now[number - 1].name))

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

    def action_swap(self) -> None:
        """Swap the Why and Expect panes (a narrow screen shows one of them)."""
        self.showing = "expect" if self.showing == "why" else "why"

    def action_invariants(self) -> None:
        """Open or fold the invariants list."""
        self.query_one(Invariants).toggle()

    def action_note(self) -> None:
        """Write the note of the step under the cursor (saved as its ``note:``)."""
        step = self.rb.session.frame.step
        if step is None:
            self.notify("the start has no note: move to a step (←/→) first", markup=False)
            return
        title = f"Note on step {self.rb.session.cursor} (empty clears it):"
        self.app.push_screen(NoteDialog(title, step.note or ""), self._noted)

    def _noted(self, note: str | None) -> None:
        if note is not None:
            self.rb.session.annotate(note)
            self.rb.changed()
