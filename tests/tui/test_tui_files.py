"""Pilot tests of scenarios, seeds, saving, reloading, the browser, help and the palette."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, Tree

from engine import load_ruleset
from rulebridge.cli.simulate import simulate
from rulebridge.cli.tui import tui
from simulator.lifecycle import Step, load_scenario
from tests.tui.tui_helpers import RULESET, SCENARIOS, build, settle
from tui.app import RulebridgeApp
from tui.model.session import random_steps
from tui.screens import BrowserScreen, HelpScreen, PromptDialog
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


async def save_here(
    pilot: Pilot[None], path: Path | None = None, summary: str | None = None
) -> None:
    """Press s, optionally type a path and a summary, and save (confirming an overwrite)."""
    app = pilot.app
    await pilot.press("s")
    picker = app.screen
    assert isinstance(picker, FilePicker)
    if path is not None:
        picker.query_one("#path", Input).value = str(path)
    if summary is not None:
        picker.query_one("#summary", Input).value = summary
    picker.query_one("#path", Input).focus()
    await pilot.press("enter")
    if app.screen is picker:  # saving over another file: enter again confirms
        await pilot.press("enter")
    await settle(pilot)


def wanted(step: Step) -> tuple[str | None, dict[str, object]]:
    """A step's event and expectations, without the lines they are written on."""
    keys = step.expect.keys if step.expect else ()
    return step.event, {key: getattr(step.expect, key) for key in keys}


@pytest.mark.asyncio
async def test_a_loaded_scenario_saved_unchanged_is_byte_identical(tmp_path: Path) -> None:
    for name in ("documented-path.yaml", "zero-invoice.yaml", "cancelled-after-award.yaml"):
        copy = tmp_path / name
        shutil.copyfile(SCENARIOS / name, copy)
        app = build(scenario=copy)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("left", "left")  # the cursor does not limit what is saved
            await save_here(pilot)
            assert copy.read_bytes() == (SCENARIOS / name).read_bytes(), name
            count = len(app.session.steps)
            assert any(f"saved {copy}: {count} steps" in n.message for n in app._notifications)


@pytest.mark.asyncio
async def test_a_note_written_with_m_is_saved_and_loads_back(tmp_path: Path) -> None:
    copy = tmp_path / "documented-path.yaml"
    shutil.copyfile(SCENARIOS / "documented-path.yaml", copy)
    original = copy.read_text(encoding="utf-8")
    app = build(scenario=copy)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(3):
            await pilot.press("left")
        assert app.session.cursor == 5  # instruct
        await pilot.press("m")
        dialog = app.screen
        assert isinstance(dialog, PromptDialog)
        dialog.query_one(Input).value = "QA: check the supplier on the works order"
        await pilot.press("enter")
        assert app.session.frame.step is not None
        assert app.session.frame.step.note == "QA: check the supplier on the works order"
        await save_here(pilot)
        await pilot.press("m")  # prefilled with the note; an empty answer clears it
        assert app.screen.query_one(Input).value == "QA: check the supplier on the works order"
        await pilot.press("escape")
    saved = copy.read_text(encoding="utf-8")
    assert "note: 'QA: check the supplier on the works order'" in saved or (
        "note: QA: check the supplier on the works order" in saved
    )
    ruleset = load_ruleset(RULESET)
    before, after = (
        load_scenario(SCENARIOS / "documented-path.yaml", ruleset),
        load_scenario(copy, ruleset),
    )
    assert after.summary == before.summary
    assert [s.note for s in after.steps] == ["", "", "", "", after.steps[4].note, "", "", ""]
    assert after.steps[4].note == "QA: check the supplier on the works order"
    assert [wanted(s) for s in after.steps] == [wanted(s) for s in before.steps]
    # every other step keeps its text as written: only the instruct step's lines differ
    head, tail = original.split("  - event: instruct\n")[0], original.split("  - {event: set_app")
    assert saved.startswith(head)
    assert saved.endswith("  - {event: set_app" + tail[1])


@pytest.mark.asyncio
async def test_a_timeline_made_here_is_saved_whole_with_its_summary(tmp_path: Path) -> None:
    target = tmp_path / "made-here.yaml"
    app = build()
    async with app.run_test(size=SIZE) as pilot:
        for key in ("1", "enter", "2", "enter", "1", "enter"):
            await pilot.press(key)
        await pilot.press("left", "left")
        await pilot.press("m")
        app.screen.query_one(Input).value = "reported by the occupier"
        await pilot.press("enter")
        await save_here(pilot, target, "Made in the TUI: report, instruct, appointment.")
    scenario = load_scenario(target, load_ruleset(RULESET))
    assert scenario.summary == "Made in the TUI: report, instruct, appointment."
    assert [s.event for s in scenario.steps] == ["report", "instruct", "set_appointment"]
    assert scenario.steps[0].note == "reported by the occupier"


@pytest.mark.asyncio
async def test_a_save_that_fails_says_so_and_keeps_the_file(tmp_path: Path) -> None:
    copy = tmp_path / "zero-invoice.yaml"
    shutil.copyfile(SCENARIOS / "zero-invoice.yaml", copy)
    app = build(scenario=copy)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.session.annotate("changed")
        tmp_path.chmod(0o500)  # the folder cannot take the temporary file
        try:
            await save_here(pilot)
        finally:
            tmp_path.chmod(0o700)
        if os.geteuid() != 0:  # root writes anyway
            assert copy.read_bytes() == (SCENARIOS / "zero-invoice.yaml").read_bytes()
            assert any("could not save" in n.message for n in app._notifications)
