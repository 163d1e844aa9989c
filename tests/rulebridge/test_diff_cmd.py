"""`rulebridge diff` over real snapshot files: the report, its exit codes, clean failures."""

from __future__ import annotations

import json
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from rulebridge._exits import ExitCode
from rulebridge.cli import main
from simulator.agency import write_agency
from tests.rulesets.alto import RULESET_PATH

SHIPPED = yaml.safe_load(RULESET_PATH.read_text("utf-8"))
JUPIX = RULESET_PATH.parents[1] / "jupix-alto" / "v1.yaml"
SCENARIOS = RULESET_PATH.parents[2] / "simulator" / "scenarios"
_NO_SCENARIOS = tempfile.TemporaryDirectory(prefix="rulebridge-test-no-scenarios-")


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_agency(tmp_path_factory.mktemp("agency"), size=150, seed=21)


def copy_with(folder: Path, change: Any, name: str = "new.yaml") -> Path:
    data = yaml.safe_load(RULESET_PATH.read_text("utf-8"))
    change(data)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


def commercial(data: dict[str, Any]) -> None:
    data["settings"]["property_categories"]["default"] = ["Residential", "Commercial"]


def diff(*args: str | Path, scenarios: Path | None = None) -> Result:
    """The command through the group (so usage errors exit 64); scenarios from `scenarios`
    (default: none, to keep the test fast; the shipped ones when given SCENARIOS)."""
    folder = scenarios or Path(_NO_SCENARIOS.name)
    return CliRunner().invoke(main, ["diff", *map(str, args), "--scenarios", str(folder)])


def expected_commercial(alto: Path) -> set[str]:
    """The snapshot's commercial properties that P-01..P-03 and P-06 let through, read from
    the file itself."""
    statuses = set(SHIPPED["settings"]["property_statuses"]["default"])
    inventory = json.loads(alto.read_text("utf-8"))["inventory"]
    return {
        str(item["inventoryId"])
        for item in inventory
        if item["recordType"] == "Rent"
        and item["managementType"] in {"Managed", "FullyManaged", "PartManaged"}
        and item["maintenanceType"] == "MaintainedByUs"
        and item["categoryType"] == "Commercial"
        and item["status"] in statuses
    }


@pytest.mark.req("P-05")
def test_the_commercial_copy_lists_exactly_the_commercial_properties(
    agency: tuple[Path, Path], tmp_path: Path
) -> None:
    """The done-when, through the command: JSON lists every commercial property that the
    other property rules let through under P-05; Markdown counts them in P-05's row."""
    alto, _ = agency
    new = copy_with(tmp_path, commercial)
    expected = expected_commercial(alto)
    assert expected
    done = diff(RULESET_PATH, new, "--alto", alto, "--format", "json")
    assert done.exit_code == ExitCode.CHANGES, done.output
    report = json.loads(done.stdout)
    (prop,) = [entity for entity in report["entities"] if entity["entity"] == "property"]
    assert [(g["kind"], g["rule"]) for g in prop["groups"]] == [("created", "P-05")]
    assert {record["key"] for record in prop["groups"][0]["records"]} == expected
    assert report["lifecycle"] == {"played": 0, "changed": []}
    markdown = diff(RULESET_PATH, new, "--alto", alto, "--limit", "2")
    assert markdown.exit_code == ExitCode.CHANGES
    summary = "Residential and/or commercial, as the agency chose."
    row = f"| created | `P-05` | {summary} | {len(expected)} |"
    assert row in markdown.stdout
    assert "## property" in markdown.stdout
    assert f"... and {len(expected) - 2} more" in markdown.stdout


def test_no_change_exits_0_and_says_so(agency: tuple[Path, Path]) -> None:
    alto, fixflo = agency
    done = diff(RULESET_PATH, RULESET_PATH, "--alto", alto, "--fixflo", fixflo, scenarios=SCENARIOS)
    assert done.exit_code == ExitCode.NOTHING, done.output
    assert "**0 changes.**" in done.stdout
    assert (
        f"{len(list(SCENARIOS.glob('*.yaml')))} scenarios played under both; 0 differ."
        in done.stdout
    )


