"""`rulebridge simulate` and `rulebridge explore`, through their own modules."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rulebridge.cli.explore import explore_command
from rulebridge.cli.simulate import simulate

ROOT = Path(__file__).resolve().parents[2]
RULESET = str(ROOT / "rulesets" / "alto-fixflo" / "v2.yaml")
SCENARIO = str(ROOT / "simulator" / "scenarios" / "documented-path.yaml")


@pytest.mark.parametrize("command", [simulate, explore_command])
def test_help_has_an_example(command: click.Command) -> None:
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output


def test_simulate_prints_each_step_as_text() -> None:
    result = CliRunner().invoke(simulate, ["--ruleset", RULESET, "--scenario", SCENARIO])
    assert result.exit_code == 0, result.output
    assert (
        "step 1: report on I1\n  fixflo status: Reported\n  alto works order: none" in result.output
    )
    assert "alto works order WO-1: SupplierInstructed" in result.output
    charge = (
        "alto charge CH-1: POST /inventory/P1/charges\n    chargeType: 'Maintenance'\n"
        "    totalNet: 100.0\n    totalVat: 20.0\n"
    )
    assert charge in result.output
    assert "    raiseImmediately: False\n    workOrderId: 'WO-1'\n" in result.output
    assert "rule: CH-05: Job.PriceAgencyPayableGross = 120.0, > 0" in result.output


def test_simulate_json_is_a_list_of_steps() -> None:
    result = CliRunner().invoke(
        simulate, ["--ruleset", RULESET, "--scenario", SCENARIO, "--format", "json"]
    )
    steps = json.loads(result.output)
    assert [step["fixflo_status"] for step in steps][-1] == "Closed"
    assert steps[0]["works_order"] is None
    charge = steps[-1]["charges"][0]
    assert (charge["post"], charge["targetId"], charge["chargeType"]) == (
        "property",
        "P1",
        "Maintenance",
    )
    assert (charge["totalNet"], charge["totalVat"], charge["workOrderId"]) == (100.0, 20.0, "WO-1")


def test_simulate_reports_scenario_errors_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("scenario: bad\nsteps: []\n", "utf-8")
    result = CliRunner().invoke(simulate, ["--ruleset", RULESET, "--scenario", str(bad)])
    assert result.exit_code == 1
    assert "missing-key" in result.output
    assert "Traceback" not in result.output


def test_explore_reports_counts_and_rate() -> None:
    result = CliRunner().invoke(explore_command, ["--ruleset", RULESET, "--depth", "3"])
    assert result.exit_code == 0, result.output
    assert "states/s" in result.output
    assert "every invariant held" in result.output


def _broken_zero_invoice(tmp_path: Path) -> Path:
    """The shipped zero-invoice scenario expecting a charge at close (CH-05 sends none)."""
    text = (ROOT / "simulator" / "scenarios" / "zero-invoice.yaml").read_text("utf-8")
    broken = text.replace("charges: []", "charges: [{chargeType: Maintenance}]")
    assert broken != text
    path = tmp_path / "zero-invoice.yaml"
    path.write_text(broken, "utf-8")
    return path


def test_simulate_shows_each_expectation_met_at_its_step() -> None:
    result = CliRunner().invoke(simulate, ["--ruleset", RULESET, "--scenario", SCENARIO])
    assert result.exit_code == 0, result.output
    assert "  expect (line 8):\n    status: met\n    fired: met\n    works_order: met\n" in (
        result.output
    )
    assert "expectations: 22 checked, all met\n" in result.output


def test_an_unmet_expectation_exits_1_saying_what_and_where(tmp_path: Path) -> None:
    """CH-05: a zero invoice sends no charge; a scenario expecting one fails, plainly."""
    path = _broken_zero_invoice(tmp_path)
    result = CliRunner().invoke(simulate, ["--ruleset", RULESET, "--scenario", str(path)])
    assert result.exit_code == 1
    assert "    status: met\n    works_order: met\n" in result.output
    assert (
        "    charges: NOT MET (line 14): expected {chargeType: Maintenance}, got none\n"
        in result.output
    )
    assert result.output.endswith("expectations: 4 checked, 1 NOT MET\n")
    assert "Traceback" not in result.output


def test_simulate_json_carries_the_expectations(tmp_path: Path) -> None:
    path = _broken_zero_invoice(tmp_path)
    result = CliRunner().invoke(
        simulate, ["--ruleset", RULESET, "--scenario", str(path), "--format", "json"]
    )
    assert result.exit_code == 1
    steps = json.loads(result.output)
    assert [step["expect"] for step in steps[:3]] == [None, None, None]
    close = steps[-1]["expect"]
    assert close["met"] == ["status", "works_order", "warnings"]
    assert close["unmet"] == [
        {
            "what": "charges",
            "expected": "{chargeType: Maintenance}",
            "actual": "none",
            "line": 14,
            "message": "charges: expected {chargeType: Maintenance}, got none",
        }
    ]
    assert (steps[-1]["status_id"], steps[-1]["blocked"]) == ("W-09", ["CH-05"])


def test_simulate_help_documents_the_exit_for_an_unmet_expectation() -> None:
    result = CliRunner().invoke(simulate, ["--help"])
    assert "an expectation was not met" in " ".join(result.output.split())


def test_a_bad_expectation_is_a_located_error_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "scenario: bad\nsteps:\n  - {event: report, expect: {warnings: [W-6]}}\n", "utf-8"
    )
    result = CliRunner().invoke(simulate, ["--ruleset", RULESET, "--scenario", str(path)])
    assert result.exit_code == 1
    assert "bad.yaml:3:41: unknown-warning: no warning 'W-6' (did you mean 'W-06'?)" in (
        result.output
    )
    assert "Traceback" not in result.output
