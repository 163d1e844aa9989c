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

from collections.abc import Mapping, Sequence
from typing import Any, Final

from rich.text import Text

from engine.sync.impact import StepDifference
from tui.model.session import Session
from tui.render._alto import charge_line
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
        # neutral styles: an added warning or violation is no better than a removed one
        if old is _NONE:
            text.append(f"+ {_show(new)}\n", style="bold")
        elif new is _NONE:
            text.append(f"- {_show(old)}\n", style="dim strike")
        else:
            text.append(_show(old), style="dim")
            text.append(" -> ")
            text.append(f"{_show(new)}\n", style="bold")


_NONE: Final = object()
"""An item only one side has: shown ``+ new`` or ``- old``."""

_NOISE: Final = frozenset({"because", "idempotency_key", "after", "issue_id"})
"""An operation's bookkeeping: how it is keyed and why, not what it writes (`fired` says
why)."""


def _leaves(what: str, old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """A difference as the smallest parts that differ: a mapping key by key, a list of
    records matched by their identity (a charge by id, an operation by what it writes to),
    a list of texts (rules fired, warnings, documents) as the items added and removed."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: list[tuple[str, Any, Any]] = []
        for key in dict.fromkeys([*old, *new]):
            if key not in _NOISE and old.get(key) != new.get(key):
                found += _leaves(f"{what}.{key}", old.get(key), new.get(key))
        return found
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        return _list_leaves(what, old, new)
    return [(what, old, new)]


def _list_leaves(what: str, old: Sequence[Any], new: Sequence[Any]) -> list[tuple[str, Any, Any]]:
    before = {_identity(item, index): item for index, item in enumerate(old)}
    after = {_identity(item, index): item for index, item in enumerate(new)}
    found: list[tuple[str, Any, Any]] = []
    for key in dict.fromkeys([*before, *after]):
        if key not in after:
            found.append((what, _brief(before[key]), _NONE))
        elif key not in before:
            found.append((what, _NONE, _brief(after[key])))
        elif before[key] != after[key]:
            found += _leaves(f"{what}[{key}]", before[key], after[key])
    return found


def _identity(item: Any, index: int) -> str:
    """What names a list item across two reports: a text is itself, a charge its id, an
    operation what it writes (``post charge maintenance``)."""
    if not isinstance(item, Mapping):
        return _show(item)
    if item.get("id") is not None:
        return str(item["id"])
    if "op" in item:
        return " ".join(str(item[key]) for key in ("op", "kind", "name") if item.get(key))
    return str(index)


def _brief(item: Any) -> Any:
    """An added or removed record in brief: an operation as what it writes, a charge as its
    route and amount."""
    if isinstance(item, Mapping) and "op" in item:
        return _identity(item, 0)
    if isinstance(item, Mapping) and "chargeType" in item:
        return charge_line(item)
    return item


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)
