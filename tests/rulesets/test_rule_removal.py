"""Every removable item of alto-fixflo v2 is pinned by a ruleset test: a copy of the ruleset
with that one item removed makes `rulebridge test` fail, and the failure names it.

Removable items are the ids of include, archive and preflight rules, ``case`` branches,
status cases, works-order and charge requirements, charge routes and lifecycle warnings.
Each copy is the shipped YAML data with the one item taken out (a ``case`` left with no
branch becomes its ``else`` value; a list left empty is dropped), written by PyYAML's safe
dumper. It is run (`run_tests`) with the shipped cases that name the item, so each removal
takes about a second; cases that fail make the whole suite fail. A copy the engine refuses
to load (T-05 and C-04 name T-01, C-01 and C-02) fails too, its error naming the id. The
jupix part is tests/rulesets/test_rule_removal_jupix.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import load_ruleset
from simulator.testing import TestRun, run_tests

ROOT = Path(__file__).resolve().parents[2]
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
TESTS = ROOT / "rulesets" / "alto-fixflo" / "tests"
DATA: dict[str, Any] = yaml.safe_load(RULESET.read_text("utf-8"))
SHIPPED: dict[Path, dict[str, Any]] = {
    path: yaml.safe_load(path.read_text("utf-8")) for path in sorted(TESTS.glob("*.yaml"))
}
"""The shipped test files' data, read once."""

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


def _at(data: Any, path: Sequence[Any]) -> Any:
    for part in path:
        data = data[part]
    return data


def without(data: dict[str, Any], path: Place) -> dict[str, Any]:
    """A deep copy of `data` without the list item at `path`; a ``case`` left with no
    branch is replaced by its ``else`` value, another list left empty is dropped."""
    copy = deepcopy(data)
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


def _dump(data: Any) -> str:
    """`data` as YAML by the safe dumper, readable by the fast (libyaml) loader: a text
    holding a ``?`` goes to the slower pure loader, so such strings are written
    double-quoted with the question mark escaped (as the shipped file writes them)."""

    base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, where PyYAML has it
    dumper_class: type[yaml.SafeDumper] = type("Dumper", (base,), {})

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = '"' if "?" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    dumper_class.add_representer(str, text)
    dumped = yaml.dump(data, Dumper=dumper_class, sort_keys=False, allow_unicode=True)
    return dumped.replace("?", "\\x3F")


def _cases_naming(rule_id: str, folder: Path) -> dict[Path, str]:
    """The shipped cases that name `rule_id` (in their name, requirements or expectations),
    each written alone to a file in `folder` testing ``v2.yaml`` there (scenario files named
    by absolute path), to the case's name. Running only those keeps each removal to a
    second (a removal that fails them fails the whole suite); one case a file ties an error
    found while loading a file (a field the copy no longer has) to its case."""
    written = {}
    for path, data in SHIPPED.items():
        for index, case in enumerate(data["cases"]):
            if rule_id not in json.dumps(case, default=str):
                continue
            case = deepcopy(case)
            if "scenario" in case:
                case["scenario"] = str((path.parent / case["scenario"]).resolve())
            copy = folder / f"{path.stem}-{index}.yaml"
            copy.write_text(_dump({**data, "tests_for": "v2.yaml", "cases": [case]}), "utf-8")
            written[copy] = case["name"]
    return written


def _failure_texts(run: TestRun, cases: dict[Path, str]) -> list[str]:
    """Every failure line of the run (``file:line: case NAME: expected ...``), and every
    error of a file that could not be loaded, with the name of the case it holds."""
    texts = [f"{error} (case {cases.get(Path(error.path), '?')})" for error in run.errors]
    for result in run.failed:
        texts += result.messages()
    return texts


def test_the_copies_without_a_removal_pass(tmp_path: Path) -> None:
    """The machinery changes nothing by itself: the shipped data dumped again, with the
    cases naming one item of each kind, passes."""
    (tmp_path / "v2.yaml").write_text(_dump(DATA), "utf-8")
    assert yaml.safe_load((tmp_path / "v2.yaml").read_text("utf-8")) == DATA
    cases: dict[Path, str] = {}
    for rule_id in ("P-01", "T-05", "G-07.workflow", "W-05.landlord", "CH-02.tenant", "W-06"):
        found = _cases_naming(rule_id, tmp_path)
        assert found, rule_id
        cases |= found
    run = run_tests(list(cases))
    assert _failure_texts(run, cases) == []
    assert len(run.results) >= 6


@pytest.mark.parametrize("rule_id", sorted(PLACES))
def test_removing_an_item_fails_the_tests_naming_it(rule_id: str, tmp_path: Path) -> None:
    (tmp_path / "v2.yaml").write_text(_dump(without(DATA, PLACES[rule_id])), "utf-8")
    cases = _cases_naming(rule_id, tmp_path)
    assert cases, f"no case of {TESTS} names {rule_id}: nothing pins it"
    texts = _failure_texts(run_tests(list(cases)), cases)
    assert texts, f"no test fails without {rule_id}: nothing pins it"
    assert any(rule_id in text for text in texts), (
        f"the tests fail without {rule_id}, but no failure names it:\n" + "\n".join(texts)
    )
