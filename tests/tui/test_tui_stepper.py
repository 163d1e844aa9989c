"""Pilot tests of the lifecycle stepper: a whole lifecycle, the cancelled path, the event
dialog on contract fields, agency settings, warnings and the timeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Label, Select

from engine import load_ruleset
from tests.tui.tui_helpers import RULESET, fixed_clock, pane, settle
from tui.app import RulebridgeApp
from tui.model.session import Session
from tui.render.panes import invariants_text
from tui.screens import AgencyDialog, EventDialog

SIZE = (120, 40)


async def press(pilot: Pilot[None], *keys: str) -> None:
    """Press keys, letting the app settle after each."""
    for key in keys:
        await pilot.press(key)
    await pilot.pause()


def works(app: RulebridgeApp) -> dict[str, object]:
    """The Alto works order of the issue followed (empty: none)."""
    return dict(app.session.frame.sim.alto.works_order_of("I1") or {})


def events(app: RulebridgeApp) -> list[str]:
    """The names of the events offered now."""
    return [event.name for event in app.session.legal()]


@pytest.mark.req("W-03", "W-08", "W-09", "CH-02", "CH-03", "W-10")
@pytest.mark.asyncio
async def test_a_whole_lifecycle_from_report_to_close(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        assert "nothing in Alto yet" in pane(app, "alto")
        await press(pilot, "1")
        assert isinstance(app.screen, EventDialog)
        await press(pilot, "enter")
        assert app.session.frame.sim.fixflo.issues["I1"]["Status"] == "Reported"
        assert works(app) == {}
        await press(pilot, "2", "enter")  # instruct, to the contractor
        assert works(app)["status"] == "SupplierInstructed"
        assert works(app)["supplierContactId"] == "S1"
        assert "Job J-I1: Sam Spanner (FC1, Alto supplier S1)" in pane(app, "fixflo")
        await press(pilot, "1", "enter")  # set_appointment
        assert app.session.frame.sim.fixflo.issues["I1"]["Status"] == "AwaitingJobCompletion"
        await press(pilot, "1", "enter")  # complete_job with the typical invoice
        assert works(app)["status"] == "CompleteAwaitingInvoice"
        assert "Replaced the washer" in str(works(app)["notes"])
        assert "invoice-I1.pdf (Invoice)" in pane(app, "fixflo")
        await press(pilot, "1", "enter")  # close
        alto = app.session.frame.sim.alto
        assert works(app)["status"] == "CompleteInvoicingReceived"
        assert [d["fileName"] for d in alto.documents_of("I1")] == [
            "issue-I1.pdf",
            "gas-safety-certificate.pdf",
            "gas-safety-record-I1.pdf",
        ]
        [charge] = alto.charges_of("I1")
        assert (charge["post"], charge["targetId"], charge["chargeType"]) == (
            "property",
            "P1",
            "Maintenance",
        )
        assert charge["totalNet"] + charge["totalVat"] == 120.0
        assert charge["workOrderId"] == works(app)["id"]
        assert "CompleteInvoicingReceived" in pane(app, "alto")
        assert "£120.00 (net £100.00 + VAT £20.00) POST /inventory/P1" in pane(app, "alto")
        assert "works order WO-1, invoice invoice-I1.pdf" in pane(app, "alto")
        assert "CH-04" in pane(app, "explain")
        assert "✓ all hold" in pane(app, "invariants")
        assert app.session.legal() == []


@pytest.mark.req("W-09")
@pytest.mark.asyncio
async def test_cancel_job_ends_the_works_order_cancelled_with_the_issue_pdf(
    app: RulebridgeApp,
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter", "2", "enter")
        assert events(app) == ["set_appointment", "complete_job", "cancel_job"]
        await press(pilot, "3")
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        assert dialog.event.name == "cancel_job"
        dialog.query_one("#field-CloseReason", Input).value = "Landlord cancelled the work"
        await press(pilot, "enter")
        issue = app.session.frame.sim.fixflo.issues["I1"]
        assert (issue["Status"], issue["CloseReason"]) == ("Closed", "Landlord cancelled the work")
        alto = pane(app, "alto")
        assert "works order WO-1  Cancelled" in alto
        assert "documents: issue-I1.pdf (WorkOrder WO-1)\n" in alto
        assert "charges: none" in alto
        assert app.session.frame.sim.alto.charges == []
        assert "W-09.cancelled applied" in pane(app, "explain")
        assert "case = 'Closed', Job.JobCompleted absent ✓" in pane(app, "explain")
        assert "→ update works_order status -> Cancelled" in pane(app, "explain")
        assert "CloseReason: Landlord cancelled the work" in pane(app, "fixflo")
        assert "✓ all hold" in pane(app, "invariants")
        assert events(app) == []


@pytest.mark.req("W-07", "W-09")
@pytest.mark.asyncio
async def test_cancel_job_is_offered_after_the_appointment_too(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter", "2", "enter", "1", "enter")
        assert events(app) == ["complete_job", "cancel_job"]
        await press(pilot, "2", "enter")
        assert works(app)["status"] == "Cancelled"
        assert "charges: none" in pane(app, "alto")


@pytest.mark.req("W-05", "CH-04")
@pytest.mark.asyncio
async def test_the_dialog_sets_the_landlord_path(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter", "2")
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        contractor = dialog.query_one("#field-Job-Contractor", Select)
        contractor.value = 1  # the landlord does the job
        await press(pilot, "enter")
        assert app.session.steps[-1].details == {"Job.Contractor": None}
        assert works(app)["supplierContactId"] is None
        assert "Job J-I1: the landlord (no contractor)" in pane(app, "fixflo")
        await press(pilot, "2", "enter", "1", "enter")  # complete_job, close
        assert works(app)["status"] == "CompleteInvoicingReceived"
        assert "charges: none" in pane(app, "alto")


@pytest.mark.req("CH-04")
@pytest.mark.asyncio
async def test_the_dialog_drops_a_completion_document(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter", "2", "enter", "2")
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        boxes = list(dialog.query_one("#field-CompletionDocs").query(Checkbox).results(Checkbox))
        assert [str(box.label) for box in boxes] == [
            "gas-safety-certificate.pdf (Certificate)",
            "invoice-I1.pdf (Invoice)",
        ]
        boxes[1].value = False
        await press(pilot, "enter")
        [(path, docs)] = app.session.steps[-1].details.items()
        assert path == "CompletionDocs"
        assert [doc["ShortDescription"] for doc in docs] == ["gas-safety-certificate.pdf"]
        await press(pilot, "1", "enter")  # close: no invoice document, no charge
        assert "charges: none" in pane(app, "alto")


@pytest.mark.asyncio
async def test_a_number_that_is_not_one_is_refused_in_the_dialog(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter", "2", "enter", "2")
        dialog = app.screen
        assert isinstance(dialog, EventDialog)
        dialog.query_one("#field-Job-PriceAgencyPayableGross", Input).value = "12O"
        await press(pilot, "enter")
        assert app.screen is dialog
        error = str(dialog.query_one("#error", Label).render())
        assert (
            error == "Job.PriceAgencyPayableGross: '12O' is not a number; enter one such as 120.00"
        )
        assert [s.event for s in app.session.steps] == ["report", "instruct"]


@pytest.mark.asyncio
async def test_a_detail_outside_the_events_sets_is_refused(
    app: RulebridgeApp, tmp_path: Path
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter")
        app.perform("instruct", {"Job.AssignedTo": "Landlord"})
        await pilot.pause()
        assert [s.event for s in app.session.steps] == ["report"]
        [message] = [n.message for n in app._notifications if n.severity == "error"]
        assert message.startswith("event 'instruct' does not set 'Job.AssignedTo'; it sets Job.id")
        scenario = tmp_path / "old.yaml"
        scenario.write_text(
            "scenario: old\nsteps:\n  - {event: report}\n"
            "  - {event: instruct, with: {Job.PayingParty: Tenant}}\n",
            encoding="utf-8",
        )
        app.load_file(scenario)
        await settle(pilot)
        assert [s.event for s in app.session.steps] == ["report", "instruct"]
        assert app.session.frames[2].refused.startswith("event 'instruct' does not set")
        assert any(
            "kept as refused" in n.message and "does not set 'Job.PayingParty'" in n.message
            for n in app._notifications
        )


@pytest.mark.req("W-06")
@pytest.mark.asyncio
async def test_w06_warns_at_instructing_under_the_agency_setting(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "a")
        dialog = app.screen
        assert isinstance(dialog, AgencyDialog)
        dialog.query_one("#field-invoice_recipient", Select).value = "Agency"
        await press(pilot, "enter")
        await settle(pilot)
        assert app.session.settings == {"invoice_recipient": "Agency"}
        assert "decided by agency (a): paying_party Landlord, invoice_recipient Agency" in pane(
            app, "alto"
        )
        await press(pilot, "1", "enter", "2", "enter")
        result = app.session.frame.result
        assert result is not None
        assert [w.rule for w in result.warnings] == ["W-06"]
        assert "W-06 warned" in pane(app, "explain")
        assert "⚠ setting invoice_recipient = 'Agency'" in pane(app, "explain")
        assert "can never reach Alto" in pane(app, "explain")
        assert any("W-06" in n.message for n in app._notifications)


@pytest.mark.req("CH-02")
@pytest.mark.asyncio
async def test_changing_who_pays_replays_the_timeline(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, *("1", "enter", "2", "enter", "2", "enter", "1", "enter"))
        assert "POST /inventory/P1/charges" in pane(app, "alto")
        await press(pilot, "a")
        app.screen.query_one("#field-paying_party", Select).value = "Tenant"
        await press(pilot, "enter")
        await settle(pilot)
        assert len(app.session.steps) == 4
        assert "POST /tenancies/TY1/charges tenant TT1" in pane(app, "alto")
        [charge] = app.session.frame.sim.alto.charges
        assert (charge["post"], charge["targetId"], charge["tenantId"]) == ("tenancy", "TY1", "TT1")
        assert "✓ all hold" in pane(app, "invariants")


@pytest.mark.req("W-08")
@pytest.mark.asyncio
async def test_feedback_on_from_the_agency_dialog(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "a")
        app.screen.query_one("#field-fixflo_feedback_on", Checkbox).toggle()
        await press(pilot, "enter")
        await settle(pilot)
        assert app.session.settings == {"fixflo_feedback_on": True}
        await press(pilot, "1", "enter", "2", "enter", "2", "enter")
        assert events(app) == ["give_feedback", "close"]
        assert "feedback before closure: on (fixflo_feedback_on)" in pane(app, "fixflo")


@pytest.mark.req("W-08")
def test_give_feedback_is_offered_only_with_feedback_on() -> None:
    for settings, offered in [
        ({}, ["close"]),
        ({"fixflo_feedback_on": True}, ["give_feedback", "close"]),
    ]:
        session = Session(load_ruleset(RULESET), fixed_clock(), settings)
        for event in ("report", "instruct", "complete_job"):
            session.perform(event)
        assert [e.name for e in session.legal()] == offered


@pytest.mark.asyncio
async def test_the_timeline_moves_back_and_forward(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "1", "enter", "2", "enter", "1", "enter")
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


def test_each_frame_stamps_alto_with_its_own_time() -> None:
    session = Session(load_ruleset(RULESET), fixed_clock())
    for event in ("report", "instruct", "cancel_job"):
        session.perform(event)
    sim = session.frame.sim
    now = sim.clock.now().isoformat()  # one tick after the issue's StatusChanged
    assert now == "2026-11-02T12:00:00"
    [document] = sim.alto.documents
    assert document["createdDate"] == now
    assert sim.alto.works_orders["WO-1"]["modifiedDate"] == now
    assert sim.alto.identify is not None
    assert sim.alto.identify(sim.alto.works_orders["WO-1"]) == "I1"


def test_a_broken_invariant_is_shown_red_with_its_reason() -> None:
    text = invariants_text(["issue I1: 2 works orders (W-03)"])
    assert text.plain == "✗ issue I1: 2 works orders (W-03)\n"
    assert "red" in str(text.spans[0].style)
