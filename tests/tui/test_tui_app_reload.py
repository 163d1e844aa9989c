"""Pilot tests of reloading the ruleset (design decisions 3 and 4): by hand and by the file
watch, every step kept, what differs shown and marked, a broken edit leaving a stale marker
until a good reload, and settings replaying every step."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Select

from engine import load_ruleset
from tests.tui.tui_helpers import SCENARIOS, build, edit, pane, ruleset_copy, settle
from tui._workers import _copy
from tui.screens.dialogs import TextDialog
from tui.screens.errors import ErrorsScreen
from tui.widgets import StaleLine

SIZE = (120, 40)
SLOWER = ("works_order: CompleteAwaitingInvoice", "works_order: SupplierInstructed")
BROKEN = ("works_order: CompleteAwaitingInvoice", "works_order: Bogus")


def timeline_line(text: str, index: int) -> str:
    """The timeline's line of step `index`."""
    [line] = [ln for ln in text.splitlines() if ln[2:].split()[0] == str(index)]
    return line


@pytest.mark.asyncio
async def test_reload_keeps_every_step_and_shows_what_now_differs(tmp_path: Path) -> None:
    ruleset = ruleset_copy(tmp_path)
    app = build(ruleset, SCENARIOS / "documented-path.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        met, expected = app.session.expect_summary
        assert met == expected > 0
        for _ in range(5):
            await pilot.press("left")
        assert app.session.cursor == 3
        edit(ruleset, *SLOWER)
        await pilot.press("r")
        await settle(pilot)
        assert len(app.session.steps) == 8  # nothing lost
        assert app.session.cursor == 3  # the cursor stays where it was
        assert [bool(f.differences) for f in app.session.frames].index(True) == 7
        report = app.screen
        assert isinstance(report, TextDialog)
        assert "complete_job" in report.plain
        assert "CompleteAwaitingInvoice" in report.plain
        assert "SupplierInstructed" in report.plain
        await pilot.press("escape")
        await pilot.pause()
        assert "Δ" in timeline_line(pane(app, "timeline"), 7)
        assert "Δ" not in timeline_line(pane(app, "timeline"), 6)
        assert f"expect {expected - 1}/{expected} met" in str(app.screen.sub_title)
        await pilot.press("v")  # the differences again, on demand
        assert isinstance(app.screen, TextDialog)


@pytest.mark.asyncio
async def test_the_watch_reloads_an_edited_ruleset_by_itself(tmp_path: Path) -> None:
    ruleset = ruleset_copy(tmp_path)
    app = build(ruleset, SCENARIOS / "documented-path.yaml", watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.watch_timer is not None
        app.check_ruleset()  # the file is as loaded: nothing happens
        await settle(pilot)
        assert not any(f.differences for f in app.session.frames)
        edit(ruleset, *SLOWER)
        await pilot.pause(1.3)  # the timer's tick (once a second) sees the change
        await settle(pilot)
        assert len(app.session.steps) == 8
        assert app.session.frames[7].differences
        works = app.session.frames[7].sim.alto.works_order_of("I1")
        assert works is not None
        assert works["status"] == "SupplierInstructed"


@pytest.mark.asyncio
async def test_no_watch_leaves_an_edited_ruleset_alone(tmp_path: Path) -> None:
    ruleset = ruleset_copy(tmp_path)
    app = build(ruleset, SCENARIOS / "documented-path.yaml", watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        edit(ruleset, *SLOWER)
        app.check_ruleset()
        await settle(pilot)
        assert app.watch_timer is None
        assert not app.session.frames[7].differences


@pytest.mark.asyncio
async def test_a_broken_edit_leaves_a_stale_marker_until_a_good_reload(tmp_path: Path) -> None:
    ruleset = ruleset_copy(tmp_path)
    app = build(ruleset, SCENARIOS / "documented-path.yaml", watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        edit(ruleset, *BROKEN)
        app.check_ruleset()
        await settle(pilot)
        app.clear_notifications()  # the toast fades; the marker stays
        await pilot.pause()
        stale = app.screen.query_one(StaleLine)
        assert stale.display
        assert str(stale.render()) == (
            "ruleset has 1 error; still showing the last good ruleset (loaded 08:30:15) - e: errors"
        )
        assert str(app.screen.sub_title).endswith(" - STALE")
        assert len(app.session.steps) == 8  # the last good ruleset still plays every step
        await pilot.press("b")  # the browser says so too
        assert app.screen.query_one(StaleLine).display
        await pilot.press("escape", "e")
        errors = app.screen
        assert isinstance(errors, ErrorsScreen)
        assert f"{ruleset}:" in errors.plain
        assert "Bogus" in errors.plain
        await pilot.press("escape")
        edit(ruleset, BROKEN[1], SLOWER[1])
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, TextDialog)  # what the good edit changed
        await pilot.press("escape")
        assert not app.screen.query_one(StaleLine).display
        assert "STALE" not in str(app.screen.sub_title)
        assert app.session.frames[7].differences


@pytest.mark.asyncio
async def test_a_step_taken_during_a_reload_is_not_lost() -> None:
    app = build(scenario=SCENARIOS / "documented-path.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(3):
            await pilot.press("left")
        old = _copy(app.session)
        replayed = old.reloaded(load_ruleset(app.ruleset_path))
        app.perform("cancel_job", {})  # drops the later steps: the person's act
        await pilot.pause()
        app._reloaded(old, replayed)  # the replay of the timeline as it was comes back
        await settle(pilot)
        assert [s.event for s in app.session.steps][-1] == "cancel_job"
        assert len(app.session.steps) == 6


@pytest.mark.req("CH-02")
@pytest.mark.asyncio
async def test_changing_the_settings_keeps_every_step() -> None:
    app = build(scenario=SCENARIOS / "documented-path.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("left", "left")
        await pilot.press("a")
        app.screen.query_one("#field-paying_party", Select).value = "Tenant"
        await pilot.press("enter")
        await settle(pilot)
        assert len(app.session.steps) == 8
        assert app.session.cursor == 6
        await pilot.press("right", "right")
        assert "POST /tenancies/TY1/charges" in pane(app, "alto")
