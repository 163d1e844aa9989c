"""Pilot tests of the TUI's screens, at 120x40 and 80x24: the file picker (load picks a
shipped scenario, save returns the path and summary, overwriting asks first, a bad path says
why), the lifecycle screen (where the issue is), Enter on a rule in the browser (its
condition and what it depends on) and the scrollable errors of a failed reload.

The picker's `DirectoryTree` loads folders in a worker that never finishes, so these tests
wait for the tree's rows (`tree_rows`), not for every worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DirectoryTree, Input, Label, Static, Tree

from tests.tui.tui_helpers import RULESET, SCENARIOS, build, settle
from tui.app import RulebridgeApp
from tui.screens.browser import BrowserScreen
from tui.screens.errors import ErrorsScreen
from tui.screens.files import DEFAULT_SUMMARY, FilePicker, SaveChoice, scenarios_folder
from tui.screens.lifecycle import LifecycleScreen
from tui.screens.rule import RuleScreen

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]


async def open_picker(pilot: Pilot[None], picker: FilePicker, answers: list[Any]) -> list[str]:
    """Push `picker` (its answer goes into `answers`) and wait until its tree lists the
    start folder; the rows' labels."""
    pilot.app.push_screen(picker, answers.append)
    return await tree_rows(pilot)


async def tree_rows(pilot: Pilot[None]) -> list[str]:
    """The labels of the picker tree's top rows, once the start folder is read."""
    for _ in range(100):
        await pilot.pause(0.02)
        screen = pilot.app.screen
        if isinstance(screen, FilePicker):
            tree = screen.query_one("#tree", DirectoryTree)
            if tree.root.data is not None and tree.root.data.loaded:
                await pilot.pause()
                return [str(node.label) for node in tree.root.children]
    raise AssertionError("the picker's tree never loaded")


def message(app: RulebridgeApp) -> str:
    """The picker's error line."""
    return str(app.screen.query_one("#error", Label).render())


async def type_path(pilot: Pilot[None], text: str) -> None:
    """Replace the picker's path with `text` and press Enter in it."""
    field = pilot.app.screen.query_one("#path", Input)
    field.focus()
    field.value = text
    await pilot.press("enter")
    await pilot.pause()


def test_the_scenarios_folder_is_found_from_the_ruleset_else_the_current_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert scenarios_folder(RULESET) == SCENARIOS
    monkeypatch.chdir(tmp_path)
    assert scenarios_folder(tmp_path / "v2.yaml") == tmp_path


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.asyncio
async def test_load_picks_a_shipped_scenario_from_the_tree(size: tuple[int, int]) -> None:
    app = build()
    answers: list[Any] = []
    async with app.run_test(size=size) as pilot:
        rows = await open_picker(pilot, FilePicker("load", scenarios_folder(RULESET)), answers)
        assert "documented-path.yaml" in rows
        assert all(row.endswith(".yaml") for row in rows)  # folders and YAML only
        tree = app.screen.query_one("#tree", Tree)
        assert app.focused is tree  # loading starts in the tree
        for _ in range(rows.index("documented-path.yaml") + 1):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert answers == [SCENARIOS / "documented-path.yaml"]
        assert not isinstance(app.screen, FilePicker)


@pytest.mark.asyncio
async def test_load_takes_a_typed_path_read_from_the_folder_shown() -> None:
    app = build()
    answers: list[Any] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, FilePicker("load", SCENARIOS), answers)
        await type_path(pilot, "zero-invoice.yaml")
        assert answers == [SCENARIOS / "zero-invoice.yaml"]


@pytest.mark.asyncio
async def test_a_bad_path_says_why_and_keeps_the_picker_open(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "notes.txt").write_text("not a scenario", encoding="utf-8")
    app = build()
    answers: list[Any] = []
    async with app.run_test(size=(80, 24)) as pilot:
        rows = await open_picker(pilot, FilePicker("load", tmp_path), answers)
        assert rows == ["sub"]  # notes.txt is not offered
        await type_path(pilot, str(tmp_path / "sub"))
        assert "is a folder: pick a .yaml file in it" in message(app)
        await type_path(pilot, "missing.yaml")
        assert f"no file {tmp_path / 'missing.yaml'}" in message(app)
        await type_path(pilot, "")
        assert "enter a file path" in message(app)
        assert isinstance(app.screen, FilePicker)
        await pilot.press("escape")
        await pilot.pause()
        assert answers == [None]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.asyncio
