"""A compiled ruleset cannot be changed once loaded (public names: tests/test_public_names.py)."""

from __future__ import annotations

import engine


def test_compiled_ruleset_is_immutable(tmp_path: object) -> None:
    import dataclasses
    from pathlib import Path

    import pytest

    ruleset = engine.load_ruleset(
        Path(__file__).resolve().parents[2] / "rulesets" / "alto-fixflo" / "v2.yaml"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        ruleset.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ruleset.settings["property_categories"] = []  # type: ignore[index]
    with pytest.raises(TypeError):
        ruleset.entities["x"] = ruleset.entities["property"]  # type: ignore[index]
