"""The JSON Schemas give an editor real help: every property described, and the ruleset's
operators and transforms with examples and yaml-language-server snippets.

Walks every shipped schema but the vendor data schemas (snapshots and Alto migration
records, whose properties are the vendors' fields, described by their contracts).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from engine.documents.document import load_document

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "engine/schema"
NOT_HERE = {"snapshot", "alto-migration"}
CHECKED = sorted(
    path
    for path in SCHEMAS.glob("*.schema.json")
    if path.name.removesuffix(".schema.json") not in NOT_HERE
)


def load(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return schema


def properties(node: Any, pointer: str = "#") -> Iterator[tuple[str, Any]]:
    """Every property schema, by JSON pointer, ``$defs`` and nested ones included."""
    if isinstance(node, dict):
        named = node.get("properties")
        if isinstance(named, dict):
            for name, schema in named.items():
                yield f"{pointer}/properties/{name}", schema
        for key, value in node.items():
            yield from properties(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from properties(value, f"{pointer}/{index}")


def test_the_walk_finds_the_nested_properties() -> None:
    found = dict(properties(load(SCHEMAS / "ruleset.schema.json")))
    assert "#/$defs/value/else/properties/join" in found
    assert "#/$defs/gap_uses/oneOf/3/properties/none" in found
    assert len(found) > 150


@pytest.mark.parametrize("path", CHECKED, ids=lambda path: path.name)
def test_every_property_has_a_description(path: Path) -> None:
    schema = load(path)
    Draft202012Validator.check_schema(schema)
    missing = [
        pointer
        for pointer, prop in properties(schema)
        if not (isinstance(prop, dict) and str(prop.get("description", "")).strip())
    ]
    assert missing == []


@pytest.mark.parametrize("kind", ["operator", "transform"])
def test_operators_and_transforms_have_examples_and_snippets(kind: str) -> None:
    schema = load(SCHEMAS / "ruleset.schema.json")
    holders = [
        node for _, node in _nodes(schema) if isinstance(node, dict) and node.get("x-kind") == kind
    ]
    assert len(holders) == 1
    named = holders[0]["properties"]
    assert len(named) >= 20
    for name, prop in named.items():
        assert prop.get("examples"), name
        snippets = prop.get("defaultSnippets")
        assert snippets, name
        for snippet in snippets:
            assert {"label", "body"} <= set(snippet), name
            assert name in json.dumps(snippet["body"]), name  # the snippet uses its operator


def test_operator_examples_are_valid_values() -> None:
    """Each example of an operator, put in a condition, passes the schema."""
    schema = load(SCHEMAS / "ruleset.schema.json")
    condition = {"$ref": "#/$defs/condition", "$defs": schema["$defs"]}
    validator = Draft202012Validator(condition)
    operators = schema["$defs"]["condition"]["properties"]
    some = {"field": "x", "eq": 1}
    needs = {"related": ("any", some), "within": ("any", some), "setting": ("eq", 1)}
    needs["entity"] = ("included", "x")
    for name, prop in operators.items():
        for example in prop["examples"]:
            instance = {name: example}
            if name in {"eq", "ne", "in", "not_in", "present", "absent", "gt", "ge", "lt", "le"}:
                instance["field"] = "x"
            if name in {"before", "after", "matches", "ignore_case"}:
                instance["field"] = "x"
            if name in needs:
                key, value = needs[name]
                instance[key] = value
            errors = [error.message for error in validator.iter_errors(instance)]
            assert errors == [], (name, example)


def test_the_shipped_rulesets_still_pass_the_schema() -> None:
    validator = Draft202012Validator(load(SCHEMAS / "ruleset.schema.json"))
    for path in sorted(ROOT.glob("rulesets/*/v*.yaml")):
        assert list(validator.iter_errors(load_document(path).data)) == []


def _nodes(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        yield "", node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)
