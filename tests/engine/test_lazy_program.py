"""An entity's generated code is generated on first use, once (issue 21: `validate` and
the other commands that never evaluate a record do not pay for it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine import load_ruleset
from engine.language.compiler import _codegen_entity, _lazy_program

ROOT = Path(__file__).resolve().parents[2]


def test_code_is_generated_on_first_use_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    generated: list[str] = []
    real = _codegen_entity.generate_program

    def counting(name: str, *rest: Any) -> Any:
        generated.append(name)
        return real(name, *rest)

    monkeypatch.setattr(_lazy_program, "generate_program", counting)
    ruleset = load_ruleset(ROOT / "rulesets" / "jupix-alto" / "v1.yaml")
    assert generated == []  # compiling generated nothing
    entity = next(iter(ruleset.entities.values()))
    context = ruleset.context()
    first = entity.evaluate({}, context)
    again = entity.evaluate({}, context)
    assert generated == [entity.name]
    assert first == again == entity.evaluate_closures({}, context)
    assert getattr(entity.program, "tree", None) is not None
    assert generated == [entity.name]


def test_unknown_attributes_are_refused_without_generating() -> None:
    ruleset = load_ruleset(ROOT / "rulesets" / "alto-fixflo" / "v2.yaml")
    program = ruleset.entity("property").program
    with pytest.raises(AttributeError):
        program.nothing  # type: ignore[union-attr]  # noqa: B018
    assert "property" in repr(program)
