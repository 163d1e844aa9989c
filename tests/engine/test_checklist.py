"""The ``checklist:`` section: compiled tasks by phase, located errors with did-you-mean,
`CompiledRuleset.rule_summary`, the seed's tasks in jupix-alto v1 and `rulebridge
validate`'s count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import engine
import engine.language
from engine import ChecklistTask, load_ruleset
from rulebridge.cli import main
from tests.engine.rulesets import ruleset_data, write
from tests.engine.test_ruleset_errors import errors_of
from tests.rulesets.jupix import ROOT, ruleset

JUPIX = ROOT / "rulesets" / "jupix-alto" / "v1.yaml"


def with_tasks(*tasks: dict[str, Any]) -> dict[str, Any]:
    """The demo ruleset (rules R1, R2 and a case branch C1) with `tasks` as its checklist."""
    data = ruleset_data(
        [
            {"id": "R1", "summary": "Only rentals.", "when": {"field": "kind", "eq": "rent"}},
            {"id": "R2", "when": {"field": "archived", "ne": True}},
        ],
        map_={
            "status": {
                "case": [
                    {
                        "id": "C1",
                        "when": {"field": "status", "in": ["old", "gone"]},
                        "value": {"const": "Archived"},
                    },
                ],
                "else": "status",
            }
        },
    )
    data["checklist"] = list(tasks)
    return data


WINDOW = {
    "id": "window",
    "phase": "export-day",
    "summary": "Note every change made on the day of the copy.",
    "detail": "Record changes, viewings and diary appointments.\nRe-enter them the next day.",
    "rules": ["J-15", "R1", "C1"],
}


def test_tasks_compile_in_file_order_with_their_phase_and_references(tmp_path: Path) -> None:
    tidy = {"id": "tidy", "phase": "before-export", "summary": "Archive what is inactive."}
    compiled = load_ruleset(write(tmp_path, with_tasks(tidy, WINDOW)))
    first, second = compiled.checklist
    assert first == ChecklistTask(
        "tidy", "before-export", "Archive what is inactive.", "", (), first.line
    )
    assert second.phase == "export-day"
    assert second.rules == ("J-15", "R1", "C1")
    assert second.detail == (
        "Record changes, viewings and diary appointments. Re-enter them the next day."
    )
    assert 1 < first.line < second.line
    assert engine.language.ChecklistTask is ChecklistTask is engine.ChecklistTask


def test_a_ruleset_without_a_checklist_has_none(tmp_path: Path) -> None:
    data = with_tasks()
    del data["checklist"]
    assert load_ruleset(write(tmp_path, data)).checklist == ()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"phase": "before-exprt"},
            "invalid-value: 'before-exprt' is not one of before-export, "
            "export-day, after-go-live (did you mean 'before-export'?)",
        ),
        ({"rules": ["J-15", "R3"]}, "unknown-rule: no rule 'R3' in this ruleset (did you mean "),
        ({"rules": ["r1"]}, "unknown-rule: no rule 'r1' in this ruleset (did you mean 'R1'?)"),
        ({"id": "R1"}, "duplicate-rule-id: rule id 'R1' is already used on line"),
        ({"id": "C1"}, "duplicate-rule-id: id 'C1' is already used by a case branch"),
        ({"summary": ""}, "invalid-value: the text is empty"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_task_mistake_is_one_located_error(
    tmp_path: Path, change: dict[str, Any], expected: str
) -> None:
    path = write(tmp_path, with_tasks({**WINDOW, **change}))
    (error,) = errors_of(path)
    assert expected in error
    line = int(error.split(":", 1)[0])
    assert path.read_text("utf-8").splitlines()[line - 1].strip() != ""


def test_a_missing_summary_and_two_tasks_with_one_id_are_located(tmp_path: Path) -> None:
    no_summary = {"id": "a", "phase": "after-go-live"}
    path = write(tmp_path, with_tasks(no_summary, WINDOW, {**WINDOW, "summary": "again"}))
    found = errors_of(path)
    assert [error.split(": ", 2)[1] for error in found] == ["missing-key", "duplicate-rule-id"]
    assert "'summary'" in found[0]
    assert "rule id 'window' is already used on line" in found[1]


def test_rule_summary_speaks_for_every_kind_of_id(tmp_path: Path) -> None:
    compiled = load_ruleset(write(tmp_path, with_tasks(WINDOW)))
    assert compiled.rule_summary("R1") == "Only rentals."
    assert compiled.rule_summary("R2") == "archived is not yes"  # no summary: its condition
    assert compiled.rule_summary("C1") == "status is one of old or gone"
    assert compiled.rule_summary("window") == WINDOW["summary"]
    assert compiled.rule_summary("R9") is None


@pytest.mark.req("J-15", "J-10", "J-01", "J-03", "J-05", "J-07", "J-14", "J-16", "J-17")
def test_jupix_checklist_holds_the_seeds_instructions() -> None:
    compiled = ruleset()
    tasks = {task.id: task for task in compiled.checklist}
    phases = {task.phase for task in tasks.values()}
    assert phases == {"before-export", "export-day", "after-go-live"}
    served = {rule for task in tasks.values() for rule in task.rules}
    assert {"J-01", "J-03", "J-05", "J-07", "J-10", "J-14", "J-15", "J-16", "J-17"} <= served
    (window,) = [task for task in tasks.values() if task.phase == "export-day"]
    assert window.rules == ("J-15",)
    assert all(word in window.detail for word in ("record changes", "viewings", "diary"))
    balances = tasks["accounts.opening-balances"]
    assert balances.phase == "after-go-live"
    assert all(word in balances.summary for word in ("landlord", "property", "tenancy", "supplier"))
    assert "lowest possible balance" in tasks["accounts.close-down"].detail
    assert tasks["note.todos"].phase == "before-export"
    for task in tasks.values():
        assert task.summary.endswith(".")
        assert "=" not in task.summary


def test_jupix_rule_summaries_cover_case_branches_and_dedupe() -> None:
    compiled = ruleset()
    for rule_id in ("J-05", "J-02", "J-11", "J-10", "J-05.remarket"):
        summary = compiled.rule_summary(rule_id)
        assert summary, rule_id
        assert "=" not in summary
        assert "[" not in summary


def test_validate_counts_the_checklist_tasks() -> None:
    result = CliRunner().invoke(main, ["validate", str(JUPIX)])
    assert result.exit_code == 0, result.output
    count = len(ruleset().checklist)
    assert f"entities, {count} checklist tasks, sha256:" in result.output.splitlines()[0]
