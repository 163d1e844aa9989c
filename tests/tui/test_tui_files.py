"""Pilot tests of scenarios, seeds, saving, reloading, the browser, help and the palette."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.widgets import Input, Select, Static, Tree

from engine import load_ruleset
from rulebridge.cli.simulate import simulate
from rulebridge.cli.tui import tui
from tests.tui.tui_helpers import RULESET, SCENARIOS, build, settle
from tui.app import RulebridgeApp
from tui.model.session import random_steps
from tui.screens import BrowserScreen, HelpScreen
from tui.screens.files import FilePicker
from tui.widgets import StaleLine

SIZE = (120, 40)


@pytest.mark.asyncio
async def test_a_scenario_file_given_at_start_is_played() -> None:
    app = build(scenario=SCENARIOS / "documented-path.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(app.session.steps) == 8
        works = app.session.frame.sim.alto.works_order_of("I1")
        assert works is not None
        assert works["status"] == "CompleteInvoicingReceived"


@pytest.mark.req("W-06")
@pytest.mark.asyncio
async def test_a_scenario_plays_under_its_agency_settings() -> None:
    app = build(scenario=SCENARIOS / "agency-invoice-recipient.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.session.settings == {"invoice_recipient": "Agency"}
        assert app.session.ruleset.settings["invoice_recipient"] == "Agency"
        sim = app.session.frame.sim
        assert sim.alto.charges == []
        assert app.session.frame.problems == ()
        await pilot.press("n")
        assert app.session.steps == []
        assert app.session.settings == {"invoice_recipient": "Agency"}  # kept for the session


@pytest.mark.asyncio
async def test_a_seed_plays_its_random_lifecycle() -> None:
    ruleset = load_ruleset(RULESET)
    steps = random_steps(ruleset, 2)
    assert steps == random_steps(ruleset, 2)
    assert steps[0].event == "report"
    app = build(seed=2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.session.steps == steps


@pytest.mark.asyncio
async def test_the_saved_timeline_replays_with_simulate(app: RulebridgeApp, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        app.screen.query_one("#field-paying_party", Select).value = "Tenant"
        await pilot.press("enter")
        await settle(pilot)
        for key in ("1", "enter", "2", "enter", "1", "enter", "1", "enter", "1", "enter"):
            await pilot.press(key)
        await pilot.press("s")
        assert isinstance(app.screen, FilePicker)
        app.screen.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await settle(pilot)
    result = CliRunner().invoke(simulate, ["--ruleset", str(RULESET), "--scenario", str(target)])
    assert result.exit_code == 0, result.output
    assert "settings: {paying_party: Tenant}" in target.read_text(encoding="utf-8")
    assert "alto works order WO-1: CompleteInvoicingReceived" in result.output
    assert "alto charge CH-1: POST /tenancies/TY1/charges" in result.output
    assert "tenantId: 'TT1'" in result.output


@pytest.mark.asyncio
async def test_loading_a_scenario_by_key(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        picker = app.screen
        assert isinstance(picker, FilePicker)
        assert picker.folder == SCENARIOS  # the checkout's scenarios folder
        picker.query_one("#path", Input).value = str(SCENARIOS / "landlord-instructed.yaml")
        picker.query_one("#path", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert [s.event for s in app.session.steps][-1] == "close"
        assert any("loaded landlord-instructed: 5 steps" in n.message for n in app._notifications)
        await pilot.press("l")
        app.screen.query_one("#path", Input).value = "no/such/file.yaml"
        app.screen.query_one("#path", Input).focus()
        await pilot.press("enter")
        assert isinstance(app.screen, FilePicker)  # it says why and stays open
        await pilot.press("escape")
        await settle(pilot)
        assert len(app.session.steps) == 5  # the failed load changed nothing


@pytest.mark.asyncio
async def test_a_broken_reload_keeps_the_last_good_ruleset(tmp_path: Path) -> None:
    path = tmp_path / "v2.yaml"
    shutil.copy(RULESET, path)
    app = build(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "enter", "2", "enter")
        good = app.session.ruleset
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("to: JobAwarded", "to: JobAwardd"), encoding="utf-8")
        await pilot.press("b", "r")
        await settle(pilot)
        assert isinstance(app.screen, BrowserScreen)
        assert app.session.ruleset is good
        assert len(app.session.steps) == 2
        assert f"{path}:" in app.ruleset_error
        assert app.screen.query_one("#errors").display
        assert app.screen.query_one(StaleLine).display
        path.write_text(text.replace("A newly reported", "A freshly reported"), encoding="utf-8")
        await pilot.press("r")
        await settle(pilot)
        assert app.ruleset_error == ""
        assert app.session.ruleset is not good
        assert len(app.session.steps) == 2
        assert "A freshly reported" in app.rules["W-01"].summary


@pytest.mark.asyncio
async def test_the_browser_groups_rules_with_their_place(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b")
        tree = app.screen.query_one(Tree)
        groups = [str(node.label) for node in tree.root.children]
        assert any(g.startswith("status JobAwarded") for g in groups)
        assert any(g.startswith("entity property") for g in groups)
        leaves = [str(leaf.label) for node in tree.root.children for leaf in node.children]
        assert any(leaf.startswith("W-06") and "v2.yaml:" in leaf for leaf in leaves)
        await pilot.press("escape")
        assert app.current_mode == "stepper"


@pytest.mark.asyncio
async def test_help_lists_every_key(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        for key in (
            "?",
            "b",
            "r",
            "l",
            "s",
            "g",
            "a",
            "n",
            "d",
            "e",
            "i",
            "m",
            "v",
            "x",
            "ctrl+s",
            "q",
            "←",
            "→",
            "1 to 9",
            "ctrl+p",
            "esc, b",
        ):
            assert f"  {key} " in app.screen.text
        for mark in ("⊘", "Δ", "✗", "!"):
            assert f"  {mark} " in app.screen.text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


@pytest.mark.asyncio
async def test_the_palette_has_every_action_and_event(app: RulebridgeApp) -> None:
    async with app.run_test(size=SIZE):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for title in (
            "Help",
            "Rules",
            "Reload",
            "Load",
            "Save",
            "Seed",
            "Agency",
            "New",
            "Back",
            "Diagram",
            "Diffs",
            "Note",
            "Screenshot",
        ):
            assert title in titles
        assert "Event: report" in titles


def test_the_command_has_an_example_and_refuses_both_starts() -> None:
    runner = CliRunner()
    assert "Example:" in runner.invoke(tui, ["--help"]).output
    both = ["--scenario", str(SCENARIOS / "feedback-on.yaml"), "--seed", "1"]
    result = runner.invoke(tui, both)
    assert result.exit_code == 2
    assert "not both" in result.output


@pytest.mark.asyncio
async def test_the_browser_shows_the_lifecycle_diagram_on_d(app: RulebridgeApp) -> None:
    # `d` is the lifecycle screen now (tests/tui/test_tui_screens.py shows its marks)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b", "d")
        assert app.current_mode == "lifecycle"
        drawn = str(app.screen.query_one("#lifecycle", Static).render())
        assert "starts at Reported, ends at Closed" in drawn
        assert "give_feedback" in drawn
        assert "only when setting fixflo_feedback_on" in drawn
        await pilot.press("d")
        assert app.current_mode == "stepper"
