"""The rulebridge TUI: step a Fixflo issue through the ruleset's lifecycle and watch Alto.

Three modes: ``stepper`` (the main screen), ``rules`` (the ruleset browser) and
``lifecycle`` (the lifecycle diagram, the current status marked). File loads, reloads,
replays and saves run in thread workers (`tui._workers`); their results come back to the UI
thread, then `changed` bumps `version`, which the screens watch. The ruleset file is watched
(polled once a second) and reloads itself when its content changes, unless ``watch=False``.

Example::

    app = make_app("rulesets/alto-fixflo/v2.yaml", seed=7)
    app.run()
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from engine import RulebridgeError
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle import Clock
from tui._workers import WATCH_SECONDS, NoLifecycle, SessionWork, load_lifecycle_ruleset
from tui.model.scenario_file import ScenarioFile
from tui.model.session import Session
from tui.render.timeline import TIMELINE_MARKS
from tui.screens import (
    AgencyDialog,
    BrowserScreen,
    ErrorsScreen,
    FilePicker,
    HelpScreen,
    LifecycleScreen,
    PromptDialog,
    SaveChoice,
    StepperScreen,
    scenarios_folder,
)
from tui.screens.help import keys_table

__all__ = ["SCREENSHOTS_ENV", "NoLifecycle", "RulebridgeApp", "make_app", "screenshots_folder"]

Path_ = str | os.PathLike[str]
SCREENSHOTS_ENV = "RULEBRIDGE_SCREENSHOTS"
"""The environment variable naming the screenshots folder (``--screenshots`` wins)."""


def screenshots_folder(given: Path_ | None = None) -> Path:
    """Where screenshots go: `given`, else ``$RULEBRIDGE_SCREENSHOTS``, else
    ``out/screenshots`` under the current folder (created on the first screenshot).

    Example:
        >>> screenshots_folder("shots")
        PosixPath('shots')
    """
    if given is not None:
        return Path(given)
    return Path(os.environ.get(SCREENSHOTS_ENV) or Path("out") / "screenshots")


class RulebridgeApp(SessionWork):
    """The TUI for one ruleset file and one timeline of lifecycle steps."""

    CSS_PATH = "app.tcss"
    TITLE = "rulebridge"
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "stepper": StepperScreen,
        "rules": BrowserScreen,
        "lifecycle": LifecycleScreen,
    }
    DEFAULT_MODE = "stepper"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help", key_display="?", tooltip="every key and mark"),
        Binding("b", "switch_mode('rules')", "Rules", tooltip="browse the ruleset's rules"),
        Binding(
            "d", "lifecycle", "Diagram", show=False, tooltip="the lifecycle diagram, status marked"
        ),
        Binding("r", "reload", "Reload", tooltip="reload the ruleset, replay every step"),
        Binding(
            "v",
            "differences",
            "Diffs",
            show=False,
            tooltip="what the last reload changed, per step",
        ),
        Binding("l", "load", "Load", tooltip="load a scenario file (a file picker)"),
        Binding("s", "save", "Save", tooltip="save the whole timeline as a scenario file"),
        Binding("g", "seed", "Seed", show=False, tooltip="play a random lifecycle from a seed"),
        Binding(
            "a", "agency", "Agency", show=False, tooltip="the agency settings; replays every step"
        ),
        Binding("n", "new", "New", show=False, tooltip="start again with an empty timeline"),
        Binding("ctrl+s", "screenshot", "Shot", show=False, tooltip="save an SVG of the screen"),
        Binding("q", "quit", "Quit", tooltip="quit"),
    ]

    def __init__(
        self,
        ruleset_path: Path,
        ruleset: CompiledRuleset,
        *,
        scenario: ScenarioFile | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
        watch: bool = True,
        screenshots: Path | None = None,
        wall: Callable[[], datetime] = datetime.now,
    ) -> None:
        super().__init__()
        self.setup(
            ruleset_path,
            ruleset,
            clock or Clock(),
            watch=watch,
            screenshots=screenshots_folder(screenshots),
            wall=wall,
        )
        self.start = (scenario, seed)

    def on_mount(self) -> None:
        """Play the scenario or random lifecycle asked for; start watching the ruleset."""
        scenario, seed = self.start
        if scenario is not None:
            self.play_file(scenario)
        elif seed is not None:
            self.play_seed(seed)
        if self.watching:
            self.watch_timer = self.set_interval(WATCH_SECONDS, self.check_ruleset, name="watch")

    def perform(self, event: str, details: Mapping[str, Any]) -> None:
        """Perform `event` on the issue; warnings that arise are also notified."""
        try:
            frame = self.session.perform(event, details)
        except RulebridgeError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.changed()
        for warning in frame.result.warnings if frame.result else ():
            self.notify(str(warning), title="Warning", severity="warning", markup=False)

    # Actions (each also in the command palette)

    def action_help(self) -> None:
        """Show every key and what the timeline's marks mean."""
        sections = [
            ("Everywhere", list(self.BINDINGS)),
            ("Lifecycle stepper", list(StepperScreen.BINDINGS)),
            ("Ruleset browser", list(BrowserScreen.BINDINGS)),
            ("Lifecycle diagram", list(LifecycleScreen.BINDINGS)),
        ]
        marks = "\n".join(f"  {mark:<14} {meaning}" for mark, meaning in TIMELINE_MARKS.items())
        extra = (
            f"\nTimeline marks\n{marks}\n\nAlto and Fixflo panes\n"
            "  bold yellow    changed at this step (was: the value before)\n\nAlso\n"
            "  enter / esc    in a dialog or the file picker: accept / cancel (tab moves)\n"
            "  esc            closes a box: a rule, the errors, the reload report, this list\n"
            "  ctrl+p         command palette: every action and event by name\n"
            "  mouse          click the event buttons; the panes scroll with the wheel"
        )
        self.push_screen(HelpScreen(keys_table(sections) + extra))

    def action_new(self) -> None:
        """Start again with an empty timeline."""
        session = self.session
        self.use(Session(session.base, self.clock, session.settings), "new timeline")

    def action_reload(self) -> None:
        """Reload the ruleset file and replay every step with it."""
        self.reload_ruleset()

    def action_lifecycle(self) -> None:
        """Show the lifecycle diagram (the current status marked), or go back."""
        self.switch_mode("stepper" if self.current_mode == "lifecycle" else "lifecycle")

    def action_show_errors(self) -> None:
        """Show the located errors of the ruleset file while it is stale."""
        if not self.ruleset_error:
            self.notify(f"{self.ruleset_path.name} loaded without errors", markup=False)
            return
        self.push_screen(ErrorsScreen(self.ruleset_error))

    def action_load(self) -> None:
        """Pick a scenario file and play it."""
        start = scenarios_folder(self.ruleset_path)
        self.push_screen(FilePicker("load", start), self._load_answer)

    def action_save(self) -> None:
        """Pick a file and save the whole timeline there as a scenario."""
        source = self.session.source
        start = source.path.parent if source else scenarios_folder(self.ruleset_path)
        name = source.path.name if source else ""
        summary = source.scenario.summary if source else ""  # the picker offers its default
        self.push_screen(FilePicker("save", start, name, summary), self._save_answer)

    def action_seed(self) -> None:
        """Ask for a seed and play a random lifecycle from it."""
        self.push_screen(
            PromptDialog("Random lifecycle from seed:", "1", number=True), self._seed_answer
        )

    def action_agency(self) -> None:
        """Ask for the agency settings and replay the timeline under them."""
        session = self.session
        dialog = AgencyDialog(session.ruleset.settings_declared, session.agency())
        self.push_screen(dialog, self._agency_answer)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen into the screenshots folder."""
        self.deliver_screenshot(filename, path)

    def _agency_answer(self, changes: dict[str, Any] | None) -> None:
        if changes:
            self.use_settings({**self.session.settings, **changes})

    def _load_answer(self, path: Path | SaveChoice | None) -> None:
        if isinstance(path, Path):
            self.load_file(path)

    def _save_answer(self, choice: Path | SaveChoice | None) -> None:
        if isinstance(choice, SaveChoice):
            self.save_file(choice)

    def _seed_answer(self, seed: str | None) -> None:
        if seed:
            self.play_seed(int(seed))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: the app's actions, the timeline, and each event possible now."""
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in ("quit", "screenshot"):
                yield SystemCommand(
                    binding.description,
                    f"{_doc(self, binding.action)} ({binding.key_display or binding.key})",
                    _runner(self, binding.action),
                )
        if isinstance(screen, StepperScreen):
            yield SystemCommand("Back", "One step back in the timeline (←)", screen.action_back)
            yield SystemCommand("Forward", "One step forward (→)", screen.action_forward)
            yield SystemCommand("Note", "Write the note of this step (m)", screen.action_note)
            for number, event in enumerate(self.session.legal(), 1):
                yield SystemCommand(
                    f"Event: {event.name}",
                    f"{event.summary.strip()} ({number})",
                    _event_runner(screen, number),
                )


