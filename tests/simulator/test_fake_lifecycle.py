"""The fake servers serving the lifecycle worlds, through the real adapters and appliers:
Fixflo issues read with the parts their status needs are the Fixflo world's records (the
declared fields); Alto writes the engine makes over HTTP land in the Alto world once, in
the contract's shapes, as the pure simulation makes them, with the recorder on."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.alto import AltoAdapter, AltoAuth
from adapters.fixflo import FixfloAdapter, FixfloAuth, FixfloDocuments
from adapters.fixflo._issues import FieldTree
from engine.issues.apply import apply_issue_ops, attachment_kinds
from engine.issues.reconcile import reconcile
from engine.store import Store
from rulebridge.runner.wiring import issue_fields
from simulator.fake import FakeAlto, FakeFixflo, Faults, parse_faults
from simulator.lifecycle import AltoWorld, Simulation, load_scenario, violations
from simulator.lifecycle.scenario import ruleset_for
from simulator.lifecycle.worlds import PARTS
from tests.adapters.fakes import FAST, MODES, base_url, client
from tests.rulesets.lifecycle import RULESET, SCENARIOS, lifecycle

PREFIX = "/api/v2"
NAMES = sorted(path.stem for path in SCENARIOS.glob("*.yaml"))
FIELDS = issue_fields(RULESET) or ()
LIFECYCLE = lifecycle()
POSTS = {"Landlord": "property", "Tenant": "tenancy"}


def _played(settings: dict[str, Any] | None = None) -> Simulation:
    """Every shipped scenario the agency `settings` allow on its own issue (1, 2...; those
    with other settings are left out), and two issues still open."""
    chosen = settings or {}
    sim = Simulation(ruleset_for(RULESET, chosen))
    for number, name in enumerate(NAMES, 1):
        scenario = load_scenario(SCENARIOS / f"{name}.yaml", LIFECYCLE)
        if dict(scenario.settings) != chosen:
            continue
        for step in scenario.steps:
            step = dataclasses.replace(step, issue=str(number))
            if step.event is None:
                sim.deliver(step.issue, step.redeliver)
            else:
                sim.perform(step.event, step.issue, step.details, deliver=step.deliver)
    sim.perform("report", "90")
    sim.perform("instruct", "90")
    sim.perform("report", "91")
    assert violations(sim.fixflo, sim.alto, chosen) == []
    return sim


def _faults(rate: float, seed: int = 5) -> Faults:
    """Every kind of fault on reads, works orders and documents; on charge posts only 429s,
    which surely did not land: Alto's contract has no read of charges, so a lost answer to
    one cannot be checked and is a person's to settle (`AltoAdapter.find_charge`)."""
    spec = ",".join(
        [f"all@{route}={rate}" for route in ("GET", "/work-orders", "/documents")]
        + [f"429@POST {route}={rate}" for route in ("/inventory", "/tenancies")]
    )
    return Faults(parse_faults(spec), seed=seed, retry_after=0.001, delay=0.001)


def _expected(record: dict[str, Any]) -> dict[str, Any]:
    """The world record as the adapter gives it: the declared fields, and the parts the
    lifecycle reads at its status (the others absent)."""
    read = LIFECYCLE.parts_read(str(record["Status"]))
    kept = {key: value for key, value in record.items() if key not in PARTS or key in read}
    return FieldTree.of(f for f in FIELDS if f.split(".")[0].removesuffix("[]") in kept).project(
        kept, "issue"
    )


@pytest.mark.parametrize("mode", MODES)
def test_issues_read_with_their_parts_are_the_fixflo_world_records(mode: str) -> None:
    sim = _played()
    fake = FakeFixflo(5, seed=1, page_size=4, world=sim.fixflo, faults=_faults(0.05))

    async def run() -> dict[str, Any]:
        with base_url(mode, fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fixflo = FixfloAdapter(http, retry=FAST, issue_fields=FIELDS)
                return {
                    key: await fixflo.read_issue(key, parts_for=LIFECYCLE.parts_read)
                    async for key in fixflo.issue_ids()
                }

    read = asyncio.run(run())
    assert list(read) == list(sim.fixflo.issues)
    for key, record in sim.fixflo.issues.items():
        assert read[key] == _expected(record), key
    closed = [key for key, record in sim.fixflo.issues.items() if record["Status"] == "Closed"]
    assert closed
    assert all("CompletionDocs" in read[key] for key in closed)
    assert "CompletionDocs" not in read["91"]  # a reported issue: no part read


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "agency.db") as opened:
        yield opened


