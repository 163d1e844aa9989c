"""A test run for people (text) and for tools (JSON).

Text: one line per test file (cases passed and failed), then each failure as
``file:line: case NAME: expected X, got Y`` with the decision's explanation (or the plan,
the migration's outcomes, the step reports) indented under it, the files that could not be
loaded (their errors located), a summary line and, when asked, the coverage of each
ruleset: per kind covered/total and every uncovered item with its ``file:line``.

Example::

    print(run_text(run_tests(["rulesets/"]), coverage=True))
"""

from __future__ import annotations

import json
from collections import Counter

from simulator.testing.coverage import Coverage
from simulator.testing.suite import TestRun

__all__ = ["coverage_text", "run_json", "run_text"]


def run_text(run: TestRun, *, coverage: bool = False) -> str:
    """The run as text (see the module docstring); `coverage` adds the coverage report."""
    lines: list[str] = []
    failed = Counter(result.case.file for result in run.failed)
    for test_file in run.files:
        total = len(test_file.cases)
        bad = failed.get(test_file.path, 0)
        state = "ok" if not bad else "FAILED"
        lines.append(f"{test_file.path}: {state}: {total - bad} of {total} cases passed")
    for result in run.failed:
        lines.append("")
        lines += result.messages()
        lines += [f"    {line}" for line in result.explanation]
    if run.errors:
        lines.append("")
        lines += [str(error) for error in run.errors]
    lines.append("")
    lines.append(_summary(run))
    if coverage:
        lines += ["", *(coverage_text(item) for item in run.coverage)]
    return "\n".join(lines) + "\n"


def _summary(run: TestRun) -> str:
    cases = len(run.results)
    text = f"{cases} case{'s' * (cases != 1)}: {cases - len(run.failed)} passed, "
    text += f"{len(run.failed)} failed"
    files = {error.path for error in run.errors}
    if files:
        text += f"; {len(files)} test file{'s' * (len(files) != 1)} could not be loaded"
    return text


def coverage_text(coverage: Coverage) -> str:
    """One ruleset's coverage: a line per kind, then each uncovered item located.

    Example:
        >>> from engine import load_ruleset
        >>> ruleset = load_ruleset("rulesets/jupix-alto/v1.yaml")
        >>> print(coverage_text(Coverage.of(ruleset, set())).splitlines()[1])
          rule: 0 of 35 covered (0.0%)
    """
    covered, total = len(coverage.covered), coverage.total
    lines = [
        f"coverage of {coverage.ruleset}: {coverage.percent:.1f}% ({covered} of {total} items)"
    ]
    for kind in coverage.kinds():
        lines.append(f"  {kind.kind}: {kind.covered} of {kind.total} covered ({kind.percent:.1f}%)")
    for kind in coverage.kinds():
        lines += [
            f"  {coverage.ruleset}:{line}: {kind.kind} {item} is not covered"
            for item, line in kind.uncovered
        ]
    return "\n".join(lines)


def run_json(run: TestRun) -> str:
    """The run as one JSON document (`TestRun.to_json`)."""
    return json.dumps(run.to_json(), indent=2, default=str)
