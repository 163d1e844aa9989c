"""The shipped rulesets' tests as data (`rulesets/*/tests/*.yaml`), run as `rulebridge test
rulesets/` runs them: every case passes and every ruleset is covered in full.

Each case is one pytest test, named by its file and name and marked with the requirement
ids it names (so a requirement id is still named by a test). The run happens once per
session (`run_tests` through the Python API); each parametrised test reads its case's
result from it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.testing import CaseResult, TestRun, find_test_files, load_tests, run_tests

ROOT = Path(__file__).resolve().parents[2]
RULESETS = ROOT / "rulesets"
_CATALOGUE_ID = re.compile(r"^[A-Z]{1,2}-\d{2}$")
_KNOWN = frozenset(
    line.split("#", 1)[0].strip()
    for line in (ROOT / "tests" / "requirement-ids.txt").read_text("utf-8").splitlines()
) - {""}


def _params() -> list[object]:
    """One pytest parameter per case of every shipped test file, with its requirements as
    `req` marks and in its id."""
    params: list[object] = []
    for path in find_test_files([RULESETS]):
        test_file = load_tests(path)
        where = path.relative_to(RULESETS).as_posix()
        for case in test_file.cases:
            ids = [rid for rid in case.requirements if rid in _KNOWN and _CATALOGUE_ID.match(rid)]
            shown = f"{where}::{case.name} [{' '.join(case.requirements)}]"
            marks = [pytest.mark.req(*ids)] if ids else []
            params.append(pytest.param(where, case.name, id=shown, marks=marks))
    return params


CASES = _params()


@pytest.fixture(scope="module")
def run() -> TestRun:
    return run_tests([RULESETS])


def _result(run: TestRun, where: str, name: str) -> CaseResult:
    for result in run.results:
        case = result.case
        if case.name == name and Path(case.file).resolve() == (RULESETS / where).resolve():
            return result
    raise AssertionError(f"{where}: case {name!r} was not run")


@pytest.mark.parametrize(("where", "name"), CASES)
def test_case_passes(run: TestRun, where: str, name: str) -> None:
    result = _result(run, where, name)
    assert result.passed, "\n".join([*result.messages(), *result.explanation])


def test_the_shipped_test_files_load_and_every_case_runs(run: TestRun) -> None:
    assert [str(error) for error in run.errors] == []
    assert len(run.results) == len(CASES)
    assert {Path(test_file.path).parent.parent.name for test_file in run.files} >= {"alto-fixflo"}


def test_every_case_names_its_requirements(run: TestRun) -> None:
    unnamed = [f"{r.case.file}:{r.case.line}" for r in run.results if not r.case.requirements]
    assert unnamed == []


def test_every_shipped_ruleset_is_covered_in_full(run: TestRun) -> None:
    """100% of every kind: rules (include, archive, preflight, case branches, policies),
    events, transitions, statuses, charge requirements and routes, warnings, attachments."""
    uncovered = {
        coverage.ruleset: [
            f"{kind.kind}:{item} (line {line})"
            for kind in coverage.kinds()
            for item, line in kind.uncovered
        ]
        for coverage in run.coverage
    }
    assert {name: ids for name, ids in uncovered.items() if ids} == {}
    assert run.percent == 100.0
    kinds = {kind.kind for coverage in run.coverage for kind in coverage.kinds()}
    assert {"rule", "event", "transition", "status", "charge", "warning", "attachment"} <= kinds


@pytest.mark.req("G-04", "G-05")
def test_reference_and_left_alone_policies_are_covered_by_what_the_plan_did(
    tmp_path: Path,
) -> None:
    """No plan item names a match by reference (G-05.ref, G-04.ref-*) or an ignored Fixflo
    record (G-05.unmatched): an expected update of a record found by its reference, and a
    case expecting no operations over Fixflo-only records, cover them; a merge by email
    does not cover the reference rule."""
    links = RULESETS / "alto-fixflo" / "tests" / "links-and-policies.yaml"
    (coverage,) = run_tests([links]).coverage
    policies = {"G-05.ref", "G-05.unmatched", "G-04.ref-occupier", "G-04.ref-landlord"}
    assert {f"rule:{rid}" for rid in policies | {"G-04.ref-contractor"}} <= coverage.covered
    test_file = tmp_path / "email.yaml"
    test_file.write_text(
        f"tests_for: {RULESETS / 'alto-fixflo' / 'v2.yaml'}\n"
        "cases:\n"
        "  - name: merged by email\n"
        "    records:\n"
        "      alto.contacts: [{id: '3', contactType: {category: Client, persona: [Landlord]},"
        " isActive: true}]\n"
        "      alto.contact_details: [{id: '3', archived: false,"
        " people: [{emailAddresses: [{preferenceOrder: 1, address: l@x.example}]}]}]\n"
        "      fixflo.landlords: [{id: 5, ExternalRef: null, EmailAddress: L@x.example,"
        " IsDeleted: false}]\n"
        "    expect:\n"
        "      operations: [{op: update, entity: landlord, key: '3'}]\n",
        "utf-8",
    )
    run = run_tests([test_file])
    assert [result.passed for result in run.results] == [True]
    (coverage,) = run.coverage
    assert "rule:G-04.email-landlord" not in coverage.covered  # not asserted as a merge
    assert "rule:G-04.ref-landlord" not in coverage.covered
