"""`rulebridge migrate`: files written atomically, --check, --since, and broken inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click.testing
import pytest
from click.testing import CliRunner

from rulebridge.cli.migrate import migrate_command
from tests.rulesets.jupix import RULESET_PATH, write_export

PROPERTIES: list[dict[str, Any]] = [
    {"propertyID": "P1", "ownerContactIDs": ["C1"]},
    {"propertyID": "P2", "crmStatus": "Instructed - On Market", "availability": 2},
]
CONTACTS: list[dict[str, Any]] = [{"contactID": "C1", "roles": ["landlord"]}, {"contactID": "C2"}]
TENANCIES = [
    {"tenancyID": "T1", "propertyID": "P2", "tenantContactIDs": ["C2"], "endDate": "2025-01-31"}
]


def invoke(*args: str | Path) -> click.testing.Result:
    return CliRunner().invoke(migrate_command, [str(arg) for arg in args])


def export(folder: Path, **tables: list[dict[str, object]]) -> Path:
    write_export(folder, properties=PROPERTIES, contacts=CONTACTS, tenancies=TENANCIES, **tables)
    return folder


def migrate(jupix: Path, out: Path, *extra: str | Path) -> click.testing.Result:
    return invoke(
        "--ruleset", RULESET_PATH, "--jupix", jupix, "--as-of", "2025-06-02", "--out", out, *extra
    )


def read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def test_migrate_writes_every_collection_and_both_reports(tmp_path: Path) -> None:
    result = migrate(export(tmp_path / "jupix"), tmp_path / "alto")
    assert result.exit_code == 0, result.output
    files = {path.name for path in (tmp_path / "alto").iterdir()}
    assert {
        "contacts.json",
        "inventory.json",
        "tenancies.json",
        "offers.json",
        "timeline.json",
        "media.json",
        "reconciliation.md",
        "reconciliation.json",
        "manual-actions.md",
        "manual-actions.json",
    } <= files
    inventory = {item["id"]: item for item in read(tmp_path / "alto" / "inventory.json")}
    assert inventory["P2"]["inventoryStatus"] == "Let"
    actions = read(tmp_path / "alto" / "manual-actions.json")["actions"]
    assert [action["recordId"] for action in actions] == ["P2"]
    assert "5 Jupix record(s) accounted for" in result.output
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".alto")]


def test_migrate_replaces_the_output_folder_as_a_whole(tmp_path: Path) -> None:
    (tmp_path / "alto").mkdir()
    (tmp_path / "alto" / "stale.json").write_text("[]")
    assert migrate(export(tmp_path / "jupix"), tmp_path / "alto").exit_code == 0
    assert not (tmp_path / "alto" / "stale.json").exists()


def test_check_reports_housekeeping_without_writing_records(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    result = invoke("--ruleset", RULESET_PATH, "--jupix", jupix, "--as-of", "2025-06-02", "--check")
    assert result.exit_code == 0, result.output
    assert "Housekeeping before go-live" in result.output
    assert "`T1`" in result.output
    written = migrate(jupix, tmp_path / "house", "--check")
    assert written.exit_code == 0, written.output
    assert {path.name for path in (tmp_path / "house").iterdir()} == {
        "housekeeping.md",
        "housekeeping.json",
    }


def test_since_writes_only_what_changed_after_the_first_export(tmp_path: Path) -> None:
    old = export(tmp_path / "old")
    new = write_export(
        tmp_path / "new",
        properties=PROPERTIES,
        contacts=[
            {"contactID": "C1", "roles": ["landlord"], "email": "new@example.com"},
            {"contactID": "C3"},
        ],
        tenancies=TENANCIES,
    ).folder
    result = migrate(new, tmp_path / "alto", "--since", old)
    assert result.exit_code == 0, result.output
    contacts = read(tmp_path / "alto" / "contacts.json")
    assert [item["id"] for item in contacts] == ["C1", "C3"]
    assert read(tmp_path / "alto" / "inventory.json") == []
    catch_up = read(tmp_path / "alto" / "catch-up.json")
    assert catch_up["removed"] == [{"collection": "contacts", "id": "C2"}]


def test_a_bad_row_is_reported_and_accounted_for(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    with (jupix / "tenancies.csv").open("a", encoding="utf-8") as stream:
        stream.write("T9,P1,C2,Moved out,2020-01-01,,12,,900\n")
    (jupix / "manifest.json").unlink()
    from datetime import datetime

    from adapters.jupix import write_manifest

    write_manifest(jupix, agency="Acme", exported_at=datetime(2025, 6, 1, 18))
    result = migrate(jupix, tmp_path / "alto")
    assert result.exit_code == 0, result.output
    assert "tenancies.csv:3 (record T9): status 'Moved out'" in result.output
    records = read(tmp_path / "alto" / "reconciliation.json")["records"]
    assert {"source": "jupix.tenancies", "record": "T9", "outcome": "unreadable"}.items() <= next(
        item for item in records if item["record"] == "T9"
    ).items()


def test_a_broken_export_or_ruleset_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    (jupix / "offers.csv").unlink()
    result = migrate(jupix, tmp_path / "alto")
    assert result.exit_code == 1
    assert "offers.csv" in result.output
    assert not (tmp_path / "alto").exists()
    bad = tmp_path / "v1.yaml"
    bad.write_text(RULESET_PATH.read_text("utf-8").replace("field: crmStatus,", "field: crmStats,"))
    result = invoke(
        "--ruleset",
        bad,
        "--jupix",
        export(tmp_path / "ok"),
        "--as-of",
        "2025-06-02",
        "--out",
        tmp_path / "alto",
    )
    assert result.exit_code == 1
    assert "did you mean 'crmStatus'" in result.output


def test_out_is_required_without_check_and_help_has_an_example(tmp_path: Path) -> None:
    result = invoke("--ruleset", RULESET_PATH, "--jupix", tmp_path, "--as-of", "2025-06-02")
    assert result.exit_code == 2
    assert "--out is required" in result.output
    assert "Example:" in invoke("--help").output


@pytest.mark.req("J-15")
def test_the_reports_name_the_snapshot_the_migration_read(tmp_path: Path) -> None:
    result = migrate(export(tmp_path / "jupix"), tmp_path / "alto")
    assert result.exit_code == 0, result.output
    report = read(tmp_path / "alto" / "reconciliation.json")
    assert report["snapshot"] == {"exported_at": "2025-06-01T18:00:00", "agency": "Acme Lettings"}
    assert "exported 2025-06-01T18:00:00" in (tmp_path / "alto" / "reconciliation.md").read_text()
    early = invoke(
        "--ruleset",
        RULESET_PATH,
        "--jupix",
        tmp_path / "jupix",
        "--as-of",
        "2025-05-01",
        "--out",
        tmp_path / "early",
    )
    assert "warning: the export was taken 2025-06-01T18:00:00, after" in early.output
