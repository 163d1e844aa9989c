"""Compile a schema-checked document into a `CompiledRuleset`, collecting every semantic
error: unknown sources, fields, relations, settings, tables, entities and rule ids (each
with a "did you mean"), duplicate rule ids, cycles, rules that can never hold together,
conflicting map targets, and a version that disagrees with the file name.

Parts of the document that already failed the schema are skipped, so each mistake is
reported once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from engine.canonical import content_hash
from engine.documents.document import Document, JsonPath
from engine.documents.suggest import did_you_mean
from engine.errors import RulesetError
from engine.explain import condition_in_words
from engine.language._declarations import Declarations, declare_source
from engine.language._settings import declare_settings, resolve_settings
from engine.language.compiler._cascades import drop_cascades
from engine.language.compiler._checklist import compile_checklist
from engine.language.compiler._checks import find_contradictions, find_cycles
from engine.language.compiler._codegen_lifecycle import generate_lifecycle
from engine.language.compiler._dependencies import rule_dependencies
from engine.language.compiler._gaps import compile_gaps
from engine.language.compiler._labels import compile_labels
from engine.language.compiler._lazy_program import LazyProgram
from engine.language.compiler._lifecycle import compile_lifecycle
from engine.language.compiler._sync import (
    compile_links,
    compile_preflight,
    declare_targets,
    sync_policies,
)
from engine.language.context import Relation
from engine.language.dedupe import compile_dedupe
from engine.language.operators.case import CaseValue
from engine.language.operators.conditions import ConditionCompiler
from engine.language.operators.transforms import ValueCompiler
from engine.language.paths import compile_path
from engine.language.policies import Link
from engine.language.rule import Rule
from engine.language.ruleset import CompiledRuleset, Entity

__all__ = ["compile_document"]


class _Compiler:
    def __init__(
        self, document: Document, broken: set[JsonPath], errors: list[RulesetError]
    ) -> None:
        self.document = document
        self.data: Mapping[str, Any] = document.data
        self.broken_paths = broken
        self.errors = errors
        self.decls = Declarations()
        self.conditions = ConditionCompiler(document, self.decls, errors)
        self.values = ValueCompiler(self.conditions)

    def broken(self, path: JsonPath) -> bool:
        size = len(path)
        return any(bad[:size] == path for bad in self.broken_paths)

    def section(self, *path: str | int) -> Mapping[str, Any]:
        node: Any = self.data
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        return node if isinstance(node, Mapping) else {}

    def fail(self, path: JsonPath, code: str, message: str, at_key: bool = False) -> None:
        self.errors.append(self.document.error(path, code, message, at_key=at_key))

    def declare(self, overrides: Mapping[str, Any], settings_document: Document | None) -> None:
        self.decls.settings = declare_settings(self.document, self.errors, self.broken)
        name = str(self.data.get("ruleset", "?"))
        self.decls.effective = resolve_settings(
            self.decls.settings, overrides, name, settings_document, self.errors
        )
        self.decls.tables = {
            name: table
            for name, table in self.section("tables").items()
            if isinstance(table, Mapping)
        }
        for name, spec in self.section("sources").items():
            if isinstance(spec, Mapping) and not self.broken(("sources", name)):
                self.decls.sources[name] = declare_source(name, spec)
        for name in self.decls.sources:
            self.declare_relations(name)
        self.decls.targets = declare_targets(self)
        for name, spec in self.section("entities").items():
            source = spec.get("from") if isinstance(spec, Mapping) else None
            if isinstance(source, str) and self.known_source(source, ("entities", name, "from")):
                self.decls.entity_sources[name] = source

    def known_source(self, name: str, path: JsonPath) -> bool:
        if name in self.decls.sources:
            return True
        hint = did_you_mean(name, self.decls.sources) or "; declare it under 'sources:'"
        self.fail(path, "unknown-source", f"no source {name!r} is declared{hint}")
        return False

    def declare_relations(self, source: str) -> None:
        for name, spec in self.section("sources", source, "relations").items():
            path: JsonPath = ("sources", source, "relations", name)
            if self.broken(path) or not self.known_source(spec["to"], (*path, "to")):
                continue
            field = self.conditions.declared_field(spec["field"], (*path, "field"), source)
            to_field = self.conditions.declared_field(
                spec["to_field"], (*path, "to_field"), spec["to"]
            )
            if field is None or to_field is None:
                continue
            relation = Relation(
                f"{source}/{name}",
                name,
                source,
                spec["to"],
                field,
                to_field,
                compile_path(field),
                compile_path(to_field),
            )
            self.decls.relations.setdefault(source, {})[name] = relation

    def register_rules(self) -> None:
        first: dict[str, JsonPath] = {}
        for path, rule_id in self.id_nodes():
            if rule_id in first:
                line = self.document.where(first[rule_id])[0]
                self.fail(
                    (*path, "id"),
                    "duplicate-rule-id",
                    f"rule id {rule_id!r} is already "
                    f"used on line {line}; give each rule its own id",
                )
                continue
            first[rule_id] = path
        for path, _, _, spec, source in self.each_rule():
            if source is not None and first.get(spec["id"]) == path:
                self.decls.rule_sources[spec["id"]] = source

    def id_nodes(self) -> list[tuple[JsonPath, str]]:
        """Every (path, id) of the ruleset: rules, policies, links and preflight checks."""
        nodes: list[tuple[JsonPath, Any]] = [
            (path, spec.get("id")) for path, *_, spec, _ in self.each_rule()
        ]
        for entity, spec in self.section("entities").items():
            merge = spec.get("merge") if isinstance(spec, Mapping) else None
            for index, policy in enumerate(merge if isinstance(merge, list) else []):
                nodes.append((("entities", entity, "merge", index), _id(policy)))
            for key in ("near", "unmatched", "departed"):
                nodes.append(
                    (("entities", entity, key), _id(self.section("entities", entity, key)))
                )
        for name, link in self.section("links").items():
            nodes.append((("links", name), _id(link)))
            nodes.append((("links", name, "unlink"), _id(self.section("links", name, "unlink"))))
        for section in ("gaps", "checklist"):
            listed = self.data.get(section)
            for index, item in enumerate(listed if isinstance(listed, list) else []):
                nodes.append(((section, index), _id(item)))
        return sorted(
            ((path, rule_id) for path, rule_id in nodes if isinstance(rule_id, str)),
            key=lambda node: self.document.where(node[0]),
        )

    def each_rule(self) -> list[tuple[JsonPath, str, str, Mapping[str, Any], str | None]]:
        """Every condition rule: (path, owner entity, section, spec, source read)."""
        found: list[tuple[JsonPath, str, str, Mapping[str, Any], str | None]] = []
        for entity, spec in self.section("entities").items():
            for section in ("include", "archive"):
                rules = spec.get(section) if isinstance(spec, Mapping) else None
                for index, rule in enumerate(rules if isinstance(rules, list) else []):
                    if isinstance(rule, Mapping) and isinstance(rule.get("id"), str):
                        found.append(
                            (
                                ("entities", entity, section, index),
                                entity,
                                section,
                                rule,
                                self.decls.entity_sources.get(entity),
                            )
                        )
        preflight = self.section("preflight")
        checks = preflight.get("checks")
        named = preflight.get("from")
        source = named if isinstance(named, str) and named in self.decls.sources else None
        for index, rule in enumerate(checks if isinstance(checks, list) else []):
            if isinstance(rule, Mapping) and isinstance(rule.get("id"), str):
                found.append((("preflight", "checks", index), "", "preflight", rule, source))
        return found

    def compile_rules(self) -> dict[str, Rule]:
        rules: dict[str, Rule] = {}
        for path, entity, section, spec, source in self.each_rule():
            rule_id = spec["id"]
            if (
                source is None
                or self.broken(path)
                or rule_id in rules
                or self.decls.rule_sources.get(rule_id) != source
            ):
                continue
            check = self.conditions.compile(spec["when"], (*path, "when"), source, rule_id)
            if check is not None:
                line, column = self.document.where(path)
                rules[rule_id] = Rule(
                    rule_id, entity, section, str(spec.get("summary", "")), line, column, check
                )
        return rules

    def compile_entities(self, rules: Mapping[str, Rule]) -> dict[str, Entity]:
        entities = {}
        for name, spec in self.section("entities").items():
            source = self.decls.entity_sources.get(name)
            if source is None:
                continue
            target = spec.get("to")
            fields = self.compile_map(name, source, "map")
            entity = Entity(
                name,
                source,
                target if isinstance(target, str) else None,
                str(spec.get("summary", "")).strip(),
                self.rules_of(spec, "include", name, rules),
                self.rules_of(spec, "archive", name, rules),
                fields,
                self.decls.key_reader(source),
                on_create=self.compile_map(name, source, "on_create"),
                **sync_policies(self, name, spec, fields),
                dedupe=compile_dedupe(self, name, spec, source),
                role=spec.get("role", "record"),
            )
            declared = self.decls.sources.get(source)
            key = declared.key if declared else "id"
            program = LazyProgram(name, entity.include, entity.fields, key)
            entities[name] = dataclasses.replace(entity, program=program)
        return entities

    @staticmethod
    def rules_of(
        spec: Mapping[str, Any], section: str, entity: str, rules: Mapping[str, Rule]
    ) -> tuple[Rule, ...]:
        listed = spec.get(section)
        ids = (
            [rule.get("id") for rule in listed if isinstance(rule, Mapping)]
            if isinstance(listed, list)
            else []
        )
        return tuple(
            rules[rule_id]
            for rule_id in ids
            if isinstance(rule_id, str)
            and rule_id in rules
            and rules[rule_id].entity == entity
            and rules[rule_id].section == section
        )

    def compile_map(self, entity: str, source: str, section: str) -> tuple[Any, ...]:
        fields = []
        targets: dict[tuple[str, ...], str] = {}
        for target, spec in self.section("entities", entity, section).items():
            path: JsonPath = ("entities", entity, section, target)
            if self.broken(path) or self.clashes(target, targets, path):
                continue
            if not self.target_field(entity, target, path):
                continue
            value = self.values.compile(spec, path, source, f"{entity}.map.{target}")
            if value is not None:
                targets[tuple(target.split("."))] = target
                fields.append((tuple(target.split(".")), value))
        return tuple(fields)

    def target_field(self, entity: str, field: str, path: JsonPath) -> bool:
        """Whether `field` is declared on the entity's target (always, without targets)."""
        target = self.decls.targets.get(str(self.section("entities", entity).get("to")))
        if target is None or target.knows(field):
            return True
        hint = did_you_mean(field, target.fields) or f"; declare it under targets: {target.name}"
        self.fail(path, "unknown-field", f"{target.name} has no field {field!r}{hint}", at_key=True)
        return False

    def clashes(self, target: str, targets: dict[tuple[str, ...], str], path: JsonPath) -> bool:
        parts = tuple(target.split("."))
        for other, name in targets.items():
            shorter = min(len(parts), len(other))
            if parts[:shorter] == other[:shorter]:
                self.fail(
                    path,
                    "conflicting-target",
                    f"{target!r} and {name!r} write the same place; one holds the other",
                    at_key=True,
                )
                return True
        return False

    def summaries(self, entities: Mapping[str, Entity]) -> dict[str, str]:
        """Every id of the ruleset (rules, policies, links, case branches, de-duplication,
        gaps, tasks) to its declared summary ("" when it declares none; a case branch of an
        entity's map without one: its condition in words)."""
        found: dict[str, str] = {}
        nodes = [*self.id_nodes(), *((path, name) for name, path in self.values.case_ids.items())]
        for path, rule_id in nodes:
            found.setdefault(rule_id, _summary(self.document.data, path))
        for entity in entities.values():
            if entity.dedupe is not None:
                found.setdefault(entity.dedupe.id, entity.dedupe.summary)
            for _, value in entity.fields:
                for branch in value.branches if isinstance(value, CaseValue) else ():
                    if branch.id is not None and not found.get(branch.id):
                        found[branch.id] = condition_in_words(branch.check.text)
        return found

    def check_version(self) -> None:
        version = self.data.get("version")
        stem = Path(self.document.path).stem
        match = re.fullmatch(r"v(\d+)", stem)
        if match and isinstance(version, int) and int(match.group(1)) != version:
            self.fail(
                ("version",),
                "version-mismatch",
                f"version is {version} but the file is "
                f"named {stem}.yaml; rename the file or fix the version",
            )


