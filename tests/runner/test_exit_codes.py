"""A run's exit code and its report's ``run`` section, end to end over loopback.

The agencies here are small generated ones chosen for what they hold: size 5, seed 1 has
no item for a person (so 2 and 0 are reachable and a 3 is the dead letters' doing), size
8, seed 1 has one. Exit codes are `rulebridge._exits`: 0 nothing changed, 2
changes, 3 succeeded but left work for a person, 1 failure, 64 usage, 130/143 signals.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from engine.store import Store
from rulebridge._config import load_agency_config
from rulebridge._exits import ExitCode, outcome_code
from rulebridge.cli import main
from rulebridge.runner import RunLog, RunOptions, run_nightly
from simulator.fake.loopback import FakeAgency, fake_agency

CLEAN = (5, 1)  # size and seed of an agency with no item for a person
WITH_MANUAL = (8, 1)  # one with one item for a person
REFUSED_TENANTS = "errors@POST /api/v2/Tenant=1.0"  # Fixflo: 200 with Errors, the refusal


def served(tmp_path: Path, agency: tuple[int, int], **options: Any) -> Any:
    """The generated agency `agency` (size, seed) on the fakes, its config in `tmp_path`."""
    size, seed = agency
    return fake_agency(tmp_path / "a", size=size, seed=seed, **options)


def night(agency: FakeAgency, **options: Any) -> tuple[dict[str, Any], int]:
    config = load_agency_config(agency.config_path)
    outcome = run_nightly(
        RunOptions(config, agency.store_path, **options), RunLog(io.StringIO(), terminal=False)
    )
    return outcome.report, outcome.exit_code


def cli_run(agency: FakeAgency) -> int:
    result = CliRunner().invoke(main, ["run", "--config", str(agency.config_path), "--quiet"])
    assert "Traceback" not in result.output
    return result.exit_code


def latest_report(agency: FakeAgency) -> dict[str, Any]:
    with Store.open(agency.store_path) as store:
        report = store.runs()[0].report
    assert report is not None
    return dict(report)


def test_changes_exit_2_then_nothing_exits_0_and_the_report_says_so(tmp_path: Path) -> None:
    with served(tmp_path, CLEAN) as agency:
        assert cli_run(agency) == ExitCode.CHANGES
        first = latest_report(agency)["run"]
        applied = latest_report(agency)["reference"]["applied"]
        writes = sum(n for per in applied.values() for op, n in per.items() if op != "skipped")
        assert first["changes"] == writes > 0
        assert (first["status"], first["kind"], first["attention"]) == ("succeeded", "night", 0)
        assert first["exit_code"] == 2
        for key in ("started", "finished"):  # ISO 8601 with the offset
            assert datetime.fromisoformat(first[key]).utcoffset() is not None, first[key]
        assert first["started"] <= first["finished"]

        assert cli_run(agency) == ExitCode.NOTHING
        second = latest_report(agency)["run"]
        assert (second["changes"], second["attention"], second["exit_code"]) == (0, 0, 0)


def test_a_record_fixflo_refuses_makes_the_run_exit_3(tmp_path: Path) -> None:
    """Fixflo refuses every tenant (its contract's refusal: 200 with Errors): each is a
    dead letter, the rest is applied, and ``rulebridge run`` exits 3, not 2."""
    with served(tmp_path, CLEAN, faults=REFUSED_TENANTS) as agency:
        assert cli_run(agency) == ExitCode.ATTENTION
        report = latest_report(agency)
        letters = report["dead_letters"]
        assert letters
        assert report["reference"]["manual"] == 0  # the dead letters alone made it 3
        assert report["run"]["attention"] == len(letters)
        assert report["run"]["changes"] > 0  # the properties went
        assert report["run"]["status"] == "succeeded"
        # the next night writes no new dead letter (they wait for a person): nothing to do
        assert cli_run(agency) == 0
        assert latest_report(agency)["dead_letters"] == []


def test_items_for_a_person_make_the_run_exit_3(tmp_path: Path) -> None:
    with served(tmp_path, WITH_MANUAL) as agency:
        report, code = night(agency)
        assert code == 3
        assert report["run"]["attention"] == report["reference"]["manual"] == 1
        assert report["dead_letters"] == []
        again, code = night(agency)
        assert code == 3  # still there tomorrow: still for a person
        assert again["run"]["changes"] == 0


def test_a_dry_run_with_changes_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    with served(tmp_path, CLEAN) as agency:
        report, code = night(agency, dry_run=True)
        assert code == 2
        assert report["run"]["changes"] > 0
        assert agency.fixflo.log.matching("POST") == []


def test_a_failed_read_exits_1_recorded_as_failed(tmp_path: Path) -> None:
    with served(tmp_path, CLEAN, faults="503@GET /inventory=1", attempts=2) as a:
        assert cli_run(a) == ExitCode.FAILURE
        run = latest_report(a)["run"]
        assert (run["status"], run["exit_code"]) == ("failed", 1)
        assert "503" in run["error"]


def test_the_history_shows_each_run_with_its_exit_code(tmp_path: Path) -> None:
    with served(tmp_path, CLEAN) as agency:
        cli_run(agency)
        cli_run(agency)
        listed = CliRunner().invoke(
            main, ["history", "--config", str(agency.config_path), "--format", "json"]
        )
    assert listed.exit_code == 0
    assert [run["exit"] for run in json.loads(listed.stdout)] == [0, 2]


def test_store_adopt_exits_with_its_runs_code(tmp_path: Path) -> None:
    with served(tmp_path, CLEAN) as agency:  # records Fixflo has already
        fresh = tmp_path / "fresh.db"
        adopt = ["store", "adopt", "--config", str(agency.config_path), "--store", str(fresh)]
        result = CliRunner().invoke(main, adopt)
        report = latest_report_of(fresh)
        mapped = report["reference"]["adopted"]
        assert mapped > 0
        assert result.exit_code == 2, result.output  # records mapped, nothing for a person
        assert (report["run"]["kind"], report["run"]["exit_code"]) == ("adopt", result.exit_code)


def latest_report_of(path: Path) -> dict[str, Any]:
    with Store.open(path) as store:
        report = store.runs()[0].report
    assert report is not None
    return dict(report)


@given(failed=st.booleans(), attention=st.booleans(), changes=st.integers(0, 10_000))
def test_the_outcome_is_failure_then_attention_then_changes(
    failed: bool, attention: bool, changes: int
) -> None:
    code = outcome_code(failed=failed, attention=attention, changes=changes)
    expected = 1 if failed else 3 if attention else 2 if changes else 0
    assert code == expected
    assert code not in (ExitCode.USAGE, ExitCode.INTERRUPTED, ExitCode.TERMINATED)
