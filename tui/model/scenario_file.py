"""Scenario files as the TUI reads and writes them: the text kept, so that saving a timeline
keeps what the author wrote.

`ScenarioFile.read` loads a scenario (`simulator.lifecycle.load_scenario`) and keeps the
file's text; `scenario_text` writes a new scenario file in the canonical style (flow-style
steps, as `dump_yaml` writes them).

Example:
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> source = ScenarioFile.read("simulator/scenarios/zero-invoice.yaml", ruleset)
    >>> source.scenario.name, source.text.startswith("# yaml-language-server")
    ('zero-invoice', True)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.documents import dump_yaml
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle import Scenario, Step, load_scenario

__all__ = ["ScenarioFile", "scenario_text"]


@dataclass(frozen=True, slots=True)
class ScenarioFile:
    """A scenario read from `path`: the `scenario` and the file's `text` as it was read."""

    path: Path
    text: str
    scenario: Scenario

    @classmethod
    def read(cls, path: str | os.PathLike[str], ruleset: CompiledRuleset) -> ScenarioFile:
        """Read the scenario file at `path` for `ruleset`.

        Raises:
            RulesetErrors: the file cannot be read or is not a scenario of the ruleset
                (every problem, located).
        """
        scenario = load_scenario(path, ruleset)
        text = Path(path).read_bytes().decode("utf-8")
        return cls(Path(path), text, scenario)


def scenario_text(
    name: str, summary: str, steps: Sequence[Step], settings: Mapping[str, Any] | None = None
) -> str:
    """`steps` (under agency `settings`) as a scenario file that `rulebridge simulate` replays."""
    items = [step_data(step) for step in steps]
    data: dict[str, Any] = {"scenario": name, "summary": summary}
    if settings:
        data["settings"] = dict(settings)
    data["steps"] = items
    return dump_yaml(data, sort_keys=False, default_flow_style=None, width=100)


def step_data(step: Step) -> dict[str, Any]:
    """`step` as a scenario file writes it (its ``note:``, not its ``expect:``)."""
    item: dict[str, Any] = {"event": step.event} if step.event else {"redeliver": step.redeliver}
    if step.issue != "I1":
        item["issue"] = step.issue
    if step.details:
        item["with"] = dict(step.details)
    if step.event and not step.deliver:
        item["deliver"] = False
    if step.note:
        item["note"] = step.note
    return item
