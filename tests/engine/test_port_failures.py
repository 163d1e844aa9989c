"""A port's failure is sorted by its type (`engine.errors`), the same way in both appliers
(`engine._failures`, tested here through them).

The fake ports here raise the engine's own classes, some with statuses chosen to mislead:
only the type may decide what becomes of the operation.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from engine import errors as port
from engine.errors import RulebridgeError
from engine.ports import Record
from engine.store import Store
from engine.sync.apply import ApplyResult, apply_plan
from tests.engine.apply_world import make_world
from tests.engine.test_issue_apply import AltoDouble, AltoWithLookups, Harness, _closed


class Lost(port.Retryable, port.OutcomeUnknown):
    """A timeout: transient, and the answer was lost."""


# (the failure a port raises, the outcome an applier counts; "stop": it is raised)
FAILURES: list[tuple[RulebridgeError, str]] = [
    (port.CredentialsRefused("refused", status=500), "stop"),
    (port.RecordRefused("Unprocessable: supplierContactId", status=422), "dead"),
    (port.RecordRefused("no such tenant", status=404), "dead"),
    (port.RecordRefused("Errors: Surname is required", status=200), "dead"),
    (port.NotOffered("no such endpoint", status=405), "dead"),
    (port.Retryable("the API answered 503", status=422), "failed"),  # the type decides
    (port.Retryable("could not connect"), "failed"),
    (port.OutcomeUnknown("the write may have landed", status=500), "unknown"),
    (Lost("timed out waiting for the answer"), "unknown"),
    (port.PortError("a failure of no kind"), "unknown"),
    (RulebridgeError("not a port's failure"), "unknown"),
]


def _id(case: tuple[Exception, str]) -> str:
    return f"{type(case[0]).__name__}-{case[1]}"


# Reference data: engine.sync.apply ------------------------------------------------------


@dataclasses.dataclass
class RaisingTarget:
    """A `RecordTarget` whose every write raises `failure`."""

    failure: Exception
    calls: int = 0

    async def _fail(self) -> Record:
        self.calls += 1
        raise self.failure

    async def upsert(self, collection: str, fields: Mapping[str, Any]) -> Record:
        return await self._fail()

    async def archive(self, collection: str, fields: Mapping[str, Any]) -> Record:
        return await self._fail()

    async def link(self, collection: str, fields: Mapping[str, Any]) -> None:
        await self._fail()

    async def unlink(self, collection: str, fields: Mapping[str, Any]) -> None:
        await self._fail()


@pytest.mark.parametrize(("failure", "outcome"), FAILURES, ids=map(_id, FAILURES))
def test_apply_plan_sorts_a_failure_by_its_type(
    tmp_path: Path, failure: Exception, outcome: str
) -> None:
    world = make_world(tmp_path)
    plan = dataclasses.replace(world.plan, operations=world.plan.operations[:3])
    target = RaisingTarget(failure)

    async def go() -> ApplyResult:
        with Store.open(tmp_path / "s.db") as store:
            run = store.start_run("alto-fixflo", "1", world.ruleset_hash)
            try:
                return await apply_plan(plan, target, store, run=run)
            finally:
                store.finish_run("succeeded")

    if outcome == "stop":
        with pytest.raises(port.CredentialsRefused):
            asyncio.run(go())
        assert target.calls == 1  # nothing more is tried
        return
    result = asyncio.run(go())
    assert result.total(outcome) == 3
    with Store.open(tmp_path / "s.db") as store:
        letters = list(store.dead_letters())
    assert len(letters) == (3 if outcome == "dead" else 0)
    if outcome == "dead":
        assert isinstance(failure, port.PortError)
        assert {letter.retryable for letter in letters} == {failure.status == 404}
        assert all(failure.message in letter.reason for letter in letters)


# An issue: engine.issues.apply ----------------------------------------------------------


@dataclasses.dataclass
class RaisingAlto(AltoDouble):
    """Alto whose works order create raises `failure`."""

    failure: Exception = dataclasses.field(default_factory=lambda: port.PortError("unset"))

    async def create_works_order(
        self, property_id: str, order: Mapping[str, Any], *, identity: Mapping[str, Any]
    ) -> Record:
        self.calls["create_works_order"] += 1
        raise self.failure


@pytest.mark.parametrize(("failure", "outcome"), FAILURES, ids=map(_id, FAILURES))
def test_apply_issue_ops_sorts_a_failure_by_its_type(
    tmp_path: Path, failure: Exception, outcome: str
) -> None:
    harness = Harness(tmp_path / "s.db", alto=RaisingAlto(failure=failure))
    try:
        _closed(harness)
        if outcome == "stop":
            with pytest.raises(port.CredentialsRefused):
                asyncio.run(harness._apply(harness.sim.fixflo.snapshot("I1")))
            return
        done = harness.deliver("I1")
        assert done is not None
        assert dict(done.counts["works_order"]) == {outcome: 1}
        letters = harness.letters()
        assert len(letters) == (1 if outcome == "dead" else 0)
        if outcome == "dead":
            assert isinstance(failure, port.PortError)
            assert letters[0].retryable is (failure.status == 404)
            answer = "refused it" if failure.status == 200 else f"answered {failure.status}"
            assert f"create works_order: Alto {answer}: {failure.message}" in letters[0].reason
    finally:
        harness.close()


@dataclasses.dataclass
class FailingLookups(AltoWithLookups):
    """Alto whose charge lookup raises `failure`."""

    failure: Exception = dataclasses.field(default_factory=lambda: port.PortError("unset"))

    async def find_charge(
        self, target: Any, target_id: str, invoice_reference: str
    ) -> Record | None:
        self.calls["find_charge"] += 1
        raise self.failure


@pytest.mark.parametrize(
    ("failure", "outcome"),
    [
        (port.NotOffered("no such endpoint", status=400), "dead"),  # a person checks Alto
        (port.RecordRefused("not found", status=404), "unknown"),  # verified next run
        (port.Retryable("the API answered 503"), "unknown"),
    ],
    ids=["NotOffered", "RecordRefused-404", "Retryable"],
)
def test_a_lookup_after_a_lost_answer_is_sorted_by_its_type(
    tmp_path: Path, failure: Exception, outcome: str
) -> None:
    harness = Harness(tmp_path / "s.db", alto=FailingLookups(failure=failure))
    try:
        harness.alto.faults = {"post_charge": ["lost"]}
        _closed(harness)
        done = harness.deliver("I1")
        assert done is not None
        assert dict(done.counts["charge"]) == {outcome: 1}
        assert len(harness.letters()) == (1 if outcome == "dead" else 0)
        assert harness.alto.calls["post_charge"] == 1  # never posted twice
    finally:
        harness.close()
