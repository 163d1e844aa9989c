"""`rulebridge migrate --out`: the agency's files: manual-actions.csv and housekeeping.csv
read back, the grouped Markdown, and agency-pack.html parsed and counted against the JSON."""

from __future__ import annotations

import csv
import json
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import click.testing
import pytest
from click.testing import CliRunner

from engine.migration import CSV_COLUMNS, md_text
from rulebridge.cli import main
from rulebridge.cli._migrate_out import ListingSpill
from tests.engine.test_migration_pack import Page
from tests.rulesets.jupix import RULESET_PATH, ruleset, write_export

HOSTILE = '<script>alert("x")</script> | =cmd'


def export(folder: Path) -> Path:
    sales = [{"saleID": f"S{n}", "propertyID": f"P{n}", "buyerContactID": "C2"} for n in (1, 2)]
    write_export(
        folder,
        properties=[
            {"propertyID": "P1", "ownerContactIDs": ["C1"]},
            {"propertyID": "P2", "crmStatus": "Instructed - On Market", "availability": 2},
            {"propertyID": "P3", "archived": True, "crmStatus": "Archived", "availability": 6,
             "images": ["https://media.example.com/1.jpg"], "displayAddress": HOSTILE,
             "addressStreet": HOSTILE},
        ],
        contacts=[{"contactID": "C1", "roles": ["landlord"]}, {"contactID": "C2"}],
        tenancies=[{"tenancyID": "T1", "propertyID": "P2", "tenantContactIDs": ["C2"],
                    "endDate": "2025-01-31"}],
        sales=sales,
        progression_milestones=[
            {"milestoneID": "PM1", "saleID": "S2", "completedDate": "2025-05-01"},
            {"milestoneID": "PM2", "saleID": "S1", "name": "Exchange"},
            {"milestoneID": "PM3", "saleID": "S2", "name": "Exchange"},
            {"milestoneID": "PM4", "saleID": "S1"},
        ],
        todo_notes=[
            {"noteID": "TD1", "text": "=HYPERLINK(\"http://evil.example\")"},
            {"noteID": "TD2", "text": HOSTILE},
        ],
    )  # fmt: skip
    return folder


def invoke(jupix: Path, out: Path, *extra: str) -> click.testing.Result:
    args = ["--ruleset", RULESET_PATH, "--jupix", jupix, "--as-of", "2025-06-02", "--out", out]
    return CliRunner().invoke(main, ["migrate", *(str(arg) for arg in [*args, *extra])])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@pytest.fixture(scope="module")
