"""The app's slow work, off the UI thread: load, replay, save, reload, watch, screenshots.

Each worker hands its result back with `call_from_thread`; the UI thread then replaces the
session and bumps `version` (the screens redraw). A reload or a change of settings replays a
copy of the timeline taken on the UI thread; if the person changed the timeline meanwhile
(performed an event, wrote a note), the replay is done again rather than losing that change.

A failed reload keeps the last good ruleset and makes the ruleset *stale* (design decision
4): `stale` says so until a reload succeeds, and `ruleset_error` holds the located errors.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.reactive import reactive
from textual.timer import Timer

from engine import RulebridgeError, RulesetErrors, load_ruleset
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle import Clock
from tui.model.rules import RuleInfo, rule_index
from tui.model.scenario_file import ScenarioFile, save_text, scenario_text
from tui.model.session import Session, random_steps
from tui.model.watch import FileWatch
from tui.render.differences import reload_text
from tui.screens.dialogs import TextDialog
from tui.screens.files import SaveChoice

__all__ = ["NoLifecycle", "SessionWork", "load_lifecycle_ruleset"]

WATCH_SECONDS = 1.0
"""How often the ruleset file is polled (its size and mtime; hashed only when they move)."""


class NoLifecycle(RulebridgeError):
    """The ruleset file declares no ``lifecycle:``, which the TUI steps through."""


def load_lifecycle_ruleset(path: Path) -> CompiledRuleset:
    """The compiled ruleset of `path`, which must declare a lifecycle.

    Raises:
        RulesetErrors: the file has errors (located ``file:line:col: code: message``).
        NoLifecycle: it declares no ``lifecycle:``.

    Example::

        ruleset = load_lifecycle_ruleset(Path("rulesets/alto-fixflo/v2.yaml"))
    """
    ruleset = load_ruleset(path)
    if ruleset.lifecycle is None:
        raise NoLifecycle(
            f"{path} declares no 'lifecycle:'; the TUI steps an issue through one: "
            "give --ruleset a file that has one, such as rulesets/alto-fixflo/v2.yaml"
        )
    return ruleset


class SessionWork(App[None]):
    """The workers and the ruleset's state of `tui.app.RulebridgeApp` (a base class)."""

    version: reactive[int] = reactive(0)
    """Bumped whenever the session changes: the screens redraw."""
    ruleset_version: reactive[int] = reactive(0)
    """Bumped whenever a ruleset loads or fails to: the browser and the stale line redraw."""

    def setup(
        self,
        ruleset_path: Path,
        ruleset: CompiledRuleset,
        clock: Clock,
        *,
        watch: bool,
        screenshots: Path,
        wall: Callable[[], datetime],
    ) -> None:
        """Set the state the workers share (called once from the app's ``__init__``)."""
        self.ruleset_path = ruleset_path
        self.clock = clock
        self.session = Session(ruleset, clock)
        self.rules: dict[str, RuleInfo] = rule_index(ruleset)
        self.ruleset_error = ""
        self.error_count = 0
        self.wall = wall
        self.loaded_at = wall()
        self.watching = watch
        self.file_watch = FileWatch(ruleset_path)
        self.watch_timer: Timer | None = None
        self.screenshots = screenshots

    @property
    def stale(self) -> str:
        """The stale marker's text while the ruleset file has errors, else ""."""
        if not self.ruleset_error:
            return ""
        count = f"{self.error_count} error{'s' if self.error_count != 1 else ''}"
        return (
            f"ruleset has {count}; still showing the last good ruleset "
            f"(loaded {self.loaded_at:%H:%M:%S}) - e: errors"
        )

    def changed(self) -> None:
        """Tell the screens the session changed."""
        self.version += 1

    def use(self, session: Session, message: str) -> None:
        """Replace the session (from a worker's result)."""
        self.session = session
        self.changed()
        self.notify(message, markup=False)

    def failed(self, message: str) -> None:
        """Show a worker's error; nothing else changes."""
        self.notify(message, severity="error", timeout=10, markup=False)

    # Scenarios: load, play, save

    @work(thread=True, exclusive=True, group="files", exit_on_error=False)
    def load_file(self, path: Path) -> None:
        """Read a scenario file and replay it (worker)."""
        try:
            source = ScenarioFile.read(path, self.session.base)
        except (RulebridgeError, OSError, UnicodeDecodeError) as exc:
            self.call_from_thread(self.failed, f"could not load {path}:\n{exc}")
            return
        self._play(source)

    @work(thread=True, exclusive=True, group="files", exit_on_error=False)
    def play_file(self, source: ScenarioFile) -> None:
        """Replay a scenario file already read (worker)."""
        self._play(source)

    def _play(self, source: ScenarioFile) -> None:
        scenario = source.scenario
        try:
            session = Session.replay(
                self.session.base, scenario.steps, self.clock, scenario.settings, source=source
            )
        except RulebridgeError as exc:
            self.call_from_thread(self.failed, f"could not play {source.path}:\n{exc}")
            return
        message = f"loaded {scenario.name}: {len(scenario.steps)} steps{_refused(session)}"
        self.call_from_thread(self.use, session, message)

    @work(thread=True, exclusive=True, group="files", exit_on_error=False)
    def play_seed(self, seed: int) -> None:
        """Play a random lifecycle from `seed` (worker)."""
        ruleset, settings = self.session.base, self.session.settings
        steps = random_steps(ruleset, seed, clock=self.clock, settings=settings)
        session = Session.replay(ruleset, steps, self.clock, settings)
        self.call_from_thread(self.use, session, f"random lifecycle from seed {seed}")

    @work(thread=True, exclusive=True, group="files", exit_on_error=False)
    def save_file(self, choice: SaveChoice) -> None:
        """Write the whole timeline to `choice.path`, atomically (worker)."""
        session, path = self.session, choice.path
        steps, settings = session.steps, session.settings
        if session.source is not None:
            text = session.source.render(steps, settings, choice.summary)
        else:
            text = scenario_text(path.stem, choice.summary, steps, settings, path.parent)
        try:
            save_text(path, text)
            source = ScenarioFile.read(path, session.base)
        except (OSError, RulebridgeError) as exc:
            self.call_from_thread(self.failed, f"could not save {path}:\n{exc}")
            return
        self.call_from_thread(self._saved, session, source, len(steps))

    def _saved(self, session: Session, source: ScenarioFile, count: int) -> None:
        session.source = source  # later saves keep this file's text
        self.notify(f"saved {source.path}: {count} steps", markup=False)

    # The ruleset: reload by hand or by the watch; settings

    def check_ruleset(self) -> None:
        """Reload when the ruleset file's content changed (the watch's timer calls this)."""
        if not self.watching:
            return
        try:
            changed = self.file_watch.changed()
        except OSError:  # being replaced by an editor: look again on the next tick
            return
        if changed:
            self.reload_ruleset()

    def reload_ruleset(self) -> None:
        """Reload the ruleset file and replay the whole timeline with it."""
        self.file_watch.accept()
        self._reload(_copy(self.session))

    @work(thread=True, exclusive=True, group="reload", exit_on_error=False)
    def _reload(self, old: Session) -> None:
        try:
            ruleset = load_lifecycle_ruleset(self.ruleset_path)
            session = old.reloaded(ruleset)
        except RulesetErrors as exc:
            self.call_from_thread(self._reload_failed, str(exc), len(exc.errors))
            return
        except (RulebridgeError, OSError, UnicodeDecodeError) as exc:
            self.call_from_thread(self._reload_failed, f"{self.ruleset_path}: {exc}", 1)
            return
        self.call_from_thread(self._reloaded, old, session)

    def _reloaded(self, old: Session, session: Session) -> None:
        if self.session.steps != old.steps:  # changed while replaying: replay the change too
            self.reload_ruleset()
            return
        session.goto(min(self.session.cursor, len(session.frames) - 1))
        self.rules = rule_index(session.ruleset)
        self.ruleset_error, self.error_count = "", 0
        self.loaded_at = self.wall()
        self.ruleset_version += 1
        differing = sum(1 for frame in session.frames if frame.differences)
        name = self.ruleset_path.name
        if not differing:
            self.use(session, f"reloaded {name}: no step differs")
            return
        steps = "1 step differs" if differing == 1 else f"{differing} steps differ"
        self.use(session, f"reloaded {name}: {steps} (Δ; v shows them){_refused(session)}")
        if not self.screen.is_modal:
            self.action_differences()

    def _reload_failed(self, error: str, count: int) -> None:
        self.ruleset_error, self.error_count = error, count
        self.ruleset_version += 1
        self.failed(f"reload failed; the last good ruleset is kept:\n{error}")

    def action_differences(self) -> None:
        """What the last reload changed, step by step (before -> after)."""
        self.push_screen(TextDialog("Reloaded: what now differs", reload_text(self.session)))

    @work(thread=True, exclusive=True, group="reload", exit_on_error=False)
    def use_settings(self, settings: dict[str, Any]) -> None:
        """Replay the timeline under agency `settings`, keeping every step (worker)."""
        old = _copy(self.session)
        try:
            session = old.with_settings(settings)
        except RulebridgeError as exc:
            self.call_from_thread(self.failed, f"settings not changed:\n{exc}")
            return
        self.call_from_thread(self._settings_used, old, session, settings)

    def _settings_used(self, old: Session, session: Session, settings: dict[str, Any]) -> None:
        if self.session.steps != old.steps:
            self.use_settings(settings)
            return
        session.goto(min(self.session.cursor, len(session.frames) - 1))
        shown = ", ".join(f"{name} {value}" for name, value in session.agency().items())
        self.use(session, f"agency settings: {shown}{_refused(session)}")

    # Screenshots (design decision 11)

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Save an SVG of the screen into the screenshots folder (created on first use),
        not Textual's default (the Downloads folder, which may not exist); the toast names
        the file. The palette's Screenshot and ``ctrl+s`` both come here."""
        folder = Path(path) if path else self.screenshots
        try:
            folder.mkdir(parents=True, exist_ok=True)
            written = self.save_screenshot(filename, str(folder), time_format)
            os.chmod(written, 0o600)  # the screen may show a tenant's name
        except OSError as exc:
            self.failed(f"could not save the screenshot in {folder}: {exc}")
            return None
        self.notify(f"screenshot saved: {written}", title="Screenshot", markup=False)
        return written


def _refused(session: Session) -> str:
    """The toast's note on the steps kept as refused (design decision 1), or ""."""
    refused = [frame.refused for frame in session.frames if frame.refused]
    if not refused:
        return ""
    return f"; {len(refused)} not legal here, kept as refused (⊘): {refused[0]}"


def _copy(session: Session) -> Session:
    """A copy of `session` whose timeline the UI thread's edits do not touch (the frames
    themselves are immutable)."""
    clone = copy.copy(session)
    clone.frames = list(session.frames)
    return clone
