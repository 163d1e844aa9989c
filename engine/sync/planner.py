"""Make a plan: compare what the ruleset says the target should hold with what it holds.

For each entity, every source record is decided once: included records are matched to a
target record by the entity's merge rules (in order) and become a create, an update of the
fields that differ, or nothing; records that are not included are skipped with the rule
that decided, and a target record bearing their reference is archived when an archive rule
holds. Target records no source record matched are listed for a person when the entity
says so, and near-duplicates of new records are listed for a manual merge. Links and
preflight checks follow.

Explanations are built only where they are reported (changes and skips), so an unchanged
record costs no more than its rule tests and its map.

**Memory.** `plan_into` sends each item to a sink as it is decided and keeps no record:
sources are read in up to three streaming passes per entity (claims by reference and
exclusions; merges; creates, which follow every update), targets are indexed by position
and their records read back when needed, so with sources and targets kept in files
(`engine.sync.tables.RecordTable`) memory holds only the keys relations and merges need;
past `engine.language.relation_index.DISK_AT` records even those are on disk (the
context's relation indexes, the target's merge keys, references and claims, the links'
pairs: `DiskIndex`/`DiskMap`), so a large agency's plan costs about what a small one's does.
`make_plan` collects the items into a `Plan`, each section moving to a temporary file past
a threshold (`engine.sync.spill`), so its plan stays flat too.

Example:
    >>> from datetime import date
    >>> from engine import load_ruleset
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> records = {"alto.inventory": [{"id": "1", "recordType": "Sale"}]}
    >>> plan = make_plan(ruleset, records, as_of=date(2026, 11, 22))
    >>> plan.summary()["property"]["skip"], plan.has_changes
    (1, False)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any, Protocol

from engine.errors import EvaluationError
from engine.explain import Because
from engine.language import relation_index
from engine.language.context import Context
from engine.language.paths import flatten, set_path
from engine.language.policies import Departed, Link, MergePolicy, TargetDecl
from engine.language.relation_index import DiskMap
from engine.language.rule import Rule
from engine.language.ruleset import CompiledRuleset, Entity
from engine.sync._diff import difference, is_true, read_field
from engine.sync._links import LinkPlanner as _LinkPlanner
from engine.sync.plan import (
    ManualAction,
    MergeDecision,
    Operation,
    Plan,
    PlanHead,
    PlanItem,
    PlanSink,
    PlanWarning,
    Skip,
    idempotency_key,
)
from engine.sync.spill import SPILL_AT, Section

__all__ = ["Records", "make_plan", "plan_into"]

Records = Mapping[str, Sequence[Mapping[str, Any]]]


def make_plan(
    ruleset: CompiledRuleset,
    records: Records,
    *,
    as_of: date | None = None,
    inputs: Mapping[str, str] | None = None,
    rejected: Sequence[Mapping[str, Any]] = (),
    spill_at: int = SPILL_AT,
) -> Plan:
    """Plan the changes that make every entity's target agree with its source.

    The plan's operations, skips, merges and manual actions are each kept in memory up to
    `spill_at` items; a section with more is written to an anonymous temporary file as it
    is decided and read back when used (`engine.sync.spill.SpilledItems`: a sequence
    equal to the tuple of the same items, removed with the plan), so a large agency's plan
    holds counts and offsets, not items.

    Args:
        ruleset: the compiled ruleset; every entity planned needs a declared target.
        records: the records of every source and target, by name (e.g. ``alto.inventory``,
            ``fixflo.properties``); a missing name is an empty collection.
        as_of: the run's date, for rules that compare with it.
        inputs: hashes of the snapshots read, recorded in the plan.
        rejected: records the readers could not use, carried into the plan so that none
            is lost from sight.
        spill_at: items a section keeps in memory before it moves to a file.
    """
    items = _Collected(spill_at)
    head = plan_into(ruleset, records, items, as_of=as_of, inputs=inputs, rejected=rejected)
    return Plan(
        head.ruleset,
        head.inputs,
        head.as_of,
        items.operations.freeze(),
        items.skips.freeze(),
        items.merges.freeze(),
        items.manual.freeze(),
        tuple(items.warnings),
        head.unchanged,
        head.rejected,
    )


def plan_into(
    ruleset: CompiledRuleset,
    records: Records,
    sink: PlanSink,
    *,
    as_of: date | None = None,
    inputs: Mapping[str, str] | None = None,
    rejected: Sequence[Mapping[str, Any]] = (),
) -> PlanHead:
    """`make_plan`, sending each item to `sink` as it is decided instead of collecting them.

    Operations arrive in the order they must be applied; skips, merges, manual actions and
    warnings in the order they were decided. Each source is read up to three times per
    entity and each target once, so a `Sequence` that reads its records from a file (such
    as `engine.sync.tables.RecordTable`) keeps memory flat.

    Returns:
        What the plan says besides its items (ruleset, inputs, unchanged counts, rejected).

    Example::

        head = plan_into(ruleset, records, writer, as_of=date(2026, 11, 22))
    """
    context = ruleset.context(
        {name: rows for name, rows in records.items() if name in ruleset.sources}, as_of=as_of
    )
    planner = _Planner(ruleset, records, context, sink)
    for entity in ruleset.entities.values():
        planner.plan_entity(entity)
    for link in ruleset.links:
        planner.plan_link(link)
    planner.check_preflight()
    return planner.finish(as_of, inputs or {}, rejected)


class _Collected:
    """A sink that keeps every item, by type (for `make_plan`): operations, skips, merges
    and manual actions in a `Section` each, which moves to a file past `spill_at` items."""

    def __init__(self, spill_at: int) -> None:
        self.operations = Section(Operation, spill_at=spill_at)
        self.skips = Section(Skip, spill_at=spill_at)
        self.merges = Section(MergeDecision, spill_at=spill_at)
        self.manual = Section(ManualAction, spill_at=spill_at)
        self.warnings: list[PlanWarning] = []

    def add(self, item: PlanItem) -> None:
        if isinstance(item, Operation):
            self.operations.add(item)
        elif isinstance(item, Skip):
            self.skips.add(item)
        elif isinstance(item, MergeDecision):
            self.merges.add(item)
        elif isinstance(item, ManualAction):
            self.manual.add(item)
        else:
            self.warnings.append(item)


class _Planner:
    def __init__(
        self, ruleset: CompiledRuleset, records: Records, context: Context, sink: PlanSink
    ) -> None:
        self.ruleset, self.records, self.context, self.sink = ruleset, records, context, sink
        self.unchanged: dict[str, int] = {}
        self.marks: dict[str, bytearray] = {}  # per entity, per source record: its pass

    def target_of(self, entity: Entity) -> TargetDecl:
        target = self.ruleset.targets.get(entity.target or "")
        if target is None or entity.ref is None:
            raise EvaluationError(
                f"entity {entity.name!r} needs a declared target and a 'ref:' to be planned"
            )
        return target

    def plan_entity(self, entity: Entity) -> None:
        """Three passes: records bearing their reference in the target claim it first; then
        the rest are matched by the other merge rules against the target as it will be
        after those updates, so a value one record gives up can be taken by another in the
        same run. Updates and archives are ordered before creates (the target may insist
        that merge keys such as email addresses are unique): a third pass sends the creates
        the second decided. Passes keep one byte per source record, not the record."""
        target = self.target_of(entity)
        index = _TargetIndex(entity, target, self.records.get(target.name, ()))
        self.unchanged[entity.name] = 0
        source = self.records.get(entity.source, ())
        marks = self.marks[entity.name] = self.claim_by_ref(entity, target, index, source)
        near = self.match_the_rest(entity, target, index, source, marks)
        for ordinal in _marked(marks, _CREATE):
            self.sink.add(self.create(entity, target, source[ordinal]))
        self.list_unmatched(entity, target, index, near)

    def claim_by_ref(
        self, entity: Entity, target: TargetDecl, index: _TargetIndex, source: Iterable[Any]
    ) -> bytearray:
        """The first pass: skips and archives, and updates of the target records that bear
        their source's reference. Returns a mark per source record: `_EXCLUDED`, `_DONE`,
        or `_WAITING` for those left to the second pass."""
        marks = bytearray()
        for record in source:
            failing = entity.first_failing(record, self.context)  # the generated tests
            if failing >= 0:
                self.plan_excluded(entity, target, index, record, entity.include[failing])
                marks.append(_EXCLUDED)
                continue
            source_id, payload = entity.key_of(record), entity.map(record, self.context)
            ref = read_field(payload, entity.ref or "")
            position = index.by_ref(ref)
            if position is None or index.claim(position, source_id) is not None:
                marks.append(_WAITING)
            else:
                self.plan_update(entity, target, index, record, position, payload, ref)
                marks.append(_DONE)
        return marks

    def match_the_rest(
        self,
        entity: Entity,
        target: TargetDecl,
        index: _TargetIndex,
        source: Sequence[Any],
        waiting: bytearray,
    ) -> dict[tuple[str, ...], list[str | None]]:
        """The second pass (the waiting records only): merges (updates) and conflicts now;
        creates are marked `_CREATE` for the third. Returns the near-duplicate index of the
        creates."""
        near: dict[tuple[str, ...], list[str | None]] = {}
        for ordinal in _marked(waiting, _WAITING):
            record = source[ordinal]
            source_id, payload = entity.key_of(record), entity.map(record, self.context)
            ref = read_field(payload, entity.ref or "")
            if self.plan_match(entity, target, index, (record, source_id, payload, ref)):
                waiting[ordinal] = _CREATE
                key = entity.near.key(payload) if entity.near is not None else None
                if key is not None:
                    near.setdefault(key, []).append(source_id)
        return near

    def plan_match(
        self,
        entity: Entity,
        target: TargetDecl,
        index: _TargetIndex,
        item: tuple[Any, str | None, dict[str, Any], Any],
    ) -> bool:
        """Merge `item` into the target record a merge rule finds, or list a conflict;
        True when nothing matched and the record is to be created (its keys reserved)."""
        record, source_id, payload, ref = item
        found = index.find(payload)
        if found is None:
            index.plan_create(payload, source_id)
            return True
        position, policy = found
        if position < 0:
            owner = index.creators.get((policy.id, policy.key(payload) or ()))
            self.conflict(entity, target, index, position, policy, source_id, owner)
            return False
        owner = index.claim(position, source_id)
        if owner is not None:
            self.conflict(entity, target, index, position, policy, source_id, owner)
            return False
        existing = index.records[position]
        self.sink.add(
            MergeDecision(
                entity.name,
                source_id,
                target.read_key(existing),
                policy.id,
                dict(zip(policy.by, policy.key(payload) or (), strict=False)),
            )
        )
        self.plan_update(entity, target, index, record, position, payload, ref)
        return False

    def create(self, entity: Entity, target: TargetDecl, record: Any) -> Operation:
        """The create of a record the second pass matched to nothing."""
        payload = entity.map(record, self.context)
        fields = {**payload, **entity.create_fields(record, self.context)}
        ref = read_field(payload, entity.ref or "")
        return self.operation(
            "create", entity, target, entity.key_of(record), None, ref, fields, record
        )

    def conflict(
        self,
        entity: Entity,
        target: TargetDecl,
        index: _TargetIndex,
        position: int,
        policy: MergePolicy,
        source_id: str | None,
        owner: str | None,
    ) -> None:
        if position < 0:
            reason = (
                f"source record {owner} will create a {target.name} record with the same "
                f"{', '.join(policy.by)}; the two cannot both exist"
            )
            target_id, shown = None, {}
        else:
            existing = index.records[position]
            target_id, shown = target.read_key(existing), _summary(existing)
            reason = (
                f"{target.name} record {target_id} already matches source record {owner}; "
                "two source records cannot both update it"
            )
        self.sink.add(
            ManualAction(
                entity.name, "resolve_conflict", policy.id, target_id, source_id, reason, shown
            )
        )

    def plan_update(
        self,
        entity: Entity,
        target: TargetDecl,
        index: _TargetIndex,
        record: Any,
        position: int,
        payload: dict[str, Any],
        ref: Any,
    ) -> None:
        existing = index.records[position]
        changes = _whole_objects(difference(payload, existing), payload)
        if target.archived and is_true(read_field(existing, target.archived)):
            set_path(changes, tuple(target.archived.split(".")), False)
        index.plan_update(position, payload)
        if changes:
            self.sink.add(
                self.operation(
                    "update",
                    entity,
                    target,
                    source_id=entity.key_of(record),
                    target_id=target.read_key(existing),
                    ref=ref,
                    fields=changes,
                    record=record,
                )
            )
        else:
            self.unchanged[entity.name] += 1

    def plan_excluded(
        self, entity: Entity, target: TargetDecl, index: _TargetIndex, record: Any, failing: Rule
    ) -> None:
        source_id = entity.key_of(record)
        _, because = failing.check.explain(record, self.context)
        self.sink.add(Skip(entity.name, source_id, (failing.id,), tuple(because)))
        if not index.refs:
            return  # nothing in the target bears a reference: nothing to archive
        ref = entity.value_of(entity.ref or "", record, self.context)
        position = index.by_ref(ref)
        if position is None:
            return
        index.claim(position, source_id)
        existing = index.records[position]
        if not target.archived or is_true(read_field(existing, target.archived)):
            return
        reasons = entity.archive_reasons(record, self.context)
        if not reasons and entity.departed is not None:
            departed = (entity.departed, {target.archived: True})
            self.plan_departed(entity, target, existing, (source_id, ref, tuple(because)), departed)
            return
        if reasons:
            self.archive(
                entity, target, (source_id, existing, ref), {target.archived: True}, reasons
            )

    def archive(
        self,
        entity: Entity,
        target: TargetDecl,
        which: tuple[str | None, Any, Any],
        fields: dict[str, Any],
        reasons: tuple[Because, ...],
    ) -> None:
        """Plan archiving a target record; `which` is (source id, the target record, its
        reference)."""
        source_id, existing, ref = which
        key = target.read_key(existing)
        self.sink.add(
            self.operation("archive", entity, target, source_id, key, ref, fields, reasons=reasons)
        )

    def plan_departed(
        self,
        entity: Entity,
        target: TargetDecl,
        existing: Any,
        item: tuple[str | None, Any, tuple[Because, ...]],
        departed: tuple[Departed, dict[str, Any]],
    ) -> None:
        """A record in the target whose source stopped meeting an include rule (and no
        archive rule holds): archived, or listed for a person, as the entity's policy says.
        `item` is (source id, reference, what the failing rule read); `departed` the policy
        and the fields that archive."""
        source_id, ref, failed = item
        policy, archive = departed
        chosen = f" (setting {policy.setting} = {policy.action})" if policy.setting else ""
        if policy.action == "archive":
            reason = Because(
                policy.id, entity.ref or "", ref, f"archived: {policy.summary}{chosen}", True
            )
            self.archive(entity, target, (source_id, existing, ref), archive, (*failed, reason))
            return
        read = "; ".join(str(item) for item in failed)
        self.sink.add(
            ManualAction(
                entity.name,
                "no_longer_synced",
                policy.id,
                target.read_key(existing),
                source_id,
                f"no longer synced ({read}) but still in {target.name}: {policy.summary}{chosen}",
                _summary(existing),
            )
        )

    def operation(
        self,
        op: str,
        entity: Entity,
        target: TargetDecl,
        source_id: str | None,
        target_id: Any,
        ref: Any,
        fields: dict[str, Any],
        record: Any = None,
        reasons: Iterable[Because] = (),
    ) -> Operation:
        because = tuple(reasons) or _included_because(entity, record, self.context)
        key = idempotency_key(self.ruleset.name, entity.name, op, source_id, ref, fields)
        return Operation(
            op,
            entity.name,
            target.name,
            source_id,
            target_id,
            None if ref is None else str(ref),
            fields,
            key,
            because,
            key=target.key,
        )

    def list_unmatched(
        self,
        entity: Entity,
        target: TargetDecl,
        index: _TargetIndex,
        near: Mapping[tuple[str, ...], list[str | None]],
    ) -> None:
        known_refs = index.matched_refs
        for position, existing in enumerate(index.records):
            if index.is_claimed(position):
                continue
            if target.archived and is_true(read_field(existing, target.archived)):
                continue
            self.list_near(entity, target, existing, near)
            if entity.unmatched is not None and entity.unmatched.action == "list":
                ref = read_field(existing, entity.ref or "")
                reason = (
                    f"bears reference {ref!r}, which no source record has"
                    if ref and ref not in known_refs
                    else "matches no source record"
                )
                self.sink.add(
                    ManualAction(
                        entity.name,
                        "archive_by_hand",
                        entity.unmatched.id,
                        target.read_key(existing),
                        None,
                        reason,
                        _summary(existing),
                    )
                )

    def list_near(
        self,
        entity: Entity,
        target: TargetDecl,
        existing: Any,
        near: Mapping[tuple[str, ...], list[str | None]],
    ) -> None:
        policy = entity.near
        key = policy.key(existing) if policy else None
        if policy is None or key is None:
            return
        for source_id in near.get(key, ()):
            self.sink.add(
                ManualAction(
                    entity.name,
                    "merge_by_hand",
                    policy.id,
                    target.read_key(existing),
                    source_id,
                    f"looks like the new record for source {source_id} "
                    f"({', '.join(field for field, _ in policy.by)} alike) but does not merge "
                    "exactly",
                    _summary(existing),
                )
            )

    def plan_link(self, link: Link) -> None:
        """The link's operations (`engine.sync._links`), over the records its entity
        included."""
        source = self.ruleset.entities[link.source_entity]
        _LinkPlanner(self.ruleset, self.records, self.context, self.sink).plan(
            link, self.included(source)
        )

    def included(self, entity: Entity) -> Iterator[Any]:
        """The source records `entity` includes, in order, by the marks its pass left
        (links are planned after every entity)."""
        records = self.records.get(entity.source, ())
        for ordinal, mark in enumerate(self.marks[entity.name]):
            if mark != _EXCLUDED:
                yield records[ordinal]

    def check_preflight(self) -> None:
        source = self.ruleset.preflight_source
        if source is None:
            return
        rows = self.records.get(source, ())
        if not rows and self.ruleset.preflight:
            first = self.ruleset.preflight[0]
            self.sink.add(
                PlanWarning(
                    first.id.split(".")[0],
                    f"no {source} records were read, so the target's settings were not checked",
                    (),
                )
            )
        for row in rows:
            for rule in self.ruleset.preflight:
                held, because = rule.check.explain(row, self.context)
                if not held:
                    self.sink.add(PlanWarning(rule.id, rule.summary, tuple(because)))

    def finish(
        self, as_of: date | None, inputs: Mapping[str, str], rejected: Sequence[Mapping[str, Any]]
    ) -> PlanHead:
        ruleset = self.ruleset
        described = {
            "name": ruleset.name,
            "version": ruleset.version,
            "content_hash": ruleset.content_hash,
            "settings": dict(ruleset.settings),
        }
        return PlanHead(
            described,
            dict(inputs),
            as_of.isoformat() if as_of else None,
            dict(self.unchanged),
            tuple(rejected),
        )


# A source record's mark between an entity's passes (one byte each).
_EXCLUDED, _DONE, _WAITING, _CREATE = 0, 1, 2, 3


def _marked(marks: bytearray, wanted: int) -> Iterator[int]:
    """The ordinals of the records marked `wanted`, in order."""
    start = marks.find(wanted)
    while start >= 0:
        yield start
        start = marks.find(wanted, start + 1)


class _TargetIndex:
    """The target records of one entity, indexed by each merge rule's key as the target
    will be once the planned updates and creates are applied (a planned create holds its
    keys at position -1: nothing can merge into it, a second one is a conflict)."""

    def __init__(self, entity: Entity, target: TargetDecl, records: Sequence[Any]) -> None:
        self.records = records  # read by position: a file-backed table stays on disk
        self.entity = entity
        self.policies: tuple[MergePolicy, ...] = entity.merge
        # A large file-backed table is indexed on disk too: dicts with no key in memory.
        on_disk = not isinstance(records, list | tuple) and len(records) > relation_index.DISK_AT
        table: Callable[[], _Table] = DiskMap if on_disk else dict
        self.indexes: list[_Table] = [table() for _ in self.policies]  # key -> position
        self.refs = table()  # reference -> position
        for position, record in enumerate(records):
            self._index(position, record, replace=False)
            ref = read_field(record, entity.ref or "")
            if ref not in (None, ""):
                self.refs[str(ref)] = position
        self.claims = table()  # position -> the source id that claimed it
        self.matched_refs = table()  # reference -> True (a set)
        self.creators = table()  # (merge rule, key) -> the source id creating it

    def _index(self, position: int, record: Any, *, replace: bool) -> None:
        for policy, index in zip(self.policies, self.indexes, strict=True):
            key = policy.key(record)
            if key is not None and (replace or key not in index):
                index[key] = position

    def find(self, payload: Mapping[str, Any]) -> tuple[int, MergePolicy] | None:
        for policy, index in zip(self.policies, self.indexes, strict=True):
            key = policy.key(payload)
            if key is not None and key in index:
                return index[key], policy
        return None

    def plan_update(self, position: int, payload: Mapping[str, Any]) -> None:
        """Re-key a target record by the values it will hold after its update."""
        existing = self.records[position]
        for policy, index in zip(self.policies, self.indexes, strict=True):
            old, new = policy.key(existing), policy.key(payload)
            if old != new and old is not None and index.get(old) == position:
                del index[old]
            if new is not None:
                index.setdefault(new, position)

    def plan_create(self, payload: Mapping[str, Any], source_id: str | None) -> None:
        """Reserve the keys of a record the plan creates."""
        for policy, index in zip(self.policies, self.indexes, strict=True):
            key = policy.key(payload)
            if key is not None and key not in index:
                index[key] = -1
                self.creators[(policy.id, key)] = source_id

    def by_ref(self, ref: Any) -> int | None:
        return None if ref in (None, "") else self.refs.get(str(ref))

    def claim(self, position: int, source_id: str | None) -> str | None:
        """Claim a target record; the earlier claimant if another source record has it."""
        ref = read_field(self.records[position], self.entity.ref or "")
        if ref:
            self.matched_refs[str(ref)] = True
        if position in self.claims:
            return self.claims[position] or "?"
        self.claims[position] = source_id
        return None

    def is_claimed(self, position: int) -> bool:
        return position in self.claims


class _Table(Protocol):
    """What `_TargetIndex` asks of its tables: a dict, or a `DiskMap` for a large target."""

    def get(self, key: Any, default: Any = None, /) -> Any: ...
    def setdefault(self, key: Any, default: Any = None, /) -> Any: ...
    def __contains__(self, key: Any, /) -> bool: ...
    def __getitem__(self, key: Any, /) -> Any: ...
    def __setitem__(self, key: Any, value: Any, /) -> None: ...
    def __delitem__(self, key: Any, /) -> None: ...
    def __len__(self) -> int: ...


def _whole_objects(changes: dict[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """`changes` with each nested object (an ``Address``) sent whole: Fixflo's upserts
    replace a nested object with what is sent, so a part of one would blank the rest."""
    return {
        key: payload[key] if isinstance(value, dict) and key in payload else value
        for key, value in changes.items()
    }


def _included_because(entity: Entity, record: Any, context: Context) -> tuple[Because, ...]:
    """What every include rule read for an included record (no map: it is done already)."""
    reasons: list[Because] = []
    for rule in entity.include:
        reasons.extend(rule.check.explain(record, context)[1])
    return tuple(reasons)


def _summary(record: Any) -> dict[str, Any]:
    """A few identifying fields of a target record, for a person to find it."""
    shown: dict[str, Any] = {}
    for path, value in flatten(record):
        if value not in (None, "") and len(shown) < 8:
            shown[path] = value
    return shown
