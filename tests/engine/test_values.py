"""Field maps: every transform, and the default modifier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import load_ruleset
from tests.engine.rulesets import ruleset_data, write

THING = {
    "id": "7",
    "kind": "rent",
    "status": " Let ",
    "name": None,
    "created": "2024-03-09T08:05:00Z",
    "tags": ["Gas", "Plumbing"],
    "owner": {"name": "Ann"},
    "phones": [{"number": "0113"}],
}
PARTS = [
    {"id": "p1", "thingId": "7", "size": 1, "kind": "bolt"},
    {"id": "p2", "thingId": "7", "size": 9, "kind": "nut"},
]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("owner.name", "Ann"),
        ({"field": "phones[0].number"}, "0113"),
        ({"const": "fixed"}, "fixed"),
        ({"format": "{id}/{kind}"}, "7/rent"),
        ({"format": "{id}-{name}"}, "7-"),
        ({"join": ["owner.name", "name", "kind"], "sep": ", "}, "Ann, rent"),
        ({"join": ["name"]}, None),
        ({"first_of": ["name", "owner.name"]}, "Ann"),
        ({"lookup": "kind", "table": "kinds"}, "Rent"),
        ({"lookup": "status", "table": "kinds", "default": "Other"}, "Other"),
        ({"upper": "kind"}, "RENT"),
        ({"lower": "tags"}, ["gas", "plumbing"]),
        ({"strip": "status"}, "Let"),
        ({"date": "created", "pattern": "%d/%m/%Y %H:%M"}, "09/03/2024 08:05"),
        ({"date": "kind"}, None),
        ({"field": "name", "default": "n/a"}, "n/a"),
        ({"related": "parts", "value": "kind"}, "bolt"),
        ({"related": "parts", "value": "kind", "pick": "all"}, ["bolt", "nut"]),
        ({"related": "parts", "value": "kind", "where": {"field": "size", "gt": 5}}, "nut"),
    ],
)
def test_transform(tmp_path: Path, spec: Any, expected: Any) -> None:
    data = ruleset_data(
        map_={"Out.Value": spec}, tables={"kinds": {"rent": "Rent", "sale": "Sale"}}
    )
    ruleset = load_ruleset(write(tmp_path, data))
    decision = ruleset.evaluate("thing", THING, ruleset.context({"alto.parts": PARTS}))
    assert decision.fields == {"Out": {"Value": expected}}


def test_map_builds_nested_targets_in_order(tmp_path: Path) -> None:
    data = ruleset_data(
        map_={"Ref": "id", "Address.Town": {"const": "Leeds"}, "Address.PostCode": {"const": "LS1"}}
    )
    decision = load_ruleset(write(tmp_path, data)).evaluate("thing", THING)
    assert decision.fields == {"Ref": "7", "Address": {"Town": "Leeds", "PostCode": "LS1"}}


def test_records_that_are_not_included_are_not_mapped(tmp_path: Path) -> None:
    data = ruleset_data([{"id": "R1", "when": {"field": "kind", "eq": "sale"}}], map_={"Ref": "id"})
    assert load_ruleset(write(tmp_path, data)).evaluate("thing", THING).fields == {}
