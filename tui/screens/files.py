"""The file picker for loading and saving scenario files: folders and ``*.yaml`` files in a
`DirectoryTree`, a path to type or fill from the tree, and (to save) the scenario's summary.

A relative path typed in is read from the folder the picker shows (`start`). A load of
something that is not a file, or a save into a folder that does not exist, says why and
keeps the picker open; saving over an existing file other than the one the timeline came
from (`name`) asks for a second Enter (or the Overwrite button) first.

Example::

    folder = scenarios_folder(Path("rulesets/alto-fixflo/v2.yaml"))
    app.push_screen(FilePicker("load", folder), on_picked)   # on_picked(Path | None)
    app.push_screen(FilePicker("save", folder, "documented-path.yaml"), on_saved)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalGroup, VerticalGroup
from textual.screen import ModalScreen
from textual.widgets import Button, DirectoryTree, Input, Label

__all__ = ["DEFAULT_NAME", "DEFAULT_SUMMARY", "FilePicker", "SaveChoice", "scenarios_folder"]

DEFAULT_SUMMARY = "Saved from rulebridge tui."
"""The summary offered when the timeline came from no scenario file."""
DEFAULT_NAME = "tui-scenario.yaml"
"""The file name offered to save a timeline that came from no scenario file."""
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class SaveChoice:
    """Where to save the timeline, and the summary the scenario file gets."""

    path: Path
    summary: str


def scenarios_folder(ruleset_path: Path) -> Path:
    """The ``simulator/scenarios`` folder of the checkout `ruleset_path` lives in (the
    nearest found walking up from the ruleset file), else the current folder.

    Example:
        >>> scenarios_folder(Path("rulesets/alto-fixflo/v2.yaml")).parts[-2:]
        ('simulator', 'scenarios')
    """
    for folder in Path(ruleset_path).resolve().parents:
        found = folder / "simulator" / "scenarios"
        if found.is_dir():
            return found
    return Path.cwd()


class ScenarioTree(DirectoryTree):
    """A directory tree of folders and ``*.yaml`` / ``*.yml`` files (no hidden ones)."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Folders and YAML files, leaving out names starting with a dot."""
        return [
            path
            for path in paths
            if not path.name.startswith(".") and (path.is_dir() or path.suffix.lower() in _SUFFIXES)
        ]


Mode = Literal["load", "save"]


