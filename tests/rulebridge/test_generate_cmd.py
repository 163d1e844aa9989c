"""`rulebridge generate [agency|jupix]`: agency by default, a Jupix export on request, and
never a write over files it did not make."""

from __future__ import annotations

import json
from pathlib import Path

import click.testing
import pytest
from click.testing import CliRunner

from adapters.jupix import JupixExport
from rulebridge._exits import ExitCode
from rulebridge.cli import main
from rulebridge.cli.generate import GENERATED


def invoke(*args: str | Path) -> click.testing.Result:
    """`rulebridge generate ARGS` as a user runs it (usage errors exit 64)."""
    return CliRunner().invoke(main, ["generate", *(str(arg) for arg in args)])


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under `root` with its bytes (None for a folder)."""
    return {
        str(path.relative_to(root)): None if path.is_dir() else path.read_bytes()
        for path in sorted(root.rglob("*"))
    }


def test_agency_is_the_default_so_old_command_lines_still_work(tmp_path: Path) -> None:
    old = invoke("--size", "10", "--seed", "1", "--out", tmp_path / "old")
    new = invoke("agency", "--size", "10", "--seed", "1", "--out", tmp_path / "new")
    assert old.exit_code == new.exit_code == ExitCode.NOTHING, old.output
    assert "10 inventory" in old.output
    for name in ("alto.json", "fixflo.json"):
        assert (tmp_path / "old" / name).read_bytes() == (tmp_path / "new" / name).read_bytes()
    listing = invoke("--help").output
    assert "agency" in listing
    assert "jupix" in listing


def test_jupix_writes_a_clean_export_and_says_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = invoke(
        "jupix", "--size", "25", "--seed", "4", "--out", out,
        "--agency", "Acme Lettings", "--exported-at", "2025-06-01T18:00",
    )  # fmt: skip
    assert result.exit_code == ExitCode.NOTHING, result.output
    assert f"wrote {out}: a Jupix export for Acme Lettings, taken 2025-06-01T18:00:00" in (
        result.output
    )
    export = JupixExport(out)
    assert export.check(rows=True) == []
    manifest = export.manifest()
    assert (manifest.agency, manifest.exported_at) == ("Acme Lettings", "2025-06-01T18:00:00")
    assert "25 properties" in result.output
    contacts = sum(1 for _ in export.iter_rows("contacts"))
    milestones = sum(1 for _ in export.iter_rows("progression_milestones"))
    assert f"{contacts} contacts" in result.output
    assert f"{milestones} progression_milestones" in result.output
    assert json.loads((out / GENERATED).read_text("utf-8"))["files"][-1] == "manifest.json"


def test_the_same_seed_gives_the_same_bytes_and_an_earlier_export_is_replaced(
    tmp_path: Path,
) -> None:
    out = tmp_path / "export"
    assert invoke("jupix", "--size", "12", "--seed", "9", "--out", out).exit_code == 0
    first = tree(out)
    assert invoke("jupix", "--size", "30", "--seed", "2", "--out", out).exit_code == 0
    assert tree(out) != first
    assert invoke("jupix", "--size", "12", "--seed", "9", "--out", out).exit_code == 0
    assert tree(out) == first


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        ("a real export", "is not empty and generate jupix did not write it"),
        ("a file added", "holds files generate jupix did not write (notes.txt)"),
        ("a file", "is a file"),
        ("a bad mark", "is not one generate jupix writes"),
    ],
)
def test_jupix_never_overwrites_what_it_did_not_write(
    tmp_path: Path, prepare: str, expected: str
) -> None:
    out = tmp_path / "export"
    if prepare == "a file":
        out.write_text("mine")
    else:
        assert invoke("jupix", "--size", "3", "--out", out).exit_code == 0
        if prepare == "a real export":
            (out / GENERATED).unlink()
        elif prepare == "a file added":
            (out / "notes.txt").write_text("mine")
        else:
            (out / GENERATED).write_text('{"format": "other", "files": []}')
    before = tree(tmp_path)
    result = invoke("jupix", "--size", "5", "--out", out)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--size", "0"), "0 is not in the range 1<=x<=1000000"),
        (("--size", "1000001"), "1000001 is not in the range"),
        (("--exported-at", "1 June"), "'1 June' is not an ISO date and time"),
        (("--agency", " "), "give the agency's name"),
        (("--agnecy", "x"), "No such option '--agnecy'"),
    ],
)
def test_jupix_refuses_a_bad_option_with_64(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    result = invoke("jupix", "--out", tmp_path / "export", *args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert expected in result.output
    assert not (tmp_path / "export").exists()


def test_a_folder_that_cannot_be_written_exits_1(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = invoke("jupix", "--size", "3", "--out", tmp_path / "file" / "export")
    assert result.exit_code == ExitCode.FAILURE, result.output
    assert "cannot write the export" in result.output
    assert "Traceback" not in result.output
