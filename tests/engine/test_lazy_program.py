"""An entity's generated code is generated on first use, once (issue 21: `validate` and
the other commands that never evaluate a record do not pay for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import load_ruleset

ROOT = Path(__file__).resolve().parents[2]


def generated(program: Any) -> Any:
    """The program's generated tree, or None while it has not been generated (read from
    its slot, which does not generate it)."""
    slot = type(program).__dict__["tree"]
    try:
        return slot.__get__(program, type(program))
    except AttributeError:
        return None


def test_code_is_generated_on_first_use_and_once() -> None:
    ruleset = load_ruleset(ROOT / "rulesets" / "jupix-alto" / "v1.yaml")
    entities = list(ruleset.entities.values())
    assert not any(generated(entity.program) for entity in entities)  # compiling made none
    entity, context = entities[0], ruleset.context()
    first = entity.evaluate({}, context)
    tree = generated(entity.program)
    assert tree is not None
    assert [e.name for e in entities if generated(e.program)] == [entity.name]
    assert entity.evaluate({}, context) == first == entity.evaluate_closures({}, context)
    assert generated(entity.program) is tree  # generated once


def test_unknown_attributes_are_refused_without_generating() -> None:
    entity = load_ruleset(ROOT / "rulesets" / "alto-fixflo" / "v2.yaml").entity("property")
    with pytest.raises(AttributeError):
        entity.program.nothing  # type: ignore[union-attr]  # noqa: B018
    assert generated(entity.program) is None
    assert "property" in repr(entity.program)
