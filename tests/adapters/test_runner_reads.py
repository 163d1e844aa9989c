"""What the nightly runner reads through the adapters: a Fixflo issue that is not there, and
Alto's lookups after a lost answer (issues with their parts and files:
tests/adapters/test_fixflo_issues.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

import httpx
import pytest

from adapters.alto import AltoAdapter, AltoAuth
from adapters.errors import (
    HTTPStatusError,
    NotFoundError,
    NotOfferedError,
    OutcomeUnknownError,
)
from adapters.fixflo import FixfloAdapter, FixfloAuth
from engine.errors import OutcomeUnknown
from engine.ports import (
    Attachment,
    ChargeLookup,
    DocumentLookup,
    WorksOrderLookup,
)
from simulator.fake import FakeAlto, FakeFixflo, Faults, parse_faults
from simulator.fake._pdf import pdf_document
from simulator.lifecycle import AltoWorld
from tests.adapters.fakes import FAST, MODES, base_url, client
from tests.rulesets.lifecycle import RULESET
from tests.simulator.test_fake_lifecycle import _played

PREFIX = "/api/v2"
DECLARED = RULESET.sources["fixflo.issues"].fields
TOP_LEVEL = sorted({path.split(".", 1)[0] for path in DECLARED})
ORDER = {"summary": "Boiler not heating", "priority": "High", "reportedDate": "2026-11-20"}


def _faults(rate: float, seed: int = 5) -> Faults:
    return Faults(parse_faults(f"all={rate}"), seed=seed, retry_after=0.001, delay=0.001)


def _at(record: Any, path: str) -> Any:
    """The value at a declared path (``Job.Id``; ``Quotes.Amount`` over a list)."""
    head, _, rest = path.partition(".")
    value = record.get(head) if isinstance(record, Mapping) else None
    if not rest:
        return value
    if isinstance(value, list):
        return [_at(item, rest) for item in value]
    return _at(value, rest)


def _mock(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://f.test")


async def _with_fixflo(fake: FakeFixflo, mode: str, job: Callable[[FixfloAdapter], Any]) -> Any:
    with base_url(mode, fake.app, PREFIX) as (url, transport):
        async with client(url, transport, FixfloAuth(fake.token)) as http:
            return await job(FixfloAdapter(http, retry=FAST))


def _alto_auth(url: str, fake: FakeAlto) -> AltoAuth:
    return AltoAuth(url + "/token", fake.client_id, fake.client_secret, fake.agency_ref)


async def _with_alto(fake: FakeAlto, mode: str, job: Callable[[AltoAdapter], Any]) -> Any:
    with base_url(mode, fake.app) as (url, transport):
        async with client(url, transport, _alto_auth(url, fake)) as http:
            return await job(AltoAdapter(http, retry=FAST, page_size=2))


# Fixflo issues (the round trip, parts and files: tests/adapters/test_fixflo_issues.py) --


def test_a_missing_issue_is_not_found() -> None:
    fake = FakeFixflo(5, seed=1, world=_played().fixflo)

    async def job(fixflo: FixfloAdapter) -> Any:
        return await fixflo.read_issue("I999")

    with pytest.raises(NotFoundError):
        asyncio.run(_with_fixflo(fake, "asgi", job))


# Fixflo files ---------------------------------------------------------------------------


def test_the_alto_adapter_implements_the_lookup_ports() -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url="http://a.test") as http:
            alto = AltoAdapter(http)
            for port in (WorksOrderLookup, DocumentLookup, ChargeLookup):
                assert isinstance(alto, port)

    asyncio.run(run())
    assert issubclass(OutcomeUnknownError, OutcomeUnknown)
    assert not issubclass(NotFoundError, OutcomeUnknown)


@pytest.mark.parametrize("mode", MODES)
def test_alto_lookups_find_what_was_written_and_nothing_else(mode: str) -> None:
    spec = "all@GET=0.1,all@/work-orders=0.1,all@/documents=0.1,lost@POST /documents=0.3"
    fake = FakeAlto(5, seed=1, faults=Faults(parse_faults(spec), seed=4, retry_after=0.001))
    invoice = Attachment("invoice-INV-1.pdf", pdf_document(["Invoice"]))

    async def job(alto: AltoAdapter) -> dict[str, Any]:
        order = await _written(alto, invoice)
        works = str(order["id"])
        return {
            "document": await alto.find_document("WorkOrder", works, invoice.name),
            "other name": await alto.find_document("WorkOrder", works, "photo.pdf"),
            "other record": await alto.find_document("WorkOrder", "700999", invoice.name),
            "other type": await alto.find_document("Property", works, invoice.name),
        }

    found = asyncio.run(_with_alto(fake, mode, job))
    assert sorted(d["fileName"] for d in fake.documents.values()) == [invoice.name, "other.pdf"]
    assert sorted(c["invoiceReference"] for c in fake.charges.values()) == ["INV-0", "INV-1"]
    assert fake.log.faults().get("lost", 0) >= 1
    assert found["document"]["fileName"] == invoice.name
    assert found["document"]["id"] in fake.documents
    nothing = [key for key, value in found.items() if value is None]
    assert sorted(nothing) == sorted(set(found) - {"document"})


async def _written(alto: AltoAdapter, invoice: Attachment) -> dict[str, Any]:
    """A works order with two documents and two charges, each written exactly once however
    the document posts fail: after an unknown outcome, the lookup says whether to post
    again. Charges are posted once: Alto's contract has no read of them to ask."""
    identity = {"propertyId": "100001", "summary": ORDER["summary"]}
    order = await alto.create_works_order("100001", ORDER, identity=identity)
    works = str(order["id"])
    for document in (Attachment("other.pdf", b"%PDF-1.4 other"), invoice):
        await _once(
            partial(alto.attach_document, "WorkOrder", works, document),
            partial(alto.find_document, "WorkOrder", works, document.name),
        )
    for reference in ("INV-0", "INV-1"):
        charge = {"chargeType": "Maintenance", "invoiceReference": reference, "workOrderId": works}
        await alto.post_charge("inventory", "100001", charge, invoice)
    return order


