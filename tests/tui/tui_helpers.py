"""Helpers of the TUI tests: the app as the CLI builds it, on a fixed clock."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual.pilot import Pilot

from simulator.lifecycle import Clock
from tui.app import RulebridgeApp, make_app

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
SCENARIOS = ROOT / "simulator" / "scenarios"


def fixed_clock() -> Clock:
    """The clock every TUI test starts from."""
    return Clock(datetime(2026, 11, 2, 9, 0))


def build(
    ruleset: Path = RULESET, scenario: Path | None = None, seed: int | None = None
) -> RulebridgeApp:
    """The app as the CLI builds it, on a fixed clock."""
    return make_app(ruleset, scenario=scenario, seed=seed, clock=fixed_clock())


async def settle(pilot: Pilot[None]) -> None:
    """Wait for the app's workers, then for the UI to catch up."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
