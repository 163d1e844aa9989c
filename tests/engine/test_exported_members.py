"""The engine's public names are exactly its __all__ (after httpx's test of the same name)."""

from __future__ import annotations

import engine


def test_engine_exports() -> None:
    assert engine.__all__ == [
        "Because",
        "CheckResult",
        "CompiledRuleset",
        "Decision",
        "Entity",
        "EvaluationError",
        "Plan",
        "RecordError",
        "Rule",
        "RulebridgeError",
        "RulesetError",
        "RulesetErrors",
        "check_paths",
        "load_ruleset",
        "make_plan",
    ]
    for name in engine.__all__:
        assert getattr(engine, name).__module__.startswith("engine")


def test_compiled_ruleset_is_immutable(tmp_path: object) -> None:
    import dataclasses
    from pathlib import Path

    import pytest

    ruleset = engine.load_ruleset(
        Path(__file__).resolve().parents[2] / "rulesets" / "alto-fixflo" / "v1.yaml"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        ruleset.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ruleset.settings["property_categories"] = []  # type: ignore[index]
    with pytest.raises(TypeError):
        ruleset.entities["x"] = ruleset.entities["property"]  # type: ignore[index]
