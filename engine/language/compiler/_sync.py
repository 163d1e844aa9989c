"""Compile the sync policies: targets, an entity's reference, merge, near-duplicate and
unmatched policies, links between entities, and the preflight source.

Every field a policy names must be a field the entity maps; every relation of a link must
lead, hop by hop, from the first entity's source to the second's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.documents.document import JsonPath
from engine.documents.suggest import did_you_mean
from engine.language.paths import canonical, compile_path
from engine.language.policies import (
    Departed,
    Link,
    LinkStep,
    MergePolicy,
    NearPolicy,
    TargetDecl,
    Unlink,
    Unmatched,
)

if TYPE_CHECKING:
    from engine.language.compiler._state import Compiling
    from engine.language.operators.transforms import Value
    from engine.language.ruleset import Entity

__all__ = ["compile_links", "compile_preflight", "declare_targets", "sync_policies"]

Fields = tuple[tuple[tuple[str, ...], "Value"], ...]


def declare_targets(compiler: Compiling) -> dict[str, TargetDecl]:
    """The declared targets, by name."""
    targets = {}
    for name, spec in compiler.section("targets").items():
        if isinstance(spec, Mapping) and not compiler.broken(("targets", name)):
            archived = spec.get("archived")
            targets[name] = TargetDecl(
                name,
                spec["key"],
                tuple(canonical(path) for path in spec["fields"]),
                archived,
                compile_path(spec["key"]),
                compile_path(archived) if archived else None,
            )
    for name, spec in compiler.section("entities").items():
        target = spec.get("to") if isinstance(spec, Mapping) else None
        if targets and isinstance(target, str) and target not in targets:
            hint = did_you_mean(target, targets) or "; declare it under 'targets:'"
            compiler.fail(
                ("entities", name, "to"),
                "unknown-target",
                f"no target {target!r} is declared{hint}",
            )
    return targets


def sync_policies(
    compiler: Compiling, entity: str, spec: Mapping[str, Any], fields: Fields
) -> dict[str, Any]:
    """The keyword arguments of `Entity` for its reference and policies."""
    mapped = {".".join(path) for path, _ in fields}
    base: JsonPath = ("entities", entity)
    check = _FieldCheck(compiler, entity, mapped)
    ref = spec.get("ref")
    found: dict[str, Any] = {
        "ref": ref if isinstance(ref, str) and check.mapped(ref, (*base, "ref")) else None
    }
    merge = spec.get("merge")
    found["merge"] = tuple(
        policy
        for index, item in enumerate(merge if isinstance(merge, list) else [])
        if (policy := _merge(check, item, (*base, "merge", index))) is not None
    )
    found["near"] = _near(check, spec.get("near"), (*base, "near"))
    unmatched = spec.get("unmatched")
    found["unmatched"] = (
        Unmatched(unmatched["id"], str(unmatched.get("summary", "")), unmatched["action"])
        if isinstance(unmatched, Mapping) and not compiler.broken((*base, "unmatched"))
        else None
    )
    found["departed"] = _departed(compiler, spec.get("departed"), (*base, "departed"))
    if (found["merge"] or found["near"]) and found["ref"] is None and not compiler.broken(base):
        compiler.fail(
            base,
            "missing-key",
            f"entity {entity!r} has merge rules but no 'ref:' "
            "naming the mapped field that carries the reference",
            at_key=True,
        )
    return found


_DEPARTED_ACTIONS = ("list", "archive")


def _departed(compiler: Compiling, spec: Any, path: JsonPath) -> Departed | None:
    """The departed policy; an action given by a setting takes the setting's value now."""
    if not isinstance(spec, Mapping) or compiler.broken(path):
        return None
    action, summary = spec["action"], str(spec.get("summary", "")).strip()
    if isinstance(action, str):
        return Departed(spec["id"], summary, action)
    name = str(action["setting"])
    declared = compiler.decls.settings
    if name not in declared:
        hint = did_you_mean(name, declared) or "; declare it under 'settings:'"
        compiler.fail((*path, "action", "setting"), "unknown-setting", f"no setting {name!r}{hint}")
        return None
    value = compiler.decls.effective.get(name)
    if value not in _DEPARTED_ACTIONS:
        compiler.fail(
            (*path, "action", "setting"),
            "bad-setting",
            f"setting {name!r} is {value!r}, but a departed action must be list or archive; "
            "declare it with allowed: [list, archive]",
        )
        return None
    return Departed(spec["id"], summary, str(value), name)


class _FieldCheck:
    def __init__(self, compiler: Compiling, entity: str, mapped: set[str]) -> None:
        self.compiler, self.entity, self.fields = compiler, entity, mapped

    def mapped(self, field: Any, path: JsonPath) -> bool:
        if not isinstance(field, str) or field in self.fields:
            return isinstance(field, str)
        hint = did_you_mean(field, self.fields) or "; add it under 'map:'"
        self.compiler.fail(
            path, "unknown-field", f"entity {self.entity!r} maps no field {field!r}{hint}"
        )
        return False