async def test_save_returns_the_path_and_the_summary(tmp_path: Path, size: tuple[int, int]) -> None:
    app = build()
    answers: list[Any] = []
    async with app.run_test(size=size) as pilot:
        await open_picker(pilot, FilePicker("save", tmp_path, summary="A closed issue."), answers)
        assert app.focused is app.screen.query_one("#path", Input)
        for part in ("#tree", "#path", "#summary", "#error", "#ok", "#cancel"):  # nothing cut
            assert app.screen.query_one(part).region.bottom <= size[1]
        offered = app.screen.query_one("#path", Input).value
        assert offered == str(tmp_path.resolve() / "tui-scenario.yaml")
        assert app.screen.query_one("#summary", Input).value == "A closed issue."
        summary = app.screen.query_one("#summary", Input)
        summary.value = "The documented path, saved again."
        await type_path(pilot, "mine.yaml")
        assert answers == [
            SaveChoice(tmp_path.resolve() / "mine.yaml", "The documented path, saved again.")
        ]


@pytest.mark.asyncio
async def test_save_offers_the_default_summary_and_refuses_a_missing_folder(
    tmp_path: Path,
) -> None:
    app = build()
    answers: list[Any] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, FilePicker("save", tmp_path), answers)
        assert app.screen.query_one("#summary", Input).value == DEFAULT_SUMMARY
        await type_path(pilot, "nowhere/mine.yaml")
        assert f"folder {tmp_path.resolve() / 'nowhere'} does not exist" in message(app)
        await type_path(pilot, "mine.txt")
        assert "ends in .yaml" in message(app)
        app.screen.query_one("#summary", Input).value = "  "
        await type_path(pilot, "mine.yaml")
        assert "enter a summary" in message(app)
        assert answers == []
        assert isinstance(app.screen, FilePicker)


@pytest.mark.asyncio
async def test_saving_over_another_file_asks_first(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("name: other\n", encoding="utf-8")
    (tmp_path / "loaded.yaml").write_text("name: loaded\n", encoding="utf-8")
    app = build()
    answers: list[Any] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await open_picker(pilot, FilePicker("save", tmp_path, name="loaded.yaml"), answers)
        # the file the timeline came from is offered, and saving over it asks nothing
        assert app.screen.query_one("#path", Input).value == str(tmp_path.resolve() / "loaded.yaml")
        await type_path(pilot, "other.yaml")
        assert "other.yaml exists: enter again (or Overwrite) to replace it" in message(app)
        assert answers == []
        await pilot.press("enter")
        await pilot.pause()
        assert answers == [SaveChoice(tmp_path.resolve() / "other.yaml", DEFAULT_SUMMARY)]
        await open_picker(pilot, FilePicker("save", tmp_path, name="loaded.yaml"), answers)
        await pilot.press("enter")
        await pilot.pause()
        assert answers[-1] == SaveChoice(tmp_path.resolve() / "loaded.yaml", DEFAULT_SUMMARY)


@pytest.mark.asyncio
async def test_changing_the_path_after_the_warning_asks_again(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("name: x\n", encoding="utf-8")
    app = build()
    answers: list[Any] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, FilePicker("save", tmp_path), answers)
        await type_path(pilot, "a.yaml")
        await type_path(pilot, "b.yaml")  # another file: asked again, not saved over
        assert "b.yaml exists" in message(app)
        assert answers == []


@pytest.mark.req("W-09")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.asyncio
async def test_the_lifecycle_screen_marks_where_the_issue_is(size: tuple[int, int]) -> None:
    app = build(scenario=SCENARIOS / "documented-path.yaml")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("b", "d")  # from the browser
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LifecycleScreen)
        assert "at Closed" in str(screen.sub_title)
        lines = screen.plain.splitlines()
        current = [line for line in lines if line.startswith("▶ ")]
        assert current == [
            "▶ Closed (W-09): Alto works order CompleteInvoicingReceived; docs + charge  ◀ now"
        ]
        assert [line for line in lines if line.startswith("» ")] == [
            "» close              --> Closed  « last step"
        ]
        styles = _line_styles(screen)
        assert styles[current[0]] == "bold reverse"
        assert styles["» close              --> Closed  « last step"] == "bold yellow"
        await pilot.press("escape")
        assert app.current_mode == "stepper"
        await pilot.press("left")  # one step back: the issue is at JobCompleted again
        await pilot.pause()
        await app.run_action("app.switch_mode('lifecycle')")
        await pilot.pause()
        again = app.screen
        assert isinstance(again, LifecycleScreen)
        marked = [line for line in again.plain.splitlines() if line.startswith("▶ ")]
        assert marked[0].startswith("▶ JobCompleted (W-08)")
        assert "at JobCompleted" in str(again.sub_title)
        # the last step (complete_job, give_feedback...) is marked from where it left
        assert len([line for line in again.plain.splitlines() if line.startswith("» ")]) == 1


