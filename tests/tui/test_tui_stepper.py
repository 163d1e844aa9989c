"""Pilot tests of the lifecycle stepper: a whole lifecycle, warnings, the timeline."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Select

from engine import load_ruleset
from tests.tui.tui_helpers import RULESET, fixed_clock
from tui.app import RulebridgeApp
from tui.render import invariants_text
from tui.screens import EventDialog
from tui.session import Session
from tui.widgets import Pane

SIZE = (120, 40)


async def press(pilot: Pilot[None], *keys: str) -> None:
    """Press keys, letting the app settle after each."""
    for key in keys:
        await pilot.press(key)
    await pilot.pause()


def works(app: RulebridgeApp) -> dict[str, object]:
    """The Alto works order of the issue followed (empty: none)."""
    return dict(app.session.frame.sim.alto.works_order_of("I1") or {})


def pane(app: RulebridgeApp, name: str) -> str:
    """The plain text of one stepper pane."""
    return app.screen.query_one(f"#{name}", Pane).plain


@pytest.mark.asyncio
async def test_a_whole_lifecycle_from_report_to_close(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        assert "nothing in Alto yet" in pane(app, "alto")
        await press(pilot, "1")
        assert isinstance(app.screen, EventDialog)
        await press(pilot, "enter")
        assert app.session.frame.sim.fixflo.issues["I1"]["Status"] == "Reported"
        assert works(app) == {}
        await press(pilot, "2", "enter")  # instruct, to a contractor
        assert works(app)["status"] == "SupplierInstructed"
        assert works(app)["supplierContactId"] == "S1"
        await press(pilot, "1")  # set_appointment: nothing to ask
        assert app.session.frame.sim.fixflo.issues["I1"]["Status"] == "AwaitingJobCompletion"
        await press(pilot, "1", "enter")  # complete_job with the default invoice
        assert works(app)["status"] == "CompleteAwaitingInvoice"
        assert "Replaced the washer" in str(works(app)["notes"])
        await press(pilot, "1", "enter")  # close
        alto = app.session.frame.sim.alto
        assert works(app)["status"] == "CompleteInvoicingReceived"
        assert [d["name"] for d in alto.documents] == ["issue-I1.pdf", "gas-safety-certificate.pdf"]
        [charge] = alto.charges
        assert (charge["chargeType"], charge["payer"], charge["totalGross"]) == (
            "Maintenance",
            "Landlord",
            120.0,
        )
        assert charge["workOrderId"] == works(app)["id"]
        assert "CompleteInvoicingReceived" in pane(app, "alto")
        assert "charge Maintenance to Landlord, 120.0, unraised" in pane(app, "alto")
        assert "CH-04" in pane(app, "explain")
        assert "✓ all hold" in pane(app, "invariants")
        assert app.session.legal() == []


@pytest.mark.asyncio
async def test_the_dialog_sets_the_parameters_landlord_and_tenant(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter", "2")
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        dialog.query_one("#field-Job-AssignedTo", Select).value = "Landlord"
        dialog.query_one("#field-Job-PayingParty", Select).value = "Tenant"
        await press(pilot, "enter")
        step = app.session.steps[-1]
        assert step.details == {"Job.AssignedTo": "Landlord", "Job.PayingParty": "Tenant"}
        assert works(app)["supplierContactId"] is None


@pytest.mark.asyncio
async def test_w06_warns_at_the_moment_of_instructing(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter", "2")
        app.screen.query_one("#field-InvoiceRecipient", Select).value = "Agency"
        await press(pilot, "enter")
        result = app.session.frame.result
        assert result is not None
        assert [w.rule for w in result.warnings] == ["W-06"]
        assert "⚠ W-06: InvoiceRecipient = 'Agency'" in pane(app, "explain")
        assert "can never reach Alto" in pane(app, "explain")
        assert any("W-06" in n.message for n in app._notifications)


@pytest.mark.asyncio
async def test_the_timeline_moves_back_and_forward(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter", "2", "enter", "1")
        assert app.session.cursor == 3
        await press(pilot, "left", "left")
        assert app.session.cursor == 1
        assert "nothing in Alto yet" in pane(app, "alto")
        assert "▶ 1 report" in pane(app, "timeline")
        await press(pilot, "right")
        assert works(app)["status"] == "SupplierInstructed"
        await press(pilot, "right", "right")  # the end: stays
        assert app.session.cursor == 3
        await press(pilot, "left", "left", "3", "enter")  # close_without_job from Reported
        assert [s.event for s in app.session.steps] == ["report", "close_without_job"]
        assert len(app.session.frames) == 3


@pytest.mark.asyncio
async def test_the_event_buttons_take_the_mouse_and_esc_cancels(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "escape")
        assert app.session.steps == []
        await pilot.click("#events Button")
        await pilot.pause()
        assert isinstance(app.screen, EventDialog)
        await pilot.click("#ok")
        await pilot.pause()
        assert [s.event for s in app.session.steps] == ["report"]


@pytest.mark.asyncio
async def test_feedback_on_from_the_report_dialog(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1")
        app.screen.query_one("#feedback", Checkbox).toggle()
        await press(pilot, "enter")
        assert app.session.frame.sim.fixflo.issues["I1"]["FeedbackEnabled"] is True


def test_with_feedback_on_close_waits_for_feedback() -> None:
    session = Session(load_ruleset(RULESET), fixed_clock())
    for event, details in [("report", {"FeedbackEnabled": True}), ("instruct", {})]:
        session.perform(event, details)
    session.perform("complete_job")
    assert [e.name for e in session.legal()] == ["give_feedback"]
    session.perform("give_feedback")
    assert [e.name for e in session.legal()] == ["close"]


def test_a_broken_invariant_is_shown_red_with_its_reason() -> None:
    text = invariants_text(["issue I1: 2 works orders (W-03)"])
    assert text.plain == "✗ issue I1: 2 works orders (W-03)\n"
    assert "red" in str(text.spans[0].style)
