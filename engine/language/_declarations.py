"""What a ruleset declares, gathered in a first pass so that references can be checked in
any order: sources and their fields and relations, settings, tables, entities, rule ids."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.language._settings import SettingDecl
from engine.language.context import Relation
from engine.language.paths import canonical, compile_path
from engine.language.policies import TargetDecl

__all__ = ["Declarations", "SourceDecl"]


@dataclass(frozen=True, slots=True)
class SourceDecl:
    """A declared source: its key field, its fields (canonical paths) and which are lists."""

    name: str
    key: str
    fields: tuple[str, ...]
    list_fields: frozenset[str]

    def knows(self, reference: str) -> bool:
        """Whether `reference` is a declared field or an object that holds declared fields."""
        wanted = canonical(reference)
        return any(name == wanted or name.startswith(wanted + ".") for name in self.fields)

    def is_list(self, reference: str) -> bool:
        """Whether reading `reference` may give a list (a ``[]`` step on the way)."""
        if "[]" in reference:
            return True
        parts = canonical(reference).split(".")
        return any(".".join(parts[: end + 1]) in self.list_fields for end in range(len(parts)))


@dataclass
class Declarations:
    """Everything declared in a ruleset, by name."""

    sources: dict[str, SourceDecl] = field(default_factory=dict)
    relations: dict[str, dict[str, Relation]] = field(default_factory=dict)
    settings: dict[str, SettingDecl] = field(default_factory=dict)
    effective: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    entity_sources: dict[str, str] = field(default_factory=dict)
    rule_sources: dict[str, str] = field(default_factory=dict)
    targets: dict[str, TargetDecl] = field(default_factory=dict)
    uses_as_of: bool = False

    def relations_of(self, source: str) -> dict[str, Relation]:
        """The relations declared on `source`, by name."""
        return self.relations.get(source, {})

    def key_reader(self, source: str) -> Callable[[Any], Any]:
        """A reader for the key field of `source`."""
        declared = self.sources.get(source)
        return compile_path(declared.key if declared else "id")


def declare_source(name: str, spec: Mapping[str, Any]) -> SourceDecl:
    """A `SourceDecl` from its (schema-valid) declaration."""
    paths = [str(path) for path in spec.get("fields", [])]
    lists = set()
    for path in paths:
        parts = path.split(".")
        for end, part in enumerate(parts):
            if part.endswith("]"):
                lists.add(canonical(".".join(parts[: end + 1])))
    return SourceDecl(
        name, str(spec["key"]), tuple(canonical(path) for path in paths), frozenset(lists)
    )
