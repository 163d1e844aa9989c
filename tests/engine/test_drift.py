"""Drift repair: records the store believes created that the target lost are created again,
once, and their links follow (`engine.sync._drift`, `apply_plan(repair_drift=True)`).

Each night here is planned with the shipped ruleset from Alto records and the target as it
then is (its snapshot), and applied to an in-memory Fixflo that keeps Fixflo's write rules
that matter here: a save names its record by id or reference, a create gets a new id, a
link needs both its ends (a 200 answer listing Errors otherwise), and losing a record
takes its links with it.
"""

from __future__ import annotations

import asyncio
import copy
import tempfile
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import errors as port
from engine.ports import Record
from engine.store import Store
from engine.sync.apply import ApplyResult, apply_plan, planned_keys
from engine.sync.plan import Plan
from engine.sync.planner import make_plan
from tests.rulesets.alto import AS_OF, DEFAULT, contact, owner, prop, tenancy, world

KEYS = {"properties": "id", "tenants": "id", "landlords": "id", "contractors": "Id"}
REFS = {"properties": "ExternalPropertyRef"}
ENDS = {
    "landlord_properties": (
        ("landlords", "ExternalLandlordRef"),
        ("properties", "ExternalPropertyRef"),
    ),
    "tenant_properties": (("tenants", "TenantExternalRef"), ("properties", "PropertyExternalRef")),
}
N = 4


class Crash(Exception):
    """The process dies (not a port's failure: the apply stops, the run is left)."""


@dataclass
class MemoryFixflo:
    """Fixflo in memory: records by collection, links as rows of their two references.

    Attributes:
        crash: ``(reference, "before"|"after")``: the next write of that record kills the
            process before it is sent, or after it landed (its answer lost).
        refuse: a reference whose writes are answered with `refusal`.
    """

    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in (*KEYS, *ENDS)}
    )
    last_id: int = 1000
    writes: int = 0
    crash: tuple[str, str] | None = None
    refuse: str | None = None
    refusal: Exception | None = None

    # -- the port --------------------------------------------------------------------------

    async def upsert(self, collection: str, fields: Mapping[str, Any]) -> Record:
        ref = str(fields.get(_ref(collection)))
        self._before(ref)
        self.writes += 1
        key = KEYS[collection]
        given = fields.get(key)
        if given not in (None, ""):
            row = self._by(collection, key, str(given))
            if row is None:
                raise port.RecordRefused(f"No record with Id {given}", status=200)
        else:
            row = self._by(collection, _ref(collection), ref)
        if row is None:
            self.last_id += 1
            row = {key: self.last_id if collection == "properties" else str(self.last_id)}
            self.rows[collection].append(row)
        _merge(row, {k: v for k, v in fields.items() if k != key})
        self._after(ref)
        return copy.deepcopy(row)

    async def archive(self, collection: str, fields: Mapping[str, Any]) -> Record:
        return await self.upsert(collection, fields)

    async def link(self, collection: str, fields: Mapping[str, Any]) -> None:
        self.writes += 1
        for (end, name), _ in zip(ENDS[collection], range(2), strict=True):
            if self._by(end, _ref(end), str(fields[name])) is None:
                raise port.RecordRefused(f"No {end} with {name} {fields[name]}", status=200)
        names = [name for _, name in ENDS[collection]]
        if not any(all(row[n] == fields[n] for n in names) for row in self.rows[collection]):
            self.rows[collection].append(dict(fields))

    async def unlink(self, collection: str, fields: Mapping[str, Any]) -> None:
        self.writes += 1
        names = [name for _, name in ENDS[collection]]
        self.rows[collection] = [
            row for row in self.rows[collection] if not all(row[n] == fields[n] for n in names)
        ]

    async def find(self, collection: str, **query: str) -> Record | None:
        ((key, value),) = query.items()
        row = self._by(collection, key, value)
        return None if row is None else copy.deepcopy(row)

    # -- the test's hands ----------------------------------------------------------------

    def snapshot(self, *, missing: frozenset[str] = frozenset()) -> dict[str, list[Any]]:
        """The target's records as a night's snapshot reads them (less `missing` refs)."""
        return {
            f"fixflo.{name}": [
                copy.deepcopy(row)
                for row in rows
                if name in ENDS or str(row.get(_ref(name))) not in missing
            ]
            for name, rows in self.rows.items()
        }

    def lose(self, ref: str) -> None:
        """The record bearing `ref` is deleted in the target, with its links."""
        for name in KEYS:
            self.rows[name] = [r for r in self.rows[name] if str(r.get(_ref(name))) != ref]
        for name, ends in ENDS.items():
            keys = [key for _, key in ends]
            self.rows[name] = [r for r in self.rows[name] if ref not in (r[k] for k in keys)]

    def holders(self, ref: str) -> int:
        """How many records bear `ref`."""
        return sum(1 for name in KEYS for r in self.rows[name] if str(r.get(_ref(name))) == ref)

    def _by(self, collection: str, key: str, value: str) -> dict[str, Any] | None:
        return next((r for r in self.rows[collection] if str(r.get(key)) == value), None)

    def _before(self, ref: str) -> None:
        if self.refuse == ref and self.refusal is not None:
            raise self.refusal
        if self.crash == (ref, "before"):
            self.crash = None
            raise Crash(ref)

    def _after(self, ref: str) -> None:
        if self.crash == (ref, "after"):
            self.crash = None
            raise Crash(ref)


