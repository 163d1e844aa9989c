"""scripts/req_coverage.py: lists uncovered ids; fails only for owed or unknown ids."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "req_coverage", ROOT / "scripts" / "req_coverage.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["req_coverage"] = module
    spec.loader.exec_module(module)
    return module


def test_reads_ids_from_the_catalogue(tmp_path: Path) -> None:
    catalogue = tmp_path / "REQUIREMENTS.md"
    catalogue.write_text(
        "| id | rule |\n|---|---|\n| P-01 | a |\n| CH-02 | b |\nP-03 prose\n", "utf-8"
    )
    assert load_script().requirement_ids(catalogue) == ["P-01", "CH-02"]


def test_finds_marker_ids_in_tests() -> None:
    named = load_script().named_ids(ROOT / "tests")
    assert all(isinstance(files, list) for files in named.values())


@pytest.mark.parametrize(
    ("named", "expected", "status"),
    [
        ({"P-01": ["t.py"]}, [], 0),
        ({}, ["P-01"], 1),
        ({"P-09": ["t.py"]}, [], 1),
    ],
)
def test_exit_status(
    capsys: pytest.CaptureFixture[str],
    named: dict[str, list[str]],
    expected: list[str],
    status: int,
) -> None:
    assert load_script().report(["P-01", "P-02"], named, expected) == status
    out = capsys.readouterr().out
    assert "not named by any test: " in out


def test_the_repository_copy_matches_the_catalogue_or_says_how_it_differs() -> None:
    script = load_script()
    assert script.compare(["P-01", "P-02"], ["P-01", "P-02"]) == ""
    message = script.compare(["P-01", "P-02"], ["P-01", "P-09"])
    assert message == (
        "lacks P-02 and has P-09, which the catalogue does not; run scripts/req_coverage.py --write"
    )


def test_the_copy_written_reads_back(tmp_path: Path) -> None:
    script = load_script()
    copy = tmp_path / "ids.txt"
    script.write_copy(["P-01", "CH-02"], copy)
    assert script.expected_ids(copy) == ["P-01", "CH-02"]


def test_the_repository_copy_is_the_catalogue_when_it_is_beside_us() -> None:
    script = load_script()
    catalogue = ROOT.parent / "shared" / "REQUIREMENTS.md"
    if not catalogue.exists():
        pytest.skip("no ../shared beside the checkout: the copy is all there is")
    assert script.compare(script.requirement_ids(catalogue), script.expected_ids(script.COPY)) == ""
