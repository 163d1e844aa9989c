"""Ruleset tests as data: test files beside each ruleset version, run by `rulebridge test`.

A test file (``tests_for: ../v2.yaml``) holds cases of four kinds: a decision (one record of
one entity), a plan (sync rulesets: every source and target record), a migration
(migration rulesets) and a lifecycle (a scenario with ``expect:`` blocks). `load_tests`
reads and checks one file (every problem located, at once); `run_tests` runs files and
measures the `Coverage` of each ruleset; `write_junit` writes the results for CI.
The format is documented in docs/ruleset-tests.md.

Example:
    >>> run = run_tests(["rulesets/"])  # doctest: +SKIP
    >>> [result.case.name for result in run.failed]  # doctest: +SKIP
    []
"""

from simulator.testing.cases import Case, CaseResult, Failure, TestFile
from simulator.testing.coverage import Coverage, KindCoverage
from simulator.testing.files import find_test_files, load_tests
from simulator.testing.junit import write_junit
from simulator.testing.suite import TestRun, run_tests

__all__ = [
    "Case",
    "CaseResult",
    "Coverage",
    "Failure",
    "KindCoverage",
    "TestFile",
    "TestRun",
    "find_test_files",
    "load_tests",
    "run_tests",
    "write_junit",
]
