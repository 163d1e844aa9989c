"""Helpers for lifecycle tests: play the shipped scenarios through the shipped ruleset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine import CompiledRuleset, load_ruleset
from engine.language.lifecycle import Lifecycle
from simulator.lifecycle import Scenario, Step, StepReport, load_scenario, play

ROOT = Path(__file__).resolve().parents[2]
RULESET_PATH = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
SCENARIOS = ROOT / "simulator" / "scenarios"
RULESET = load_ruleset(RULESET_PATH)


def lifecycle(ruleset: CompiledRuleset = RULESET) -> Lifecycle:
    assert ruleset.lifecycle is not None
    return ruleset.lifecycle


def scenario(name: str, ruleset: CompiledRuleset = RULESET) -> list[StepReport]:
    """Play `simulator/scenarios/<name>.yaml`; every invariant must hold at every step."""
    reports = play(ruleset, load_scenario(SCENARIOS / f"{name}.yaml", lifecycle(ruleset)))
    assert [r.violations for r in reports if r.violations] == []
    return reports


def steps(*items: tuple[str, dict[str, Any]] | str) -> list[StepReport]:
    """Play an inline list of events on issue I1."""
    made = [
        Step(event=item) if isinstance(item, str) else Step(event=item[0], details=item[1])
        for item in items
    ]
    return play(RULESET, Scenario("inline", "", tuple(made)))


def at(reports: list[StepReport], action: str) -> StepReport:
    """The report after the first step named `action`."""
    return next(report for report in reports if report.step == action)
