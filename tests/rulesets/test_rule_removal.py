"""Every removable item of alto-fixflo v2 is pinned by a ruleset test: a copy of the ruleset
with that one item removed makes `rulebridge test` fail, and the failure names it.

Removable items are the ids of include, archive and preflight rules, ``case`` branches,
status cases, works-order and charge requirements, charge routes and lifecycle warnings.
Each copy is the shipped YAML data with the one item taken out (a ``case`` left with no
branch becomes its ``else`` value; a list left empty is dropped), written with
``yaml.safe_dump`` and run with ``run_tests(..., ruleset=COPY)`` over the shipped test
files. A copy the engine refuses to load (another rule names the removed one) fails too,
and its error names the id. The jupix part is tests/rulesets/test_rule_removal_jupix.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import RulesetErrors, load_ruleset
from simulator.testing import TestRun, run_tests

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
TESTS = ROOT / "rulesets" / "alto-fixflo" / "tests"
DATA: dict[str, Any] = yaml.safe_load(RULESET.read_text("utf-8"))

REMOVABLE_LISTS = frozenset(
    {"include", "archive", "checks", "require", "case", "cases", "warnings", "to"}
)
"""The keys whose lists hold removable items (each item a mapping with an ``id``)."""

Place = tuple[Any, ...]


def _places(node: Any, path: Place = ()) -> Iterator[tuple[str, Place]]:
    """Every removable item's id with the path of the list item that declares it."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in REMOVABLE_LISTS and isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict) and isinstance(item.get("id"), str):
                        yield item["id"], (*path, key, index)
            yield from _places(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _places(item, (*path, index))


PLACES = dict(_places(DATA))


def _at(data: Any, path: Place) -> Any:
    for part in path:
        data = data[part]
    return data


def without(data: dict[str, Any], path: Place) -> dict[str, Any]:
    """A deep copy of `data` without the list item at `path`; a ``case`` left with no
    branch is replaced by its ``else`` value, another list left empty is dropped."""
    copy: dict[str, Any] = yaml.safe_load(yaml.safe_dump(data, sort_keys=False))
    *owner_path, key, index = path
    owner = _at(copy, owner_path)
    del owner[key][index]
    if not owner[key]:
        if key == "case":
            *outer, name = owner_path
            _at(copy, outer)[name] = owner["else"]
        else:
            del owner[key]
    return copy


def test_every_kind_of_removable_item_is_found() -> None:
    """The walk finds every include, archive and preflight rule the compiled ruleset has,
    and the lifecycle's branches, status cases, requirements, routes and warnings."""
    compiled = load_ruleset(RULESET)
    rule_ids = {rule.id for rule in compiled.rules.values()}
    preflight = {rule.id for rule in compiled.preflight}
    assert rule_ids | preflight <= set(PLACES)
    assert {
        "W-05.reporter-tenant",
        "W-05.landlord",
        "W-09.cancelled",
        "W-03.job",
        "W-05.property",
        "CH-04.contractor",
        "CH-04",
        "CH-05",
        "W-06.charge",
        "CH-02.tenant",
        "CH-02.landlord",
        "W-06",
    } <= set(PLACES)
    assert len(PLACES) == 34


def test_a_removed_case_branch_leaves_its_else_value() -> None:
    path = PLACES["W-05.landlord"]
    edited = without(DATA, path)
    supplier = edited["lifecycle"]["works_order"]["map"]["supplierContactId"]
    assert supplier == DATA["lifecycle"]["works_order"]["map"]["supplierContactId"]["else"]
    assert "cases" not in without(DATA, PLACES["W-09.cancelled"])["lifecycle"]["statuses"]["Closed"]
    assert DATA["lifecycle"]["statuses"]["Closed"]["cases"]  # the shipped data is untouched


def _failure_texts(run: TestRun) -> list[str]:
    """Every failure and error line of the run, each with the failing case's requirements."""
    texts = [str(error) for error in run.errors]
    for result in run.results:
        if not result.passed:
            requirements = ", ".join(result.case.requirements)
            texts += [f"{line} [requirements: {requirements}]" for line in result.messages()]
            texts += list(result.explanation)
    return texts


def test_the_shipped_ruleset_passes_its_tests() -> None:
    run = run_tests([TESTS])
    assert _failure_texts(run) == []
    assert run.results


@pytest.mark.parametrize("rule_id", sorted(PLACES))
def test_removing_an_item_fails_the_tests_naming_it(rule_id: str, tmp_path: Path) -> None:
    copy = tmp_path / "v2.yaml"
    copy.write_text(yaml.safe_dump(without(DATA, PLACES[rule_id]), sort_keys=False), "utf-8")
    try:
        texts = _failure_texts(run_tests([TESTS], ruleset=copy))
    except RulesetErrors as exc:  # the copy does not load: another rule names the removed one
        texts = [str(error) for error in exc.errors]
    assert texts, f"no test fails without {rule_id}: nothing pins it"
    assert any(rule_id in text for text in texts), (
        f"the tests fail without {rule_id}, but no failure names it:\n" + "\n".join(texts)
    )
