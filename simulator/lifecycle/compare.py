"""The lifecycle part of an impact diff: each scenario played under two rulesets, and what
differs at the first step whose reports differ.

A scenario that cannot be loaded or played under one ruleset but can under the other is a
change (its `ScenarioChange.error` says which and why); one that fails alike under both is
no change, and is listed in `Compared.unplayable` instead.

Example:
    >>> from engine import load_ruleset
    >>> v2 = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> tenant = load_ruleset("rulesets/alto-fixflo/v2.yaml", settings={"paying_party": "Tenant"})
    >>> compared = compare_scenarios(v2, tenant, ["simulator/scenarios/documented-path.yaml"])
    >>> compared.played, [change.step for change in compared.changes]
    (1, [8])
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import RulebridgeError
from engine.language.ruleset import CompiledRuleset
from engine.sync.impact import ScenarioChange, StepDifference
from simulator.lifecycle.play import StepReport, play
from simulator.lifecycle.scenario import load_scenario

__all__ = ["Compared", "compare_scenarios", "report_differences", "scenario_files"]

_SAME = ("step", "action", "issue")  # what names a step rather than its outcome


@dataclass(slots=True)
class Compared:
    """How many scenarios were played under both rulesets, those whose outcome differs,
    and those that could be played under neither (``path: message``)."""

    played: int = 0
    changes: list[ScenarioChange] = field(default_factory=list)
    unplayable: list[str] = field(default_factory=list)


def scenario_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The scenario files in `folder`, sorted by name: the ``*.yaml`` files with a top-level
    ``scenario:`` key (a ruleset or test file beside them is not one).

    Raises:
        RulebridgeError: `folder` is not a folder.
    """
    where = Path(folder)
    if not where.is_dir():
        raise RulebridgeError(f"{where}: no such folder of scenarios")
    return sorted(path for path in where.glob("*.yaml") if _is_scenario(path))


def _is_scenario(path: Path) -> bool:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return True  # let loading it say what is wrong
    return any(line.startswith("scenario:") for line in text.splitlines())


def compare_scenarios(
    old: CompiledRuleset, new: CompiledRuleset, paths: Iterable[str | os.PathLike[str]]
) -> Compared:
    """Play each scenario file under `old` and `new`; the scenarios whose reports differ.

    Both rulesets need a lifecycle; a ruleset without one plays nothing (``played`` 0).
    """
    compared = Compared()
    if old.lifecycle is None or new.lifecycle is None:
        return compared
    for path in paths:
        before, after = _played(old, path), _played(new, path)
        compared.played += 1
        change = _compare(Path(path), before, after)
        if change is not None:
            compared.changes.append(change)
        elif isinstance(before, str):
            compared.unplayable.append(f"{path}: {before}")
    return compared


def _played(ruleset: CompiledRuleset, path: str | os.PathLike[str]) -> list[StepReport] | str:
    """The scenario's reports under `ruleset`, or why it could not be played."""
    try:
        return play(ruleset, load_scenario(path, ruleset))
    except RulebridgeError as exc:
        problems = str(exc).strip().splitlines() or [type(exc).__name__]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        return " ".join(problems[0].split()) + more


def _compare(
    path: Path, before: list[StepReport] | str, after: list[StepReport] | str
) -> ScenarioChange | None:
    name = path.stem
    if isinstance(before, str) or isinstance(after, str):
        if before == after:
            return None
        which = "OLD" if isinstance(before, str) else "NEW"
        error = before if isinstance(before, str) else after
        return ScenarioChange(name, str(path), None, None, (), f"fails under {which}: {error}")
    for old_step, new_step in zip(before, after, strict=False):
        differences = report_differences(old_step, new_step)
        if differences:
            return ScenarioChange(name, str(path), old_step.index, old_step.step, differences)
    if len(before) != len(after):  # not expected: both play the same steps
        step = min(len(before), len(after)) + 1
        what = StepDifference("steps", len(before), len(after))
        return ScenarioChange(name, str(path), step, None, (what,))
    return None


def report_differences(old: StepReport, new: StepReport) -> tuple[StepDifference, ...]:
    """What two reports of a step say differently: its outcome (status, works order,
    documents, charges, warnings, rules fired, operations, invariants...), not its name
    (index, action, issue). Each difference holds the key and both reports' JSON values.

    Example:
        >>> before = StepReport(1, "close", "I1", "Closed", None, (), (), (), (), ())
        >>> after = StepReport(1, "close", "I1", "Closed", None, (), (), ("CH-05: x",), (), ())
        >>> report_differences(before, after)
        (StepDifference(what='warnings', old=[], new=['CH-05: x']),)
    """
    return _differences(old.to_json(), new.to_json())


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[StepDifference, ...]:
    return tuple(
        StepDifference(key, old.get(key), new.get(key))
        for key in dict.fromkeys([*old, *new])
        if key not in _SAME and old.get(key) != new.get(key)
    )