def compile_document(
    document: Document,
    overrides: Mapping[str, Any],
    settings_document: Document | None,
    broken: set[JsonPath],
    errors: list[RulesetError],
) -> CompiledRuleset | None:
    """Compile `document` (already schema-checked; `broken` holds the failing paths).

    Returns None when the document is not a mapping; every problem goes into `errors`.
    """
    if not isinstance(document.data, Mapping):
        return None
    compiler = _Compiler(document, broken, errors)
    before = len(errors)
    compiler.declare(overrides, settings_document)
    compiler.register_rules()
    rules = compiler.compile_rules()
    entities = compiler.compile_entities(rules)
    links = compile_links(compiler, entities)
    find_cycles(document, compiler.conditions.references, entities, errors)
    find_contradictions(document, entities, errors)
    compiler.decls.sources = compile_labels(compiler)
    compiler.check_version()
    compiled = _assemble(document, compiler, entities, rules, links)
    mapped = {
        name: {".".join(path) for path, _ in (*entity.fields, *entity.on_create)}
        for name, entity in entities.items()
    }
    errors[before:] = drop_cascades(document, compiler.decls, errors[before:], mapped)
    return compiled


def _assemble(
    document: Document,
    compiler: _Compiler,
    entities: dict[str, Entity],
    rules: dict[str, Rule],
    links: tuple[Link, ...],
) -> CompiledRuleset:
    data, decls = document.data, compiler.decls
    summaries = compiler.summaries(entities)
    lifecycle = compile_lifecycle(compiler)
    if lifecycle is not None:  # its generated code; the hash is the ruleset text's, unchanged
        lifecycle = dataclasses.replace(lifecycle, programs=generate_lifecycle(lifecycle))
    relations = {
        relation.id: relation for named in decls.relations.values() for relation in named.values()
    }
    return CompiledRuleset(
        name=str(data.get("ruleset", "")),
        version=data.get("version", 0) if isinstance(data.get("version"), int) else 0,
        summary=str(data.get("summary", "")).strip(),
        path=document.path,
        content_hash=content_hash(data),
        settings=MappingProxyType(dict(decls.effective)),
        settings_declared=MappingProxyType(dict(decls.settings)),
        sources=MappingProxyType(dict(decls.sources)),
        relations=MappingProxyType(relations),
        entities=MappingProxyType(entities),
        rules=MappingProxyType(rules),
        uses_as_of=decls.uses_as_of,
        targets=MappingProxyType(dict(decls.targets)),
        links=links,
        preflight_source=compile_preflight(compiler),
        preflight=tuple(rule for rule in rules.values() if rule.section == "preflight"),
        lifecycle=lifecycle,
        gaps=compile_gaps(compiler),
        checklist=compile_checklist(
            compiler,
            set(summaries),
            set(compiler.values.case_ids)
            | {entity.dedupe.id for entity in entities.values() if entity.dedupe is not None},
        ),
        summaries=MappingProxyType(summaries),
        dependencies=rule_dependencies(data, compiler.conditions.references, set(rules), lifecycle),
    )


def _summary(data: Any, path: JsonPath) -> str:
    node = data
    for step in path:
        if isinstance(node, Mapping) and isinstance(step, str):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return ""
    summary = node.get("summary") if isinstance(node, Mapping) else None
    return " ".join(summary.split()) if isinstance(summary, str) else ""


def _id(spec: Any) -> Any:
    return spec.get("id") if isinstance(spec, Mapping) else None