def _merge(check: _FieldCheck, spec: Any, path: JsonPath) -> MergePolicy | None:
    if not isinstance(spec, Mapping) or check.compiler.broken(path):
        return None
    by = spec["by"]
    checked = [check.mapped(field, (*path, "by", index)) for index, field in enumerate(by)]
    if not all(checked):  # every field checked first, so every mistake is reported
        return None
    return MergePolicy(
        spec["id"],
        str(spec.get("summary", "")),
        tuple(by),
        bool(spec.get("ignore_case", False)),
        tuple(map(compile_path, by)),
    )


def _near(check: _FieldCheck, spec: Any, path: JsonPath) -> NearPolicy | None:
    if not isinstance(spec, Mapping) or check.compiler.broken(path):
        return None
    by = spec["by"]
    checked = [check.mapped(field, (*path, "by", field)) for field in by]
    if not all(checked):
        return None
    return NearPolicy(
        spec["id"], str(spec.get("summary", "")), tuple(by.items()), tuple(map(compile_path, by))
    )


def compile_links(compiler: Compiling, entities: Mapping[str, Entity]) -> tuple[Link, ...]:
    """The declared links whose entities, relations and target all check out."""
    links = []
    for name, spec in compiler.section("links").items():
        path: JsonPath = ("links", name)
        if isinstance(spec, Mapping) and not compiler.broken(path):
            link = _link(compiler, entities, name, spec, path)
            if link is not None:
                links.append(link)
    return tuple(links)


def _link(
    compiler: Compiling,
    entities: Mapping[str, Entity],
    name: str,
    spec: Mapping[str, Any],
    path: JsonPath,
) -> Link | None:
    ends = [_entity(compiler, entities, spec[key], (*path, key)) for key in ("from", "to")]
    target = compiler.decls.targets.get(spec["target"])
    if target is None:
        hint = (
            did_you_mean(spec["target"], compiler.decls.targets) or "; declare it under 'targets:'"
        )
        compiler.fail(
            (*path, "target"), "unknown-target", f"no target {spec['target']!r} is declared{hint}"
        )
    start, end = ends
    if start is None or end is None or target is None:
        return None
    if start.ref is None or end.ref is None:
        compiler.fail(path, "missing-key", "both entities of a link need a 'ref:'", at_key=True)
        return None
    steps = _steps(compiler, spec["via"], (*path, "via"), start.source, end.source, name)
    for index, key in enumerate(spec["keys"]):
        if not target.knows(key):
            compiler.fail(
                (*path, "keys", index),
                "unknown-field",
                f"{target.name} has no field {key!r}{did_you_mean(key, target.fields)}",
            )
            return None
    if steps is None:
        return None
    return Link(
        name,
        str(spec.get("id", name)),
        str(spec.get("summary", "")),
        start.name,
        end.name,
        steps,
        target.name,
        (spec["keys"][0], spec["keys"][1]),
        tuple(dict(spec.get("set", {})).items()),
        _unlink(spec.get("unlink")),
    )


def _unlink(spec: Any) -> Unlink | None:
    if not isinstance(spec, Mapping):
        return None
    return Unlink(spec["id"], str(spec.get("summary", "")).strip())


def _entity(
    compiler: Compiling, entities: Mapping[str, Entity], name: str, path: JsonPath
) -> Entity | None:
    if name in entities:
        return entities[name]
    hint = did_you_mean(name, entities)
    compiler.fail(path, "unknown-entity", f"no entity {name!r}{hint}")
    return None


def _steps(
    compiler: Compiling, via: list[Any], path: JsonPath, source: str, goal: str, name: str
) -> tuple[LinkStep, ...] | None:
    steps = []
    for index, hop in enumerate(via):
        relation = compiler.conditions.declared_relation(
            hop["related"], (*path, index, "related"), source
        )
        if relation is None:
            return None
        where = None
        if "where" in hop:
            check = compiler.conditions.compile(
                hop["where"], (*path, index, "where"), relation.target, f"link:{name}"
            )
            if check is None:
                return None
            where = check.test
        steps.append(LinkStep(relation.id, where))
        source = relation.target
    if source != goal:
        compiler.fail(
            path, "link-path", f"the relations lead to {source}, but the linked entity reads {goal}"
        )
        return None
    return tuple(steps)


def compile_preflight(compiler: Compiling) -> str | None:
    """The source preflight checks read (errors if it is not declared)."""
    source = compiler.section("preflight").get("from")
    if not isinstance(source, str):
        return None
    return source if compiler.known_source(source, ("preflight", "from")) else None
