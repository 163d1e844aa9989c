"""The lifecycle part of a diff (`simulator.lifecycle.compare`): the scenarios whose step
reports differ under two rulesets, at their first differing step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from engine import RulebridgeError, load_ruleset
from simulator.lifecycle import load_scenario, play
from simulator.lifecycle.compare import compare_scenarios, scenario_files
from tests.rulesets.alto import DEFAULT, RULESET_PATH

SCENARIOS = RULESET_PATH.parents[2] / "simulator" / "scenarios"
TENANT_PAYS = load_ruleset(RULESET_PATH, settings={"paying_party": "Tenant"})


def test_a_ruleset_against_itself_changes_no_scenario() -> None:
    compared = compare_scenarios(DEFAULT, DEFAULT, scenario_files(SCENARIOS))
    assert compared.played == len(list(SCENARIOS.glob("*.yaml")))
    assert compared.changes == []
    assert compared.unplayable == []


@pytest.mark.req("CH-02")
def test_who_pays_changes_the_charge_at_the_step_that_posts_it() -> None:
    """Tenant instead of Landlord: each scenario whose charge is posted differs first at the
    step that posts it, where the charge goes to the tenancy instead of the property."""
    paths = scenario_files(SCENARIOS)
    compared = compare_scenarios(DEFAULT, TENANT_PAYS, paths)
    charged = set()
    for path in paths:
        scenario = load_scenario(path, DEFAULT)
        if scenario.settings.get("paying_party"):
            continue  # the scenario chooses who pays itself
        for report in play(DEFAULT, scenario):
            if report.charges:
                charged.add((path.stem, report.index))
                break
    assert {(change.scenario, change.step) for change in compared.changes} == charged
    first = compared.changes[0]
    charges = next(item for item in first.differences if item.what == "charges")
    assert [charge["post"] for charge in charges.old] == ["property"]
    assert [charge["post"] for charge in charges.new] == ["tenancy"]


def test_a_scenario_that_fails_under_one_side_only_is_a_change(tmp_path: Path) -> None:
    """A scenario choosing a setting only NEW declares plays under NEW only: a change that
    says why; failing alike under both is no change, but listed as unplayable."""
    data = yaml.safe_load(RULESET_PATH.read_text("utf-8"))
    data["settings"]["trial_flag"] = {"type": "boolean", "default": False, "summary": "A trial."}
    copy = tmp_path / "new.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    new = load_ruleset(copy)
    scenario = tmp_path / "trial.yaml"
    scenario.write_text(
        "scenario: trial\nsummary: needs a setting OLD lacks.\n"
        "settings: {trial_flag: true}\nsteps:\n  - {event: report}\n",
        "utf-8",
    )
    compared = compare_scenarios(DEFAULT, new, [scenario])
    assert len(compared.changes) == 1
    error = compared.changes[0].error
    assert error is not None
    assert error.startswith("fails under OLD: ")
    assert "trial_flag" in error
    alike = compare_scenarios(DEFAULT, DEFAULT, [scenario])
    assert alike.changes == []
    assert len(alike.unplayable) == 1
    assert "trial_flag" in alike.unplayable[0]


def test_only_scenario_files_are_played_from_a_folder(tmp_path: Path) -> None:
    """A ruleset or test file kept beside the scenarios is not taken for one."""
    shutil.copy(SCENARIOS / "zero-invoice.yaml", tmp_path)
    shutil.copy(RULESET_PATH, tmp_path / "v2.yaml")
    assert scenario_files(tmp_path) == [tmp_path / "zero-invoice.yaml"]
    with pytest.raises(RulebridgeError, match="no such folder"):
        scenario_files(tmp_path / "missing")
