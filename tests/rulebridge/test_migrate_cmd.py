"""`rulebridge migrate`: files written atomically, --check, --since, and broken inputs."""

from __future__ import annotations

import errno
import json
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import click.testing
import pytest
from click.testing import CliRunner

from adapters.jupix import write_manifest
from rulebridge._exits import ExitCode
from rulebridge.cli import main
from rulebridge.cli._migrate_out import CollectionWriter
from rulebridge.cli._out_folder import (
    MARK,
    OutFolderError,
    _remove_ours,
    atomic_folder,
    check_out_folder,
    write_text,
)
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
    """`rulebridge migrate ARGS` through the command group, as a user runs it (so a usage
    error exits 64: `rulebridge._exits`)."""
    return CliRunner().invoke(main, ["migrate", *(str(arg) for arg in args)])


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


def test_migrate_replaces_a_folder_it_wrote_as_a_whole(tmp_path: Path) -> None:
    old = export(tmp_path / "old")
    jupix = export(tmp_path / "jupix")
    assert migrate(jupix, tmp_path / "alto", "--since", old).exit_code == 0
    assert (tmp_path / "alto" / "catch-up.json").exists()
    result = migrate(jupix, tmp_path / "alto")
    assert result.exit_code == 0, result.output
    names = {path.name for path in (tmp_path / "alto").iterdir()}
    assert "catch-up.json" not in names
    assert read(tmp_path / "alto" / MARK) == {
        "format": "rulebridge.migrate-output/1",
        "files": sorted(names - {MARK}),
    }
    assert sorted(path.name for path in tmp_path.iterdir()) == ["alto", "jupix", "old"]


