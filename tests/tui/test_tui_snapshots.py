"""Snapshots of the TUI's screens at 80x24 and 120x40, fixed clock, wall clock and seed.

Review the SVGs under ``__snapshots__/`` before accepting a change (``--snapshot-update``):
convert one to PNG (``rsvg-convert file.svg -o file.png``) and look at it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input, Label, Tree

from tests.tui.tui_helpers import ROOT, SCENARIOS, UNMET, build, edit, ruleset_copy, settle

Snap = Callable[..., bool]
SMALL, LARGE = (80, 24), (120, 40)
SIZES = [pytest.param(SMALL, id="small"), pytest.param(LARGE, id="large")]
Run = Callable[[Pilot[Any]], Awaitable[None]]


def then(*keys: str, before: Callable[[App[Any]], None] | None = None) -> Run:
    """Wait for the start-up workers, drop the toasts, (do `before`), then press `keys`."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        if before is not None:
            before(pilot.app)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", SIZES)
def test_stepper_closed_with_a_charge(snap_compare: Snap, size: tuple[int, int]) -> None:
    app = build(scenario=SCENARIOS / "documented-path.yaml")
    assert snap_compare(app, terminal_size=size, run_before=then())


@pytest.mark.parametrize("size", SIZES)
def test_zero_invoice_why(snap_compare: Snap, size: tuple[int, int]) -> None:
    app = build(scenario=SCENARIOS / "zero-invoice.yaml")
    assert snap_compare(app, terminal_size=size, run_before=then())


@pytest.mark.parametrize("size", SIZES)
def test_reload_differences(snap_compare: Snap, size: tuple[int, int], tmp_path: Path) -> None:
    ruleset = ruleset_copy(tmp_path)
    app = build(ruleset, SCENARIOS / "documented-path.yaml")
    slower = ("works_order: CompleteAwaitingInvoice", "works_order: SupplierInstructed")
    assert snap_compare(
        app, terminal_size=size, run_before=then("r", before=lambda _: edit(ruleset, *slower))
    )


@pytest.mark.parametrize("size", SIZES)
def test_stale_marker(snap_compare: Snap, size: tuple[int, int], tmp_path: Path) -> None:
    ruleset = ruleset_copy(tmp_path)
    app = build(ruleset, SCENARIOS / "documented-path.yaml")
    broken = ("works_order: CompleteAwaitingInvoice", "works_order: Bogus")
    run = then("r", "left", before=lambda _: edit(ruleset, *broken))
    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_expect_pane_with_an_unmet_expectation(
    snap_compare: Snap, size: tuple[int, int], tmp_path: Path
) -> None:
    scenario = tmp_path / "unmet.yaml"
    scenario.write_text(UNMET, encoding="utf-8")
    keys = ("x",) if size == SMALL else ()  # the narrow screen shows Expect in Why's place
    assert snap_compare(build(scenario=scenario), terminal_size=size, run_before=then(*keys))


@pytest.mark.parametrize("size", SIZES)
def test_lifecycle_screen(snap_compare: Snap, size: tuple[int, int]) -> None:
    app = build(scenario=SCENARIOS / "cancelled-after-award.yaml")
    assert snap_compare(app, terminal_size=size, run_before=then("left", "d"))


def _checkout_relative(app: App[Any]) -> None:
    """The picker's title names its folder relative to the checkout (any clone's the same)."""
    title = app.screen.query_one(Label)
    title.update(str(title.render()).replace(str(ROOT), "<checkout>"))
    tree = app.screen.query_one(Tree)
    tree.root.set_label(str(tree.root.label).replace(str(ROOT), "<checkout>"))
    path = app.screen.query_one("#path", Input)
    path.value = path.value.replace(str(ROOT), "<checkout>")


@pytest.mark.parametrize("size", SIZES)
def test_file_picker(snap_compare: Snap, size: tuple[int, int]) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("l")
        tree = pilot.app.screen.query_one(Tree)
        for _ in range(100):  # the tree reads the folder in a worker of its own
            if tree.root.children:
                break
            await pilot.pause(0.02)
        _checkout_relative(pilot.app)
        await pilot.pause()

    assert snap_compare(build(), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_rule_detail(snap_compare: Snap, size: tuple[int, int]) -> None:
    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press("b", "e")
        await pilot.pause()
        tree = pilot.app.screen.query_one("#rules", Tree)
        line = next(n.line for n in _nodes(tree.root) if n.data == "T-01" and n.line >= 0)
        tree.focus()
        tree.move_cursor_to_line(line)
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(build(), terminal_size=size, run_before=run)


def _nodes(node: Any) -> list[Any]:
    return [node, *(found for child in node.children for found in _nodes(child))]


@pytest.mark.parametrize("size", SIZES)
def test_ruleset_browser(snap_compare: Snap, size: tuple[int, int]) -> None:
    assert snap_compare(build(), terminal_size=size, run_before=then("b"))


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


def test_help_small(snap_compare: Snap) -> None:
    assert snap_compare(build(), terminal_size=SMALL, run_before=then("question_mark"))
