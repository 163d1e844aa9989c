"""The Alto adapter and the fake Alto held to Alto's published contract.

Paging per endpoint over loopback HTTP and in-process, a client using the wrong paging
names caught as a loop, tenants only with include-tenants, contact details 50 ids a call,
strict works-order bodies, no request for a charge read, and the overall request deadline
against a trickling server.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from adapters._paging import alto_cursor
from adapters.alto import AltoAdapter, AltoAuth
from adapters.errors import (
    BadRequestError,
    DeadlineError,
    NotOfferedError,
    PageLoopError,
    RequestTimeoutError,
)
from adapters.http import Caller, Limits
from simulator.fake import FakeAlto, Faults, parse_faults
from tests.adapters.fakes import FAST, MODES, base_url, client


def off_contract(*texts: str) -> pytest.MarkDecorator:
    """The mark of a case that sends something outside the contract on purpose."""
    return pytest.mark.contract_violation_expected(*texts)


def _auth(url: str, fake: FakeAlto) -> AltoAuth:
    return AltoAuth(url + "/token", fake.client_id, fake.client_secret, fake.agency_ref)


def _read(fake: FakeAlto, mode: str, page_size: int = 100) -> dict[str, list[dict[str, Any]]]:
    async def run() -> dict[str, list[dict[str, Any]]]:
        with base_url(mode, fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=FAST, page_size=page_size)
                return {name: [r async for r in alto.read(name)] for name in alto.collections()}

    return asyncio.run(run())


@pytest.mark.parametrize("mode", MODES)
def test_every_collection_is_read_exactly_with_each_endpoints_own_paging(mode: str) -> None:
    fake = FakeAlto(300, seed=5)
    assert _read(fake, mode, page_size=40) == fake.world
    calls = Counter(e.path for e in fake.log.entries)
    pages = -(-len(fake.world["inventory"]) // 40)
    assert calls["/inventory/filter"] == pages
    assert calls["/suppliers"] == -(-len(fake.world["suppliers"]) // 40)
    tenancies = len(fake.world["tenancies"])
    assert sum(n for path, n in calls.items() if path.endswith("/tenantIds")) == tenancies


@pytest.mark.contract_violation_expected("query nextToken", "query maxResults")
def test_the_wrong_paging_name_gets_page_one_again_and_is_caught_as_a_loop() -> None:
    fake = FakeAlto(200, seed=2)

    async def run() -> None:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                await http.get("/inventory/filter")  # a token first
                caller = Caller(http, retry=FAST)
                pages = alto_cursor(
                    caller,
                    "/inventory/filter",
                    {},
                    token_key="nextToken",  # the wrong name, on purpose
                    size_key="maxResults",
                    page_size=10,
                )
                async for _ in pages:
                    pass

    with pytest.raises(PageLoopError, match="/inventory/filter") as caught:
        asyncio.run(run())
    assert "a second time" in str(caught.value) or "repeats" in str(caught.value)


@pytest.mark.parametrize(
    ("path", "size"),
    [
        pytest.param("/inventory/filter", 251, marks=off_contract("max-results: 251 is outside")),
        pytest.param("/tenancies", 101, marks=off_contract("max-results: 101 is outside")),
        ("/contacts/all", 0),
    ],
)
def test_a_page_size_outside_the_contract_is_a_400(path: str, size: int) -> None:
    fake = FakeAlto(20, seed=1)

    async def run() -> httpx.Response:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                return await http.get(path, params={"max-results": str(size)})

    assert asyncio.run(run()).status_code == 400


def test_tenancies_carry_tenants_only_when_asked_and_suppliers_page_camel_case() -> None:
    fake = FakeAlto(60, seed=3)

    async def run() -> tuple[Any, Any, Any]:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                bare = (await http.get("/tenancies")).json()
                full = (await http.get("/tenancies", params={"include-tenants": "true"})).json()
                suppliers = await http.get("/suppliers", params={"maxResults": "1"})
                return bare, full, suppliers.json()

    bare, full, suppliers = asyncio.run(run())
    assert all("tenants" not in t for t in bare["items"])
    assert all(t["tenants"] for t in full["items"])
    assert len(suppliers["items"]) == 1
    assert suppliers["meta"]["nextToken"]


def test_contact_details_are_read_fifty_ids_at_a_time_as_object_or_array() -> None:
    fake = FakeAlto(400, seed=4)
    records = _read(fake, "asgi")
    clients = [c for c in fake.world["contacts"] if c["contactType"]["category"] == "Client"]
    assert len(clients) > 100
    calls = [e for e in fake.log.entries if e.path == "/contacts"]
    assert len(calls) == -(-len(clients) // 50)
    assert records["contact_details"] == fake.world["contact_details"]

    async def one() -> Any:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                single = (await http.get("/contacts", params={"id": clients[0]["id"]})).json()
                many = [("id", c["id"]) for c in clients[:51]]
                refused = await http.get("/contacts", params=many)
                return single, refused.status_code

    single, refused = asyncio.run(one())
    assert isinstance(single, dict)
    assert single["id"] == clients[0]["id"]
    assert refused == 400


@pytest.mark.contract_violation_expected(
    "/charges [no operation] operation: the contract has no GET"
)
def test_no_listing_of_contacts_at_get_contacts_and_no_charge_reads() -> None:
    fake = FakeAlto(10, seed=1)

    async def run() -> list[int]:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                inventory = fake.world["inventory"][0]["inventoryId"]
                return [
                    (await http.get("/contacts")).status_code,
                    (await http.get(f"/inventory/{inventory}/charges")).status_code,
                    (await http.get("/tenancies/abc/tenantIds")).status_code,
                ]

    assert asyncio.run(run()) == [400, 405, 404]


def test_find_charge_asks_alto_nothing() -> None:
    fake = FakeAlto(5, seed=1)

    async def run() -> None:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                await AltoAdapter(http, retry=FAST).find_charge("inventory", "100001", "INV-1")

    with pytest.raises(NotOfferedError, match="no read of charges"):
        asyncio.run(run())
    assert fake.log.entries == []


ORDER = {"summary": "Leak", "priority": "High", "reportedDate": "2026-11-20"}


@pytest.mark.parametrize(
    ("extra", "field"), [({"tenantId": "5"}, "tenantId"), ({"issueType": "Leak"}, "issueType")]
)
def test_a_works_order_field_outside_the_contract_is_refused_before_sending(
    extra: dict[str, Any], field: str
) -> None:
    fake = FakeAlto(5, seed=1)

    async def run() -> None:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=FAST)
                identity = {"propertyId": "100001", "summary": ORDER["summary"]}
                await alto.create_works_order("100001", ORDER | extra, identity=identity)

    with pytest.raises(BadRequestError, match=field) as caught:
        asyncio.run(run())
    assert "works_order map" in str(caught.value)
    assert not [e for e in fake.log.entries if e.path == "/work-orders"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            ORDER | {"propertyId": "100001", "tenantId": "1"},
            "tenantId is not a field",
            marks=off_contract("request body tenantId: a field the contract never takes"),
        ),
        (ORDER | {"propertyId": "100001", "priority": 2}, "priority must be a string"),
        pytest.param(
            {"propertyId": "100001", "summary": "Leak", "priority": "High"},
            "reportedDate",
            marks=off_contract("request body reportedDate: missing"),
        ),
    ],
)
def test_the_fake_refuses_a_body_outside_create_work_order_request(
    body: dict[str, Any], message: str
) -> None:
    fake = FakeAlto(5, seed=1)

    async def run() -> httpx.Response:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                return await http.post("/work-orders", json=body)

    answer = asyncio.run(run())
    assert answer.status_code == 400
    assert message in answer.json()["errors"][0]["message"]


def test_a_trickling_contacts_read_ends_within_the_request_bound() -> None:
    faults = Faults(parse_faults("trickle@GET /contacts/all=1"), seed=1, trickle_interval=0.1)
    fake = FakeAlto(30, seed=1, faults=faults)

    async def run() -> None:
        with base_url("loopback", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=FAST, limits=Limits(request_seconds=1.0))
                async for _ in alto.read("contacts"):
                    pass

    started = time.monotonic()
    with pytest.raises((RequestTimeoutError, DeadlineError)):
        asyncio.run(run())
    assert time.monotonic() - started < 30


def _read_places(fake: FakeAlto, known: list[dict[str, Any]]) -> tuple[list[Any], int]:
    async def run() -> tuple[list[Any], int]:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=FAST)
                alto.remember_places(known)
                [r async for r in alto.read("tenancies")]
                places = [r async for r in alto.read("tenancy_tenants")]
                return places, alto.places_remembered

    return asyncio.run(run())


def test_known_tenancy_places_cost_no_request_and_a_new_tenant_is_read() -> None:
    """Last night's places answer for a tenancy whose every tenant id they hold; a tenancy
    with a tenant id never seen (a new tenant: a new place) is asked again."""
    fake = FakeAlto(120, seed=5)
    places = fake.world["tenancy_tenants"]
    tenancies = fake.world["tenancies"]
    changed = next(t for t in tenancies if t.get("tenants"))
    new_place = str(changed["tenants"][0]["id"])
    known = [p for p in places if str(p["tenantId"]) != new_place]
    asked_before = len(fake.log)
    read, remembered = _read_places(fake, known)
    assert sorted(map(str, (p["tenantId"] for p in read))) == sorted(
        map(str, (p["tenantId"] for p in places))
    )  # the same places as a full read, nothing lost
    asked = [e.path for e in fake.log.entries[asked_before:] if e.path.endswith("/tenantIds")]
    assert asked == [f"/tenancies/{changed['id']}/tenantIds"]
    assert remembered == len([t for t in tenancies if t.get("tenants")]) - 1


def test_a_place_remembered_on_another_tenancy_is_read_again() -> None:
    fake = FakeAlto(60, seed=5)
    places = [dict(p) for p in fake.world["tenancy_tenants"]]
    places[0]["tenancyId"] = -1  # not the tenancy it is listed on tonight
    _, remembered = _read_places(fake, places)
    asked = [e.path for e in fake.log.entries if e.path.endswith("/tenantIds")]
    assert f"/tenancies/{fake.world['tenancy_tenants'][0]['tenancyId']}/tenantIds" in asked
    assert remembered == len(fake.world["tenancies"]) - len(asked)
