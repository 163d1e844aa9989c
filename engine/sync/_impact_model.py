"""What an impact diff holds: changed records grouped by the rule that causes the change.

A `Group` counts its records and keeps the first few as samples; every record goes to its
`Spill` (a private JSON-lines file when a folder is given, else a list), so a diff of a large
agency holds counts and samples, not records. `engine.sync.impact` re-exports these types.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, get_args

__all__ = [
    "KINDS",
    "Change",
    "EntityImpact",
    "FieldChange",
    "Group",
    "Impact",
    "Kind",
    "ScenarioChange",
    "Spill",
    "StepDifference",
]

Kind = Literal["created", "merged", "no_longer_synced", "archived", "unarchived", "fields"]
KINDS: tuple[Kind, ...] = get_args(Kind)
"""Every kind of change, in the order reports list them."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One mapped target path whose value differs: `old` under OLD, `new` under NEW."""

    path: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        """``{path, old, new}``."""
        return {"path": self.path, "old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class Change:
    """One record whose decision changed: named by its key and label only (never the whole
    record), with the deciding rule's reasons (`because`, and the same `in_words`) and, for
    a ``fields`` change, the one path that differs."""

    key: str | None
    label: str | None
    because: tuple[str, ...] = ()
    in_words: tuple[str, ...] = ()
    field: FieldChange | None = None

    def to_json(self) -> dict[str, Any]:
        """``{key, label?, because, in_words, field?}``."""
        data: dict[str, Any] = {"key": self.key}
        if self.label is not None:
            data["label"] = self.label
        data["because"] = list(self.because)
        data["in_words"] = list(self.in_words)
        if self.field is not None:
            data["field"] = self.field.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        """The change `to_json` wrote."""
        found = data.get("field")
        return cls(
            data["key"],
            data.get("label"),
            tuple(data["because"]),
            tuple(data["in_words"]),
            None if found is None else FieldChange(found["path"], found["old"], found["new"]),
        )


class Spill:
    """Every change of one group, in order: in a private JSON-lines file under `folder`, or
    in memory when `folder` is None. Write with `add`, then read back with `__iter__`."""

    def __init__(self, folder: Path | None, name: str) -> None:
        self._kept: list[Change] | None = [] if folder is None else None
        self._path = None if folder is None else folder / name
        self._out: IO[str] | None = None

    def add(self, change: Change) -> None:
        """Keep `change` (written owner-only: a change may quote personal data)."""
        if self._kept is not None:
            self._kept.append(change)
            return
        if self._out is None:
            assert self._path is not None
            handle = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            self._out = open(handle, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self._out.write(json.dumps(change.to_json(), ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        """Finish writing (reading stays possible)."""
        if self._out is not None:
            self._out.close()
            self._out = None

    def __iter__(self) -> Iterator[Change]:
        if self._kept is not None:
            yield from self._kept
            return
        self.close()
        if self._path is None or not self._path.exists():
            return
        with self._path.open(encoding="utf-8") as lines:
            for line in lines:
                yield Change.from_json(json.loads(line))


@dataclass(slots=True)
class Group:
    """The records of one entity changed in one way (`kind`) by one rule.

    `rule` is the rule that causes the change: the OLD include rule that skipped a record
    now created, the NEW include rule that skips a record no longer synced, the archive
    rule, or ``map:<target path>`` for a value that now maps differently.
    """

    entity: str
    kind: Kind
    rule: str
    summary: str | None
    spill: Spill
    limit: int
    count: int = 0
    samples: list[Change] = field(default_factory=list)

    def add(self, change: Change) -> None:
        """Count `change`, keep it as a sample while there is room, and spill it."""
        self.count += 1
        if len(self.samples) < self.limit:
            self.samples.append(change)
        self.spill.add(change)

    def records(self) -> Iterator[Change]:
        """Every change of the group, in the order decided."""
        return iter(self.spill)


@dataclass(slots=True)
class EntityImpact:
    """One entity's changes: how many source records were read, and the groups."""

    name: str
    read: int = 0
    groups: dict[tuple[Kind, str], Group] = field(default_factory=dict)

    def sorted_groups(self) -> list[Group]:
        """The groups by kind (`KINDS` order), then rule id."""
        return sorted(self.groups.values(), key=lambda g: (KINDS.index(g.kind), g.rule))

    @property
    def changed(self) -> int:
        """Changes across every group (a record with two changed fields counts twice)."""
        return sum(group.count for group in self.groups.values())


@dataclass(frozen=True, slots=True)
class StepDifference:
    """One thing a step's report says differently under OLD and NEW (e.g. ``charges``)."""

    what: str
    old: Any
    new: Any

    def to_json(self) -> dict[str, Any]:
        """``{what, old, new}``."""
        return {"what": self.what, "old": self.old, "new": self.new}


@dataclass(frozen=True, slots=True)
class ScenarioChange:
    """A scenario whose outcome differs under OLD and NEW: the first differing step (1-based)
    and its action, what differs there; or `error` when it could not be played under one
    of them (the message says which)."""

    scenario: str
    path: str
    step: int | None
    action: str | None
    differences: tuple[StepDifference, ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """``{scenario, path, step, action, differences, error?}``."""
        data: dict[str, Any] = {
            "scenario": self.scenario,
            "path": self.path,
            "step": self.step,
            "action": self.action,
            "differences": [item.to_json() for item in self.differences],
        }
        if self.error is not None:
            data["error"] = self.error
        return data


@dataclass(slots=True)
class Impact:
    """What changes between two rulesets over one agency's records.

    Attributes:
        old: the OLD ruleset described (name, version, content_hash, path, settings).
        new: the NEW one likewise.
        as_of: the run's date used for both.
        inputs: the sha256 of each snapshot read, by system.
        entities: each entity's changes, NEW's entity order then OLD's others.
        lifecycle: the scenarios whose outcome differs (`simulator.lifecycle.compare`).
        scenarios: how many scenarios were played under both (0: none were).
        rejected: records the readers could not use (``{where, record_id, message}``).
    """

    old: dict[str, Any]
    new: dict[str, Any]
    as_of: str | None
    inputs: dict[str, str] = field(default_factory=dict)
    entities: list[EntityImpact] = field(default_factory=list)
    lifecycle: list[ScenarioChange] = field(default_factory=list)
    scenarios: int = 0
    rejected: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def changes(self) -> int:
        """Every record change and every scenario whose outcome differs."""
        return sum(entity.changed for entity in self.entities) + len(self.lifecycle)

    def entity(self, name: str) -> EntityImpact:
        """The changes of entity `name` (empty when it has none or does not exist)."""
        for found in self.entities:
            if found.name == name:
                return found
        return EntityImpact(name)
