"""The impact of a ruleset change on real data: every record whose decision changes.

`impact_of(old, new, records)` decides every source record of every entity under both
rulesets, reading each source once (the records held as the planner holds them: a
`engine.sync.tables.RecordTable` stays on disk, relations are indexed by position), and
groups each difference by the rule that causes it:

- ``created``: included now, skipped before; the group is the OLD include rule that
  skipped it. With a target snapshot, only records NEW's plan creates; one that NEW's
  plan finds among the target's records by a merge rule (and so does not create) is
  ``merged`` instead.
- ``no_longer_synced``: included before, skipped now; the NEW include rule that skips it.
- ``archived`` / ``unarchived``: the archive rules that hold for a skipped record (with a
  target snapshot: the plans' archive operations) now hold and did not, or the reverse;
  the archive rule (or departed policy) that decides.
- ``fields``: included under both, a mapped value differs; ``map:<target path>``.

An entity only one ruleset has counts as ``entity:<name>``. The lifecycle part (scenarios
played under both rulesets) is `simulator.lifecycle.compare`'s; it fills
`Impact.lifecycle`. Reports: `write_markdown` and `write_json`.

Example:
    >>> from datetime import date
    >>> from engine import load_ruleset
    >>> old = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> new = load_ruleset("rulesets/alto-fixflo/v2.yaml",
    ...     settings={"property_categories": ["Residential", "Commercial"]})
    >>> shop = {"inventoryId": "7", "recordType": "Rent", "managementType": "Managed",
    ...     "maintenanceType": "MaintainedByUs", "categoryType": "Commercial", "status": "Let"}
    >>> found = impact_of(old, new, {"alto.inventory": [shop]}, as_of=date(2026, 11, 22))
    >>> [(g.kind, g.rule, g.count) for g in found.entity("property").sorted_groups()]
    [('created', 'P-05', 1)]
    >>> found.changes
    1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from engine.errors import EvaluationError
from engine.language.context import Context
from engine.language.ruleset import CompiledRuleset
from engine.sync._impact_model import (
    KINDS,
    Change,
    EntityImpact,
    FieldChange,
    Group,
    Impact,
    Kind,
    ScenarioChange,
    Spill,
    StepDifference,
)
from engine.sync._impact_report import IMPACT_FORMAT, write_json, write_markdown
from engine.sync._impact_walk import Planned, Side, walk_entity
from engine.sync.plan import Operation, PlanItem
from engine.sync.planner import Records, plan_into

__all__ = [
    "IMPACT_FORMAT",
    "KINDS",
    "Change",
    "EntityImpact",
    "FieldChange",
    "Group",
    "Impact",
    "Kind",
    "ScenarioChange",
    "StepDifference",
    "impact_of",
    "write_json",
    "write_markdown",
]


def impact_of(
    old: CompiledRuleset,
    new: CompiledRuleset,
    records: Records,
    *,
    as_of: date | None = None,
    target_given: bool = False,
    folder: Path | None = None,
    limit: int = 10,
    inputs: Mapping[str, str] | None = None,
    rejected: Sequence[Mapping[str, Any]] = (),
) -> Impact:
    """Decide every source record under `old` and `new`; group what changes by rule.

    Args:
        old: the ruleset as it is (both must be sync rulesets: they declare targets).
        new: the ruleset as it would be.
        records: every source's (and, with `target_given`, every target's) records by name;
            a `RecordTable` per name keeps memory flat.
        as_of: the run's date, for rules that compare with it.
        target_given: the target's records are among `records` (a Fixflo snapshot): both
            rulesets are also planned, so ``created`` means a create now planned and
            ``archived`` an archive operation now planned.
        folder: a private folder for the changed records (None: kept in memory).
        limit: how many sample records each group keeps in memory (all are in the spill).
        inputs: the sha256 of each snapshot read, recorded in the report.
        rejected: records the readers could not use, carried into the report.

    Raises:
        EvaluationError: a ruleset is not a sync ruleset, or a rule cannot be evaluated.
    """
    for ruleset in (old, new):
        if not ruleset.targets:
            raise EvaluationError(
                f"{ruleset.path}: ruleset {ruleset.name} is not a sync ruleset (it declares "
                "no targets:); diff compares sync rulesets only"
            )
    first = _side(old, records, as_of, target_given, None)
    sides = [first, _side(new, records, as_of, target_given, first[0])]
    impact = Impact(_described(old), _described(new), as_of.isoformat() if as_of else None)
    impact.inputs, impact.rejected = dict(inputs or {}), list(rejected)
    grouper = _Grouper(old, new, folder, max(limit, 0))
    for name in dict.fromkeys([*new.entities, *old.entities]):
        before, after = old.entities.get(name), new.entities.get(name)
        if before is not None and after is not None and before.source != after.source:
            raise EvaluationError(
                f"entity {name} reads {before.source} in OLD but {after.source} in NEW; "
                "rename one of them to compare them as two entities"
            )
        source_name = (after or before).source  # type: ignore[union-attr]
        found = EntityImpact(name)
        walk_entity(
            name,
            Side(old, before, sides[0][0], sides[0][1]),
            Side(new, after, sides[1][0], sides[1][1]),
            records.get(source_name, ()),
            found,
            grouper.add,
        )
        grouper.finish(found)
        impact.entities.append(found)
    return impact


def _side(
    ruleset: CompiledRuleset,
    records: Records,
    as_of: date | None,
    target_given: bool,
    indexes_from: Context | None,
) -> tuple[Context, Planned | None]:
    context = ruleset.context(
        {name: rows for name, rows in records.items() if name in ruleset.sources},
        as_of=as_of,
        indexes_from=indexes_from,  # one index per table for both rulesets
    )
    if not target_given:
        return context, None
    sink = _PlannedOps(ruleset)
    plan_into(ruleset, records, sink, as_of=as_of)
    return context, sink.planned


class _PlannedOps:
    """A plan sink keeping only each create and archive: (op, deciding rule) by source key."""

    def __init__(self, ruleset: CompiledRuleset) -> None:
        self.planned: dict[str, dict[str, tuple[str, str]]] = {}
        self.deciders = {
            name: {rule.id for rule in entity.archive}
            | ({entity.departed.id} if entity.departed else set())
            for name, entity in ruleset.entities.items()
        }

    def add(self, item: PlanItem) -> None:
        if not isinstance(item, Operation) or item.op not in ("create", "archive"):
            return
        if item.source_id is None:
            return
        deciders = self.deciders.get(item.kind, set())
        rules = [because.rule for because in item.because]
        rule = next((r for r in rules if r in deciders), rules[-1] if rules else item.op)
        self.planned.setdefault(item.kind, {})[item.source_id] = (item.op, rule)


class _Grouper:
    """Sends each change to its group, made on first use (its summary from the ruleset the
    rule belongs to), spilled to `folder`."""

    def __init__(
        self, old: CompiledRuleset, new: CompiledRuleset, folder: Path | None, limit: int
    ) -> None:
        self.old, self.new, self.folder, self.limit = old, new, folder, limit
        self.made = 0

    def add(self, found: EntityImpact, kind: Kind, rule: str, change: Change) -> None:
        group = found.groups.get((kind, rule))
        if group is None:
            self.made += 1
            spill = Spill(self.folder, f"impact-{self.made}.jsonl")
            group = Group(found.name, kind, rule, self.summary(kind, rule), spill, self.limit)
            found.groups[(kind, rule)] = group
        group.add(change)

    def summary(self, kind: Kind, rule: str) -> str | None:
        if rule.startswith("map:"):
            return None
        if rule.startswith("entity:"):
            where = "NEW" if kind == "created" else "OLD"
            return f"the entity {rule.split(':', 1)[1]} exists in {where} only"
        first, second = (
            (self.old, self.new)
            if kind in ("created", "unarchived")
            else (
                self.new,
                self.old,
            )
        )
        return first.rule_summary(rule) or second.rule_summary(rule)

    def finish(self, found: EntityImpact) -> None:
        for group in found.groups.values():
            group.spill.close()


def _described(ruleset: CompiledRuleset) -> dict[str, Any]:
    return {
        "name": ruleset.name,
        "version": ruleset.version,
        "content_hash": ruleset.content_hash,
        "path": ruleset.path,
        "settings": dict(ruleset.settings),
    }
