"""Snapshots of the main screens at 80x24 and 120x40, fixed clock and seed.

Review the SVGs under ``__snapshots__/`` before accepting a change (``--snapshot-update``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual.pilot import Pilot

from tests.tui.tui_helpers import SCENARIOS, build, settle

Snap = Callable[..., bool]
SMALL, LARGE = (80, 24), (120, 40)


def then(*keys: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """Wait for the start-up workers, drop the toasts, then press `keys`."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        pilot.app.clear_notifications()
        await pilot.press(*keys)
        await settle(pilot)

    return run


def test_stepper_closed_with_a_charge_large(snap_compare: Snap) -> None:
    app = build(scenario=SCENARIOS / "documented-path.yaml")
    assert snap_compare(app, terminal_size=LARGE, run_before=then())


def test_stepper_random_lifecycle_small(snap_compare: Snap) -> None:
    assert snap_compare(build(seed=2), terminal_size=SMALL, run_before=then("left"))


def test_stepper_w06_at_instruct_large(snap_compare: Snap) -> None:
    app = build(scenario=SCENARIOS / "agency-invoice-recipient.yaml")
    assert snap_compare(app, terminal_size=LARGE, run_before=then("left", "left"))


def test_stepper_cancelled_after_award_large(snap_compare: Snap) -> None:
    """report -> instruct -> cancel_job: the works order Cancelled, the issue PDF, no charge."""
    keys = ("1", "enter", "2", "enter", "3", "enter")
    assert snap_compare(build(), terminal_size=LARGE, run_before=then(*keys))


def test_complete_job_dialog_large(snap_compare: Snap) -> None:
    keys = ("1", "enter", "2", "enter", "2")
    assert snap_compare(build(), terminal_size=LARGE, run_before=then(*keys))


def test_agency_dialog_small(snap_compare: Snap) -> None:
    assert snap_compare(build(), terminal_size=SMALL, run_before=then("a"))


def test_instruct_dialog_small(snap_compare: Snap) -> None:
    assert snap_compare(build(), terminal_size=SMALL, run_before=then("1", "enter", "2"))


def test_ruleset_browser_large(snap_compare: Snap) -> None:
    assert snap_compare(build(), terminal_size=LARGE, run_before=then("b"))


def test_help_small(snap_compare: Snap) -> None:
    assert snap_compare(build(), terminal_size=SMALL, run_before=then("question_mark"))
