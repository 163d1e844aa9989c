"""Build small rulesets on disk for engine tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from engine import CompiledRuleset, load_ruleset

SOURCES: dict[str, Any] = {
    "alto.things": {
        "key": "id",
        "fields": [
            "id",
            "kind",
            "status",
            "size",
            "created",
            "name",
            "tags[]",
            "owner.name",
            "phones[].number",
            "archived",
        ],
        "relations": {"parts": {"to": "alto.parts", "field": "id", "to_field": "thingId"}},
    },
    "alto.parts": {
        "key": "id",
        "fields": ["id", "thingId", "size", "kind"],
        "relations": {"thing": {"to": "alto.things", "field": "thingId", "to_field": "id"}},
    },
}


def ruleset_data(
    include: list[Any] | None = None,
    *,
    map_: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    tables: dict[str, Any] | None = None,
    part_include: list[Any] | None = None,
    archive: list[Any] | None = None,
) -> dict[str, Any]:
    """A ruleset with entities `thing` (alto.things) and `part` (alto.parts)."""
    thing: dict[str, Any] = {"from": "alto.things", "include": include or []}
    if map_:
        thing["map"] = map_
    if archive:
        thing["archive"] = archive
    data: dict[str, Any] = {
        "ruleset": "demo",
        "version": 1,
        "summary": "a test ruleset",
        "sources": SOURCES,
        "entities": {"thing": thing, "part": {"from": "alto.parts", "include": part_include or []}},
    }
    if settings:
        data["settings"] = settings
    if tables:
        data["tables"] = tables
    return data


def write(tmp_path: Path, data: dict[str, Any], name: str = "v1.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return path


def compile_rules(tmp_path: Path, *include: Any, **kwargs: Any) -> CompiledRuleset:
    """Compile a ruleset whose `thing` entity has the given include conditions (ids R1...)."""
    rules = [{"id": f"R{index}", "when": when} for index, when in enumerate(include, 1)]
    return load_ruleset(write(tmp_path, ruleset_data(rules, **kwargs)))
