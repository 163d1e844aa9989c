"""What a ruleset declares, gathered in a first pass so that references can be checked in
any order: sources and their fields and relations, settings, tables, entities, rule ids."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.language._settings import SettingDecl
from engine.language.context import Relation
from engine.language.operators.value import Value
from engine.language.paths import canonical, compile_path
from engine.language.policies import TargetDecl

__all__ = ["Declarations", "SourceDecl"]


@dataclass(frozen=True, slots=True)
class SourceDecl:
    """A declared source: its key field, its fields (canonical paths), which are lists, and
    its label (compiled after every declaration, so it may read relations)."""

    name: str
    key: str
    fields: tuple[str, ...]
    list_fields: frozenset[str]
    parts: tuple[str, ...] = ()
    """Names of the sub-resources read from their own endpoints (``parts:``)."""
    label: Value | None = None
    """How a person recognises a record (``label:``, e.g. a full address), or None."""

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

    def part_of(self, reference: str) -> str | None:
        """The part `reference` reads (its first step names it), or None for a record field."""
        head = canonical(reference).split(".", 1)[0]
        return head if head in self.parts else None

    def items_of(self, reference: str) -> SourceDecl | None:
        """The items of the list field `reference` as a source of their own (the fields
        declared under it, the prefix removed), or None when `reference` is no list."""
        wanted = canonical(reference)
        if not self.is_list(reference) or not self.knows(reference):
            return None
        prefix = wanted + "."
        fields = tuple(name[len(prefix) :] for name in self.fields if name.startswith(prefix))
        lists = frozenset(
            name[len(prefix) :] for name in self.list_fields if name.startswith(prefix)
        )
        return SourceDecl(f"{self.name}:{wanted}[]", "", fields, lists)


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
    items: dict[str, SourceDecl] = field(default_factory=dict)
    """The item sources of list fields quantified with ``within:`` (by their names)."""

    def source(self, name: str) -> SourceDecl | None:
        """The declared source `name`, or the item source of a list field of one."""
        return self.sources.get(name) or self.items.get(name)

    def item_source(self, source: str, reference: str) -> SourceDecl | None:
        """The items of the list field `reference` of `source` as a source (registered)."""
        declared = self.source(source)
        items = declared.items_of(reference) if declared else None
        if items is not None:
            self.items[items.name] = items
        return items

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
    parts = spec.get("parts", {})
    return SourceDecl(
        name,
        str(spec["key"]),
        tuple(canonical(path) for path in paths),
        frozenset(lists),
        tuple(str(part) for part in parts) if isinstance(parts, Mapping) else (),
    )
