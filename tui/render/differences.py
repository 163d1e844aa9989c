"""The "Reloaded" pane: after a reload (or a change of agency settings), each step whose
outcome now differs, what it was and what it is.

Example:
    >>> from engine import load_ruleset
    >>> from simulator.lifecycle import Step
    >>> from tui.model import Session
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> session = Session.replay(ruleset, [Step(event="report")])
    >>> reload_text(session.reloaded(ruleset)).plain
    'no step differs\\n'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from engine.sync.impact import StepDifference
from tui.model.session import Session
from tui.render.timeline import step_label

__all__ = ["reload_text"]


def reload_text(session: Session) -> Text:
    """The steps whose frames differ from before the last reload: per step its number and
    label, then each difference ``what: before -> after`` (a works order field by field);
    or "no step differs"."""
    text = Text()
    differing = [(index, frame) for index, frame in enumerate(session.frames) if frame.differences]
    if not differing:
        text.append("no step differs\n", style="green")
        return text
    steps = len(session.frames) - 1
    text.append(f"{len(differing)} of {steps} steps differ\n", style="bold")
    for index, frame in differing:
        text.append(f"{index} {step_label(frame.step)}\n", style="bold yellow")
        for difference in frame.differences:
            _difference(text, difference)
    return text


def _difference(text: Text, difference: StepDifference) -> None:
    if difference.what == "refused":
        if difference.new is None:
            text.append(f"   no longer refused (was: {difference.old})\n", style="green")
        elif difference.old is None:
            text.append(f"   now refused: {difference.new}\n", style="bold red")
        else:
            text.append(f"   refused: {difference.old} -> {difference.new}\n", style="red")
        return
    for what, old, new in _leaves(difference.what, difference.old, difference.new):
        text.append(f"   {what}: ")
        text.append(_show(old), style="red")
        text.append(" -> ")
        text.append(f"{_show(new)}\n", style="green")


def _leaves(what: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """A difference between two mappings (a works order) as one per key that differs."""
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return [(what, old, new)]
    found: list[tuple[str, Any, Any]] = []
    for key in dict.fromkeys([*old, *new]):
        if old.get(key) != new.get(key):
            found += _leaves(f"{what}.{key}", old.get(key), new.get(key))
    return found


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)
