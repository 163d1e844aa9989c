"""The fake servers serving the lifecycle worlds: Fixflo issues read through the real
adapter match the Fixflo world; Alto writes made over HTTP land in the Alto world once."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from adapters.alto import AltoAdapter, AltoAuth
from adapters.errors import NotFoundError, OutcomeUnknownError
from adapters.fixflo import FixfloAdapter, FixfloAuth
from adapters.http import Caller
from engine.issues.reconcile import IssueOps, reconcile
from engine.ports import AltoHolding, Attachment, ChargeTarget
from simulator.fake import PDF, FakeAlto, FakeFixflo, Faults, parse_faults
from simulator.fake._pdf import pdf_document
from simulator.lifecycle import AltoWorld, Simulation, load_scenario, violations
from simulator.lifecycle.worlds import LedgerEntry
from tests.adapters.fakes import FAST, MODES, base_url, client
from tests.rulesets.lifecycle import RULESET, SCENARIOS, lifecycle

PREFIX = "/api/v2"
NAMES = sorted(path.stem for path in SCENARIOS.glob("*.yaml"))


def _played() -> Simulation:
    """Every shipped scenario on its own issue (I1, I2...), and two issues still open."""
    sim = Simulation(RULESET)
    for number, name in enumerate(NAMES, 1):
        for step in load_scenario(SCENARIOS / f"{name}.yaml", lifecycle()).steps:
            step = dataclasses.replace(step, issue=f"I{number}")
            if step.event is None:
                sim.deliver(step.issue, step.redeliver)
            else:
                sim.perform(step.event, step.issue, step.details, deliver=step.deliver)
    sim.perform("report", "I20")
    sim.perform("instruct", "I20")
    sim.perform("report", "I21")
    assert violations(sim.fixflo, sim.alto) == []
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


async def _get(caller: Caller, path: str) -> Any:
    try:
        return await caller.json("GET", path)
    except NotFoundError:
        return None


async def _read_fixflo(
    fixflo: FixfloAdapter, caller: Caller, ids: list[str], since: str
) -> dict[str, Any]:
    extra = {
        issue_id: {
            tail: await _get(caller, f"/{path}/{issue_id}/{tail}")
            for path, tail in (
                ("Issue", "jobcompletiondetails"),
                ("issue", "invoicedetails"),
                ("issue", "completiondocs"),
            )
        }
        for issue_id in ids
    }
    return {
        "issues": [issue async for issue in fixflo.read_issues()],
        "closed": [issue["Id"] async for issue in fixflo.read_issues(status="Closed")],
        "since": [i["Id"] async for i in fixflo.read_issues(since=since)],
        "reports": {issue_id: await fixflo.issue_report(issue_id) for issue_id in ids},
        "awarded": await _get(caller, "/Issues/JobAwarded"),
        "job": await _get(caller, "/Job/J-I20"),
        "extra": extra,
    }


@pytest.mark.parametrize("mode", MODES)
def test_issues_read_through_the_adapter_match_the_fixflo_world(mode: str) -> None:
    sim = _played()
    world = sim.fixflo.issues
    fake = FakeFixflo(5, seed=1, page_size=4, world=sim.fixflo, faults=_faults(0.1))
    since = str(world["I5"]["StatusChanged"])

    async def run() -> dict[str, Any]:
        with base_url(mode, fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                caller = Caller(http, retry=FAST)
                fixflo = FixfloAdapter(http, retry=FAST)
                return await _read_fixflo(fixflo, caller, list(world), since)

    read = asyncio.run(run())
    assert [issue["Id"] for issue in read["issues"]] == list(world)
    for issue in read["issues"]:
        held = world[issue["Id"]]
        for key in ("Status", "StatusChanged", "Title", "IssueType", "Quotes", "CloseReason"):
            assert issue[key] == held.get(key), (issue["Id"], key)
        job = issue["Job"] or {}
        for key in ("Id", "AssignedTo", "ContractorRef", "PayingParty", "CompletionNotes"):
            assert job.get(key) == (held.get("Job") or {}).get(key), (issue["Id"], key)
    assert read["closed"] == [key for key, held in world.items() if held["Status"] == "Closed"]
    later = [key for key, held in world.items() if held["StatusChanged"] >= since]
    assert read["since"] == later
    assert 0 < len(later) < len(world)
    assert [url.rsplit("/", 1)[-1] for url in read["awarded"]["Items"]] == ["I20"]
    assert read["job"]["IssueId"] == "I20"
    assert read["job"]["JobCompleted"] is False
    for issue_id, held in world.items():
        extra, invoice = read["extra"][issue_id], held.get("Invoice")
        if invoice is None:
            assert extra["invoicedetails"] is None
        else:
            assert {k: extra["invoicedetails"][k] for k in invoice} == invoice
            assert extra["invoicedetails"]["LineItems"][0]["Total"] == invoice["Total"]
        documents = extra["completiondocs"]
        names = [d["Name"] for d in held.get("CompletionDocuments") or []]
        assert [d["Name"] for d in documents] == names
        assert all(base64.b64decode(d["EncodedByteData"]).startswith(b"%PDF") for d in documents)
        completion = extra["jobcompletiondetails"]
        notes = (held.get("Job") or {}).get("CompletionNotes")
        assert (completion or {}).get("CompletionNotes") == notes
        assert (completion is None) == (issue_id in ("I20", "I21") or "Job" not in held)
        report = read["reports"][issue_id]
        assert report.startswith(b"%PDF-1.4")
        assert report.rstrip().endswith(b"%%EOF")
        assert f"Fixflo issue {issue_id}".encode() in report
    assert {entry.path for entry in fake.log.entries if entry.fault} & {
        f"{PREFIX}/Issues",
        *(f"{PREFIX}/Issue/{issue_id}" for issue_id in world),
    }


async def _once(post: Callable[[], Awaitable[Any]], find: Callable[[], Awaitable[Any]]) -> None:
    """Post; when the outcome is unknown, ask Alto (the adapter's lookup) and post again only
    if it did not land."""
    for _ in range(20):
        try:
            await post()
            return
        except OutcomeUnknownError:
            if await find() is not None:
                return
    raise AssertionError("the write never landed")


async def _integrate(alto: AltoAdapter, world: AltoWorld, result: IssueOps) -> None:
    """What the integration does with a reconcile: the writes over HTTP, then its ledger."""
    issue = result.issue_id
    entry = world.ledger.setdefault(issue, LedgerEntry())
    order: dict[str, Any] = {}
    for op in result.operations:
        fields = dict(op.fields)
        if op.op == "create":
            status = fields.pop("status", None)
            order = dict(fields)
            made = await alto.create_works_order(
                str(fields.pop("propertyId")), fields, reference=issue
            )
            entry.works_order_id = str(made["id"])
            if status:
                await alto.update_works_order(entry.works_order_id, {"status": status})
        elif op.op == "attach":
            await _attach(alto, fields, str(entry.works_order_id))
            entry.documents.add(str(op.name))
        elif op.op == "post":
            await _post(alto, fields, order, str(entry.works_order_id))
            entry.charges.add(str(op.name))
    if not result.stale:
        entry.revision = result.revision


async def _attach(alto: AltoAdapter, fields: dict[str, Any], works: str) -> None:
    name, linked_type = str(fields["name"]), str(fields["linkedType"])
    document = Attachment(name, pdf_document([name]))
    await _once(
        lambda: alto.attach_document(linked_type, works, document),
        lambda: alto.find_document(linked_type, works, name),
    )


async def _post(
    alto: AltoAdapter, fields: dict[str, Any], order: dict[str, Any], works: str
) -> None:
    tenant = fields.pop("payer") == "Tenant"
    invoice = Attachment(str(fields.pop("invoiceDocument")), pdf_document(["Invoice"]))
    fields.pop("totalGross")
    charge = fields | {"workOrderId": works}
    target: ChargeTarget = "tenancies" if tenant else "inventory"
    # Alto's works order names no tenant: the occupier who reported it (engine.issues._job)
    target_id = order["reporterDetails"]["id"] if tenant else order["propertyId"]
    await alto.post_charge(target, str(target_id), charge, invoice)  # once: no read to ask


@pytest.mark.parametrize(("rate", "seed"), [(0.0, 9), (0.1, 9), (0.1, 23), (0.1, 61)])
def test_writes_over_http_land_in_the_alto_world_exactly_once(rate: float, seed: int) -> None:
    sim = _played()
    world = AltoWorld()
    fake = FakeAlto(5, seed=1, faults=_faults(rate, seed), alto_world=world)
    plans = [
        reconcile(RULESET, sim.fixflo.snapshot(key), AltoHolding()) for key in sim.fixflo.issues
    ]

    async def run() -> None:
        with base_url("asgi", fake.app) as (url, transport):
            auth = AltoAuth(url + "/token", fake.client_id, fake.client_secret, fake.agency_ref)
            async with client(url, transport, auth) as http:
                alto = AltoAdapter(http, retry=FAST)
                for result in plans:
                    await _integrate(alto, world, result)

    asyncio.run(run())
    assert violations(sim.fixflo, world) == []

    def orders(alto: AltoWorld) -> list[tuple[Any, ...]]:
        return sorted((o["issueId"], o["status"]) for o in alto.works_orders.values())

    def documents(alto: AltoWorld) -> list[tuple[Any, ...]]:
        return sorted((d["issueId"], d["name"], d["linkedId"]) for d in alto.documents)

    def charges(alto: AltoWorld) -> list[tuple[Any, ...]]:
        keys = ("issueId", "payer", "totalGross", "invoiceReference", "invoiceDocument")
        return sorted(tuple(c[k] for k in keys) for c in alto.charges)

    assert orders(world) == orders(sim.alto)
    assert len(world.works_orders) >= 5
    assert documents(world) == documents(sim.alto)
    assert len(world.documents) >= 5
    assert charges(world) == charges(sim.alto)
    assert len(world.charges) >= 2
    assert fake.work_orders is world.works_orders
    assert list(fake.charges.values()) == world.charges
    if rate:
        assert fake.log.faults()


@pytest.mark.contract_violation_expected("GET /api/v2/Issues/Reported [no operation]")
def test_without_a_world_the_made_up_issues_have_the_same_routes() -> None:
    """The made-up issues come through the same routes, and a list of issues the contract
    lacks (``/Issues/Reported``: only JobAwarded, JobCompleted and Closed exist) is a 404."""
    fake = FakeFixflo(40, seed=3)
    closed = [key for key, issue in fake.store.issues.items() if issue["Status"] == "Closed"]

    async def run() -> dict[str, Any]:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                caller = Caller(http, retry=FAST)
                first = next(iter(fake.store.issues))
                return {
                    "closed": await _get(caller, "/Issues/Closed"),
                    "nothing": await _get(caller, "/Issues/Reported"),
                    "invoice": await _get(caller, f"/issue/{first}/invoicedetails"),
                    "documents": await _get(caller, f"/issue/{first}/completiondocs"),
                    "report": await FixfloAdapter(http, retry=FAST).issue_report(first),
                }

    read = asyncio.run(run())
    assert [int(url.rsplit("/", 1)[-1]) for url in read["closed"]["Items"]] == closed
    assert read["nothing"] is None
    assert read["invoice"] is None
    assert read["documents"] == []
    assert read["report"] == PDF
    assert PDF.startswith(b"%PDF-1.4")


def test_the_pdf_is_well_formed() -> None:
    pdf = pdf_document(["Issue (I1)", "back\\slash"])
    start = int(re.search(rb"startxref\n(\d+)", pdf).group(1))  # type: ignore[union-attr]
    assert pdf[start : start + 4] == b"xref"
    offsets = [int(found) for found in re.findall(rb"(\d{10}) 00000 n", pdf)]
    assert [pdf[at:].split(b"\n", 1)[0] for at in offsets] == [
        b"%d 0 obj" % number for number in range(1, 6)
    ]
    length = int(re.search(rb"/Length (\d+)", pdf).group(1))  # type: ignore[union-attr]
    body = pdf.index(b"stream\n") + len(b"stream\n")
    assert pdf[body + length :].startswith(b"\nendstream")
    assert b"(Issue \\(I1\\)) Tj" in pdf
