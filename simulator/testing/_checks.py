"""Check each case of a test file against its ruleset, every problem a located error.

What a case may name is what the ruleset declares: entities, sources and targets, rule,
branch and policy ids, settings, and the fields of each source (a record's every field
path, nested objects and lists included). Each unknown name gets a "did you mean".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from engine.documents import Document, JsonPath, did_you_mean
from engine.errors import RulesetError, RulesetErrors
from engine.language import CompiledRuleset, Entity
from engine.language.paths import canonical
from engine.migration.report import OUTCOMES
from simulator.testing._rulesets import Rulesets, branch_ids, known_ids
from simulator.testing.cases import Case, CaseKind

__all__ = ["EXPECT_KEYS", "ITEM_KEYS", "CaseChecker", "check_settings", "record_paths"]

EXPECT_KEYS: Mapping[str, tuple[str, ...]] = {
    "decision": ("included", "skipped_by", "fields", "archived_by", "branches"),
    "plan": ("operations", "no_operations", "skips", "merges", "manual", "warnings"),
    "migration": ("outcomes", "written", "not_written", "manual", "checks"),
}
ITEM_KEYS: Mapping[tuple[str, str], tuple[str, ...]] = {
    ("plan", "operations"): ("op", "entity", "key", "fields", "rule", "target"),
    ("plan", "skips"): ("entity", "key", "rule"),
    ("plan", "merges"): ("entity", "key", "rule", "target"),
    ("plan", "manual"): ("entity", "key", "rule", "action"),
    ("migration", "outcomes"): ("source", "record", "outcome", "rules", "entities"),
}
OPS = ("create", "update", "archive", "link", "unlink")
_SHAPES = (
    "a case is one of: entity + record (a decision), records (a plan or a migration), "
    "scenario or steps (a lifecycle)"
)


def record_paths(record: Any, prefix: str = "") -> Iterator[str]:
    """Every field path of `record`, list steps dropped (``people.emailAddresses.address``).

    Example:
        >>> sorted(record_paths({"id": 1, "address": {"town": "Leeds"}, "tags": ["a"]}))
        ['address.town', 'id', 'tags']
    """
    if isinstance(record, Mapping) and record:
        for key, value in record.items():
            yield from record_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(record, list) and any(isinstance(item, Mapping) for item in record):
        for item in record:
            yield from record_paths(item, prefix)
    elif prefix:
        yield prefix


def check_settings(
    document: Document,
    path: JsonPath,
    raw: Any,
    base: Mapping[str, Any],
    rulesets: Rulesets,
    errors: list[RulesetError],
) -> dict[str, Any]:
    """`raw` over `base`, each setting checked against the ruleset's declaration."""
    merged = dict(base)
    if not isinstance(raw, Mapping):
        return merged
    declared = rulesets.base.settings_declared
    for name, value in raw.items():
        if name not in declared:
            hint = did_you_mean(str(name), declared) or f"; it declares {', '.join(declared)}"
            message = f"ruleset {rulesets.base.name} declares no setting {name!r}{hint}"
            errors.append(document.error((*path, name), "unknown-setting", message, at_key=True))
            continue
        try:
            rulesets.get({**merged, name: value})
        except RulesetErrors as exc:
            problem = exc.errors[0]
            errors.append(document.error((*path, name), problem.code, problem.message))
            continue
        merged[str(name)] = value
    return merged


