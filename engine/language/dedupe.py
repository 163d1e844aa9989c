"""The entity-level ``dedupe`` policy: source records that match each other become one.

```yaml
dedupe:
  id: J-02
  summary: Applicant records that match each other merge into one.
  by:
    - [{lower: email}]                                     # same e-mail, any case
    - [{lower: surname}, {digits: phone}]                  # or same surname and phone digits
```

Each item of ``by`` is a match key: a list of values, every one of which must be present.
Two included records match when any one key gives the same values for both; matching is
transitive. The first record of a group (in source order) is kept and the others merge into
it: the kept record's empty fields are filled from the merged ones, and every merged
record is reported with the policy's id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from engine.documents.document import JsonPath
from engine.documents.suggest import did_you_mean
from engine.language.context import Context
from engine.language.operators.transforms import Value, ValueCompiler, as_text, is_empty

__all__ = ["DedupePolicy", "compile_dedupe", "group_duplicates"]

_KEYS = ("id", "summary", "by")


@dataclass(frozen=True, slots=True)
class DedupePolicy:
    """A compiled ``dedupe``: its rule id and the match keys, each a tuple of values."""

    id: str
    summary: str
    keys: tuple[tuple[Value, ...], ...]

    def match_keys(self, record: Any, context: Context) -> list[tuple[int, tuple[str, ...]]]:
        """The complete match keys of `record`: ``(key index, values as text)``."""
        found = []
        for index, values in enumerate(self.keys):
            parts = [value.get(record, context) for value in values]
            if not any(is_empty(part) for part in parts):
                found.append((index, tuple(as_text(part) for part in parts)))
        return found

    @property
    def text(self) -> str:
        """The keys in words, e.g. ``lower(email) | lower(surname) + digits(phone)``."""
        return " | ".join(" + ".join(value.text for value in key) for key in self.keys)


class _Compiler(Protocol):
    values: ValueCompiler
    decls: Any

    def fail(self, path: JsonPath, code: str, message: str, at_key: bool = False) -> None: ...

    def broken(self, path: JsonPath) -> bool: ...


def compile_dedupe(
    compiler: _Compiler, entity: str, spec: Mapping[str, Any], source: str
) -> DedupePolicy | None:
    """Compile the entity's ``dedupe:`` (None when it has none or it is wrong)."""
    policy = spec.get("dedupe")
    path: JsonPath = ("entities", entity, "dedupe")
    if policy is None or compiler.broken(path):
        return None  # a part the schema rejected is reported once, by the schema
    if not isinstance(policy, Mapping) or not _known_keys(compiler, policy, path):
        return None
    policy_id, by = policy.get("id"), policy.get("by")
    if not isinstance(policy_id, str) or not isinstance(by, list) or not by:
        compiler.fail(
            path, "missing-key", "'dedupe' needs 'id:' and 'by:' (a list of keys)", at_key=True
        )
        return None
    if policy_id in compiler.decls.rule_sources:
        compiler.fail(
            (*path, "id"),
            "duplicate-rule-id",
            f"rule id {policy_id!r} is already used by a rule; give each its own id",
        )
        return None
    keys = [
        _key(compiler, item, (*path, "by", index), source, policy_id)
        for index, item in enumerate(by)
    ]
    if any(key is None for key in keys):
        return None
    return DedupePolicy(
        policy_id, str(policy.get("summary", "")), tuple(key for key in keys if key is not None)
    )


def _known_keys(compiler: _Compiler, policy: Mapping[str, Any], path: JsonPath) -> bool:
    for key in policy:
        if key not in _KEYS:
            hint = did_you_mean(str(key), _KEYS) or "; 'dedupe' takes id, summary, by"
            compiler.fail((*path, key), "unknown-key", f"unknown key {key!r}{hint}", at_key=True)
            return False
    return True


def _key(
    compiler: _Compiler, item: Any, path: JsonPath, source: str, rule: str
) -> tuple[Value, ...] | None:
    if not isinstance(item, list) or not item:
        compiler.fail(path, "wrong-type", "a match key is a list of values, e.g. [{lower: email}]")
        return None
    values = [
        compiler.values.compile(part, (*path, index), source, rule)
        for index, part in enumerate(item)
    ]
    checked = tuple(value for value in values if value is not None)
    return checked if len(checked) == len(values) else None


def group_duplicates(
    policy: DedupePolicy, records: Iterable[tuple[str, Any]], context: Context
) -> dict[str, str]:
    """Which record each duplicate merges into: ``{merged key: kept key}``.

    `records` are ``(key, record)`` in source order; the first of each group is kept.

    Example::

        group_duplicates(policy, [("A1", a1), ("A7", a7)], context)  # {'A7': 'A1'}
    """
    parent: dict[str, str] = {}
    order: dict[str, int] = {}
    owner_of: dict[tuple[int, tuple[str, ...]], str] = {}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for position, (key, record) in enumerate(records):
        parent.setdefault(key, key)
        order.setdefault(key, position)
        for match in policy.match_keys(record, context):
            other = owner_of.setdefault(match, key)
            first, second = sorted((root(key), root(other)), key=order.__getitem__)
            parent[second] = first
    return {key: root(key) for key in parent if root(key) != key}