@pytest.mark.asyncio
async def test_the_lifecycle_screen_before_any_step_marks_nothing() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.run_action("app.switch_mode('lifecycle')")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LifecycleScreen)
        assert "no issue yet" in str(screen.sub_title)
        assert not [line for line in screen.plain.splitlines() if line.startswith(("▶ ", "» "))]


def _line_styles(screen: LifecycleScreen) -> dict[str, str]:
    """Each styled run of the diagram shown, to its style."""
    text = screen.query_one("#lifecycle", Static).content
    assert isinstance(text, Text)
    return {text.plain[span.start : span.end]: str(span.style) for span in text.spans}


async def open_rule(pilot: Pilot[None], rule_id: str) -> RuleScreen:
    """In the browser, open every group, move to `rule_id` and press Enter."""
    if not isinstance(pilot.app.screen, BrowserScreen):
        await pilot.press("b")
        await settle(pilot)
    await pilot.press("e")
    await pilot.pause()
    tree = pilot.app.screen.query_one("#rules", Tree)
    line = next(node.line for node in _nodes(tree.root) if node.data == rule_id and node.line >= 0)
    tree.focus()
    tree.move_cursor_to_line(line)
    await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, RuleScreen)
    return screen


def _nodes(node: Any) -> list[Any]:
    return [node, *(found for child in node.children for found in _nodes(child))]


@pytest.mark.req("T-01")
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.asyncio
async def test_enter_on_t01_shows_its_condition_and_what_it_depends_on(
    size: tuple[int, int],
) -> None:
    app = build()
    async with app.run_test(size=size) as pilot:
        screen = await open_rule(pilot, "T-01")
        shown = screen.plain
        assert shown.startswith("T-01  entity occupier (include)  v2.yaml:476")
        assert "holds when contactType.persona[] = 'Tenant'" in shown
        depends = shown.split("Depends on\n")[1].split("\n\n")[0]
        assert "entity:property" in depends
        assert "setting:live_tenancy_statuses  = ['Active', 'Periodic'" in depends
        assert "rule:T-05" in shown.split("Used by\n")[1]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, BrowserScreen)


@pytest.mark.req("W-09", "CH-05")
@pytest.mark.asyncio
async def test_enter_on_a_status_shows_what_it_asks_and_its_cases() -> None:
    app = build()
    async with app.run_test(size=(120, 40)) as pilot:
        shown = (await open_rule(pilot, "W-09")).plain
        assert "at status Closed, Alto gets: works order CompleteInvoicingReceived" in shown
        assert "posts the maintenance charge" in shown
        assert "case W-09.cancelled when Job.JobCompleted absent: works order Cancelled" in shown
        assert "rule:CH-05  No invoice or charge is sent when the amount is zero." in shown
        await pilot.press("escape")
        shown = (await open_rule(pilot, "CH-05")).plain
        assert "the maintenance charge is posted only when Job.PriceAgencyPayableGross > 0" in shown
        assert "rule:W-09" in shown.split("Used by\n")[1]


@pytest.mark.asyncio
async def test_long_rules_keep_file_and_line_in_view_at_80x24() -> None:
    app = build()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await settle(pilot)
        tree = app.screen.query_one("#rules", Tree)
        leaves = [node for node in _nodes(tree.root) if node.data]
        assert leaves
        for node in leaves:
            info = app.rules[node.data]
            # id, then file:line, then the (possibly cut) text: the place is never cut
            assert str(node.label).startswith(f"{info.id}  {info.where}  ")
        w09 = next(node for node in leaves if node.data == "W-09")
        assert len(str(w09.label)) > 80  # a long rule, whose text the row cuts


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.asyncio
async def test_the_errors_screen_shows_each_located_error_and_scrolls(
    size: tuple[int, int],
) -> None:
    errors = "\n".join(
        f"/tmp/v2.yaml:{n}:5: unknown-field: fixflo.issues has no field 'X{n}'"
        for n in range(1, 61)
    )
    app = build()
    async with app.run_test(size=size) as pilot:
        app.push_screen(ErrorsScreen(errors))
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ErrorsScreen)
        assert screen.plain.splitlines()[0] == (
            "/tmp/v2.yaml:1:5: unknown-field: fixflo.issues has no field 'X1'"
        )
        scroll = screen.query_one("#text-scroll")
        assert "Ruleset errors (60)" in str(scroll.border_title)
        assert scroll.max_scroll_y > 0
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ErrorsScreen)
