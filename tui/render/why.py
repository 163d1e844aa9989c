"""The Why pane: what each rule did at the frame's step, from the decision itself."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text

from engine.explain import Because
from tui.model.rules import RuleInfo
from tui.model.session import Frame

__all__ = ["explain_text"]


def explain_text(frame: Frame, rules: Mapping[str, RuleInfo]) -> Text:
    """The warnings and the rules that fired for the frame's step, with their summaries."""
    result = frame.result
    if result is None:
        return Text("no step yet" if frame.step is None else "not delivered", style="dim")
    text = Text()
    if result.stale:
        text.append("an older snapshot than Alto last saw: nothing changed\n", style="yellow")
    for because in result.warnings:
        _because(text, because, rules, "⚠ ", "bold yellow")
    for because in result.fired:
        _because(text, because, rules, "✓ " if because.held else "✗ ", "")
    for op in result.operations:
        text.append(f"→ {op.op} {op.kind}{' ' + op.name if op.name else ''}\n", style="cyan")
    return text


def _because(
    text: Text, because: Because, rules: Mapping[str, RuleInfo], mark: str, style: str
) -> None:
    text.append(f"{mark}{because}\n", style=style)
    info = rules.get(because.rule)
    if info is not None:
        text.append(f"   {info.summary.strip()} ({info.where})\n", style="dim")
