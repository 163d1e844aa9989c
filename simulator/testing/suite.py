"""Run test files: find them, load each (collecting every file's errors), run every case,
and measure the coverage of each ruleset tested.

Example::

    run = run_tests(["rulesets/"])
    run.passed, [coverage.percent for coverage in run.coverage]
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

from engine.errors import RulesetError, RulesetErrors
from simulator.testing._rulesets import Rulesets, rulesets_for
from simulator.testing.cases import Case, CaseResult, TestFile
from simulator.testing.coverage import Coverage
from simulator.testing.decide import run_decision
from simulator.testing.files import find_test_files, load_tests
from simulator.testing.lifecycle_cases import run_lifecycle
from simulator.testing.migrate_cases import run_migration
from simulator.testing.plan_cases import run_plan

__all__ = ["TestRun", "run_case", "run_tests"]

Runner = Callable[[Case, Rulesets], CaseResult]


@dataclass(frozen=True, slots=True)
class TestRun:
    """The outcome of running test files.

    Attributes:
        files: the test files loaded, in order.
        results: one result per case, in file order.
        errors: the located problems of the files that could not be loaded (their cases
            did not run).
        coverage: one `Coverage` per ruleset file tested.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class, whatever its name

    files: tuple[TestFile, ...]
    results: tuple[CaseResult, ...]
    errors: tuple[RulesetError, ...]
    coverage: tuple[Coverage, ...]

    @property
    def failed(self) -> tuple[CaseResult, ...]:
        """The results of the cases that did not pass."""
        return tuple(result for result in self.results if not result.passed)

    @property
    def passed(self) -> bool:
        """True when every file loaded and every case passed."""
        return not self.errors and not self.failed

    @property
    def percent(self) -> float:
        """Coverage of every ruleset tested, all kinds together (100 with nothing to cover)."""
        total = sum(coverage.total for coverage in self.coverage)
        covered = sum(len(coverage.covered) for coverage in self.coverage)
        return 100.0 if not total else 100.0 * covered / total

    def to_json(self) -> dict[str, Any]:
        """``{passed, cases, failed, errors, results, coverage, percent}``."""
        return {
            "passed": self.passed,
            "cases": len(self.results),
            "failed": len(self.failed),
            "errors": [error.to_json() for error in self.errors],
            "results": [result.to_json() for result in self.results],
            "coverage": [coverage.to_json() for coverage in self.coverage],
            "percent": round(self.percent, 1),
        }


def run_tests(
    paths: Iterable[str | os.PathLike[str]], *, ruleset: str | os.PathLike[str] | None = None
) -> TestRun:
    """Find the test files under `paths`, run every case, and measure coverage.

    Args:
        paths: test files, or folders searched recursively for YAML files whose top level
            has ``tests_for:``.
        ruleset: run every file against this ruleset file instead of its ``tests_for:``
            (to see what another version or an edited copy would do).

    Raises:
        RulesetErrors: `ruleset` itself has errors (every problem, located).

    Example::

        run = run_tests(["rulesets/alto-fixflo/tests"], ruleset="/tmp/v3.yaml")
    """
    shared = rulesets_for(ruleset) if ruleset is not None else None
    compiled: dict[Path, Rulesets] = {}
    files: list[TestFile] = []
    errors: list[RulesetError] = []
    results: list[CaseResult] = []
    for path in find_test_files(paths):
        try:
            test_file = load_tests(path, ruleset=ruleset, rulesets=shared)
        except RulesetErrors as exc:
            errors.extend(exc.errors)
            continue
        rulesets = shared or rulesets_for(test_file.ruleset_path)
        compiled.setdefault(test_file.ruleset_path.resolve(), rulesets)
        files.append(test_file)
        results.extend(run_case(case, rulesets) for case in test_file.cases)
    coverage = _coverage(files, results, compiled, shared)
    return TestRun(tuple(files), tuple(results), tuple(sorted(set(errors))), coverage)


def run_case(case: Case, rulesets: Rulesets) -> CaseResult:
    """Run one case against its ruleset (compiled with the case's settings), timed."""
    started = time.perf_counter()
    result = _RUNNERS[case.kind](case, rulesets)
    return replace(result, seconds=time.perf_counter() - started)


def _coverage(
    files: list[TestFile],
    results: list[CaseResult],
    compiled: Mapping[Path, Rulesets],
    shared: Rulesets | None,
) -> tuple[Coverage, ...]:
    covered: dict[Path, set[str]] = {}
    for result in results:
        test_file = next(f for f in files if f.path == result.case.file)
        covered.setdefault(test_file.ruleset_path.resolve(), set()).update(result.covered)
    found = []
    for path, rulesets in compiled.items():
        base = (shared or rulesets).base
        found.append(Coverage.of(base, covered.get(path, set())))
    return tuple(found)


_RUNNERS: dict[str, Runner] = {
    "decision": run_decision,
    "plan": run_plan,
    "migration": run_migration,
    "lifecycle": run_lifecycle,
}
