"""Helpers of the TUI tests: the app as the CLI builds it, on a fixed clock."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot

from simulator.lifecycle import Clock
from tui.app import RulebridgeApp, make_app
from tui.widgets import Invariants, Pane

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
SCENARIOS = ROOT / "simulator" / "scenarios"
WALL = datetime(2026, 11, 2, 8, 30, 15)
"""The wall clock the tests' apps read (the stale marker's "loaded HH:MM:SS")."""
UNMET = """\
scenario: unmet
summary: One expectation the ruleset does not meet.
steps:
  - {event: report, expect: {status: Reported, works_order: none}}
  - event: instruct
    expect:
      status: JobAwarded
      works_order: {status: CompleteAwaitingInvoice}
"""
"""A scenario whose second step expects what the ruleset does not do (for the Expect pane)."""


def fixed_clock() -> Clock:
    """The clock every TUI test starts from."""
    return Clock(datetime(2026, 11, 2, 9, 0))


def build(
    ruleset: Path = RULESET,
    scenario: Path | None = None,
    seed: int | None = None,
    *,
    watch: bool = False,
    screenshots: Path | None = None,
) -> RulebridgeApp:
    """The app as the CLI builds it, on a fixed clock and wall clock; the ruleset file is
    watched only when `watch` (a test that edits the file asks for it)."""
    return make_app(
        ruleset,
        scenario=scenario,
        seed=seed,
        clock=fixed_clock(),
        watch=watch,
        screenshots=screenshots,
        wall=lambda: WALL,
    )


def ruleset_copy(folder: Path) -> Path:
    """A copy of the shipped ruleset in `folder`, to edit."""
    target = folder / "v2.yaml"
    shutil.copyfile(RULESET, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in the file at `path` by `new`."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def pane(app: RulebridgeApp, name: str) -> str:
    """The plain text of one of the screen's panes (``#name``)."""
    widget = app.screen.query_one(f"#{name}")
    assert isinstance(widget, Pane | Invariants), widget
    return widget.plain


async def settle(pilot: Pilot[None]) -> None:
    """Wait for the app's workers, then for the UI to catch up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