def alto(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pack")
    result = invoke(export(folder / "jupix"), folder / "alto")
    assert result.exit_code == 0, result.output
    return folder / "alto"


def test_the_agency_files_are_written_private_and_no_spill_is_left(alto: Path) -> None:
    names = {path.name for path in alto.iterdir()}
    assert {"manual-actions.csv", "agency-pack.html", "manual-actions.md"} <= names
    assert not [name for name in names if name.endswith((".sqlite", ".jsonl"))]
    for name in ("manual-actions.csv", "agency-pack.html"):
        assert stat.S_IMODE((alto / name).stat().st_mode) == 0o600


@pytest.mark.req("J-14")
def test_the_manual_actions_csv_holds_each_action_once_formula_safe(alto: Path) -> None:
    rows = read_csv(alto / "manual-actions.csv")
    actions = read_json(alto / "manual-actions.json")["actions"]
    assert list(rows[0]) == ["action", *CSV_COLUMNS]
    assert sorted(row["id"] for row in rows) == sorted(item["id"] for item in actions)
    todo = next(row for row in rows if row["record id"] == "TD1")
    assert todo["detail"].startswith("'=HYPERLINK")
    milestones = [row for row in rows if row["entity"] == "milestone"]
    assert [(row["sale id"], row["record id"]) for row in milestones] == [
        ("S1", "PM2"),
        ("S1", "PM4"),
        ("S2", "PM1"),
        ("S2", "PM3"),
    ]
    assert all(row["rule summary"] for row in rows)


@pytest.mark.req("J-14")
def test_the_manual_actions_markdown_groups_milestones_per_sale(alto: Path) -> None:
    text = (alto / "manual-actions.md").read_text("utf-8")
    assert "## Re-enter the progression milestone (4)" in text
    assert text.index("### Sale S1 at") < text.index("### Sale S2 at")
    assert "| Searches Ordered: completed 2025-05-01 | `PM1` |" in text
    assert "| Exchange: outstanding | `PM2` |" in text
    assert "Rule J-14.milestones:" in text
    assert "!=" not in text


@pytest.mark.req("J-16")
def test_the_reconciliation_markdown_gives_each_rule_its_summary(alto: Path) -> None:
    text = (alto / "reconciliation.md").read_text("utf-8")
    assert "### property: J-05, changed (1)" in text
    assert f"J-05: {md_text(ruleset().rule_summary('J-05'))}" in text
    assert "!=" not in text


def test_the_pack_counts_equal_the_json_listing_and_hostile_data_is_text(alto: Path) -> None:
    html = (alto / "agency-pack.html").read_text("utf-8")
    page = Page(html)
    actions = read_json(alto / "manual-actions.json")["actions"]
    codes = Counter(page.codes["after-go-live"])
    assert all(codes[item["recordId"]] == 1 for item in actions)
    assert f"Manual re-entry in Alto ({len(actions)})" in page.text("after-go-live")
    assert page.tags["script"] == page.tags["b"] == 0
    assert "<script>" not in html
    assert HOSTILE in page.text("after-go-live")
    reconciliation = read_json(alto / "reconciliation.json")
    assert f"Differences by rule ({len(reconciliation['differences'])})" in page.text(
        "reconciliation"
    )
    assert "Acme Lettings" in page.text("export-day")
    assert "2025-06-01T18:00:00" in page.text("export-day")


@pytest.mark.req("J-17")
def test_check_out_writes_the_housekeeping_csv_and_a_pack(tmp_path: Path) -> None:
    result = invoke(export(tmp_path / "jupix"), tmp_path / "house", "--check")
    assert result.exit_code in (0, 3), result.output
    rows = read_csv(tmp_path / "house" / "housekeeping.csv")
    checks = read_json(tmp_path / "house" / "housekeeping.json")["checks"]
    assert sorted(row["id"] for row in rows) == sorted(item["id"] for item in checks)
    assert {row["record id"] for row in rows} >= {"T1", "P3"}
    media = next(row for row in rows if row["record id"] == "P3")
    assert HOSTILE in media["address"]
    assert media["name"].startswith("<script>")
    page = Page((tmp_path / "house" / "agency-pack.html").read_text("utf-8"))
    assert Counter(page.codes["before-export"])["P3"] == 1
    assert f"Housekeeping in Jupix ({len(checks)})" in page.text("before-export")
    assert "No migration ran" in page.text("after-go-live")
    assert page.tags["script"] == 0


def test_a_spill_reads_groups_in_order_and_sales_in_number_order(tmp_path: Path) -> None:
    spill = ListingSpill(tmp_path, "manual", "action")
    for sale in ("S10", "S9", None, "S10"):
        spill({"action": "b", "recordId": sale or "X", **({"saleId": sale} if sale else {})})
    spill({"action": "a", "recordId": "Y"})
    assert stat.S_IMODE(spill.path.stat().st_mode) == 0o600
    assert spill.group_sizes() == {"b": 4, "a": 1}
    assert [item["recordId"] for item in spill.items("b")] == ["X", "S9", "S10", "S10"]
    assert [item["recordId"] for item in spill.items()] == ["X", "S9", "S10", "S10", "Y"]
    assert list(spill.items("c")) == []
    spill.discard()
    assert not spill.path.exists()


@pytest.mark.req("J-15")
def test_every_checklist_task_is_in_the_section_of_its_phase(alto: Path) -> None:
    page = Page((alto / "agency-pack.html").read_text("utf-8"))
    tasks = ruleset().checklist
    assert {task.phase for task in tasks} == {"before-export", "export-day", "after-go-live"}
    for task in tasks:
        assert page.codes[task.phase].count(task.id) == 1, task.id
        others = {"before-export", "export-day", "after-go-live"} - {task.phase}
        assert all(task.id not in page.codes.get(other, []) for other in others)
