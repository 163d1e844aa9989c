"""Properties of the Alto -> Fixflo plan over random agencies (Hypothesis)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given

from tests.rulesets.alto import applied, plan
from tests.rulesets.strategies import agencies

Records = dict[str, list[dict[str, Any]]]


@given(agencies())
def test_the_plan_is_deterministic(records: Records) -> None:
    first = json.dumps(plan(records).to_json(), sort_keys=True, default=str)
    again = json.dumps(plan(copy.deepcopy(records)).to_json(), sort_keys=True, default=str)
    assert first == again


@pytest.mark.req("G-01", "G-04", "G-05")
@given(agencies())
def test_applying_the_plan_then_planning_again_changes_nothing(records: Records) -> None:
    after = applied(plan(records), records)
    second = plan(after)
    assert second.operations == (), [op.to_json() for op in second.operations]


@pytest.mark.req("G-03")
@given(agencies())
def test_no_person_without_an_email_is_ever_created(records: Records) -> None:
    for op in plan(records).operations:
        if op.op == "create" and op.kind in {"occupier", "landlord", "contractor"}:
            assert op.fields["EmailAddress"]


@pytest.mark.req("L-02")
@given(agencies())
def test_a_landlord_is_archived_only_when_archived_or_deleted_in_alto(records: Records) -> None:
    contacts = {row["id"]: row for row in records["alto.contacts"]}
    for op in plan(records).operations:
        if op.kind == "landlord" and op.op == "archive":
            source = contacts[op.source_id or ""]
            assert source["archived"] or source["deleted"]
            assert [item.rule for item in op.because] == ["L-03"]


@pytest.mark.req("T-05")
@given(agencies())
def test_an_occupier_whose_tenancies_all_ended_is_archived(records: Records) -> None:
    made = plan(records)
    archived = {
        op.source_id for op in made.operations if op.kind == "occupier" and op.op == "archive"
    }
    live = {"Active", "Periodic", "Renewal in Progress", "Vacate in Progress"}
    in_fixflo = {row["ExternalRef"] for row in records["fixflo.tenants"] if not row["IsDeleted"]}
    for contact in records["alto.contacts"]:
        held = [
            t for t in records["alto.tenancies"] if contact["id"] in {x["id"] for x in t["tenants"]}
        ]
        if held and not any(t["status"] in live for t in held) and contact["id"] in in_fixflo:
            assert contact["id"] in archived