class FilePicker(ModalScreen["Path | SaveChoice | None"]):
    """Picks a scenario file to load (dismisses with its `Path`) or where to save the
    timeline (dismisses with a `SaveChoice`); None when cancelled.

    Args:
        mode: ``load`` or ``save``.
        start: the folder the tree shows (a file: its folder; missing: the current folder).
        name: the scenario file the timeline came from (offered to save to, and saving
            over it needs no confirmation); empty for none.
        summary: the summary offered when saving (empty: `DEFAULT_SUMMARY`).
    """

    DEFAULT_CSS = """
    FilePicker { align: center middle; }
    FilePicker > VerticalGroup {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    FilePicker Label.title { text-style: bold; width: 100%; }
    FilePicker ScenarioTree { height: 14; min-height: 4; }
    FilePicker Label.name { width: 10; color: $text-muted; }
    FilePicker Input { width: 1fr; }
    FilePicker HorizontalGroup { height: auto; }
    FilePicker Label.error { color: $error; width: 100%; }
    FilePicker Label.hint { color: $text-muted; width: 100%; }
    FilePicker Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, mode: Mode, start: Path, name: str = "", summary: str = "") -> None:
        super().__init__()
        self.mode: Mode = mode
        start = Path(start)
        folder = start.parent if start.is_file() else start
        self.folder = (folder if folder.is_dir() else Path.cwd()).resolve()
        self.name_ = name
        self.summary = summary.strip() or DEFAULT_SUMMARY
        self._confirming: Path | None = None

    def compose(self) -> ComposeResult:
        """The title, the tree, the path (and summary) inputs, the message line, buttons."""
        title = "Load a scenario file" if self.mode == "load" else "Save the timeline as a scenario"
        with VerticalGroup():
            yield Label(f"{title}  ({self.folder})", classes="title")
            yield ScenarioTree(self.folder, id="tree")
            with HorizontalGroup():
                yield Label("file", classes="name")
                yield Input(self._offered(), id="path", compact=True)
            if self.mode == "save":
                with HorizontalGroup():
                    yield Label("summary", classes="name")
                    yield Input(self.summary, id="summary", compact=True)
            yield Label("", id="error", classes="error")
            verb = "Load" if self.mode == "load" else "Save"
            yield Label(
                f"enter: {verb.lower()}   tab: tree / file name (enter on a file in the tree "
                f"{'picks' if self.mode == 'load' else 'fills'} it)   esc: cancel",
                classes="hint",
            )
            with HorizontalGroup():
                yield Button(f"{verb} (enter)", id="ok", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    def on_mount(self) -> None:
        """Loading starts in the tree (arrows, enter picks); saving in the file name."""
        self.query_one("#tree" if self.mode == "load" else "#path").focus()

    def _offered(self) -> str:
        if self.name_:
            return str(self._resolve(self.name_))
        if self.mode == "save":
            return str(self.folder / DEFAULT_NAME)
        return str(self.folder) + "/"

    def _resolve(self, typed: str) -> Path:
        path = Path(typed).expanduser()
        return (path if path.is_absolute() else self.folder / path).resolve()

    def action_cancel(self) -> None:
        """Close without a file."""
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.dismiss(None)

    @on(DirectoryTree.FileSelected)
    def _file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.query_one("#path", Input).value = str(event.path)
        if self.mode == "load":
            self._submit()
        else:
            self._say("")

    @on(DirectoryTree.DirectorySelected)
    def _folder_selected(self, event: DirectoryTree.DirectorySelected) -> None:
        event.stop()
        path = self.query_one("#path", Input)
        kept = Path(path.value).name if self.mode == "save" and path.value else ""
        path.value = str(Path(event.path) / kept) if kept else str(event.path) + "/"

    @on(Input.Changed, "#path")
    def _path_changed(self) -> None:
        if self._confirming is not None:
            self._confirming = None
            self._say("")
            self.query_one("#ok", Button).label = "Save (enter)"

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def _submit(self) -> None:
        typed = self.query_one("#path", Input).value.strip()
        if not typed:
            self._say("enter a file path, or pick a file in the tree")
            return
        path = self._resolve(typed)
        if self.mode == "load":
            self._load(path)
        else:
            self._save(path)

    def _load(self, path: Path) -> None:
        if path.is_dir():
            self._say(f"{path} is a folder: pick a .yaml file in it")
        elif not path.is_file():
            self._say(f"no file {path}: pick one in the tree or type its path")
        else:
            self.dismiss(path)

    def _save(self, path: Path) -> None:
        summary = self.query_one("#summary", Input).value.strip()
        if path.is_dir():
            self._say(f"{path} is a folder: add a file name such as {DEFAULT_NAME}")
        elif not path.parent.is_dir():
            self._say(f"folder {path.parent} does not exist: pick or type one that does")
        elif path.suffix.lower() not in _SUFFIXES:
            self._say(f"{path.name}: a scenario file's name ends in .yaml")
        elif not summary:
            self._say("enter a summary: one line saying what the scenario shows")
        elif self._needs_confirming(path):
            self._confirming = path
            self.query_one("#ok", Button).label = "Overwrite (enter)"
            self._say(f"{path.name} exists: enter again (or Overwrite) to replace it")
        else:
            self.dismiss(SaveChoice(path, summary))

    def _needs_confirming(self, path: Path) -> bool:
        if not path.exists() or path == self._confirming:
            return False
        return not (self.name_ and self._resolve(self.name_) == path)

    def _say(self, message: str) -> None:
        self.query_one("#error", Label).update(message)
