"""Every removable item of jupix-alto v1 is pinned by a ruleset test: a copy of the ruleset
with that one item removed makes `run_tests` fail, and a failure names the removed id.

Removable items are the ids of include rules, ``case`` branches of an entity's map and the
``dedupe`` policy: exactly the ``rule`` items coverage counts. Each copy is the shipped YAML
data with the one item taken out (a ``case`` left with no branch becomes its ``else``
value, or with no ``else`` the null such a ``case`` gives when no branch holds), and with
the id taken out of the checklist's ``rules:`` lists too (a checklist task only cites
rules: left there, its reference alone would fail the copy and prove nothing about the
tests). The copy is written with ``yaml.safe_dump`` and run with
``run_tests(FILES, ruleset=COPY)``.

A copy that does not load fails `run_tests` (it raises `RulesetErrors`); that is expected
only for the ids another rule or value refers to (`REFERENCED`), and the error must name the
id. Every other removal must fail at least one case, with the id in the case's failure
message itself (``expected skipped_by 'J-13', got included``; a migration outcome's
rules; a branch chosen), not only in an explanation under it.

Speed: cases are independent, so a case that fails over the test files naming the id fails
the same way over all of them; each removal runs only those files (all when none names it).
`test_a_removal_fails_the_whole_folder_too` runs one removal over the whole folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import RulesetErrors, load_ruleset
from simulator.testing import TestRun, run_tests
from simulator.testing.coverage import Coverage

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / "rulesets" / "jupix-alto" / "v1.yaml"
TESTS = ROOT / "rulesets" / "jupix-alto" / "tests"
DATA: dict[str, Any] = yaml.safe_load(RULESET.read_text("utf-8"))

REFERENCED = frozenset(
    {"J-01", "J-04.no-proposed-row", "J-04.tenancy", "J-05.active", "J-05.check", "J-07"}
    | {"media-present"}
)
"""Ids another rule (``{rule: ID}``) or a mapped value (``where: {rule: ID}``) refers to:
without them the copy does not load, and the load error names them."""

Place = tuple[str, ...]


def _places(data: dict[str, Any]) -> Iterator[tuple[str, Place]]:
    """Every removable id with where it is declared: (entity, part[, field])."""
    for name, entity in data["entities"].items():
        for rule in entity.get("include") or ():
            yield rule["id"], (name, "include")
        if isinstance(entity.get("dedupe"), dict):
            yield entity["dedupe"]["id"], (name, "dedupe")
        for target, value in entity["map"].items():
            if isinstance(value, dict) and isinstance(value.get("case"), list):
                for branch in value["case"]:
                    if isinstance(branch.get("id"), str):
                        yield branch["id"], (name, "map", target)


PLACES = dict(_places(DATA))


def without(data: dict[str, Any], rule_id: str) -> dict[str, Any]:
    """A deep copy of `data` without the item `rule_id` (see the module docstring)."""
    copy = deepcopy(data)
    name, part, *field = PLACES[rule_id]
    entity = copy["entities"][name]
    if part == "include":
        entity["include"] = [rule for rule in entity["include"] if rule["id"] != rule_id]
    elif part == "dedupe":
        del entity["dedupe"]
    else:
        (target,) = field
        value = entity["map"][target]
        value["case"] = [branch for branch in value["case"] if branch.get("id") != rule_id]
        if not value["case"]:
            entity["map"][target] = value.get("else", {"const": None})
    for task in copy.get("checklist") or ():
        if rule_id in (task.get("rules") or ()):
            task["rules"] = [cited for cited in task["rules"] if cited != rule_id]
            if not task["rules"]:
                del task["rules"]
    return copy


def naming(rule_id: str) -> re.Pattern[str]:
    """The id as a whole word: ``J-08`` is not found in ``J-08.priority`` nor ``J-08x``.

    Example:
        >>> bool(naming("J-08").search("expected skipped_by 'J-08.priority'"))
        False
        >>> bool(naming("J-08").search("expected branches ['J-08'], got []"))
        True
    """
    return re.compile(rf"(?<![\w.-]){re.escape(rule_id)}(?![\w-]|\.\w)")


def _files_naming(rule_id: str) -> list[Path]:
    pattern = naming(rule_id)
    found = [path for path in sorted(TESTS.glob("*.yaml")) if pattern.search(path.read_text())]
    return found or [TESTS]


def _case_failures(run: TestRun) -> list[str]:
    """The failure lines of the failed cases, and the errors of files that did not load."""
    lines = [str(error) for error in run.errors]
    return lines + [line for result in run.failed for line in result.messages()]


def _write(tmp_path: Path, rule_id: str) -> Path:
    copy = tmp_path / "v1.yaml"
    copy.write_text(yaml.safe_dump(without(DATA, rule_id), sort_keys=False), "utf-8")
    return copy


def test_every_removable_item_is_a_coverage_item() -> None:
    """The walk finds exactly the ``rule`` items coverage counts: every include rule, every
    case branch with an id and the dedupe policy (35 in v1)."""
    compiled = load_ruleset(RULESET)
    items = Coverage.of(compiled, set()).items["rule"]
    assert set(PLACES) == set(items)
    assert set(compiled.rules) < set(PLACES)
    assert {"J-02", "J-05", "J-09", "J-01.contact", "J-04.proposed"} <= set(PLACES)
    assert len(PLACES) == 35
    assert set(PLACES) >= REFERENCED


def test_a_removed_branch_leaves_the_else_value_or_null() -> None:
    tenancy = without(DATA, "J-03.periodic")["entities"]["tenancy"]["map"]["status"]
    assert [branch["id"] for branch in tenancy["case"]] == ["J-03.moved-out", "J-04.proposed"]
    maintenance = without(DATA, "J-09")["entities"]["maintenance_note"]["map"]
    assert maintenance["date"] == {"const": None}  # its only branch, with no else: null
    assert "dedupe" not in without(DATA, "J-02")["entities"]["applicant"]
    checklist = {task["id"]: task.get("rules") for task in without(DATA, "J-10")["checklist"]}
    assert checklist["note.todos"] is None
    assert DATA["entities"]["maintenance_note"]["map"]["date"]["case"]  # the data is untouched


def test_the_shipped_ruleset_passes_its_tests_with_full_coverage() -> None:
    run = run_tests([TESTS])
    assert _case_failures(run) == []
    assert len(run.results) >= 100
    (coverage,) = run.coverage
    assert coverage.percent == 100.0


@pytest.mark.parametrize("rule_id", sorted(PLACES))
def test_removing_an_item_fails_the_tests_naming_it(rule_id: str, tmp_path: Path) -> None:
    copy = _write(tmp_path, rule_id)
    pattern = naming(rule_id)
    try:
        run = run_tests(_files_naming(rule_id), ruleset=copy)
    except RulesetErrors as exc:  # another rule refers to the removed one
        errors = [str(error) for error in exc.errors]
        assert rule_id in REFERENCED, f"the copy without {rule_id} does not load:\n{errors}"
        assert all(pattern.search(error) for error in errors), errors
        return
    assert rule_id not in REFERENCED, f"the copy without {rule_id} loads"
    failures = _case_failures(run)
    assert failures, f"no test fails without {rule_id}: nothing pins it"
    assert any(pattern.search(line) for line in failures), (
        f"the tests fail without {rule_id}, but no failure names it:\n" + "\n".join(failures)
    )


def test_a_removal_fails_the_whole_folder_too(tmp_path: Path) -> None:
    """The same removal over every test file: the cases naming the id fail there too."""
    run = run_tests([TESTS], ruleset=_write(tmp_path, "J-04.offer"))
    failed = {result.case.name for result in run.failed}
    assert "a rejected application is no offer" in failed
    assert not run.errors
    assert any(naming("J-04.offer").search(line) for line in _case_failures(run))