def _view(world: AltoWorld) -> dict[str, list[tuple[Any, ...]]]:
    """The Alto world by issue, with what tells writes apart (ids and stamps aside; HTTP
    sends form values as text)."""
    orders = [(world.issue_of_order(k), o["status"], o["propertyId"], o["summary"])
              for k, o in world.works_orders.items()]  # fmt: skip
    documents = [(world.issue_of_order(d["linkedId"]), d["fileName"], d["linkedType"])
                 for d in world.documents]  # fmt: skip
    charges = [
        (world.issue_of_order(c["workOrderId"]), c["post"], c["targetId"], c.get("tenantId"),
         float(c["totalNet"]), float(c["totalVat"]), c.get("invoiceReference"),
         c.get("invoiceDocument"), str(c.get("raiseImmediately")).lower())
        for c in world.charges
    ]  # fmt: skip
    return {"orders": sorted(orders), "documents": sorted(documents), "charges": sorted(charges)}


@pytest.mark.req("W-03", "W-09", "W-10", "CH-02")
@pytest.mark.parametrize(
    ("rate", "seed", "paying"), [(0.0, 9, "Landlord"), (0.1, 9, "Tenant"), (0.1, 23, "Landlord")]
)
def test_the_engines_writes_over_http_land_in_the_alto_world_exactly_once(
    store: Store, rate: float, seed: int, paying: str
) -> None:
    """Each issue read from the fake Fixflo and applied by the engine to the fake Alto (both
    serving worlds, the real adapters, the real store) leaves Alto exactly as the pure
    simulation does: orders recognised by identity, documents, charges on the tenancy or
    the property, once each whatever the faults."""
    settings = {} if paying == "Landlord" else {"paying_party": paying}
    sim = _played(settings)
    ruleset = sim.ruleset
    world = AltoWorld.seeded()
    world.identify = sim.fixflo.issue_for_order
    alto_fake = FakeAlto(5, seed=1, faults=_faults(rate, seed), alto_world=world)
    fixflo_fake = FakeFixflo(5, seed=1, world=sim.fixflo)
    kinds = attachment_kinds(LIFECYCLE)
    run = store.start_run(ruleset.name, str(ruleset.version), ruleset.content_hash)

    async def integrate() -> None:
        with (
            base_url("asgi", alto_fake.app) as (alto_url, alto_transport),
            base_url("asgi", fixflo_fake.app, PREFIX) as (fixflo_url, fixflo_transport),
        ):
            auth = AltoAuth(alto_url + "/token", alto_fake.client_id, alto_fake.client_secret,
                            alto_fake.agency_ref)  # fmt: skip
            async with (
                client(alto_url, alto_transport, auth) as alto_http,
                client(fixflo_url, fixflo_transport, FixfloAuth(fixflo_fake.token)) as ff_http,
            ):
                alto = AltoAdapter(alto_http, retry=FAST)
                fixflo = FixfloAdapter(ff_http, retry=FAST, issue_fields=FIELDS)
                documents = FixfloDocuments(fixflo)
                for key in sim.fixflo.issues:
                    for _ in range(6):  # a write whose outcome is unknown is settled next time
                        issue = await fixflo.read_issue(key, parts_for=LIFECYCLE.parts_read)
                        result = reconcile(ruleset, issue, store.issue_state(key).holding())
                        applied = await apply_issue_ops(
                            result, alto, documents, store, run=run, attachments=kinds
                        )
                        if applied.complete or applied.dead_letters:
                            break
                    assert applied.complete, (key, applied, sim.fixflo.issues[key])

    asyncio.run(integrate())
    assert _view(world) == _view(sim.alto)
    assert len(world.works_orders) >= 2
    assert {charge["post"] for charge in world.charges} == {
        paying.lower().replace("landlord", "property").replace("tenant", "tenancy")
    }
    assert len(world.order_issue) == len(world.works_orders)  # each one recognised
    judged = dataclasses.replace(world, ledger=sim.alto.ledger)
    assert violations(sim.fixflo, judged, settings) == []
    if rate:
        assert alto_fake.log.faults()