def test_check_reports_housekeeping_without_writing_records(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    result = invoke("--ruleset", RULESET_PATH, "--jupix", jupix, "--as-of", "2025-06-02", "--check")
    assert result.exit_code == ExitCode.ATTENTION, result.output  # T1 is stale: not ready
    assert "Housekeeping before go-live" in result.output
    assert "`T1`" in result.output
    written = migrate(jupix, tmp_path / "house", "--check")
    assert written.exit_code == ExitCode.ATTENTION, written.output
    assert {path.name for path in (tmp_path / "house").iterdir()} == {
        "housekeeping.md",
        "housekeeping.json",
        "housekeeping.csv",
        "agency-pack.html",
        "readiness.md",
        "readiness.json",
        MARK,
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
    assert catch_up["removed"] == [{"category": "removed", "collection": "contacts", "id": "C2"}]


def test_a_bad_row_is_reported_and_accounted_for(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    with (jupix / "tenancies.csv").open("a", encoding="utf-8") as stream:
        stream.write("T9,P1,C2,Moved out,2020-01-01,,12,,900\n")
    (jupix / "manifest.json").unlink()
    write_manifest(jupix, agency="Acme", exported_at=datetime(2025, 6, 1, 18))
    result = migrate(jupix, tmp_path / "alto")
    assert result.exit_code == ExitCode.ATTENTION, result.output  # written, a row left out
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
    assert result.exit_code == ExitCode.USAGE
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


# -- no silent loss: a stray quote costs one line -----------------------------------------


@pytest.mark.req("J-16")
def test_a_stray_quote_costs_one_line_and_the_rows_after_it_migrate(tmp_path: Path) -> None:
    contacts = [*CONTACTS, {"contactID": "C3"}, {"contactID": "C4"}]
    jupix = write_export(
        tmp_path / "jupix", properties=PROPERTIES, contacts=contacts, tenancies=TENANCIES
    ).folder
    path = jupix / "contacts.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",", ',"', 1)  # C2: its title cell opens a quote, never closed
    path.write_text("".join(lines), encoding="utf-8", newline="")
    write_manifest(jupix, agency="Acme Lettings", exported_at=datetime(2025, 6, 1, 18))
    result = migrate(jupix, tmp_path / "alto")
    assert result.exit_code == ExitCode.ATTENTION, result.output
    assert "contacts.csv:3 (record C2): malformed CSV: a quoted cell opened on this line" in (
        result.output
    )
    report = read(tmp_path / "alto" / "reconciliation.json")
    assert sum(report["sources"]["jupix.contacts"].values()) == 4
    assert report["sources"]["jupix.contacts"]["unreadable"] == 1
    assert {item["id"] for item in read(tmp_path / "alto" / "contacts.json")} >= {"C3", "C4"}


# -- the output folder: never destroy what migrate did not write --------------------------


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its bytes (None for a folder)."""
    return {
        str(path.relative_to(root)): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("jupix", "is the --jupix input itself"),
        ("jupix/alto", "is inside the --jupix input"),
        ("", "holds the --jupix input"),
        ("old", "is the --since input itself"),
        ("rules", "holds the --ruleset input"),
    ],
)
def test_out_may_not_touch_an_input(tmp_path: Path, out: str, expected: str) -> None:
    root = tmp_path / "work"
    jupix, old = export(root / "jupix"), export(root / "old")
    (root / "rules").mkdir()
    rules = root / "rules" / "v1.yaml"
    rules.write_text(RULESET_PATH.read_text("utf-8"), encoding="utf-8")
    before = tree(tmp_path)
    result = invoke(
        "--ruleset", rules, "--jupix", jupix, "--as-of", "2025-06-02",
        "--out", root / out, "--since", old,
    )  # fmt: skip
    assert result.exit_code == ExitCode.USAGE, result.output
    assert expected in result.output
    assert "give a new or empty folder of its own, e.g. --out alto" in result.output
    assert tree(tmp_path) == before


def test_out_may_not_be_a_folder_it_did_not_write(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    (tmp_path / "report.json").write_text("{}")
    before = tree(tmp_path)
    result = migrate(jupix, tmp_path / "notes")
    assert result.exit_code == ExitCode.USAGE
    assert f"is not empty and was not written by rulebridge migrate (it has no {MARK})" in (
        result.output
    )
    assert "report.json' is a file" in migrate(jupix, tmp_path / "report.json").output
    assert tree(tmp_path) == before


def test_a_file_added_to_an_output_folder_is_never_removed(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    assert migrate(jupix, tmp_path / "alto").exit_code == 0
    (tmp_path / "alto" / "my notes.txt").write_text("mine")
    (tmp_path / "alto" / "sub").mkdir()
    before = tree(tmp_path)
    result = migrate(jupix, tmp_path / "alto")
    assert result.exit_code == ExitCode.USAGE
    assert "holds files rulebridge migrate did not write (my notes.txt, sub); move them out" in (
        result.output
    )
    assert tree(tmp_path) == before
    (tmp_path / "alto" / MARK).write_text('{"format": "something else", "files": []}')
    assert (
        f"its {MARK} is not one rulebridge migrate writes"
        in migrate(jupix, tmp_path / "alto").output
    )


def test_out_dot_is_refused_cleanly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    jupix = export(tmp_path / "jupix")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    for out in (".", "..", str(here)):
        result = migrate(jupix, Path(out))
        assert result.exit_code == ExitCode.USAGE, result.output
        assert "the output folder is replaced as a whole" in result.output
    checked = migrate(jupix, Path("."), "--check")
    assert checked.exit_code == ExitCode.USAGE
    assert "--out .: is the current folder" in checked.output
    assert list(here.iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["here", "jupix"]
    assert migrate(jupix, Path("alto")).exit_code == 0
    assert (here / "alto" / "contacts.json").is_file()


def test_an_empty_folder_is_used_and_a_symlink_to_ours_is_followed(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    (tmp_path / "alto").mkdir()
    assert migrate(jupix, tmp_path / "alto").exit_code == 0
    (tmp_path / "link").symlink_to(tmp_path / "alto")
    assert migrate(jupix, tmp_path / "link").exit_code == 0
    assert (tmp_path / "link").is_symlink()
    assert (tmp_path / "link" / "contacts.json").is_file()
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("extra", [(), ("--check",), ("--since", "OLD")])
def test_outputs_are_readable_by_their_owner_only(
    tmp_path: Path, extra: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = export(tmp_path / "old")
    args = [old if arg == "OLD" else arg for arg in extra]
    previous = os.umask(0o022)
    try:
        result = migrate(export(tmp_path / "jupix"), tmp_path / "alto", *args)
    finally:
        os.umask(previous)
    assert result.exit_code == (ExitCode.ATTENTION if "--check" in extra else 0), result.output
    assert stat.S_IMODE((tmp_path / "alto").stat().st_mode) == 0o700
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "alto").iterdir()}
    assert MARK in modes
    assert set(modes.values()) == {0o600}, modes


def test_a_failure_while_writing_leaves_the_old_output_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jupix = export(tmp_path / "jupix")
    assert migrate(jupix, tmp_path / "alto").exit_code == 0
    before = tree(tmp_path)

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(CollectionWriter, "__call__", full)
    result = migrate(jupix, tmp_path / "alto")
    assert result.exit_code == 1
    assert "cannot write the output ([Errno 28] No space left on device)" in result.output
    assert tree(tmp_path) == before
    assert leftovers(tmp_path) == []


def test_a_file_appearing_during_the_run_stops_the_swap(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    assert migrate(jupix, tmp_path / "alto").exit_code == 0
    target = check_out_folder(tmp_path / "alto", {"--jupix": jupix})
    assert target.previous is not None
    assert "contacts.json" in target.previous

    def run_while_a_file_appears() -> None:
        with atomic_folder(target) as work:
            write_text(work / "contacts.json", "[]\n")
            (tmp_path / "alto" / "late.txt").write_text("mine")

    with pytest.raises(OutFolderError, match=r"did not write \(late.txt\).*new output is left"):
        run_while_a_file_appears()
    assert (tmp_path / "alto" / "late.txt").read_text() == "mine"
    assert (tmp_path / "alto" / "inventory.json").is_file()


def test_only_listed_files_of_the_old_folder_are_removed(tmp_path: Path) -> None:
    old = tmp_path / ".alto.old"
    old.mkdir()
    for name in ("contacts.json", MARK, "late.txt"):
        (old / name).write_text("x")
    (old / "sales.json").mkdir()
    (tmp_path / "mine.json").write_text("mine")
    (old / "offers.json").symlink_to(tmp_path / "mine.json")
    warnings: list[str] = []
    listed = ("contacts.json", "gone.json", "sales.json", "offers.json")
    _remove_ours(old, listed, warnings.append)
    assert sorted(path.name for path in old.iterdir()) == ["late.txt", "offers.json", "sales.json"]
    assert (tmp_path / "mine.json").read_text() == "mine"
    assert warnings == [
        f"warning: kept {old}: files appeared in the old output that it did not write"
    ]
