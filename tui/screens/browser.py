"""The ruleset browser: rules grouped by entity and lifecycle status, each line its id, then
its ``file:line`` (so a long rule keeps it in view), then its requirement text; Enter on a
rule opens it in full (`RuleScreen`: its condition, what it depends on, what uses it); `r`
reloads the file (errors shown, the last good kept); `d` switches to the lifecycle screen."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header, Static, Tree

from engine.language.ruleset import CompiledRuleset
from tui.model.rules import RuleInfo
from tui.screens.rule import RuleScreen
from tui.widgets.stale import StaleLine

__all__ = ["BrowserScreen", "rule_label"]

_LOCATED = re.compile(r"^\S+?:\d+(?::\d+)?: ")


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
        Binding(
            "d",
            "app.switch_mode('lifecycle')",
            "Lifecycle",
            tooltip="the lifecycle diagram, where the issue is",
        ),
        Binding("enter", "open", "Open", show=False, tooltip="the rule in full"),
    ]

    def compose(self) -> ComposeResult:
        """Header, the errors line, the tree, the footer."""
        yield Header()
        yield StaleLine()  # the stale-ruleset marker (design decision 4), as on the stepper
        yield Static("", id="errors", markup=False)
        yield Tree("rules", id="rules")
        yield Footer()

    def on_mount(self) -> None:
        """Redraw whenever the app loads a ruleset (or fails to)."""
        self.watch(self.app, "ruleset_version", self._redraw)

    def _redraw(self, _: int = 0) -> None:
        app = self.app
        rules: dict[str, RuleInfo] = getattr(app, "rules", {})
        error: str = getattr(app, "ruleset_error", "")
        self.sub_title = f"{Path(getattr(app, 'ruleset_path', '')).name} - {len(rules)} rules"
        errors = self.query_one("#errors", Static)
        count = sum(1 for line in error.splitlines() if _LOCATED.match(line))
        errors.update(
            f"ruleset has {count or 'some'} error{'' if count == 1 else 's'}; still showing "
            f"the last good ruleset:\n{error}"
            if error
            else ""
        )
        errors.display = bool(error)
        self._fill(self.query_one("#rules", Tree), rules)

    def _fill(self, tree: Tree[str], rules: dict[str, RuleInfo]) -> None:
        tree.clear()
        tree.root.expand()
        groups: dict[str, list[RuleInfo]] = defaultdict(list)
        for info in rules.values():
            groups[info.group].append(info)
        for group, items in groups.items():
            node = tree.root.add(Text(f"{group} ({len(items)})"), expand=group.startswith("status"))
            for info in items:
                node.add_leaf(rule_label(info), data=info.id)

    def action_expand_all(self) -> None:
        """Open every group."""
        self.query_one("#rules", Tree).root.expand_all()

    def action_open(self) -> None:
        """Open the rule under the cursor in full (a group: open or close it)."""
        self.query_one("#rules", Tree).action_select_cursor()

    @on(Tree.NodeSelected, "#rules")
    def _selected(self, event: Tree.NodeSelected[str]) -> None:
        rules: dict[str, RuleInfo] = getattr(self.app, "rules", {})
        info = rules.get(event.node.data or "")
        session = getattr(self.app, "session", None)
        ruleset = getattr(session, "ruleset", None)
        if info is not None and isinstance(ruleset, CompiledRuleset):
            self.app.push_screen(RuleScreen(info, ruleset))


def rule_label(info: RuleInfo) -> Text:
    """A rule's line in the tree: id, ``file:line``, then the summary on one line."""
    label = Text(f"{info.id}  ", style="bold")
    label.append(info.where, style="cyan").append("  ")
    return label.append(" ".join(info.summary.split()))
