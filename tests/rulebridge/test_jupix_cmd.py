"""`rulebridge jupix check|rehash EXPORT`: an export checked as migrate reads it, and its
manifest re-hashed after a hand edit (which the reader otherwise refuses as changed)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click.testing
import pytest
from click.testing import CliRunner

from adapters.jupix import JupixExport, write_manifest
from adapters.jupix.manifest import sha256_file
from rulebridge._exits import ExitCode
from rulebridge.cli import main
from tests.rulesets.jupix import write_export

CONTACTS: list[dict[str, Any]] = [{"contactID": "C1", "roles": ["landlord"]}, {"contactID": "C2"}]
PROPERTIES: list[dict[str, Any]] = [{"propertyID": "P1", "ownerContactIDs": ["C1"]}]


def invoke(*args: str | Path) -> click.testing.Result:
    """`rulebridge jupix ARGS` as a user runs it (usage errors exit 64)."""
    return CliRunner().invoke(main, ["jupix", *(str(arg) for arg in args)])


def export(folder: Path) -> Path:
    return write_export(folder, properties=PROPERTIES, contacts=CONTACTS).folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def manifest(folder: Path) -> dict[str, object]:
    document = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert isinstance(document, dict)
    return document


# -- check --------------------------------------------------------------------------------


def test_check_exits_0_on_a_clean_export(tmp_path: Path) -> None:
    result = invoke("check", export(tmp_path / "jupix"))
    assert result.exit_code == ExitCode.NOTHING, result.output
    assert "the export reads cleanly" in result.output


def test_check_exits_3_for_rows_and_1_for_a_whole_file(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    with (jupix / "contacts.csv").open("a", encoding="utf-8") as stream:
        stream.write("C1,,,Jones,,,,,,,,,landlord,,false,2020-01-01T10:00:00\n")
        stream.write("C3,,,Jones,,,,,,,,,landlord,,nope,2020-01-01T10:00:00\n")
    write_manifest(jupix, agency="Acme Lettings", exported_at=datetime(2025, 6, 1, 18))
    rows = invoke("check", jupix)
    assert rows.exit_code == ExitCode.ATTENTION, rows.output
    assert "contacts.csv:4 (record C1): contactID 'C1' is already used at contacts.csv:2" in (
        rows.output
    )
    assert "contacts.csv:5 (record C3): archived 'nope' is not true or false" in rows.output
    assert "2 problem(s): 0 with a whole file, 2 with rows" in rows.output
    (jupix / "offers.csv").unlink()
    whole = invoke("check", jupix)
    assert whole.exit_code == ExitCode.FAILURE, whole.output
    assert "offers.csv: missing; an export has every file" in whole.output
    assert invoke("check", tmp_path / "nowhere").exit_code == ExitCode.USAGE


# -- rehash -------------------------------------------------------------------------------


def test_rehash_after_a_hand_edit_keeps_when_and_whom_and_names_the_changed_file(
    tmp_path: Path,
) -> None:
    jupix = export(tmp_path / "jupix")
    before = sha256_file(jupix / "contacts.csv")
    edit(jupix / "contacts.csv", "C2,,,Smith", "C2,Mrs,,Smith")
    refused = invoke("check", jupix)
    assert refused.exit_code == ExitCode.FAILURE
    assert "contacts.csv: changed since the export was taken" in refused.output
    result = invoke("rehash", jupix)
    assert result.exit_code == ExitCode.NOTHING, result.output
    after = sha256_file(jupix / "contacts.csv")
    assert f"contacts.csv: {before[:12]} -> {after[:12]}" in result.output
    assert "properties.xml:" not in result.output
    assert "the export reads cleanly" in result.output
    document = manifest(jupix)
    assert document["agency"] == "Acme Lettings"
    assert document["exported_at"] == "2025-06-01T18:00:00"
    assert JupixExport(jupix).check(rows=True) == []
    again = invoke("rehash", jupix, "--exported-at", "2025-06-01T20:30")
    assert again.exit_code == ExitCode.NOTHING
    assert "no file changed since manifest.json was written" in again.output
    assert "was: Acme Lettings, exported 2025-06-01T18:00:00" in again.output
    assert manifest(jupix)["exported_at"] == "2025-06-01T20:30:00"
    assert not [path.name for path in jupix.iterdir() if path.name.endswith(".partial")]


def test_rehash_exits_3_when_the_edited_export_still_has_problems(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    edit(
        jupix / "contacts.csv",
        "C2,,,Smith,,,,,,,,,applicant,,false",
        "C2,,,Smith,,,,,,,,,applicant,,no",
    )
    (jupix / "notes.txt").write_text("mine")
    result = invoke("rehash", jupix)
    assert result.exit_code == ExitCode.ATTENTION, result.output
    assert "contacts.csv: " in result.output
    assert "not hashed, not export files: notes.txt" in result.output
    assert "notes.txt: unknown file" in result.output
    assert "contacts.csv:3 (record C2): archived 'no' is not true or false" in result.output
    assert "notes.txt" not in manifest(jupix)["files"]  # type: ignore[operator]


def test_a_folder_without_a_manifest_needs_agency_and_exported_at(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    (jupix / "manifest.json").unlink()
    refused = invoke("rehash", jupix, "--agency", "Acme Lettings")
    assert refused.exit_code == ExitCode.USAGE, refused.output
    assert "has no manifest.json: give --agency NAME and --exported-at ISO" in refused.output
    assert not (jupix / "manifest.json").exists()
    result = invoke(
        "rehash", jupix, "--agency", "Acme Lettings", "--exported-at", "2025-06-01T18:00"
    )
    assert result.exit_code == ExitCode.NOTHING, result.output
    assert "wrote a new manifest.json: Acme Lettings, exported 2025-06-01T18:00:00" in (
        result.output
    )
    assert JupixExport(jupix).manifest().agency == "Acme Lettings"


def test_an_unreadable_manifest_fails_unless_both_options_replace_it(tmp_path: Path) -> None:
    jupix = export(tmp_path / "jupix")
    (jupix / "manifest.json").write_text("{", encoding="utf-8")
    result = invoke("rehash", jupix)
    assert result.exit_code == ExitCode.FAILURE
    assert "manifest.json:1: not valid JSON" in result.output
    assert "give --agency NAME and --exported-at ISO" in result.output
    assert "Traceback" not in result.output
    fixed = invoke("rehash", jupix, "--agency", "Acme", "--exported-at", "2025-06-01")
    assert fixed.exit_code == ExitCode.NOTHING, fixed.output
    assert manifest(jupix)["exported_at"] == "2025-06-01T00:00:00"


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (("--exported-at", "tomorrow"), ExitCode.USAGE, "'tomorrow' is not an ISO date"),
        (("--agency", ""), ExitCode.USAGE, "give the agency's name"),
        (("EMPTY",), ExitCode.FAILURE, "holds no export file"),
    ],
)
def test_rehash_refuses_bad_input_cleanly(
    tmp_path: Path, args: tuple[str, ...], code: ExitCode, expected: str
) -> None:
    jupix = export(tmp_path / "jupix")
    (tmp_path / "empty").mkdir()
    before = (jupix / "manifest.json").read_bytes()
    target = [tmp_path / "empty"] if args == ("EMPTY",) else [jupix, *args]
    result = invoke("rehash", *target)
    assert result.exit_code == code, result.output
    assert expected in result.output
    assert (jupix / "manifest.json").read_bytes() == before
    assert not (tmp_path / "empty" / "manifest.json").exists()
