"""Pilot tests of the layout (design decision 9): at 80x24 nothing is cut, Why and Expect
share a place (x swaps them), the invariants fold to one line; at 200x60 every pane is
open. Also the screenshot folder (decision 11) and the command's clean errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Button, Footer, Header

from rulebridge._exits import ExitCode
from rulebridge.cli import main
from tests.tui.tui_helpers import RULESET, SCENARIOS, build, pane, settle
from tui.app import SCREENSHOTS_ENV, RulebridgeApp, screenshots_folder
from tui.widgets import EventBar, Invariants, Pane


def on_screen(app: RulebridgeApp, widget: Widget) -> Region:
    """`widget`'s region, asserted to be shown whole inside the terminal."""
    region = widget.region
    screen = Region(0, 0, *app.size)
    assert widget.display, widget
    assert region.area > 0, widget
    assert screen.contains_region(region), (widget, region, screen)
    return region


@pytest.mark.asyncio
async def test_at_80x24_nothing_is_cut() -> None:
    app = build(scenario=SCENARIOS / "documented-path.yaml")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("left")
        screen = app.screen
        header = on_screen(app, screen.query_one(Header))
        events = on_screen(app, screen.query_one(EventBar))
        invariants = on_screen(app, screen.query_one(Invariants))
        footer = on_screen(app, screen.query_one(Footer))
        assert (header.y, footer.bottom) == (0, 24)
        assert (events.height, invariants.height, footer.height) == (1, 1, 1)
        panes = {
            name: on_screen(app, screen.query_one(f"#{name}", Pane))
            for name in ("fixflo", "alto", "timeline", "explain")
        }
        assert all(region.height >= 7 for region in panes.values()), panes  # 5 lines of text
        assert not screen.query_one("#expect", Pane).display  # it shares Why's place
        assert "(x: Expect)" in str(screen.query_one("#explain", Pane).border_title)
        assert "1 close" in str(screen.query_one(EventBar).query_one(Button).label)
        await pilot.press("x")
        on_screen(app, screen.query_one("#expect", Pane))
        assert not screen.query_one("#explain", Pane).display
        await pilot.press("x")
        assert screen.query_one("#explain", Pane).display


@pytest.mark.asyncio
async def test_at_200x60_every_pane_is_open_and_the_invariants_too() -> None:
    app = build(scenario=SCENARIOS / "documented-path.yaml")
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(pilot)
        screen = app.screen
        for name in ("fixflo", "alto", "timeline", "explain", "expect"):
            assert on_screen(app, screen.query_one(f"#{name}", Pane)).height >= 10, name
        assert screen.query_one(Invariants).opened
        assert pane(app, "timeline").count("\n") >= 8  # every step of the timeline shows


@pytest.mark.asyncio
async def test_the_invariants_line_opens_with_i() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        line = app.screen.query_one(Invariants)
        line.show(["issue I1: 2 works orders (W-03)", "issue I1: a charge without a works order"])
        await pilot.pause()
        assert line.plain.startswith("✗ 2 invariants broken: issue I1: 2 works orders (W-03)")
        assert "(+1 more: i opens)" in line.plain
        assert line.region.height == 1
        await pilot.press("i")
        assert line.plain.splitlines() == [
            "✗ issue I1: 2 works orders (W-03)",
            "✗ issue I1: a charge without a works order",
        ]
        assert line.region.height == 2
        await pilot.press("i")
        assert line.region.height == 1


@pytest.mark.asyncio
async def test_a_screenshot_goes_into_a_folder_made_for_it(tmp_path: Path) -> None:
    folder = tmp_path / "shots" / "today"
    app = build(screenshots=folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        [written] = folder.iterdir()
        assert written.suffix == ".svg"
        assert "<svg" in written.read_text(encoding="utf-8")
        assert written.stat().st_mode & 0o777 == 0o600
        assert any(str(written) in n.message for n in app._notifications)
        app.deliver_screenshot()  # the palette's Screenshot comes here too
        await pilot.pause()
        assert len(list(folder.iterdir())) == 2


@pytest.mark.asyncio
async def test_a_screenshot_folder_that_cannot_be_made_is_said(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    app = build(screenshots=blocker / "shots")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
        [message] = [n.message for n in app._notifications if n.severity == "error"]
        assert message.startswith(f"could not save the screenshot in {blocker / 'shots'}")


def test_the_screenshots_folder_comes_from_the_option_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SCREENSHOTS_ENV, raising=False)
    assert screenshots_folder() == Path("out") / "screenshots"
    monkeypatch.setenv(SCREENSHOTS_ENV, "/tmp/qa-shots")
    assert screenshots_folder() == Path("/tmp/qa-shots")
    assert screenshots_folder("mine") == Path("mine")


def test_a_ruleset_without_a_lifecycle_is_a_usage_error(tmp_path: Path) -> None:
    text = RULESET.read_text(encoding="utf-8")
    plain = tmp_path / "plain.yaml"
    plain.write_text(text[: text.index("\nlifecycle:")] + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["tui", "--ruleset", str(plain)])
    assert result.exit_code == ExitCode.USAGE
    assert f"error: {plain} declares no 'lifecycle:'" in result.output
    assert "Traceback" not in result.output


def test_a_broken_scenario_is_reported_located_before_the_screen_opens(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("scenario: broken\nsummary: x\nsteps:\n  - {event: report, wat: 1}\n")
    result = CliRunner().invoke(main, ["tui", "--scenario", str(broken)])
    assert result.exit_code == ExitCode.FAILURE
    assert f"{broken}:4:" in result.output
    assert "Traceback" not in result.output
    missing = CliRunner().invoke(main, ["tui", "--scenario", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == ExitCode.USAGE
    assert "does not exist" in missing.output


def test_the_screenshots_option_and_no_watch_reach_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[RulebridgeApp] = []
    monkeypatch.setattr(RulebridgeApp, "run", lambda self, **_: made.append(self))
    result = CliRunner().invoke(main, ["tui", "--no-watch", "--screenshots", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    [app] = made
    assert (app.watching, app.screenshots) == (False, tmp_path / "s")
    monkeypatch.setenv(SCREENSHOTS_ENV, os.fspath(tmp_path / "env"))
    CliRunner().invoke(main, ["tui"])
    assert (made[1].watching, made[1].screenshots) == (True, tmp_path / "env")