class CaseChecker:
    """Checks the cases of one document against one ruleset, collecting errors."""

    def __init__(
        self,
        document: Document,
        rulesets: Rulesets,
        broken: set[JsonPath],
        errors: list[RulesetError],
        *,
        check_ids: bool = True,
    ) -> None:
        self.document, self.rulesets, self.errors = document, rulesets, errors
        self.check_ids = check_ids
        self.ruleset: CompiledRuleset = rulesets.base
        self.broken = broken
        self.ids = known_ids(self.ruleset)

    def fail(self, path: JsonPath, code: str, message: str, *, at_key: bool = False) -> None:
        """Record a located error (unless the schema already reported that place)."""
        if not any(path[: len(bad)] == bad for bad in self.broken if bad):
            self.errors.append(self.document.error(path, code, message, at_key=at_key))

    def read_date(self, path: JsonPath, raw: Any) -> date | None:
        """`raw` as a date (YYYY-MM-DD), or None (an error when it is not one)."""
        if not isinstance(raw, str):
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.fail(path, "invalid-value", f"{raw!r} is not a date; write it as YYYY-MM-DD")
            return None

    def case(
        self, index: int, item: Mapping[str, Any], settings: Mapping[str, Any], as_of: date | None
    ) -> Case | None:
        """The case at ``cases[index]`` checked, or None when it has errors."""
        path: JsonPath = ("cases", index)
        before = len(self.errors)
        name = item.get("name")
        kind = self._kind(path, item)
        own = check_settings(
            self.document,
            (*path, "settings"),
            item.get("settings"),
            settings,
            self.rulesets,
            self.errors,
        )
        when = self.read_date((*path, "as_of"), item.get("as_of")) or as_of
        if kind == "lifecycle":
            self.fail(path, "unsupported", "lifecycle cases are not supported yet")
        elif kind is not None:
            self._expect(path, kind, item)
        if kind == "decision":
            self._decision(path, item)
        elif kind in ("plan", "migration"):
            self._records((*path, "records"), item.get("records"), targets=kind == "plan")
        if len(self.errors) > before or kind is None or not isinstance(name, str):
            return None
        return Case(
            name=name,
            kind=kind,
            file=self.document.path,
            line=self.document.key_where((*path, "name"))[0],
            requirements=tuple(str(req) for req in item.get("requirements") or ()),
            settings=own,
            as_of=when,
            entity=item.get("entity"),
            record=item.get("record"),
            related=item.get("related") or {},
            records=item.get("records") or {},
            expect=item.get("expect") or {},
            lines=self._lines(path, item.get("expect")),
        )

    def _kind(self, path: JsonPath, item: Mapping[str, Any]) -> CaseKind | None:
        shapes = {
            "decision": "entity" in item or "record" in item or "related" in item,
            "records": "records" in item,
            "lifecycle": "scenario" in item or "steps" in item,
        }
        given = [shape for shape, present in shapes.items() if present]
        if len(given) != 1:
            found = "none of them" if not given else "keys of " + " and ".join(given)
            self.fail(path, "bad-case", f"{_SHAPES}; this one has {found}")
            return None
        if given[0] == "decision":
            for key in ("entity", "record"):
                if key not in item:
                    self.fail(path, "missing-key", f"a decision case needs {key!r} too")
            return "decision"
        if given[0] == "lifecycle":
            if "scenario" in item and "steps" in item:
                self.fail(
                    path, "bad-case", "a lifecycle case has 'scenario:' or 'steps:', not both"
                )
            if "expect" in item:
                self.fail(
                    (*path, "expect"),
                    "bad-case",
                    "a lifecycle case puts its expect: blocks in its steps",
                    at_key=True,
                )
            return "lifecycle"
        return "plan" if self.ruleset.targets else "migration"

    def _expect(self, path: JsonPath, kind: str, item: Mapping[str, Any]) -> None:
        expect = item.get("expect")
        if not isinstance(expect, Mapping):
            if "expect" not in item:
                self.fail(path, "missing-key", "a case needs 'expect:' (what it checks)")
            return
        allowed = EXPECT_KEYS[kind]
        for key in expect:
            if key not in allowed:
                hint = (
                    did_you_mean(str(key), allowed)
                    or f"; a {kind} case expects {', '.join(allowed)}"
                )
                self.fail(
                    (*path, "expect", key),
                    "wrong-expectation",
                    f"{key!r} is no {kind} expectation{hint}",
                    at_key=True,
                )
        if kind == "decision":
            self._decision_expect((*path, "expect"), str(item.get("entity")), expect)
        else:
            self._item_expect((*path, "expect"), kind, expect)

    def _decision(self, path: JsonPath, item: Mapping[str, Any]) -> None:
        entity = self._entity((*path, "entity"), item.get("entity"))
        if entity is not None and isinstance(item.get("record"), Mapping):
            self._fields((*path, "record"), entity.source, item["record"])
        self._records((*path, "related"), item.get("related"), targets=False)

    def _entity(self, path: JsonPath, name: Any) -> Entity | None:
        if not isinstance(name, str):
            return None
        found = self.ruleset.entities.get(name)
        if found is None:
            entities = self.ruleset.entities
            hint = did_you_mean(name, entities) or f"; it has {', '.join(entities)}"
            self.fail(
                path, "unknown-entity", f"ruleset {self.ruleset.name} has no entity {name!r}{hint}"
            )
        return found

    def _records(self, path: JsonPath, raw: Any, *, targets: bool) -> None:
        if not isinstance(raw, Mapping):
            return
        names = [*self.ruleset.sources, *(self.ruleset.targets if targets else ())]
        for name, rows in raw.items():
            if name not in names:
                hint = did_you_mean(str(name), names) or f"; it has {', '.join(names)}"
                noun = "source or target" if targets else "source"
                self.fail(
                    (*path, name),
                    "unknown-source",
                    f"ruleset {self.ruleset.name} has no {noun} {name!r}{hint}",
                    at_key=True,
                )
                continue
            for index, row in enumerate(rows if isinstance(rows, list) else ()):
                if isinstance(row, Mapping):
                    self._fields((*path, name, index), str(name), row)

    def _fields(self, path: JsonPath, collection: str, record: Mapping[str, Any]) -> None:
        declared_in = self.ruleset.sources.get(collection) or self.ruleset.targets.get(collection)
        declared = [canonical(name) for name in declared_in.fields] if declared_in else []
        for field_path in record_paths(record):
            wanted = canonical(field_path)
            if any(name == wanted or name.startswith(wanted + ".") for name in declared):
                continue
            hint = did_you_mean(wanted, declared)
            where = _path_of(path, record, field_path)
            self.fail(
                where,
                "unknown-field",
                f"{collection} declares no field {field_path!r}{hint}; the record must "
                "be in the vendor's contract shape",
                at_key=True,
            )

    def _decision_expect(self, path: JsonPath, name: str, expect: Mapping[str, Any]) -> None:
        entity = self.ruleset.entities.get(name)
        if entity is None:
            return
        if expect.get("included") is True and "skipped_by" in expect:
            self.fail(
                (*path, "skipped_by"),
                "bad-expectation",
                "'included: true' and 'skipped_by' cannot both hold",
                at_key=True,
            )
        checks = {
            "skipped_by": ([rule.id for rule in entity.include], "include rule"),
            "archived_by": ([rule.id for rule in entity.archive], "archive rule"),
            "branches": (branch_ids(entity), "case branch"),
        }
        for key, (ids, noun) in checks.items():
            for index, rule in enumerate(_ids(expect.get(key)) if self.check_ids else ()):
                if rule not in ids:
                    hint = did_you_mean(rule, ids) or (f"; it has {', '.join(ids)}" if ids else "")
                    where = (
                        (*path, key) if isinstance(expect.get(key), str) else (*path, key, index)
                    )
                    self.fail(where, "unknown-rule", f"entity {name} has no {noun} {rule!r}{hint}")
        mapped = [".".join(p) for p, _ in (*entity.fields, *entity.on_create)]
        for field_path in record_paths(expect.get("fields") or {}):
            if not any(m == field_path or m.startswith(field_path + ".") for m in mapped):
                hint = did_you_mean(field_path, mapped)
                self.fail(
                    _path_of((*path, "fields"), expect.get("fields"), field_path),
                    "unknown-field",
                    f"entity {name} maps no target field {field_path!r}{hint}",
                    at_key=True,
                )

    def _item_expect(self, path: JsonPath, kind: str, expect: Mapping[str, Any]) -> None:
        for key, value in expect.items():
            keys = ITEM_KEYS.get((kind, key))
            items = value if isinstance(value, list) else []
            for index, item in enumerate(items):
                here = (*path, key, index)
                if isinstance(item, Mapping) and keys is not None:
                    self._item_keys(here, item, keys)
                if isinstance(item, Mapping):
                    self._names(here, item)
                elif isinstance(item, str) and key == "warnings":
                    self._id(here, item)
            if key in ("written", "not_written") and isinstance(value, Mapping):
                self._targets((*path, key), value)

    def _item_keys(self, path: JsonPath, item: Mapping[str, Any], keys: tuple[str, ...]) -> None:
        for key in item:
            if key not in keys:
                hint = did_you_mean(str(key), keys) or f"; use {', '.join(keys)}"
                self.fail((*path, key), "unknown-key", f"unknown key {key!r}{hint}", at_key=True)
        if "op" in item and item["op"] not in OPS:
            hint = did_you_mean(str(item["op"]), OPS) or f"; one of {', '.join(OPS)}"
            self.fail((*path, "op"), "invalid-value", f"no operation {item['op']!r}{hint}")

    def _names(self, path: JsonPath, item: Mapping[str, Any]) -> None:
        if "entity" in item:
            self._entity((*path, "entity"), item["entity"])
        if "source" in item and item["source"] not in self.ruleset.sources:
            hint = did_you_mean(str(item["source"]), self.ruleset.sources)
            self.fail((*path, "source"), "unknown-source", f"no source {item['source']!r}{hint}")
        if "outcome" in item and item["outcome"] not in OUTCOMES:
            hint = did_you_mean(str(item["outcome"]), OUTCOMES) or f"; one of {', '.join(OUTCOMES)}"
            self.fail((*path, "outcome"), "invalid-value", f"no outcome {item['outcome']!r}{hint}")
        if isinstance(item.get("rule"), str):
            self._id((*path, "rule"), item["rule"])
        for index, rule in enumerate(_ids(item.get("rules"))):
            self._id((*path, "rules", index), rule)

    def _id(self, path: JsonPath, rule: str) -> None:
        if self.check_ids and rule not in self.ids:
            hint = did_you_mean(rule, self.ids)
            self.fail(
                path,
                "unknown-rule",
                f"ruleset {self.ruleset.name} has no rule or policy {rule!r}{hint}",
            )

    def _targets(self, path: JsonPath, value: Mapping[str, Any]) -> None:
        targets = sorted({e.target for e in self.ruleset.entities.values() if e.target})
        for name in value:
            if name not in targets:
                hint = did_you_mean(str(name), targets) or f"; it writes {', '.join(targets)}"
                self.fail(
                    (*path, name), "unknown-target", f"no entity writes {name!r}{hint}", at_key=True
                )

    def _lines(self, path: JsonPath, expect: Any) -> dict[str, int]:
        lines: dict[str, int] = {}
        if not isinstance(expect, Mapping):
            return lines
        for key, value in expect.items():
            lines[f"expect.{key}"] = self.document.key_where((*path, "expect", key))[0]
            for index, _ in enumerate(value if isinstance(value, list) else ()):
                lines[f"expect.{key}.{index}"] = self.document.where((*path, "expect", key, index))[
                    0
                ]
            for name in value if isinstance(value, Mapping) else ():
                lines[f"expect.{key}.{name}"] = self.document.key_where(
                    (*path, "expect", key, name)
                )[0]
        return lines


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value] if isinstance(value, list) else []


def _path_of(path: JsonPath, record: Any, field_path: str) -> JsonPath:
    """The document path of the first place `field_path` (list steps dropped) is written."""
    here: list[str | int] = list(path)
    current = record
    for part in field_path.split("."):
        while isinstance(current, list):
            index = next(
                (i for i, x in enumerate(current) if isinstance(x, Mapping) and part in x), 0
            )
            if not current:
                break
            here.append(index)
            current = current[index]
        if not isinstance(current, Mapping) or part not in current:
            break
        here.append(part)
        current = current[part]
    return tuple(here)
