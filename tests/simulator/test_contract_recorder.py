"""The contract checker and recorder: each kind of violation, the teeth, the pending list."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from adapters.alto import AltoAdapter, AltoAuth
from engine.ports import Attachment
from simulator.fake import FakeAlto, FakeFixflo, contract
from simulator.fake._alto_writes import ORDER_FIELDS
from simulator.fake.contract import (
    Exchange,
    Violation,
    check_exchange,
    journal_position,
    load_contract,
    recorded,
    served_operations,
    violations_since,
)
from simulator.lifecycle.worlds import AltoWorld

ALTO = {"agencyref": "agency-1", "authorization": "Bearer t"}
JSON = {"content-type": "application/json"}
PAGE = json.dumps({"meta": {"nextToken": None}, "items": []}).encode()
ENVELOPE = {"HttpStatusCode": 200, "HttpStatusCodeDesc": "OK", "Errors": [], "Messages": []}


def _alto(method: str, path: str, **kwargs: object) -> list[Violation]:
    headers = {**ALTO, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return check_exchange("alto", Exchange(method, path, headers=headers, **kwargs))  # type: ignore[arg-type]


def _places(found: list[Violation]) -> list[tuple[str, str]]:
    return [(v.part, v.where) for v in found]


def test_a_contract_true_exchange_has_no_violation() -> None:
    assert (
        _alto(
            "GET",
            "/inventory/filter",
            query=(("next-token", "a"), ("max-results", "250")),
            response_body=PAGE,
        )
        == []
    )


def test_no_operation_and_wrong_method_are_violations() -> None:
    (gone,) = check_exchange("fixflo", Exchange("GET", "/api/v2/AgencySettings"), prefix="/api/v2")
    assert gone.operation is None
    assert "no operation" in gone.what
    (method,) = _alto("DELETE", "/inventory/filter")
    assert "only GET" in method.what
    (cased,) = check_exchange(
        "fixflo", Exchange("GET", "/api/v2/agency/settings"), prefix="/api/v2"
    )
    assert cased.operation is None


def test_fixflo_paths_live_under_the_prefix() -> None:
    body = json.dumps({"AgencyName": "A", "WorkflowType": "Full"}).encode()
    ok = Exchange("GET", "/api/v2/Agency/Settings", response_body=body)
    assert check_exchange("fixflo", ok, prefix="/api/v2") == []
    (outside,) = check_exchange("fixflo", Exchange("GET", "/Agency/Settings"), prefix="/api/v2")
    assert "prefix" in outside.what


@pytest.mark.req("G-01")
def test_teeth_camel_case_paging_on_inventory_filter_is_a_violation() -> None:
    found = _alto(
        "GET",
        "/inventory/filter",
        query=(("nextToken", "a"), ("maxResults", "50")),
        response_body=PAGE,
    )
    assert _places(found) == [("request query", "nextToken"), ("request query", "maxResults")]
    assert "did you mean 'next-token'" in found[0].what


def test_query_enum_range_repeat_and_required() -> None:
    found = _alto(
        "GET",
        "/contacts/all",
        query=(
            ("category", "Client"),
            ("category", "Landlord"),
            ("persona", "Tenant"),
            ("persona", "Owner"),
        ),
        response_body=PAGE,
    )
    assert [(v.where, v.what.split(" ")[0]) for v in found] == [
        ("category", "given"),
        ("category", "'Landlord'"),
        ("persona", "'Owner'"),
    ]
    (size,) = _alto("GET", "/inventory/filter", query=(("max-results", "251"),), response_body=PAGE)
    assert "outside 1..250" in size.what
    (query,) = _alto("GET", "/inventory/search", response_body=PAGE)
    assert (query.where, query.what) == ("query", "missing; the contract requires it")


def test_a_missing_required_header_is_a_violation() -> None:
    found = check_exchange("alto", Exchange("GET", "/inventory/filter", response_body=PAGE))
    assert _places(found) == [("request header", "agencyref")]


def test_request_body_unknown_nested_field_missing_required_and_enum() -> None:
    body = {
        "propertyId": "1",
        "summary": "s",
        "priority": "1",
        "reportedDate": "d",
        "reporterDetails": {"type": "Tenant", "id": "3", "name": "x"},
        "tenantId": "3",
    }
    found = _alto(
        "POST", "/work-orders", headers=JSON, body=json.dumps(body).encode(), response_body=b"{}"
    )
    assert _places(found) == [
        ("request body", "reporterDetails.name"),
        ("request body", "tenantId"),
    ]
    del body["priority"], body["tenantId"]
    body["reporterDetails"] = {"type": "Tenant"}
    (missing,) = _alto(
        "POST", "/work-orders", headers=JSON, body=json.dumps(body).encode(), response_body=b"{}"
    )
    assert (missing.where, missing.what) == ("priority", "missing; the contract requires it")


def test_fixflo_unknown_body_field_is_a_violation() -> None:
    body = json.dumps({"ExternalRef": "C1", "FirstName": "A", "SendWelcomeEmail": True}).encode()
    answer = json.dumps({**ENVELOPE, "Entity": {"id": "1", "ExternalRef": "C1"}}).encode()
    found = check_exchange(
        "fixflo", Exchange("POST", "/Tenant", headers=JSON, body=body, response_body=answer)
    )
    assert _places(found) == [("request body", "SendWelcomeEmail")]


def test_content_type_and_multipart_field_names() -> None:
    (kind,) = _alto(
        "PATCH",
        "/work-orders/7",
        body=b'[{"op":"replace","path":"/priority","value":"1"}]',
        headers={"content-type": "application/json-patch+json"},
        status=204,
    )
    assert kind.where == "content-type"
    request = httpx.Request(
        "POST",
        "http://a/inventory/1/charges",
        data={"chargeType": "Plumbing", "amount": "3"},
        files={"invoiceDocument": b"%PDF"},
    )
    body = request.read()
    found = _alto(
        "POST",
        "/inventory/1/charges",
        body=body,
        headers={"content-type": request.headers["content-type"]},
        response_body=b"{}",
    )
    assert _places(found) == [("request body", "amount")]
    request = httpx.Request(
        "POST", "http://a/inventory/1/charges", data={"chargeType": "Gas"}, files={"f": b"x"}
    )
    found = _alto(
        "POST",
        "/inventory/1/charges",
        body=request.read(),
        headers={"content-type": request.headers["content-type"]},
        response_body=b"{}",
    )
    assert [v.where for v in found] == ["chargeType", "f"]


def test_response_unknown_fields_in_list_items_and_enums() -> None:
    page = {
        "meta": {"nextToken": None},
        "items": [
            {"inventoryId": "1", "status": "Let"},
            {"inventoryId": "2", "status": "Lettings", "oid": "x"},
        ],
    }
    found = _alto("GET", "/inventory/filter", response_body=json.dumps(page).encode())
    assert _places(found) == [
        ("response body", "items[1].status"),
        ("response body", "items[1].oid"),
    ]
    assert "InventoryStatus" in found[0].what


def test_error_answers_are_held_to_the_operations_error_shape() -> None:
    problem = json.dumps({"title": "Bad", "status": 400, "traceId": "x"}).encode()
    assert _alto("GET", "/tenancies", status=400, response_body=problem) == []
    (wrong,) = _alto("GET", "/suppliers", status=400, response_body=problem[:-1] + b',"x":1}')[:1]
    assert "ErrorsResponse" in wrong.what
    assert _alto("GET", "/suppliers", status=502, response_body=b"<html>bad gateway</html>") == []


def _fixflo(method: str, path: str, **kwargs: object) -> list[Violation]:
    return check_exchange("fixflo", Exchange(method, "/api/v2" + path, **kwargs), prefix="/api/v2")  # type: ignore[arg-type]


def test_a_fixflo_write_refused_with_http_200_is_held_to_the_envelope() -> None:
    """fixflo.md section 0: errors may arrive with HTTP 200, in the Envelope, even from
    Subscribe, whose success is ``{id}``; a read is never enveloped."""
    refusal = {**ENVELOPE, "Errors": ["Secret must be ..."], "Entity": None}
    body = json.dumps({"TargetUrl": "https://x.example/h", "Secret": "short"}).encode()
    subscribe = {"headers": JSON, "body": body}
    assert (
        _fixflo(
            "POST", "/Webhook/Subscribe", **subscribe, response_body=json.dumps(refusal).encode()
        )
        == []
    )
    (odd,) = _fixflo(
        "POST",
        "/Webhook/Subscribe",
        **subscribe,
        response_body=json.dumps({**refusal, "Reason": "x"}).encode(),
    )
    assert odd.where == "Reason"
    assert "(error shape Envelope)" in odd.what
    no_errors = json.dumps({**ENVELOPE, "Entity": None}).encode()
    assert {
        v.where for v in _fixflo("POST", "/Webhook/Subscribe", **subscribe, response_body=no_errors)
    } == set(ENVELOPE) | {"Entity"}
    on_a_read = _fixflo("GET", "/Webhooks", response_body=json.dumps(refusal).encode())
    assert on_a_read
    assert "an array" in on_a_read[0].what


def test_the_webhook_operations_requests_and_answers_are_checked() -> None:
    (misspelled,) = _fixflo(
        "POST",
        "/Webhook/Subscribe",
        headers=JSON,
        body=b'{"TargetUrl": "https://x.example", "Secrets": "s"}',
        response_body=b'{"id": "1"}',
    )
    assert (misspelled.part, misspelled.where) == ("request body", "Secrets")
    assert "did you mean 'Secret'" in misspelled.what
    (query,) = _fixflo("DELETE", "/Webhook/Unsubscribe", query=(("Id", "1"),), response_body=b"{}")
    assert (query.part, query.where) == ("request query", "Id")
    item = {
        "id": "1",
        "WebHookUrl": "u",
        "SendTime": "t",
        "Failed": "true",
        "FailureMessage": None,
        "ResponseStatus": 500,
        "RequestBody": "{}",
        "ResponseBody": None,
    }
    page = {"Items": [item], "TotalItems": 1, "TotalPages": 1, "NextURL": None, "PreviousURL": None}
    assert (
        _fixflo(
            "GET",
            "/Webhook/Activity",
            query=(("Id", "1"), ("FailedOnly", "true"), ("pg", "1")),
            response_body=json.dumps(page).encode(),
        )
        == []
    )
    page["Items"] = [{**item, "Event": "Issue add"}]
    (extra,) = _fixflo("GET", "/Webhook/Activity", response_body=json.dumps(page).encode())
    assert extra.where == "Items[0].Event"
    (listed,) = _fixflo("GET", "/Webhooks", response_body=b'[{"id": "1", "url": "u"}]')
    assert listed.where == "[0].url"
    assert "did you mean 'Url'" in listed.what


@pytest.mark.contract_violation_expected("request body Secrets: a field the contract never takes")
def test_the_fake_fixflos_recorder_logs_a_misspelled_subscribe_and_passes_its_own_answers() -> None:
    fake = FakeFixflo(3, seed=1)

    async def run() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {fake.token}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fake.app),
            headers=headers,
            base_url="http://fixflo.test/api/v2",
        ) as client:
            good = {"TargetUrl": "https://x.example/h", "Secret": "s" * 20, "Events": []}
            made = await client.post("/Webhook/Subscribe", json=good)
            return [
                made,
                await client.post("/Webhook/Subscribe", json={**good, "Secrets": "x"}),
                await client.post("/Webhook/Subscribe", json={**good, "Secret": "short"}),
                await client.get("/Webhooks"),
                await client.get("/Webhook/Activity", params={"Id": made.json()["id"]}),
                await client.delete("/Webhook/Unsubscribe", params={"id": made.json()["id"]}),
                await client.delete("/Webhook/Unsubscribe", params={"id": "gone"}),
            ]

    answers = asyncio.run(run())
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200, 200, 404]
    assert [str(v) for v in fake.recorder.violations] == [
        "fixflo POST /api/v2/Webhook/Subscribe [webhook_subscribe] request body Secrets: "
        "a field the contract never takes here (did you mean 'Secret'?)"
    ]


def test_an_answer_where_the_contract_gives_no_body_or_not_json() -> None:
    (body,) = _alto(
        "PATCH",
        "/work-orders/7",
        headers=JSON,
        body=b'[{"op":"replace","path":"/priority","value":"1"}]',
        status=204,
        response_body=b'{"ok": true}',
    )
    assert "gives none" in body.what
    (text,) = _alto("GET", "/inventory/filter", response_body=b"not json")
    assert "not JSON" in text.what


FIELDS = sorted(load_contract().operation("fixflo", "tenant_save").request.fields)  # type: ignore[union-attr]


@given(
    known=st.sets(st.sampled_from(FIELDS)),
    unknown=st.sets(st.text("abcxyzQ", min_size=1, max_size=8).filter(lambda n: n not in FIELDS)),
)
def test_any_set_of_fields_is_judged_by_exactly_the_unknown_ones(
    known: set[str], unknown: set[str]
) -> None:
    body = json.dumps(dict.fromkeys(known | unknown, None)).encode()
    found = check_exchange(
        "fixflo",
        Exchange(
            "POST", "/Tenant", headers=JSON, body=body, response_body=json.dumps(ENVELOPE).encode()
        ),
    )
    assert {v.where for v in found} == unknown


def _fake_alto() -> Starlette:
    async def page(request: Request) -> Response:
        return JSONResponse(
            {"meta": {"nextToken": None}, "items": [{"inventoryId": "1", "oid": "9"}]}
        )

    return Starlette(routes=[Route("/inventory/filter", page)])


@pytest.mark.contract_violation_expected
@pytest.mark.asyncio
async def test_the_recorder_logs_what_the_fake_and_the_client_did_wrong() -> None:
    start = journal_position()
    app = recorded(_fake_alto(), "alto")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://alto.test") as client:
        answer = await client.get("/inventory/filter", params={"nextToken": "a"}, headers=ALTO)
    assert answer.json()["items"][0]["oid"] == "9"  # passed through untouched
    assert [v.where for v in app.violations] == ["nextToken", "items[0].oid"]
    assert [v.where for v in violations_since(start)] == ["nextToken", "items[0].oid"]


@pytest.mark.asyncio
async def test_the_recorder_reads_a_streamed_body_and_replays_it_to_the_app() -> None:
    seen: list[bytes] = []

    async def join(request: Request) -> Response:
        seen.append(await request.body())
        return JSONResponse({**ENVELOPE, "Entity": None})

    app = recorded(
        Starlette(
            routes=[
                Mount("/api/v2", routes=[Route("/LandlordPropertyJoin", join, methods=["POST"])])
            ]
        ),
        "fixflo",
        prefix="/api/v2",
    )

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"ExternalLandlordRef": "L1", '
        yield b'"ExternalPropertyRef": "P1"}'

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f") as c:
        await c.post("/api/v2/LandlordPropertyJoin", content=chunks(), headers=JSON)
    assert seen == [b'{"ExternalLandlordRef": "L1", "ExternalPropertyRef": "P1"}']
    assert list(app.violations) == []


@pytest.mark.contract_violation_expected("ContractorRef")
@pytest.mark.asyncio
async def test_nothing_is_pending_any_more_an_off_contract_job_field_is_logged() -> None:
    """Issue 14 moved the lifecycle onto the contracts: the field that was once excused
    (``ContractorRef`` on a Job) is an ordinary violation, and the recorder has no list of
    excuses left."""

    async def job(request: Request) -> Response:
        return JSONResponse({"id": "1", "ContractorRef": "C1"})

    app = recorded(Starlette(routes=[Route("/Job/{id}", job)]), "fixflo")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://f") as c:
        await c.get("/Job/1")
    (entry,) = app.violations
    assert (entry.operation, entry.where) == ("job_get", "ContractorRef")
    assert not hasattr(entry, "pending")
    assert not any(name.startswith("PENDING") for name in dir(contract))


def test_served_operations_reads_routes_through_mounts_and_middleware() -> None:
    async def ok(request: Request) -> Response:
        return Response()

    api = Starlette(
        routes=[
            Mount(
                "/api/v2", routes=[Route("/Tenant/{id:int}/Property", ok, methods=["POST", "GET"])]
            )
        ]
    )
    assert served_operations(recorded(api, "fixflo")) == {
        ("GET", "/api/v2/Tenant/{id}/Property"),
        ("POST", "/api/v2/Tenant/{id}/Property"),
    }


USED = {
    "alto": (
        "token",
        "inventory_filter",
        "owners_list",
        "contacts_all",
        "contacts_by_id",
        "tenancies_list",
        "tenancy_tenant_ids",
        "suppliers_list",
        "work_order_create",
        "work_order_patch",
        "inventory_work_orders",
        "document_upload",
        "documents_list",
        "charge_property",
        "charge_tenancy",
    ),
    "fixflo": (
        "property_search",
        "landlords_list",
        "tenants_list",
        "contractors_list",
        "property_landlord_properties",
        "tenant_properties",
        "agency_settings",
        "property_get",
        "property_save",
        "property_update_address",
        "tenant_get",
        "tenant_save",
        "landlord_save",
        "contractor_save",
        "landlord_property_join_add",
        "landlord_property_join_delete",
        "tenant_property_link",
        "tenant_property_unlink",
        "issues_list",
        "issue_get",
        "issue_report_pdf",
        "job_get",
        "job_completion_details_get",
        "invoice_details_get",
        "completion_docs_list",
        "webhook_subscribe",
        "webhooks_list",
        "webhook_unsubscribe",
        "webhook_activity",
    ),
}


@pytest.mark.parametrize(
    ("system", "fake", "prefix"), [("alto", FakeAlto, ""), ("fixflo", FakeFixflo, "/api/v2")]
)
def test_the_fakes_serve_exactly_contract_operations_and_every_one_rulebridge_uses(
    system: str, fake: type[FakeAlto] | type[FakeFixflo], prefix: str
) -> None:
    contract = load_contract()
    served = served_operations(fake(size=3, seed=1).app)
    templates = {(op.method, op.pattern.pattern) for op in contract.operations[system].values()}
    for method, path in served:
        example = path.removeprefix(prefix).replace("{", "x").replace("}", "")
        assert contract.match(system, method, example), f"{method} {path} is not in the contract"
    covered = {
        op.key
        for op in contract.operations[system].values()
        if any(
            m == op.method
            and op.pattern.fullmatch(p.removeprefix(prefix).replace("{", "x").replace("}", ""))
            for m, p in served
        )
    }
    assert set(USED[system]) <= covered, sorted(set(USED[system]) - covered)
    assert templates


@pytest.mark.req("W-10")
def test_every_fake_alto_write_and_lookup_is_contract_true_with_nothing_pending() -> None:
    """The lifecycle's whole Alto traffic through the real adapter (a works order, its
    status, its lookup, a document and its lookup, the tenancy lookup, a charge on the
    property and one on the tenancy with tenantId) against a world-backed fake: the
    recorder logs nothing at all, pending or not, and the world holds contract shapes."""
    world = AltoWorld(
        tenancies={"61": {"propertyId": "501", "startDate": "2025-01-01T00:00:00Z",
                          "places": [{"tenantId": "611", "contactId": "42"}]}},
        identify=lambda order: "1042",
    )  # fmt: skip
    fake = FakeAlto(3, seed=1, alto_world=world)
    start = journal_position()
    asyncio.run(_alto_lifecycle_traffic(fake))
    assert [str(v) for v in violations_since(start)] == []
    (order,) = world.works_orders.values()
    assert set(order) <= ORDER_FIELDS | {"id", "status", "modifiedDate"}
    assert order["status"] == "CompleteInvoicingReceived"
    assert world.order_issue == {order["id"]: "1042"}
    assert [set(doc) for doc in world.documents] == [
        {"id", "fileName", "linkedType", "linkedId", "createdDate"}
    ]
    property_charge, tenancy_charge = world.charges
    assert (property_charge["post"], property_charge["targetId"]) == ("property", "501")
    assert (tenancy_charge["post"], tenancy_charge["targetId"]) == ("tenancy", "61")
    assert tenancy_charge["tenantId"] == "611"
    assert tenancy_charge["workOrderId"] == order["id"]
    assert tenancy_charge["invoiceDocument"] == "invoice-1042.pdf"


async def _alto_lifecycle_traffic(fake: FakeAlto) -> None:
    invoice = Attachment("invoice-1042.pdf", b"%PDF-1.4 invoice")
    body = {
        "summary": "Dripping kitchen tap",
        "priority": "3",
        "reportedDate": "2026-11-04T08:00:00Z",
        "reporterDetails": {"type": "Tenant", "id": "42"},
    }
    identity = {"propertyId": "501", "summary": body["summary"]} | {
        "reportedDate": body["reportedDate"]
    }
    transport = httpx.ASGITransport(app=fake.app)
    auth = AltoAuth("http://alto.test/token", fake.client_id, fake.client_secret, fake.agency_ref)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://alto.test", auth=auth
    ) as http:
        alto = AltoAdapter(http)
        order = await alto.create_works_order("501", body, identity=identity)
        works = str(order["id"])
        await alto.update_works_order(works, {"status": "CompleteInvoicingReceived"})
        assert await alto.find_works_order("501", identity) is not None
        await alto.attach_document("WorkOrder", works, invoice)
        assert await alto.find_document("WorkOrder", works, invoice.name) is not None
        tenancy = await alto.find_tenancy("501", "42")
        assert tenancy is not None
        charge = {"chargeType": "Maintenance", "totalNet": 100.0, "totalVat": 20.0,
                  "workOrderId": works, "raiseImmediately": False}  # fmt: skip
        await alto.post_charge("inventory", "501", charge)
        await alto.post_charge(
            "tenancies", tenancy["tenancyId"], charge | {"tenantId": tenancy["tenantId"]}, invoice
        )
