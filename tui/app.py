"""The rulebridge TUI: step a Fixflo issue through the ruleset's lifecycle and watch Alto.

Two modes: ``stepper`` (the main screen) and ``rules`` (the ruleset browser). File loads,
reloads, replays and saves run in thread workers; their results come back to the UI thread
with `call_from_thread`, then `changed` bumps `version`, which the screens watch.

Example::

    app = make_app("rulesets/alto-fixflo/v2.yaml", seed=7)
    app.run()
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.screen import Screen

from engine import RulebridgeError, load_ruleset
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle import Clock, load_scenario
from tui.model.rules import RuleInfo, rule_index
from tui.model.session import Session, random_steps, scenario_text
from tui.screens import AgencyDialog, BrowserScreen, HelpScreen, PromptDialog, StepperScreen
from tui.screens.help import keys_table
from tui.screens.lifecycle import LifecycleScreen

__all__ = ["RulebridgeApp", "make_app"]

Path_ = str | os.PathLike[str]


class RulebridgeApp(App[None]):
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
        Binding("question_mark", "help", "Help", key_display="?", tooltip="this list of keys"),
        Binding("b", "switch_mode('rules')", "Rules", tooltip="browse the ruleset's rules"),
        Binding("r", "reload", "Reload", tooltip="reload the ruleset file, replay the timeline"),
        Binding("l", "load", "Load", tooltip="load a scenario file"),
        Binding("s", "save", "Save", tooltip="save the timeline as a scenario file"),
        Binding("g", "seed", "Seed", tooltip="play a random lifecycle from a seed"),
        Binding("a", "agency", "Agency", tooltip="the agency settings of this session"),
        Binding("n", "new", "New", tooltip="start again with an empty timeline"),
        Binding("q", "quit", "Quit", tooltip="quit"),
    ]

    version: reactive[int] = reactive(0)
    ruleset_version: reactive[int] = reactive(0)

    def __init__(
        self,
        ruleset_path: Path,
        ruleset: CompiledRuleset,
        *,
        scenario: Path | None = None,
        seed: int | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.ruleset_path = ruleset_path
        self.clock = clock or Clock()
        self.session = Session(ruleset, self.clock)
        self.rules: dict[str, RuleInfo] = rule_index(ruleset)
        self.ruleset_error = ""
        self.start = (scenario, seed)

    def on_mount(self) -> None:
        """Load the scenario or random lifecycle asked for on the command line."""
        scenario, seed = self.start
        if scenario is not None:
            self.load_file(scenario)
        elif seed is not None:
            self.play_seed(seed)

    def changed(self) -> None:
        """Tell the screens the session changed."""
        self.version += 1

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

    def use(self, session: Session, message: str) -> None:
        """Replace the session (from a worker's result)."""
        self.session = session
        self.changed()
        self.notify(message, markup=False)

    def failed(self, message: str) -> None:
        """Show a worker's error; nothing else changes."""
        self.notify(message, severity="error", timeout=10, markup=False)

    # Actions (each also in the command palette)

    def action_help(self) -> None:
        """Show every key."""
        sections = [
            ("Everywhere", list(self.BINDINGS)),
            ("Lifecycle stepper", list(StepperScreen.BINDINGS)),
            ("Ruleset browser", list(BrowserScreen.BINDINGS)),
        ]
        extra = "\nAlso\n  ctrl+p         command palette: every action and event by name\n"
        extra += "  mouse          click the event buttons; the panes scroll with the wheel"
        self.push_screen(HelpScreen(keys_table(sections) + extra))

    def action_new(self) -> None:
        """Start again with an empty timeline."""
        session = self.session
        self.use(Session(session.base, self.clock, session.settings), "new timeline")

    def action_reload(self) -> None:
        """Reload the ruleset file and replay the timeline with it."""
        self.reload_ruleset()

    def action_load(self) -> None:
        """Ask for a scenario file and play it."""
        self.push_screen(
            PromptDialog("Load scenario file:", "simulator/scenarios/documented-path.yaml"),
            self._load_answer,
        )

    def action_save(self) -> None:
        """Ask for a file and save the timeline up to the cursor as a scenario."""
        self.push_screen(
            PromptDialog("Save timeline as scenario file:", "tui-scenario.yaml"),
            self._save_answer,
        )

    def action_seed(self) -> None:
        """Ask for a seed and play a random lifecycle from it."""
        self.push_screen(
            PromptDialog("Random lifecycle from seed:", "1", number=True),
            self._seed_answer,
        )

    def action_agency(self) -> None:
        """Ask for the agency settings and replay the timeline under them."""
        session = self.session
        dialog = AgencyDialog(session.ruleset.settings_declared, session.agency())
        self.push_screen(dialog, self._agency_answer)

    def _agency_answer(self, changes: dict[str, Any] | None) -> None:
        if changes:
            self.use_settings({**self.session.settings, **changes})

    def _load_answer(self, path: str | None) -> None:
        if path:
            self.load_file(Path(path))

    def _save_answer(self, path: str | None) -> None:
        if path:
            self.save_file(Path(path))

    def _seed_answer(self, seed: str | None) -> None:
        if seed:
            self.play_seed(int(seed))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette: the app's actions, the timeline, and each event possible now."""
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in ("quit",):
                yield SystemCommand(
                    binding.description,
                    f"{_doc(self, binding.action)} ({binding.key_display or binding.key})",
                    _runner(self, binding.action),
                )
        if isinstance(screen, StepperScreen):
            yield SystemCommand("Back", "One step back in the timeline (←)", screen.action_back)
            yield SystemCommand("Forward", "One step forward (→)", screen.action_forward)
            for number, event in enumerate(self.session.legal(), 1):
                yield SystemCommand(
                    f"Event: {event.name}",
                    f"{event.summary.strip()} ({number})",
                    _event_runner(screen, number),
                )

    # Workers: files and replays, off the UI thread

    @work(thread=True, exclusive=True, group="files", exit_on_error=False)
    def load_file(self, path: Path) -> None:
        """Read a scenario file and replay it (worker)."""
        ruleset = self.session.base
        try:
            scenario = load_scenario(path, ruleset)
            session = Session.replay(ruleset, scenario.steps, self.clock, scenario.settings)
        except (RulebridgeError, OSError) as exc:
            self.call_from_thread(self.failed, f"could not load {path}:\n{exc}")
            return
        message = f"loaded {scenario.name}, {len(scenario.steps)} steps"
        refused = [frame.refused for frame in session.frames if frame.refused]
        if refused:
            message += f"; {len(refused)} not legal here, kept as refused (⊘): {refused[0]}"
        self.call_from_thread(self.use, session, message)

    @work(thread=True, exclusive=True, group="files", exit_on_error=False)
    def play_seed(self, seed: int) -> None:
        """Play a random lifecycle from `seed` (worker)."""
        ruleset, settings = self.session.base, self.session.settings
        steps = random_steps(ruleset, seed, clock=self.clock, settings=settings)
        session = Session.replay(ruleset, steps, self.clock, settings)
        self.call_from_thread(self.use, session, f"random lifecycle from seed {seed}")

    @work(thread=True, exclusive=True, group="files", exit_on_error=False)
    def save_file(self, path: Path) -> None:
        """Write the timeline up to the cursor as a scenario file (worker)."""
        session = self.session
        text = scenario_text(
            path.stem, "Saved from rulebridge tui.", session.steps, session.settings
        )
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            self.call_from_thread(self.failed, f"could not save {path}: {exc}")
            return
        self.call_from_thread(self.notify, f"saved {path}", markup=False)

    @work(thread=True, exclusive=True, group="files", exit_on_error=False)
    def reload_ruleset(self) -> None:
        """Reload the ruleset; on errors keep the last good one and show them (worker)."""
        old = self.session
        try:
            ruleset = _load(self.ruleset_path)
            session = old.reloaded(ruleset)
        except RulebridgeError as exc:
            self.call_from_thread(self._reload_failed, str(exc))
            return
        refused = sum(1 for frame in session.frames if frame.refused)
        note = f"; {refused} steps no longer legal, kept as refused" if refused else ""
        self.call_from_thread(self._reloaded, session, f"reloaded {self.ruleset_path}{note}")

    @work(thread=True, exclusive=True, group="files", exit_on_error=False)
    def use_settings(self, settings: dict[str, Any]) -> None:
        """Replay the timeline under agency `settings`; steps no longer legal are kept as
        refused (worker)."""
        old = self.session
        try:
            session = old.with_settings(settings)
        except RulebridgeError as exc:
            self.call_from_thread(self.failed, f"settings not changed:\n{exc}")
            return
        shown = ", ".join(f"{name} {value}" for name, value in session.agency().items())
        refused = sum(1 for frame in session.frames if frame.refused)
        note = f"; {refused} steps no longer legal, kept as refused" if refused else ""
        self.call_from_thread(self.use, session, f"agency settings: {shown}{note}")

    def _reloaded(self, session: Session, message: str) -> None:
        self.rules = rule_index(session.ruleset)
        self.ruleset_error = ""
        self.ruleset_version += 1
        self.use(session, message)

    def _reload_failed(self, error: str) -> None:
        self.ruleset_error = error
        self.ruleset_version += 1
        self.failed(f"reload failed; the last good ruleset is kept:\n{error}")


def make_app(
    ruleset_path: Path_,
    scenario: Path_ | None = None,
    seed: int | None = None,
    clock: Clock | None = None,
) -> RulebridgeApp:
    """Build the TUI for a ruleset file, optionally starting from a scenario or a seed.

    Raises:
        RulesetErrors: the ruleset file has errors.
        RulebridgeError: the ruleset declares no lifecycle.

    Example::

        app = make_app("rulesets/alto-fixflo/v2.yaml", seed=3)
    """
    path = Path(ruleset_path)
    return RulebridgeApp(
        path,
        _load(path),
        scenario=None if scenario is None else Path(scenario),
        seed=seed,
        clock=clock,
    )


def _load(path: Path) -> CompiledRuleset:
    ruleset = load_ruleset(path)
    if ruleset.lifecycle is None:
        raise RulebridgeError(f"{path} declares no 'lifecycle:'; the TUI steps a lifecycle")
    return ruleset


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
