"""Properties of the Alto -> Fixflo plan over random agencies (Hypothesis)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given

from tests.rulesets.alto import applied, plan
from tests.rulesets.strategies import LIVE, agencies

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
def test_a_landlord_is_archived_only_when_archived_or_inactive_in_alto(records: Records) -> None:
    contacts = {row["id"]: row for row in records["alto.contacts"]}
    details = {row["id"]: row for row in records["alto.contact_details"]}
    for op in plan(records).operations:
        if op.kind == "landlord" and op.op == "archive":
            source = contacts[op.source_id or ""]
            full = details.get(op.source_id or "", {})
            assert not source["isActive"] or full.get("archived")
            assert [item.rule for item in op.because] == ["L-03"]


def _live_places(records: Records) -> dict[str, set[str]]:
    """Per contact id, the properties of the live tenancies it holds a place on."""
    tenancies = {row["id"]: row for row in records["alto.tenancies"]}
    live: dict[str, set[str]] = {}
    for place in records["alto.tenancy_tenants"]:
        held = tenancies[place["tenancyId"]]
        if held["status"] in LIVE:
            live.setdefault(place["contactId"], set()).add(held["propertyId"])
    return live


@pytest.mark.req("T-05")
@given(agencies())
def test_an_occupier_whose_tenancies_all_ended_is_archived(records: Records) -> None:
    made = plan(records)
    archived = {
        op.source_id for op in made.operations if op.kind == "occupier" and op.op == "archive"
    }
    in_fixflo = {row["ExternalRef"] for row in records["fixflo.tenants"] if not row["IsDeleted"]}
    live = _live_places(records)
    for contact in records["alto.contacts"]:
        held = [p for p in records["alto.tenancy_tenants"] if p["contactId"] == contact["id"]]
        if held and contact["id"] not in live and contact["id"] in in_fixflo:
            assert contact["id"] in archived


@pytest.mark.req("T-05")
@given(agencies())
def test_only_unwanted_links_between_managed_records_are_removed(records: Records) -> None:
    made = plan(records)
    people = {row["id"] for row in records["alto.contacts"]}
    places = {row["inventoryId"] for row in records["alto.inventory"]}
    live = _live_places(records)
    for op in made.operations:
        if op.op == "unlink":
            assert op.target == "fixflo.tenant_properties"  # landlord links are never removed
            assert op.fields["TenantExternalRef"] in people
            assert op.fields["PropertyExternalRef"] in places
    after = applied(made, records)["fixflo.tenant_properties"]
    for row in records["fixflo.tenant_properties"]:
        who, where = row["TenantExternalRef"], row["PropertyExternalRef"]
        if who not in people or where not in places:
            assert row in after  # not the integration's to remove
    for row in after:
        who, where = row["TenantExternalRef"], row["PropertyExternalRef"]
        if who in people and where in places:
            assert where in live.get(who, set()), row  # only live tenancies stay linked
