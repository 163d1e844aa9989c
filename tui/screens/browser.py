"""The ruleset browser: rules grouped by entity and lifecycle status, with ids, their
requirement text and file:line; `r` reloads the file (errors shown, the last good kept);
`d` switches to the Lifecycle view (the lifecycle drawn as text, as `rulebridge graph
--format text` draws it) and back."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, Tree

from engine.language.diagram import text as lifecycle_text
from tui.model.rules import RuleInfo

__all__ = ["BrowserScreen"]


class BrowserScreen(Screen[None]):
    """A tree of the ruleset's rules and the last reload's errors."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,b",
            "app.switch_mode('stepper')",
            "Stepper",
            key_display="esc, b",
            tooltip="back to the stepper",
        ),
        Binding("e", "expand_all", "Expand all", tooltip="open every group of rules"),
        Binding("d", "lifecycle", "Lifecycle", tooltip="the lifecycle diagram, or the rules again"),
    ]

    def compose(self) -> ComposeResult:
        """Header, the errors line, the tree, the footer."""
        yield Header()
        yield Static("", id="errors", markup=False)
        yield Tree("rules", id="rules")
        with VerticalScroll(id="lifecycle-view"):
            yield Static("", id="lifecycle", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        """Redraw whenever the app loads a ruleset (or fails to); the tree shows first."""
        self.query_one("#lifecycle-view").display = False
        self.watch(self.app, "ruleset_version", self._redraw)

    def _redraw(self, _: int = 0) -> None:
        app = self.app
        rules: dict[str, RuleInfo] = getattr(app, "rules", {})
        error: str = getattr(app, "ruleset_error", "")
        self.sub_title = f"{Path(getattr(app, 'ruleset_path', '')).name} - {len(rules)} rules"
        errors = self.query_one("#errors", Static)
        errors.update(
            f"Reload failed; still using the last good ruleset:\n{error}" if error else ""
        )
        errors.display = bool(error)
        self._fill(self.query_one("#rules", Tree), rules)
        session = getattr(app, "session", None)
        lifecycle = getattr(getattr(session, "ruleset", None), "lifecycle", None)
        drawn = lifecycle_text(lifecycle) if lifecycle else "This ruleset has no lifecycle."
        self.query_one("#lifecycle", Static).update(drawn)

    def _fill(self, tree: Tree[str], rules: dict[str, RuleInfo]) -> None:
        tree.clear()
        tree.root.expand()
        groups: dict[str, list[RuleInfo]] = defaultdict(list)
        for info in rules.values():
            groups[info.group].append(info)
        for group, items in groups.items():
            node = tree.root.add(Text(f"{group} ({len(items)})"), expand=group.startswith("status"))
            for info in items:
                label = Text(f"{info.id}  ", style="bold")
                label.append(info.summary.strip()).append(f"  {info.where}", style="dim")
                node.add_leaf(label, data=info.id)

    def action_expand_all(self) -> None:
        """Open every group."""
        self.query_one("#rules", Tree).root.expand_all()

    def action_lifecycle(self) -> None:
        """Show the lifecycle diagram instead of the rules, or the rules again."""
        view = self.query_one("#lifecycle-view")
        view.display = not view.display
        tree = self.query_one("#rules", Tree)
        tree.display = not view.display
        (view if view.display else tree).focus()
