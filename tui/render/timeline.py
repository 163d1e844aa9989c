"""The timeline pane: every step of the session, one line each, the cursor's marked, and
after each step the marks of `TIMELINE_MARKS` that apply (a legend the help screen cites).

Example:
    >>> from engine import load_ruleset
    >>> from tui.model import Session
    >>> session = Session(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
    >>> _ = session.perform("report")
    >>> timeline_text(session).plain.splitlines()
    ['  0 start', '▶ 1 report']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from rich.text import Text

from simulator.lifecycle import Step
from tui.model.session import Frame, Session

__all__ = ["TIMELINE_MARKS", "marks", "step_label", "timeline_text"]

TIMELINE_MARKS: Final[Mapping[str, str]] = {
    "⊘": "refused: not legal there under this ruleset and settings (nothing changed)",
    "Δ": "differs from before the last reload or change of settings",
    "✗": "an expect: of the step not met",
    "!": "an invariant broken after the step",
}
"""Each mark a timeline line may end with, and what it means (in this order)."""

_STYLES: Final = {"⊘": "bold magenta", "Δ": "bold yellow", "✗": "bold red", "!": "bold red"}


def timeline_text(session: Session) -> Text:
    """Every step, one line each, the cursor's marked; steps after the cursor are dimmed."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for index, frame in enumerate(session.frames):
        mark = "▶ " if index == session.cursor else "  "
        style = "bold reverse" if index == session.cursor else ""
        if index > session.cursor:
            style = "dim"
        text.append(f"{mark}{index} {step_label(frame.step)}", style=style)
        for sign in marks(frame):
            text.append(f" {sign}", style=_STYLES[sign])
        text.append("\n")
    return text


def marks(frame: Frame) -> list[str]:
    """The `TIMELINE_MARKS` that apply to `frame`, in the legend's order."""
    shown = {
        "⊘": bool(frame.refused),
        "Δ": bool(frame.differences),
        "✗": bool(frame.mismatches),
        "!": bool(frame.problems),
    }
    return [sign for sign in TIMELINE_MARKS if shown[sign]]


def step_label(step: Step | None) -> str:
    """`step` in a few words: its event and details (``start`` for None)."""
    if step is None:
        return "start"
    if step.event is None:
        return f"redeliver revision {step.redeliver}"
    extra = ", ".join(f"{k}={_show(v)}" for k, v in step.details.items())
    label = step.event + (f" ({extra})" if extra else "")
    return label if step.deliver else label + " [not delivered]"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_show(item) for item in value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)
