"""Drift repair in the nightly job, over real HTTP to the fake servers on loopback.

Records the first night created are deleted in the fake Fixflo (with their links, as a
person deleting them there would); the next night sees them missing from its snapshot,
creates each again once, remakes its links and says so in the report's ``drift``; the
night after writes nothing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.store import Store
from engine.sync.apply import apply_plan
from rulebridge._config import load_agency_config
from rulebridge.runner import RunLog, RunOptions, _apply_phase, run_nightly
from simulator.fake.fixflo import FakeFixflo
from simulator.fake.loopback import FakeAgency, fake_agency

SIZE, SEED = 40, 3
REF = {"properties": "ExternalPropertyRef", "tenants": "ExternalRef", "landlords": "ExternalRef"}


@pytest.fixture
def agency(tmp_path: Path) -> Iterator[FakeAgency]:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED) as served:
        yield served


def night(agency: FakeAgency) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
    """Run the job once, as `rulebridge run` does; its report, exit code and log lines."""
    stream = io.StringIO()
    config = load_agency_config(agency.config_path)
    outcome = run_nightly(RunOptions(config, agency.store_path), RunLog(stream, terminal=False))
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return outcome.report, outcome.exit_code, lines


def writes(agency: FakeAgency) -> int:
    return len([e for e in agency.fixflo.log.entries if e.method in ("POST", "DELETE")])


def created(agency: FakeAgency, run_id: int, kind: str) -> dict[str, str]:
    """The records of `kind` the run created: source id -> Fixflo id."""
    with Store.open(agency.store_path) as store:
        return {
            row["operation"]["source_id"]: str(row["result"]["target_id"])
            for row in store.audit(run_id)
            if row["op"] == "create" and row["kind"] == kind
        }


def lose(fixflo: FakeFixflo, collection: str, ref: str) -> int:
    """Delete the record bearing `ref` from the fake Fixflo, and every link to it; its id."""
    store = fixflo.store
    (number,) = [
        n for n, r in store.collections[collection].items() if r.get(REF[collection]) == ref
    ]
    del store.collections[collection][number]
    if collection == "properties":
        store.landlord_links = {
            k: v for k, v in store.landlord_links.items() if v["PropertyId"] != number
        }
        store.tenant_links = {
            k: v for k, v in store.tenant_links.items() if v["PropertyId"] != str(number)
        }
    elif collection == "landlords":
        store.landlord_links = {
            k: v for k, v in store.landlord_links.items() if str(v["LandlordId"]) != str(number)
        }
    else:
        store.tenant_links = {
            k: v for k, v in store.tenant_links.items() if v["TenantId"] != number
        }
    return number


def links(fixflo: FakeFixflo) -> set[tuple[str, str, str]]:
    landlords, tenants = fixflo.store.join_records()
    return {
        ("landlord", str(j["ExternalLandlordRef"]), str(j["ExternalPropertyRef"]))
        for j in landlords
    } | {("tenant", str(t["TenantExternalRef"]), str(t["PropertyExternalRef"])) for t in tenants}


def holders(fixflo: FakeFixflo, collection: str, ref: str) -> int:
    rows = fixflo.store.collections[collection].values()
    return sum(1 for r in rows if r.get(REF[collection]) == ref)


@pytest.mark.req("G-01", "G-02")
def test_records_deleted_in_fixflo_come_back_once_with_their_links(agency: FakeAgency) -> None:
    first, code, _ = night(agency)
    assert code == 3  # changes applied; this agency has items for a person (exits.py)
    fake = agency.fixflo
    whole = links(fake)
    properties = created(agency, first["run"]["id"], "property")
    occupiers = created(agency, first["run"]["id"], "occupier")
    joined = {ref for kind, _, ref in whole if kind == "landlord"}
    tenanted = {ref for kind, _, ref in whole if kind == "tenant"}
    # two properties with a landlord and a tenant, and one occupier living elsewhere
    chosen = [ref for ref in sorted(properties) if ref in joined and ref in tenanted][:2]
    person = next(
        ref
        for kind, ref, prop in sorted(whole)
        if kind == "tenant" and ref in occupiers and prop not in chosen
    )
    assert len(chosen) == 2
    lost = {ref: str(lose(fake, "properties", ref)) for ref in chosen}
    lost[person] = str(lose(fake, "tenants", person))
    assert links(fake) < whole

    before = writes(agency)
    second, code, lines = night(agency)
    assert code == 3  # a repaired drift is a change (and the items for a person remain)
    assert second["run"]["changes"] > 0
    drift = second["drift"]
    items = {item["source_id"]: item for item in drift["items"]}
    assert set(items) == set(lost)
    for ref, item in items.items():
        assert item["outcome"] == "recreated", item
        assert item["lost_target_id"] == lost[ref]
        assert item["target_id"] not in (None, lost[ref])
    assert drift["recreated"] == {"occupier": 1, "property": 2}
    assert links(fake) == whole  # every link back, none twice
    gone = [link for link in whole if link[2] in chosen or link[1] == person]
    assert drift["links_repaired"] == len(gone)
    for ref in chosen:
        assert holders(fake, "properties", ref) == 1
    assert holders(fake, "tenants", person) == 1
    assert second["dead_letters"] == []
    assert second["run"]["incomplete"] == 0
    assert writes(agency) > before
    (event,) = [line for line in lines if line.get("event") == "drift"]
    assert event["records"] == 3
    assert event["outcomes"] == {"recreated": 3}
    assert event["links_repaired"] == drift["links_repaired"]
    with Store.open(agency.store_path) as store:
        for ref, item in items.items():
            kind = "occupier" if ref == person else "property"
            entry = store.lookup(kind, ref)
            assert entry is not None
            assert entry.target_id == item["target_id"]

    before = writes(agency)
    third, code, _ = night(agency)
    assert code == 3  # the items for a person remain
    assert third["run"]["changes"] == 0
    assert writes(agency) == before
    assert "drift" not in third
    assert links(fake) == whole


@pytest.mark.req("G-01")
def test_links_dead_lettered_by_nights_before_the_repair_are_made_after_it(
    agency: FakeAgency, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's night: a version without drift repair skipped the lost properties'
    creates and dead-lettered their links. The first night that repairs them queues those
    letters again and makes the links: nothing stays dead for an end that is back."""
    first, _, _ = night(agency)
    fake = agency.fixflo
    whole = links(fake)
    joined = {ref for kind, _, ref in whole if kind == "landlord"}
    properties = created(agency, first["run"]["id"], "property")
    chosen = [ref for ref in sorted(properties) if ref in joined][:3]
    for ref in chosen:
        lose(fake, "properties", ref)

    async def without_repair(*args: Any, **options: Any) -> Any:
        return await apply_plan(*args, **{**options, "repair_drift": False})

    with monkeypatch.context() as patched:
        patched.setattr(_apply_phase, "apply_plan", without_repair)
        before, _, _ = night(agency)
    assert before["reference"]["applied"]["property"]["skipped"] == len(chosen)
    assert len(before["dead_letters"]) >= len(chosen)  # their links: no such property

    repaired, code, _ = night(agency)
    assert code == 3
    assert repaired["run"]["changes"] > 0
    assert sorted(item["source_id"] for item in repaired["drift"]["items"]) == chosen
    assert links(fake) == whole
    assert repaired["dead_letters"] == []
    with Store.open(agency.store_path) as store:
        assert store.dead_letters() == []  # every earlier letter queued again, and made