@pytest.mark.req("CH-02")
def test_a_lifecycle_change_is_reported_at_its_first_differing_step(
    agency: tuple[Path, Path], tmp_path: Path
) -> None:
    alto, _ = agency
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    shutil.copy(SCENARIOS / "documented-path.yaml", scenarios)

    def tenant_pays(data: dict[str, Any]) -> None:
        data["settings"]["paying_party"]["default"] = "Tenant"

    new = copy_with(tmp_path, tenant_pays)
    done = diff(RULESET_PATH, new, "--alto", alto, "--format", "json", scenarios=scenarios)
    assert done.exit_code == ExitCode.CHANGES, done.output
    report = json.loads(done.stdout)
    assert report["changes"] == 1
    (changed,) = report["lifecycle"]["changed"]
    assert (changed["scenario"], changed["action"]) == ("documented-path", "close")
    assert "charges" in [item["what"] for item in changed["differences"]]


def test_the_report_file_is_owner_only_and_written_whole(
    agency: tuple[Path, Path], tmp_path: Path
) -> None:
    alto, _ = agency
    new = copy_with(tmp_path, commercial)
    out = tmp_path / "impact.md"
    done = diff(RULESET_PATH, new, "--alto", alto, "--out", out)
    assert done.exit_code == ExitCode.CHANGES
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not out.with_name("impact.md.partial").exists()
    assert out.read_text("utf-8") == diff(RULESET_PATH, new, "--alto", alto).stdout


def test_bad_input_fails_cleanly_and_leaves_no_temporary_folder(
    agency: tuple[Path, Path], tmp_path: Path
) -> None:
    alto, _ = agency
    before = set(Path(tempfile.gettempdir()).glob("rulebridge-diff-*"))
    broken = tmp_path / "broken.yaml"
    broken.write_text(RULESET_PATH.read_text("utf-8").replace("eq: Rent", "eqq: Rent"), "utf-8")
    garbage = tmp_path / "alto.json"
    garbage.write_text("{not json", "utf-8")
    cases: dict[str, tuple[list[str | Path], str]] = {
        "a broken NEW ruleset": ([RULESET_PATH, broken, "--alto", alto], str(broken)),
        "a migration ruleset": ([JUPIX, JUPIX, "--alto", alto], "not a sync ruleset"),
        "a garbled snapshot": ([RULESET_PATH, RULESET_PATH, "--alto", garbage], str(garbage)),
        "an unwritable report": (
            [RULESET_PATH, RULESET_PATH, "--alto", alto, "--out", tmp_path / "no" / "r.md"],
            "cannot write the report",
        ),
    }
    for name, (args, said) in cases.items():
        done = diff(*args)
        assert done.exit_code == ExitCode.FAILURE, name
        assert said in done.stderr, (name, done.stderr)
        assert "Traceback" not in done.output, name
    assert set(Path(tempfile.gettempdir()).glob("rulebridge-diff-*")) == before


def test_a_usage_error_exits_64(agency: tuple[Path, Path]) -> None:
    alto, _ = agency
    assert diff(RULESET_PATH, RULESET_PATH).exit_code == ExitCode.USAGE  # no --alto
    missing = diff(RULESET_PATH, "no-such.yaml", "--alto", alto)
    assert missing.exit_code == ExitCode.USAGE
    assert "no-such.yaml" in missing.stderr


def test_unreadable_records_are_reported_and_the_rest_is_compared(
    agency: tuple[Path, Path], tmp_path: Path
) -> None:
    """A malformed record loses nothing from sight: a warning naming it, the JSON's
    rejected list, a line in Markdown; the other records are still compared."""
    alto, _ = agency
    data = json.loads(alto.read_text("utf-8"))
    data["inventory"][0]["address"] = 5
    bad = tmp_path / "alto.json"
    bad.write_text(json.dumps(data), "utf-8")
    new = copy_with(tmp_path, commercial)
    done = diff(RULESET_PATH, new, "--alto", bad, "--format", "json")
    assert done.exit_code == ExitCode.CHANGES, done.output
    report = json.loads(done.stdout)
    assert [item["where"] for item in report["rejected"]] == [f"{bad}#inventory[0]"]
    assert f"warning: {bad}#inventory[0]: address is the number 5" in done.stderr
    first = str(data["inventory"][0]["inventoryId"])
    created = {r["key"] for e in report["entities"] for g in e["groups"] for r in g["records"]}
    assert first not in created
    assert expected_commercial(alto) - {first} <= created
    markdown = diff(RULESET_PATH, new, "--alto", bad)
    assert "1 snapshot record could not be read (listed in JSON)." in markdown.stdout