async def _once(write: Callable[[], Awaitable[Any]], find: Callable[[], Awaitable[Any]]) -> None:
    for _ in range(30):
        try:
            await write()
            return
        except OutcomeUnknownError:
            if await find() is not None:
                return
    raise AssertionError("the write never landed")


def test_alto_lookups_read_the_world_a_fake_is_backed_by() -> None:
    def identify(order: Mapping[str, Any]) -> str | None:
        return "I1" if order.get("summary") == ORDER["summary"] else None

    world = AltoWorld(identify=identify)
    earlier_upload = {"id": "800900", "fileName": "report.pdf", "linkedType": "WorkOrder"}
    world.documents.append(earlier_upload | {"linkedId": "700900", "createdDate": None})
    fake = FakeAlto(5, seed=1, alto_world=world)
    invoice = Attachment("invoice-INV-1.pdf", pdf_document(["Invoice"]))

    async def job(alto: AltoAdapter) -> list[Any]:
        order = await _written(alto, invoice)
        return [
            await alto.find_document("WorkOrder", str(order["id"]), invoice.name),
            await alto.find_document("WorkOrder", "700900", "report.pdf"),
        ]

    document, earlier = asyncio.run(_with_alto(fake, "asgi", job))
    assert document is not None
    (stored,) = [d for d in world.documents if d["id"] == document["id"]]
    assert stored["fileName"] == invoice.name
    assert stored in world.documents_of("I1")  # its works order is issue I1's
    assert (earlier["id"], earlier["fileName"], earlier["type"]) == (
        "800900",
        "report.pdf",
        "WorkOrder",
    )
    assert [charge["invoiceReference"] for charge in world.charges_of("I1")] == ["INV-0", "INV-1"]
    assert {charge["post"] for charge in world.charges} == {"property"}


def test_an_alto_without_the_lookups_raises_not_found_and_charges_are_never_asked() -> None:
    fake = FakeAlto(5, seed=1, lookups=False)

    async def job(alto: AltoAdapter) -> list[BaseException]:
        caught: list[BaseException] = []
        for lookup in (
            alto.find_document("WorkOrder", "700001", "invoice.pdf"),
            alto.find_charge("inventory", "100001", "INV-1"),
            alto.find_charge("tenancies", "T1", "INV-1"),
        ):
            with pytest.raises(NotFoundError) as exc:
                await lookup
            caught.append(exc.value)
        return caught

    caught = asyncio.run(_with_alto(fake, "asgi", job))
    assert [type(error) for error in caught] == [NotOfferedError] * 3
    assert [getattr(error, "status", None) for error in caught] == [404, None, None]
    assert "check in Alto" in str(caught[0])
    assert "'invoice.pdf'" in str(caught[0])
    assert "GET /inventory/100001/charges" in str(caught[1])
    assert "no read of charges" in str(caught[2])
    assert not [e for e in fake.log.entries if e.path.endswith("/charges")]


def test_a_404_lookup_endpoint_raises_not_found_and_other_errors_stay() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("linkedId") == "1":
            return httpx.Response(404, json={"title": "Not Found", "status": 404})
        return httpx.Response(400, json={"title": "Bad Request", "status": 400})

    async def run() -> tuple[BaseException, BaseException]:
        async with _mock(handler) as http:
            alto = AltoAdapter(http, retry=FAST)
            with pytest.raises(NotFoundError) as absent:
                await alto.find_document("WorkOrder", "1", "a.pdf")
            with pytest.raises(HTTPStatusError) as refused:
                await alto.find_document("WorkOrder", "2", "a.pdf")
            return absent.value, refused.value

    absent, refused = asyncio.run(run())
    assert absent.status == 404  # type: ignore[attr-defined]
    assert isinstance(absent.__cause__, NotFoundError)
    assert not isinstance(refused, NotFoundError)
    assert refused.status == 400  # type: ignore[attr-defined]