def make_app(
    ruleset_path: Path_,
    scenario: Path_ | None = None,
    seed: int | None = None,
    clock: Clock | None = None,
    *,
    watch: bool = True,
    screenshots: Path_ | None = None,
    wall: Callable[[], datetime] = datetime.now,
) -> RulebridgeApp:
    """Build the TUI for a ruleset file, optionally starting from a scenario or a seed.

    The scenario file is read here (its steps are played once the app runs), so a broken
    one is reported before the screen opens.

    Args:
        ruleset_path: the ruleset file; it must declare a ``lifecycle:``.
        scenario: a scenario file to start from.
        seed: a random lifecycle to start from.
        clock: the simulated clock (tests fix it).
        watch: reload the ruleset by itself when its file changes (polled once a second).
        screenshots: the screenshots folder (`screenshots_folder` decides when None).
        wall: the wall clock the stale marker's "loaded HH:MM:SS" reads.

    Raises:
        RulesetErrors: the ruleset file or the scenario file has errors.
        RulebridgeError: the ruleset declares no lifecycle.
        OSError: the scenario file cannot be read.

    Example::

        app = make_app("rulesets/alto-fixflo/v2.yaml", seed=3)
    """
    path = Path(ruleset_path)
    ruleset = load_lifecycle_ruleset(path)
    source = None if scenario is None else ScenarioFile.read(Path(scenario), ruleset)
    return RulebridgeApp(
        path,
        ruleset,
        scenario=source,
        seed=seed,
        clock=clock,
        watch=watch,
        screenshots=None if screenshots is None else Path(screenshots),
        wall=wall,
    )


def _doc(app: App[Any], action: str) -> str:
    method = getattr(app, f"action_{action.split('(')[0]}", None)
    doc = (method.__doc__ or action) if method else "Switch to the ruleset browser"
    return doc.strip().splitlines()[0]


def _runner(app: App[Any], action: str) -> Any:
    async def run() -> None:
        await app.run_action(action)

    return run


def _event_runner(screen: StepperScreen, number: int) -> Any:
    return lambda: screen.action_event(number)