def _ref(collection: str) -> str:
    return REFS.get(collection, "ExternalRef")


def _merge(row: MutableMapping[str, Any], fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        current = row.get(name)
        if isinstance(value, Mapping) and isinstance(current, MutableMapping):
            _merge(current, value)
        else:
            row[name] = copy.deepcopy(value)


def alto(n: int = N) -> dict[str, list[dict[str, Any]]]:
    """n let properties, each with its landlord and one occupier."""
    ids = range(1, n + 1)
    return world(
        alto_inventory=[prop(f"P{i}") for i in ids],
        alto_contacts=[contact(f"L{i}", "Landlord") for i in ids] + [contact(f"C{i}") for i in ids],
        alto_owners=[owner(f"P{i}", f"L{i}") for i in ids],
        alto_tenancies=[tenancy(f"T{i}", f"P{i}", f"C{i}") for i in ids],
    )


def plan_of(fixflo: MemoryFixflo, *, missing: frozenset[str] = frozenset()) -> Plan:
    return make_plan(DEFAULT, {**alto(), **fixflo.snapshot(missing=missing)}, as_of=AS_OF)


def night(
    path: Path,
    fixflo: MemoryFixflo,
    *,
    repair: bool = True,
    missing: frozenset[str] = frozenset(),
) -> ApplyResult:
    """Plan from the target as it is now, then apply as the nightly job does."""
    plan = plan_of(fixflo, missing=missing)

    async def go() -> ApplyResult:
        with Store.open(path) as store:
            run = store.start_run("alto-fixflo", "2", DEFAULT.content_hash)
            # as the nightly job: close what a killed run left in flight that tonight's
            # apply will not verify (a re-create in flight is kept: it is verified)
            store.settle_in_flight(planned_keys(plan, store), set(DEFAULT.entities))
            try:
                result = await apply_plan(
                    plan, fixflo, store, run=run, reapply_done=True, repair_drift=repair
                )
            except Crash:
                store.finish_run("failed")
                raise
            store.finish_run("succeeded")
            return result

    return asyncio.run(go())


def everything_once(fixflo: MemoryFixflo) -> None:
    for i in range(1, N + 1):
        for ref in (f"P{i}", f"L{i}", f"C{i}"):
            assert fixflo.holders(ref) == 1, ref
    assert len(fixflo.rows["landlord_properties"]) == N
    assert len(fixflo.rows["tenant_properties"]) == N


@pytest.fixture
def synced(tmp_path: Path) -> tuple[Path, MemoryFixflo]:
    path, fixflo = tmp_path / "agency.db", MemoryFixflo()
    first = night(path, fixflo)
    assert first.total("create") == 3 * N
    assert first.total("link") == 2 * N
    assert not first.drift_report()
    everything_once(fixflo)
    return path, fixflo


@pytest.mark.req("G-01")
def test_a_record_lost_in_the_target_is_created_again_and_its_links_follow(
    synced: tuple[Path, MemoryFixflo],
) -> None:
    path, fixflo = synced
    lost_id = next(r["id"] for r in fixflo.rows["properties"] if r["ExternalPropertyRef"] == "P2")
    fixflo.lose("P2")
    # without repair (as before): the create is skipped as done, the links refused
    before = night(path, fixflo, repair=False)
    assert before.counts["property"]["skipped"] == 1
    assert before.dead_lettered == 2
    assert fixflo.holders("P2") == 0

    writes = fixflo.writes
    result = night(path, fixflo)
    report = result.drift_report()
    (item,) = report["items"]
    assert item["entity"] == "property"
    assert item["source_id"] == "P2"
    assert item["lost_target_id"] == str(lost_id)
    assert item["outcome"] == "recreated"
    assert item["target_id"] not in (None, str(lost_id))
    assert report["recreated"] == {"property": 1}
    assert report["links_repaired"] == 2  # the landlord's and the occupier's
    assert sorted(result.requeued) == sorted(before.dead_letters)  # last night's letters
    assert result.dead_lettered == 0
    assert fixflo.writes - writes == 3  # the property, then its two links
    everything_once(fixflo)
    with Store.open(path) as store:
        assert store.dead_letters() == []
        entry = store.lookup("property", "P2")
    assert entry is not None
    assert entry.target_id == item["target_id"]

    quiet = night(path, fixflo)
    assert not plan_of(fixflo).operations
    assert quiet.applied == 0
    assert not quiet.drift_report()


@pytest.mark.req("G-01")
def test_a_record_lost_again_after_its_repair_is_a_new_drift(
    synced: tuple[Path, MemoryFixflo],
) -> None:
    path, fixflo = synced
    fixflo.lose("L1")
    first = night(path, fixflo).drift_report()["items"][0]
    fixflo.lose("L1")
    second = night(path, fixflo).drift_report()["items"][0]
    assert second["lost_target_id"] == first["target_id"]
    assert second["outcome"] == "recreated"
    assert second["target_id"] not in (first["target_id"], first["lost_target_id"])
    everything_once(fixflo)


@pytest.mark.req("G-01")
@pytest.mark.parametrize("when", ["before", "after"])
def test_a_crash_inside_a_re_create_never_duplicates_it(
    synced: tuple[Path, MemoryFixflo], when: str
) -> None:
    """Killed between the re-create's intent and its effect: before the write was sent,
    the next night sends it; after it landed (the answer lost), the next night finds it
    by reference and records it without a write. One record either way."""
    path, fixflo = synced
    fixflo.lose("C3")
    fixflo.crash = ("C3", when)
    with pytest.raises(Crash):
        night(path, fixflo)
    assert fixflo.holders("C3") == (1 if when == "after" else 0)
    writes = fixflo.writes
    # the snapshot of a night cut off mid-write may still lack what landed
    result = night(path, fixflo, missing=frozenset({"C3"}))
    (item,) = result.drift_report()["items"]
    assert item["outcome"] == "recreated"
    assert result.retries == 1
    if when == "after":
        assert result.counts["occupier"]["verified"] == 1
    assert fixflo.holders("C3") == 1
    assert fixflo.writes - writes == (1 if when == "after" else 2)  # the link (+ the create)
    everything_once(fixflo)
    assert not plan_of(fixflo).operations


@pytest.mark.req("G-01", "G-05")
def test_a_record_the_snapshot_missed_is_found_not_created(
    synced: tuple[Path, MemoryFixflo],
) -> None:
    path, fixflo = synced
    held = next(r["id"] for r in fixflo.rows["properties"] if r["ExternalPropertyRef"] == "P4")
    result = night(path, fixflo, missing=frozenset({"P4"}))
    (item,) = result.drift_report()["items"]
    assert (item["outcome"], item["target_id"], item["lost_target_id"]) == (
        "found",
        str(held),
        str(held),
    )
    assert result.drift_report()["recreated"] == {}
    assert result.counts["property"]["merged"] == 1
    everything_once(fixflo)


@pytest.mark.req("G-01")
@pytest.mark.parametrize(
    ("refusal", "outcome"),
    [
        (port.RecordRefused("Service Unavailable", status=503), "failed"),
        (port.RecordRefused("Locked", status=423), "failed"),
        (port.Retryable("rate limited", status=429), "failed"),
        (port.OutcomeUnknown("timed out"), "failed"),
        (port.RecordRefused("Address.PostCode is required", status=200), "dead"),
    ],
    ids=["503", "423", "429", "timeout", "refused"],
)
def test_a_re_create_that_fails_is_reported_and_its_links_wait(
    synced: tuple[Path, MemoryFixflo], refusal: Exception, outcome: str
) -> None:
    """A transient failure of the re-create is called again next night (no dead letter);
    the links to it then fail with it rather than being dead-lettered. A refusal is a dead
    letter for a person, and so are the links it leaves without an end."""
    path, fixflo = synced
    fixflo.lose("P1")
    fixflo.refuse, fixflo.refusal = "P1", refusal
    result = night(path, fixflo)
    (item,) = result.drift_report()["items"]
    assert (item["outcome"], item["target_id"]) == (outcome, None)
    if outcome == "failed":
        assert result.dead_lettered == 0
        assert result.counts["landlord"]["failed"] + result.counts["occupier"]["failed"] >= 2
    else:
        assert result.dead_lettered == 3  # the property and its two links
    fixflo.refuse = None
    if outcome == "dead":  # it waits for a person: the next night writes nothing for it
        writes = fixflo.writes
        waiting = night(path, fixflo)
        assert waiting.drift_report()["items"][0]["outcome"] == "dead"
        assert fixflo.writes == writes
        assert waiting.dead_lettered == 0
        with Store.open(path) as store:
            (letter,) = [d for d in store.dead_letters() if d.operation["kind"] == "property"]
            store.retry_dead_letter(letter.id)  # `rulebridge deadletters --retry`
    repaired = night(path, fixflo)
    assert repaired.drift_report()["items"][0]["outcome"] == "recreated"
    assert repaired.drift_report()["links_repaired"] == 2
    assert repaired.dead_lettered == 0
    everything_once(fixflo)
    with Store.open(path) as store:
        assert store.dead_letters() == []  # the links' letters were queued again


@pytest.mark.req("G-01")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lost=st.sets(st.sampled_from([f"{k}{i}" for k in "PLC" for i in range(1, N + 1)])))
def test_any_records_lost_are_back_once_after_one_night_and_the_next_writes_nothing(
    lost: set[str],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path, fixflo = Path(folder) / "agency.db", MemoryFixflo()
        night(path, fixflo)
        for ref in lost:
            fixflo.lose(ref)
        result = night(path, fixflo)
        report = result.drift_report()
        assert sorted(item["source_id"] for item in report.get("items", [])) == sorted(lost)
        assert all(item["outcome"] == "recreated" for item in report.get("items", []))
        assert result.dead_lettered == 0
        assert result.incomplete == 0
        everything_once(fixflo)
        writes = fixflo.writes
        quiet = night(path, fixflo)
        assert fixflo.writes == writes
        assert quiet.applied == 0


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (port.RecordRefused("Request Timeout", status=408), "failed"),
        (port.RecordRefused("Locked", status=423), "failed"),
        (port.RecordRefused("Too Early", status=425), "failed"),
        (port.RecordRefused("Too Many Requests", status=429), "failed"),
        (port.RecordRefused("Bad Gateway", status=502), "failed"),
        (port.NotOffered("Service Unavailable", status=503), "failed"),
        (port.RecordRefused("a record like this exists already", status=409), "dead"),
        (port.RecordRefused("Unprocessable", status=422), "dead"),
        (port.RecordRefused("not found", status=404), "dead"),
        (port.RecordRefused("Errors: Surname is required", status=200), "dead"),
    ],
    ids=lambda value: str(getattr(value, "status", value)),
)
def test_an_answer_that_says_not_now_is_never_a_dead_letter(
    tmp_path: Path, failure: Exception, outcome: str
) -> None:
    """408, 423, 425, 429 and 5xx are called again by the next apply whatever class
    carried them; 409 (a duplicate, in both contracts) and other refusals are dead
    letters for a person (docs/store.md)."""
    path, fixflo = tmp_path / "agency.db", MemoryFixflo(refuse="P1", refusal=failure)
    result = night(path, fixflo)
    assert result.counts["property"][outcome] == 1
    # a refused property leaves its two links without an end: dead letters too; a
    # property called again tomorrow leaves them failed, called again after it
    assert result.dead_lettered == (3 if outcome == "dead" else 0)
    fixflo.refuse = None
    night(path, fixflo)
    assert fixflo.holders("P1") == (1 if outcome == "failed" else 0)
