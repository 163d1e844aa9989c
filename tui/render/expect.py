"""The Expect pane: the ``expect:`` of the step under the cursor, each key met or not.

A scenario step may say what it must leave (``expect: {status: Closed, charges: []}``,
`simulator.lifecycle.expect`). The pane shows one line per key, in the file's order: ``✓``
(green) when met, else ``✗`` (red) with what was expected, what was found and where the
expectation is written (``file:line``).

Example:
    >>> from engine import load_ruleset
    >>> from tui.model.session import Session
    >>> frame = Session(load_ruleset("rulesets/alto-fixflo/v2.yaml")).perform("report")
    >>> expect_text(frame, "made-here.yaml").plain
    'no expectations at this step'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from rich.text import Text

from simulator.lifecycle import Expect, Mismatch, StepReport, check
from simulator.lifecycle.play import report as step_report
from tui.model.session import Frame

__all__ = ["expect_text"]

_WIDEST: Final = 60
"""Expected values longer than this are cut (the ``file:line`` stays visible)."""


def expect_text(frame: Frame, path_name: str) -> Text:
    """The Expect pane for the frame's step.

    Args:
        frame: the frame under the cursor.
        path_name: the scenario file's name, for ``file:line`` ("" when the timeline was
            made in the TUI: ``line N``).

    Example:
        >>> from engine import load_ruleset
        >>> from tui.model.session import Session
        >>> start = Session(load_ruleset("rulesets/alto-fixflo/v2.yaml")).frame
        >>> expect_text(start, "").plain
        'no expectations at this step'
    """
    step = frame.step
    expect = step.expect if step is not None else None
    if step is None or expect is None or not expect.keys:
        return Text("no expectations at this step", style="dim")
    refused = str(getattr(frame, "refused", "") or "")
    unmet = _mismatches(frame, expect)
    by_key: dict[str, list[Mismatch]] = {}
    for mismatch in unmet:
        by_key.setdefault(mismatch.key, []).append(mismatch)
    met = sum(1 for key in expect.keys if key not in by_key)
    text = Text()
    summary = f"expectations: {met} of {len(expect.keys)} met"
    if refused:
        summary += " (the step was refused here: checked against the worlds before it)"
    text.append(summary + "\n", style="bold green" if met == len(expect.keys) else "bold red")
    for key in expect.keys:
        where = _where(path_name, expect.lines.get(key, expect.line))
        if key not in by_key:
            text.append(f"✓ {key}: {_wanted(expect, key)}", style="green")
            text.append(f"  ({where})\n", style="dim")
            continue
        for mismatch in by_key[key]:
            text.append(f"✗ {mismatch}", style="bold red")
            text.append(f"  ({_where(path_name, mismatch.line or expect.line)})\n", style="dim")
    return text


def _mismatches(frame: Frame, expect: Expect) -> tuple[Mismatch, ...]:
    """The frame's unmet expectations: the ones the timeline checked when it played the
    step (`Frame.mismatches` beside its `Frame.report`), else checked here."""
    if getattr(frame, "report", None) is not None:
        return tuple(getattr(frame, "mismatches", ()))
    return tuple(check(_report(frame), expect))


def _report(frame: Frame) -> StepReport:
    """The step's report, as `simulator.lifecycle.play` makes it after each step."""
    step = frame.step
    assert step is not None  # never the start frame: expect_text returned for it
    return step_report(frame.sim, 0, step, frame.result)


def _where(path_name: str, line: int) -> str:
    if not path_name:
        return f"line {line}"
    return f"{path_name}:{line}" if line else path_name


def _wanted(expect: Expect, key: str) -> str:
    """What the key expects, shortly: ``Closed``, ``none``, ``[]``, ``CH-05``."""
    value: Any = getattr(expect, key)
    if key == "works_order" and value is None:
        shown = "none"
    elif key == "operations":
        shown = ", ".join(f"{op} {kind}" for op, kind in value) or "[]"
    elif isinstance(value, Mapping):
        shown = ", ".join(f"{name}: {item}" for name, item in value.items())
    elif isinstance(value, tuple):
        shown = ", ".join(_short(item) for item in value) or "[]"
    else:
        shown = str(value)
    return shown if len(shown) <= _WIDEST else shown[: _WIDEST - 3] + "..."


def _short(item: Any) -> str:
    if isinstance(item, Mapping):
        return "{" + ", ".join(f"{name}: {value}" for name, value in item.items()) + "}"
    return str(item)
