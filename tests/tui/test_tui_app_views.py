"""Pilot tests of what the stepper shows of a step through the app: the change view (a
works-order status change, a charge in money, a step that changed nothing), the Why pane of
a zero invoice, the Expect pane and the sub-title's count, and the lifecycle screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot

from tests.tui.tui_helpers import SCENARIOS, UNMET, build, pane, settle
from tui.app import RulebridgeApp
from tui.screens.lifecycle import LifecycleScreen

SIZE = (120, 40)


async def goto(app: RulebridgeApp, pilot: Pilot[None], index: int) -> None:
    """Move the cursor to step `index` with the arrow keys."""
    while app.session.cursor > index:
        await pilot.press("left")
    while app.session.cursor < index:
        await pilot.press("right")


@pytest.mark.req("W-08", "W-09", "CH-02", "W-10")
@pytest.mark.asyncio
async def test_each_step_shows_what_it_changed_in_alto_and_fixflo() -> None:
    app = build(scenario=SCENARIOS / "documented-path.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await goto(app, pilot, 6)  # set_appointment: W-07 leaves Alto as it was
        assert pane(app, "alto").startswith("nothing changed in Alto at this step")
        assert "AwaitingJobCompletion (was JobAwarded)" in pane(app, "fixflo")
        await goto(app, pilot, 7)  # complete_job: the works order's status moves
        alto = pane(app, "alto")
        assert alto.startswith(
            "changed at this step: works order status SupplierInstructed -> CompleteAwaitingInvoice"
        )
        assert "CompleteAwaitingInvoice (was SupplierInstructed)" in alto
        await goto(app, pilot, 8)  # close: the charge, in money, with its route
        alto = pane(app, "alto")
        assert "charge £120.00" in alto.splitlines()[0] + alto.splitlines()[1] + alto
        assert "Maintenance £120.00 (net £100.00 + VAT £20.00) POST /inventory/P1/charges" in (
            alto.replace("\n", " ")
        )
        assert "120.0 " not in alto  # never a bare float
        assert "Closed (was JobCompleted)" in pane(app, "fixflo")


@pytest.mark.req("CH-05", "W-09")
@pytest.mark.asyncio
async def test_a_zero_invoice_says_the_charge_was_not_posted() -> None:
    app = build(scenario=SCENARIOS / "zero-invoice.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        why = pane(app, "explain")
        assert "W-09 applied" in why
        assert "the maintenance charge not posted (CH-05)" in why.replace("\n", " ")
        assert "the maintenance charge posted" not in why.replace("\n", " ")  # the summary's
        assert "refused: no charge posted" in why  # CH-05's require, and what it blocked
        assert "CH-05" in why
        assert "charges: none" in pane(app, "alto")
        assert "£" not in pane(app, "alto").split("charges:")[1].splitlines()[0]


@pytest.mark.asyncio
async def test_an_unmet_expectation_is_shown_where_it_is_written(tmp_path: Path) -> None:
    scenario = tmp_path / "unmet.yaml"
    scenario.write_text(UNMET, encoding="utf-8")
    app = build(scenario=scenario)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert str(app.screen.sub_title) == "v2.yaml - step 2 of 2 - expect 3/4 met"
        expect = pane(app, "expect")
        assert "✓ status: JobAwarded  (unmet.yaml:7)" in expect
        assert (
            "✗ works_order.status: expected CompleteAwaitingInvoice, got SupplierInstructed"
            "  (unmet.yaml:8)"
        ) in expect
        assert pane(app, "timeline").splitlines()[2] == "▶ 2 instruct ✗"
        assert "✗1" in str(app.screen.query_one("#expect").border_title)
        await pilot.press("left")
        assert "✓ status: Reported" in pane(app, "expect")
    small = build(scenario=scenario)
    async with small.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        title = str(small.screen.query_one("#explain").border_title)
        assert title.endswith("(x: Expect ✗1)")  # the narrow screen says what it hides


@pytest.mark.asyncio
async def test_d_shows_the_lifecycle_with_where_the_issue_is(tmp_path: Path) -> None:
    app = build(scenario=SCENARIOS / "cancelled-after-award.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("d")
        screen = app.screen
        assert app.current_mode == "lifecycle"
        assert isinstance(screen, LifecycleScreen)
        lines = screen.plain.splitlines()
        assert any(line.startswith("▶ Closed") for line in lines)
        assert any(line.startswith("» cancel_job") for line in lines)
        await pilot.press("d")
        assert app.current_mode == "stepper"
        await pilot.press("left", "d")  # the diagram follows the cursor
        assert isinstance(app.screen, LifecycleScreen)
        assert "\n▶ AwaitingJobCompletion" in app.screen.plain
        await pilot.press("escape")
        assert app.current_mode == "stepper"
