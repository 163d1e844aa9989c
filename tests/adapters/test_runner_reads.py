"""What the nightly runner reads through the adapters: Fixflo issues with every field the
lifecycle declares, their files (`FixfloDocuments`), and Alto's lookups after a lost answer."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

import httpx
import pytest

from adapters.alto import AltoAdapter, AltoAuth
from adapters.errors import (
    DocumentNotFoundError,
    HTTPStatusError,
    NotFoundError,
    NotOfferedError,
    OutcomeUnknownError,
    ProtocolError,
)
from adapters.fixflo import FixfloAdapter, FixfloAuth, FixfloDocuments
from engine.errors import OutcomeUnknown
from engine.issues.reconcile import reconcile
from engine.ports import (
    AltoHolding,
    Attachment,
    ChargeLookup,
    DocumentLookup,
    DocumentSource,
    WorksOrderLookup,
)
from simulator.fake import FakeAlto, FakeFixflo, Faults, parse_faults
from simulator.fake._pdf import pdf_document
from simulator.lifecycle import AltoWorld, Simulation
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


# Fixflo issues -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_issues_carry_every_declared_field_equal_to_the_world(mode: str) -> None:
    sim = _played()
    world = sim.fixflo.issues
    fake = FakeFixflo(5, seed=1, page_size=4, world=sim.fixflo, faults=_faults(0.1))

    async def job(fixflo: FixfloAdapter) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return [issue async for issue in fixflo.read_issues()], await fixflo.read_issue("I1")

    issues, one = asyncio.run(_with_fixflo(fake, mode, job))
    assert [issue["Id"] for issue in issues] == list(world)
    assert one == issues[0]
    for issue in issues:
        held = world[issue["Id"]]
        assert set(TOP_LEVEL) <= set(issue), sorted(set(TOP_LEVEL) - set(issue))
        for path in DECLARED:
            assert _at(issue, path) == _at(held, path), (issue["Id"], path)
        for name in ("Quotes", "Invoice", "CompletionDocuments"):
            assert issue[name] == held.get(name), (issue["Id"], name)
        assert "AuditTrailVersion" not in issue  # a field nobody declared is dropped
    assert {entry.path for entry in fake.log.entries if entry.fault} & {
        f"{PREFIX}/Issue/{issue_id}" for issue_id in world
    }


@pytest.mark.parametrize("mode", MODES)
def test_a_reconcile_of_the_issues_read_equals_one_of_the_world(mode: str) -> None:
    sim = _played()
    fake = FakeFixflo(5, seed=1, world=sim.fixflo, faults=_faults(0.1, seed=8))

    async def job(fixflo: FixfloAdapter) -> list[dict[str, Any]]:
        return [issue async for issue in fixflo.read_issues()]

    issues = asyncio.run(_with_fixflo(fake, mode, job))
    assert len(issues) == len(sim.fixflo.issues)
    for issue in issues:
        held = sim.fixflo.snapshot(issue["Id"])
        assert reconcile(RULESET, issue, AltoHolding()) == reconcile(
            RULESET, held, AltoHolding()
        ), issue["Id"]
    assert any(reconcile(RULESET, i, AltoHolding()).operations for i in issues)


def test_a_missing_issue_is_not_found() -> None:
    fake = FakeFixflo(5, seed=1, world=_played().fixflo)

    async def job(fixflo: FixfloAdapter) -> Any:
        return await fixflo.read_issue("I999")

    with pytest.raises(NotFoundError):
        asyncio.run(_with_fixflo(fake, "asgi", job))


# Fixflo files ---------------------------------------------------------------------------


def _closed_with_files(sim: Simulation) -> list[str]:
    return [
        key
        for key, issue in sim.fixflo.issues.items()
        if issue["Status"] == "Closed" and issue.get("CompletionDocuments")
    ]


@pytest.mark.parametrize("mode", MODES)
def test_fixflo_documents_serve_every_kind_and_read_each_issue_once(mode: str) -> None:
    sim = _played()
    fake = FakeFixflo(5, seed=1, world=sim.fixflo, faults=_faults(0.1, seed=3))
    issues = _closed_with_files(sim)

    async def job(fixflo: FixfloAdapter) -> dict[str, list[Attachment]]:
        documents = FixfloDocuments(fixflo)
        assert isinstance(documents, DocumentSource)
        fetched: dict[str, list[Attachment]] = {}
        for issue_id in issues:
            held = sim.fixflo.issues[issue_id]
            names = [d["Name"] for d in held["CompletionDocuments"]]
            wanted = [("issue_report", f"issue-{issue_id}.pdf")]
            wanted += [("completion_documents", name) for name in names * 2]
            if (held.get("Invoice") or {}).get("Document"):
                wanted += [("invoice", held["Invoice"]["Document"])] * 2
            fetched[issue_id] = list(
                await asyncio.gather(*(documents.fetch(issue_id, k, n) for k, n in wanted))
            )
        return fetched

    fetched = asyncio.run(_with_fixflo(fake, mode, job))
    assert len(fetched) >= 5
    invoices = 0
    for issue_id, documents in fetched.items():
        held = sim.fixflo.issues[issue_id]
        assert all(d.content.startswith(b"%PDF") for d in documents)
        assert all(d.media_type == "application/pdf" for d in documents)
        assert documents[0].name == f"issue-{issue_id}.pdf"
        assert f"Fixflo issue {issue_id}".encode() in documents[0].content
        names = {d["Name"] for d in held["CompletionDocuments"]}
        invoice = (held.get("Invoice") or {}).get("Document")
        assert {d.name for d in documents[1:]} == names | ({invoice} if invoice else set())
        invoices += bool(invoice)
        for tail in ("completiondocs", "invoicedetails"):
            reads = fake.log.matching("GET", f"{PREFIX}/issue/{issue_id}/{tail}")
            answered = [entry for entry in reads if entry.status == 200]
            assert len(answered) == (1 if tail == "completiondocs" or invoice else 0), tail
    assert invoices >= 3


def test_an_unknown_kind_or_a_missing_document_says_what_and_where() -> None:
    sim = _played()
    fake = FakeFixflo(5, seed=1, world=sim.fixflo)
    without_invoice = next(k for k, i in sim.fixflo.issues.items() if not i.get("Invoice"))
    unnamed_invoice = next(
        k
        for k, i in sim.fixflo.issues.items()
        if i.get("Invoice") and not i["Invoice"].get("Document")
    )

    async def job(fixflo: FixfloAdapter) -> dict[str, BaseException]:
        documents = FixfloDocuments(fixflo)
        calls = {
            "kind": ("I1", "completion_document", "x.pdf"),
            "name": ("I1", "completion_documents", "boiler-photo.pdf"),
            "invoice": (without_invoice, "invoice", "invoice.pdf"),
            "no file": (unnamed_invoice, "invoice", ""),
        }
        caught: dict[str, BaseException] = {}
        for label, (issue_id, kind, name) in calls.items():
            try:
                await documents.fetch(issue_id, kind, name)
            except (KeyError, DocumentNotFoundError) as exc:
                caught[label] = exc
        return caught

    caught = asyncio.run(_with_fixflo(fake, "asgi", job))
    assert isinstance(caught["kind"], KeyError)
    assert "did you mean 'completion_documents'" in str(caught["kind"])
    name = caught["name"]
    assert isinstance(name, DocumentNotFoundError)
    assert isinstance(name, NotFoundError)
    assert name.status == 404
    assert "I1" in str(name)
    assert "'boiler-photo.pdf'" in str(name)
    assert "gas-safety-certificate.pdf" in str(name)  # what the issue has instead
    assert f"issue {without_invoice} has no invoice" in str(caught["invoice"])
    assert "without its file" in str(caught["no file"])


def test_an_invoice_without_a_name_is_named_by_its_number() -> None:
    pdf = pdf_document(["Invoice 77"])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/issue/42/invoicedetails":
            body = {"InvoiceNumber": "77", "Total": 12, "encodedbytedata": _b64(pdf)}
            return httpx.Response(200, json=body)
        return httpx.Response(404, json={"Message": "No invoice found"})

    async def run() -> tuple[Any, Any, Attachment]:
        async with _mock(handler) as http:
            fixflo = FixfloAdapter(http, retry=FAST)
            documents = FixfloDocuments(fixflo)
            fetched = await documents.fetch("42", "invoice", "")
            return await fixflo.invoice("42"), await fixflo.invoice("43"), fetched

    found, missing, fetched = asyncio.run(run())
    assert found == {
        "InvoiceNumber": "77",
        "Total": 12,
        "Document": "invoice-77.pdf",
        "content": pdf,
    }
    assert missing is None
    assert fetched == Attachment("invoice-77.pdf", pdf)


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


@pytest.mark.parametrize(
    ("tail", "body", "expected"),
    [
        ("completiondocs", [{"Name": "cert.pdf", "EncodedByteData": "not base64!"}], "'cert.pdf'"),
        ("completiondocs", [{"Name": "cert.pdf"}], "has no EncodedByteData"),
        ("completiondocs", {"Oops": 1}, "not a list"),
        ("completiondocs", ["cert.pdf"], "completion document 1 of issue 42"),
        ("invoicedetails", {"InvoiceNumber": "7", "EncodedByteData": "%%%"}, "invoice of issue"),
        ("invoicedetails", ["not", "an", "object"], "not a JSON object"),
    ],
)
def test_a_damaged_file_is_a_protocol_error_naming_issue_and_document(
    tail: str, body: Any, expected: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    async def run() -> None:
        async with _mock(handler) as http:
            fixflo = FixfloAdapter(http, retry=FAST)
            if tail == "completiondocs":
                await fixflo.completion_documents(42)
            else:
                await fixflo.invoice(42)

    with pytest.raises(ProtocolError) as caught:
        asyncio.run(run())
    assert expected in str(caught.value)
    assert f"GET /issue/42/{tail}" in str(caught.value)
    assert "42" in str(caught.value)


def test_completion_documents_accept_line_breaks_and_a_paged_answer() -> None:
    pdf = pdf_document(["Certificate"])
    wrapped = "\n".join(_b64(pdf)[i : i + 76] for i in range(0, len(_b64(pdf)), 76))
    body = {"Items": [{"name": "cert.pdf", "encodedByteData": wrapped, "ContentType": "image/png"}]}

    async def run() -> list[Attachment]:
        async with _mock(lambda request: httpx.Response(200, json=body)) as http:
            return await FixfloAdapter(http, retry=FAST).completion_documents("9")

    assert asyncio.run(run()) == [Attachment("cert.pdf", pdf, "image/png")]


# Alto lookups ---------------------------------------------------------------------------


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
