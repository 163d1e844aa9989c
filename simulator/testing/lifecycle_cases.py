"""Run a lifecycle case: a scenario (a file, or steps written inline) played step by step,
each step's ``expect:`` block checked (`simulator.lifecycle.play_checked`).

Each unmet expectation is a failure at the line of its ``expect:`` block (in the scenario
file for a referenced scenario); a broken lifecycle invariant at any step is a failure
too. A failing case carries every step's report. A passing case covers what the steps up
to its last ``expect:`` block exercised (`simulator.lifecycle.exercised`): a step after
the last expectation asserted nothing.

Example:
    >>> from engine import load_ruleset
    >>> from simulator.lifecycle import Step
    >>> from simulator.testing._rulesets import Rulesets
    >>> from simulator.lifecycle.expect import Expect
    >>> rulesets = Rulesets(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
    >>> wrong = Expect(line=3, status="Closed", lines={"status": 3})
    >>> case = Case("report", "lifecycle", "t.yaml", 1, steps=(Step(event="report", expect=wrong),))
    >>> run_lifecycle(case, rulesets).failures[0].message()
    't.yaml:3: case report: expected step 1 (report) status Closed, got Reported'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import RulebridgeError
from simulator.lifecycle import CheckedStep, Scenario, StepReport, play_checked
from simulator.testing._rulesets import Rulesets
from simulator.testing.cases import Case, CaseResult, Failure

__all__ = ["run_lifecycle", "step_lines"]


def run_lifecycle(case: Case, rulesets: Rulesets) -> CaseResult:
    """Play the case's steps and compare each step with its ``expect:`` block.

    A case that cannot run is a result with `CaseResult.error`, never an exception.
    """
    try:
        ruleset = rulesets.get(case.settings)
        if ruleset.lifecycle is None:
            return CaseResult(case, error=f"ruleset {ruleset.name} declares no lifecycle")
        checked = play_checked(ruleset, Scenario(case.name, "", case.steps))
    except RulebridgeError as exc:
        return CaseResult(case, error=str(exc))
    file = str(case.scenario) if case.scenario is not None else None
    failures = [failure for step in checked for failure in _failures(case, step, file)]
    if failures:
        return CaseResult(case, tuple(failures), step_lines(checked))
    return CaseResult(case, covered=_covered(checked))


def _failures(case: Case, checked: CheckedStep, file: str | None) -> list[Failure]:
    report, step = checked.report, checked.step
    label = f"step {report.index} ({report.step})"
    found = [
        Failure(
            case,
            mismatch.line or step.line,
            f"{label} {mismatch.what}",
            mismatch.expected,
            mismatch.actual,
            file,
        )
        for mismatch in checked.mismatches
    ]
    found += [
        Failure(
            case,
            step.line or case.line,
            f"{label} lifecycle invariants to hold",
            "",
            violation,
            file if step.line else None,
        )
        for violation in report.violations
    ]
    return found


def _covered(checked: list[CheckedStep]) -> frozenset[str]:
    last = max((i for i, item in enumerate(checked) if item.step.expect is not None), default=-1)
    return frozenset(item for step in checked[: last + 1] for item in step.exercised)


def step_lines(checked: list[CheckedStep]) -> tuple[str, ...]:
    """Each step's report in a few lines, as a failing lifecycle case shows them."""
    lines: list[str] = []
    for item in checked:
        lines += _report_lines(item.report)
    return tuple(lines)


def _report_lines(report: StepReport) -> list[str]:
    works = report.works_order
    lines = [
        f"step {report.index}: {report.step} on {report.issue}: fixflo {report.fixflo_status}, "
        f"alto works order {_works(works)}"
    ]
    if report.documents:
        lines.append(f"  documents: {', '.join(report.documents)}")
    lines += [f"  charge: {_charge(charge)}" for charge in report.charges]
    lines += [f"  warning: {text}" for text in report.warnings]
    lines += [f"  rule: {text}" for text in report.fired]
    lines += [f"  VIOLATION: {text}" for text in report.violations]
    return lines


def _works(works: Mapping[str, Any] | None) -> str:
    return "none" if works is None else f"{works.get('id')} {works.get('status')}"


def _charge(charge: Mapping[str, Any]) -> str:
    amounts = f"net {charge.get('totalNet')} vat {charge.get('totalVat')}"
    return f"{charge.get('post')} {charge.get('targetId')} {charge.get('chargeType')} {amounts}"
