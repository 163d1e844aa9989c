"""The Alto adapter against the fake Alto, in-process and over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.alto import AltoAdapter, AltoAuth
from adapters.alto._lookups import matches_identity
from adapters.errors import (
    AuthError,
    ConnectError,
    ForbiddenError,
    OutcomeUnknownError,
    ServerError,
)
from adapters.http import RetryPolicy, make_limiter
from engine.ports import Attachment, Charges, Documents, RecordSource, WorksOrders
from simulator.fake import FakeAlto, Faults, parse_faults
from simulator.lifecycle.worlds import AltoWorld
from tests.adapters.fakes import FAST, MODES, base_url, client

ORDER = {"summary": "Boiler not heating", "priority": "High", "reportedDate": "2026-11-20"}


def _identity(property_id: str, order: dict[str, Any] = ORDER) -> dict[str, Any]:
    """The v2 ruleset's works-order identity of `order` at `property_id`."""
    return {
        "propertyId": property_id,
        "reportedDate": order["reportedDate"],
        "summary": order["summary"],
    }


def _auth(
    url: str, fake: FakeAlto, *, secret: str | None = None, ref: str | None = None
) -> AltoAuth:
    return AltoAuth(
        url + "/token",
        fake.client_id,
        fake.client_secret if secret is None else secret,
        fake.agency_ref if ref is None else ref,
    )


def _faulty(size: int, spec: str, seed: int = 3, retry_after: float = 0.01) -> FakeAlto:
    faults = Faults(parse_faults(spec), seed=seed, retry_after=retry_after, delay=0.01)
    return FakeAlto(size, seed=11, faults=faults)


async def _read_all(adapter: AltoAdapter) -> dict[str, list[dict[str, Any]]]:
    return {name: [r async for r in adapter.read(name)] for name in adapter.collections()}


@pytest.mark.parametrize("mode", MODES)
def test_a_snapshot_read_is_complete_and_exact_under_faults(mode: str) -> None:
    fake = _faulty(120, "all=0.1")

    async def run() -> dict[str, list[dict[str, Any]]]:
        with base_url(mode, fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                return await _read_all(AltoAdapter(http, retry=FAST, page_size=25))

    assert asyncio.run(run()) == fake.world
    assert {"429", "500", "502", "503", "slow", "drop"} & set(fake.log.faults())


@pytest.mark.parametrize("mode", MODES)
def test_works_orders_land_exactly_once_under_faults(mode: str) -> None:
    fake = _faulty(40, "all=0.1,lost@POST /work-orders=0.2,500@POST /work-orders=0.1")
    properties = [record["inventoryId"] for record in fake.world["inventory"]][:30]

    async def run() -> list[dict[str, Any]]:
        with base_url(mode, fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=FAST)
                jobs = [
                    alto.create_works_order(pid, ORDER, identity=_identity(pid))
                    for pid in properties
                ]
                return list(await asyncio.gather(*jobs))

    made = asyncio.run(run())
    assert len(fake.work_orders) == len(properties)
    held = sorted(order["propertyId"] for order in fake.work_orders.values())
    assert held == sorted(properties)  # one each: a lost answer was found, not sent again
    assert all("notes" not in order for order in fake.work_orders.values())  # no marker
    assert {order["id"] for order in made} == set(fake.work_orders)
    assert fake.log.faults().get("lost", 0) >= 1


@pytest.mark.parametrize("mode", MODES)
def test_a_401_refreshes_the_token_once(mode: str) -> None:
    fake = FakeAlto(20, seed=1)

    async def run() -> AltoAuth:
        with base_url(mode, fake.app) as (url, transport):
            auth = _auth(url, fake)
            async with client(url, transport, auth) as http:
                alto = AltoAdapter(http, retry=FAST)
                await _read_all(alto)
                fake.expire_tokens()
                assert [r async for r in alto.read("suppliers")] == fake.world["suppliers"]
                return auth

    auth = asyncio.run(run())
    assert auth.token_requests == 2
    assert fake.token_grants == 2
    assert len([e for e in fake.log.entries if e.status == 401]) == 1


def test_a_refused_secret_raises_auth_error_without_the_secret() -> None:
    fake = FakeAlto(5, seed=1)

    async def run() -> None:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake, secret="wrong-s3cret")) as http:
                await _read_all(AltoAdapter(http, retry=FAST))

    with pytest.raises(AuthError) as caught:
        asyncio.run(run())
    assert "wrong-s3cret" not in str(caught.value)
    assert caught.value.status == 401


@pytest.mark.parametrize("mode", MODES)
def test_a_403_says_the_agency_ref_is_wrong(mode: str) -> None:
    fake = FakeAlto(5, seed=1)
    wrong = "00000000-0000-4000-8000-000000000000"

    async def run() -> None:
        with base_url(mode, fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake, ref=wrong)) as http:
                await _read_all(AltoAdapter(http, retry=FAST))

    with pytest.raises(ForbiddenError, match="AgencyRef is missing or wrong") as caught:
        asyncio.run(run())
    assert caught.value.method == "GET"
    assert caught.value.path == "/inventory/filter"
    assert caught.value.status == 403


@pytest.mark.real_backoff
def test_a_429_waits_for_retry_after() -> None:
    fake = _faulty(30, "429@GET /inventory/filter=0.5", seed=5, retry_after=0.15)
    slow_backoff = RetryPolicy(attempts=20, wait_initial=0.001, wait_max=0.001, wait_jitter=0)

    async def run() -> list[dict[str, Any]]:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=slow_backoff, page_size=5)
                return [r async for r in alto.read("inventory")]

    assert asyncio.run(run()) == fake.world["inventory"]
    reads = fake.log.matching("GET", "/inventory/filter")
    limited = [n for n, entry in enumerate(reads) if entry.fault == "429"]
    assert limited
    for n in limited:
        assert reads[n + 1].at - reads[n].at >= 0.15


def test_the_rate_limiter_never_exceeds_its_limit_over_a_burst() -> None:
    fake = FakeAlto(5, seed=1)
    limit, window = 10, 0.5
    sent: list[float] = []

    async def stamp(_request: Any) -> None:
        sent.append(time.monotonic())

    async def run() -> None:
        with base_url("asgi", fake.app) as (url, transport):
            hooks = {"request": [stamp]}
            async with client(url, transport, _auth(url, fake), event_hooks=hooks) as http:
                limiter = make_limiter(limit, period=window)
                alto = AltoAdapter(http, retry=FAST, limiter=limiter)
                await asyncio.gather(
                    *(alto.find_works_order("100001", _identity("100001")) for _ in range(40))
                )

    asyncio.run(run())
    calls = sorted(sent)[1:]  # the first is the token request, which is not limited
    assert len(calls) == 40
    busiest = max(sum(1 for t in calls if start <= t < start + window) for start in calls)
    assert busiest <= limit
    assert calls[-1] - calls[0] >= (40 - limit) * window / limit * 0.9


def test_documents_and_charges_are_posted() -> None:
    fake = FakeAlto(5, seed=1)
    invoice = Attachment("invoice.pdf", b"%PDF-1.4 tiny")

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=FAST)
                identity = _identity("100001")
                order = await alto.create_works_order("100001", ORDER, identity=identity)
                await alto.update_works_order(order["id"], {"status": "SupplierInstructed"})
                doc = await alto.attach_document("WorkOrder", order["id"], invoice)
                charge = {"chargeType": "Maintenance", "totalNet": 100, "totalVat": 20}
                return doc, await alto.post_charge("inventory", "100001", charge, invoice)

    doc, charge = asyncio.run(run())
    assert fake.documents[str(doc["id"])]["fileName"] == invoice.name
    assert fake.charges[charge["id"]]["invoiceDocument"] == invoice.name
    assert fake.charges[charge["id"]]["post"] == "property"
    assert next(iter(fake.work_orders.values()))["status"] == "SupplierInstructed"


class OneProperty:
    """Alto's works orders of property 1 behind a `MockTransport`: each create is stored,
    then answered by `answers` in turn (``ok``, ``lost``: stored, connection dropped;
    ``503``: nothing stored; ``refused``: no connection), and lookups answer `lookup`."""

    def __init__(self, answers: list[str], lookup: int = 200) -> None:
        self.answers, self.lookup = answers, lookup
        self.orders: list[dict[str, Any]] = []
        self.calls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.method)
        if request.method == "GET":
            page = {"items": self.orders, "meta": {}}
            return httpx.Response(self.lookup, json=page if self.lookup == 200 else {})
        answer = self.answers.pop(0) if self.answers else "ok"
        if answer == "refused":
            raise httpx.ConnectError("refused", request=request)
        if answer == "503":
            return httpx.Response(503, json={"title": "Service Unavailable"})
        order = {"id": str(len(self.orders) + 1), **json.loads(request.content)}
        self.orders.append(order)
        if answer == "lost":
            raise httpx.ReadError("dropped", request=request)
        return httpx.Response(201, json=order)

    def create(self) -> dict[str, Any]:
        async def run() -> dict[str, Any]:
            transport = httpx.MockTransport(self)
            async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as http:
                return await AltoAdapter(http, retry=FAST).create_works_order(
                    "1", ORDER, identity=_identity("1")
                )

        return asyncio.run(run())


def test_a_lost_create_is_looked_up_not_sent_again() -> None:
    alto = OneProperty(["lost"])
    assert alto.create()["id"] == "1"
    assert alto.calls == ["POST", "GET"]
    assert len(alto.orders) == 1


def test_a_create_that_did_not_land_is_sent_again_after_the_lookup() -> None:
    alto = OneProperty(["503", "refused", "ok"])
    assert alto.create()["id"] == "1"
    assert alto.calls == ["POST", "GET", "POST", "GET", "POST"]  # looked up before each


def test_a_create_never_answered_nor_found_is_outcome_unknown() -> None:
    alto = OneProperty(["refused"] * 3 + ["503"] * 20)
    other = {**_identity("1"), "summary": "Dripping tap"}  # another issue's order
    alto.orders.append({"id": "9", **other})
    with pytest.raises(OutcomeUnknownError, match="check before sending it again") as caught:
        alto.create()
    assert isinstance(caught.value.__cause__, ServerError)
    assert alto.calls.count("POST") == FAST.attempts


def test_a_create_that_cannot_be_looked_up_after_a_lost_answer_is_outcome_unknown() -> None:
    alto = OneProperty(["lost"], lookup=500)
    with pytest.raises(OutcomeUnknownError, match="the lookup failed"):
        alto.create()
    assert alto.calls.count("POST") == 1
    assert len(alto.orders) == 1  # it landed: never sent twice


def test_a_create_refused_a_connection_throughout_is_no_outcome_unknown() -> None:
    alto = OneProperty(["refused"] * 50)
    with pytest.raises(ConnectError):
        alto.create()
    assert alto.calls == ["POST"] * FAST.attempts  # nothing was sent: no lookup
    assert alto.orders == []


def test_a_lost_charge_is_reported_as_outcome_unknown() -> None:
    fake = _faulty(5, "lost@POST /inventory=1.0")

    async def run() -> None:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                await AltoAdapter(http, retry=FAST).post_charge(
                    "inventory", "100001", {"chargeType": "Maintenance"}
                )

    with pytest.raises(OutcomeUnknownError, match="check Alto before retrying"):
        asyncio.run(run())
    assert len(fake.charges) == 1  # it landed; the adapter did not post it twice


def test_the_adapter_implements_the_engine_ports() -> None:
    fake = FakeAlto(5, seed=1)

    async def run() -> None:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http)
                for port in (RecordSource, WorksOrders, Documents, Charges):
                    assert isinstance(alto, port)

    asyncio.run(run())


def test_no_secret_in_logs_or_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    fake = _faulty(30, "all=0.2")
    caplog.set_level(logging.DEBUG)

    async def run() -> AltoAuth:
        with base_url("asgi", fake.app) as (url, transport):
            auth = _auth(url, fake)
            async with client(url, transport, auth) as http:
                await _read_all(AltoAdapter(http, retry=FAST))
            return auth

    auth = asyncio.run(run())
    tokens = list(fake.tokens)

    async def refused() -> None:
        with base_url("asgi", fake.app) as (url, transport):
            wrong = _auth(url, fake, secret="x" + fake.client_secret)
            async with client(url, transport, wrong) as http:
                await _read_all(AltoAdapter(http, retry=FAST))

    with pytest.raises(AuthError) as caught:
        asyncio.run(refused())
    shown = caplog.text + str(caught.value) + repr(caught.value) + repr(auth)
    for secret in [fake.client_secret, "x" + fake.client_secret, *tokens]:
        assert secret not in shown


def test_reading_only_what_changed_since_a_cursor() -> None:
    fake = FakeAlto(40, seed=2)
    cursor = sorted(str(r["modifiedAt"]) for r in fake.world["inventory"])[20]

    async def run() -> list[dict[str, Any]]:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                return [r async for r in AltoAdapter(http).read("inventory", since=cursor)]

    changed = asyncio.run(run())
    assert changed == [r for r in fake.world["inventory"] if str(r["modifiedAt"]) >= cursor]
    assert 0 < len(changed) < len(fake.world["inventory"])
    assert "modified-from=" in fake.log.matching("GET", "/inventory/filter")[0].query


@pytest.mark.parametrize("shape", ["one order", "list", "page", "paged"])
def test_works_orders_are_found_whatever_shape_alto_answers_in(shape: str) -> None:
    """The contract types the answer of GET /inventory/{id}/work-orders as a single
    WorkOrder (the real shape is unconfirmed): a single order, a list and a page of items
    are all read, and a page's nextToken is followed. The order is recognised by its
    identity (reportedDate as an instant: Alto answers a date-time), no marker."""
    mine = {"id": "9", "propertyId": "1", "summary": "Leaking tap",
            "reportedDate": "2026-11-04T09:00:00+01:00"}  # fmt: skip
    other = {**mine, "id": "8", "summary": "Leaking tap upstairs"}
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url.query.decode()))
        token = request.url.params.get("nextToken")
        body: Any = {
            "one order": mine,
            "list": [other, mine],
            "page": {"meta": {"nextToken": None}, "items": [other, mine]},
            "paged": {"meta": {"nextToken": "p2"}, "items": [other]}
            if token is None
            else {"meta": {}, "items": [mine]},
        }[shape]
        return httpx.Response(200, json=body)

    wanted = {"propertyId": "1", "summary": "Leaking tap", "reportedDate": "2026-11-04T08:00:00Z"}
    later = {**wanted, "reportedDate": "2026-11-04T08:00:01Z"}

    async def run() -> tuple[Any, Any]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://a.test") as http:
            alto = AltoAdapter(http, retry=FAST)
            return await alto.find_works_order("1", wanted), await alto.find_works_order("1", later)

    found, missing = asyncio.run(run())
    assert found == mine
    assert missing is None
    if shape == "paged":
        assert "nextToken=p2" in seen


ISSUE_ORDER = {
    "summary": "Dripping kitchen tap",
    "priority": "3",
    "reportedDate": "2026-11-04T08:00:00Z",
    "description": "Drips all night",
}


@pytest.mark.req("W-03")
def test_a_lost_create_is_found_by_identity_and_another_issue_is_not_matched() -> None:
    """A works order whose answer is lost is found on its property by its identity and
    not posted again; a second issue at the same property with a different summary (and
    one reported at another moment) is a different order, never taken for it."""
    fake = FakeAlto(5, seed=1, faults=Faults(parse_faults("lost@POST /work-orders=1.0")))
    pid = fake.world["inventory"][0]["inventoryId"]
    second = {**ISSUE_ORDER, "summary": "Dripping bathroom tap"}
    third = {**ISSUE_ORDER, "reportedDate": "2026-11-04T08:30:00Z"}

    async def run() -> list[dict[str, Any]]:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=FAST)
                return [
                    await alto.create_works_order(pid, order, identity=_identity(pid, order))
                    for order in (second, ISSUE_ORDER, third)
                ]

    made = asyncio.run(run())
    assert len(fake.log.matching("POST", "/work-orders")) == 3  # each sent once, all lost
    assert fake.log.faults().get("lost") == 3
    assert [order["summary"] for order in made] == [
        "Dripping bathroom tap", "Dripping kitchen tap", "Dripping kitchen tap",
    ]  # fmt: skip
    assert len({order["id"] for order in made}) == 3
    assert sorted(fake.work_orders) == sorted(order["id"] for order in made)
    for order in fake.work_orders.values():
        assert "[ref" not in json.dumps(order)


def _tenancy_world() -> AltoWorld:
    """Property 501: an old tenancy and a newer one both holding contact 42, and another
    tenant's; property 502: none."""

    def place(tenant: str, contact: str) -> dict[str, str]:
        return {"tenantId": tenant, "contactId": contact}

    return AltoWorld(tenancies={
        "61": {"propertyId": "501", "startDate": "2024-02-01T00:00:00Z",
               "places": [place("611", "42"), place("612", "43")]},
        "62": {"propertyId": "501", "startDate": "2025-03-01T00:00:00Z",
               "places": [place("621", "42")]},
        "63": {"propertyId": "501", "startDate": "2025-06-01T00:00:00Z",
               "places": [place("631", "44")]},
        "64": {"propertyId": "503", "startDate": "2026-01-01T00:00:00Z",
               "places": [place("641", "42")]},
    })  # fmt: skip


@pytest.mark.req("CH-02")
def test_find_tenancy_picks_the_latest_tenancy_holding_the_contact_over_http() -> None:
    world = _tenancy_world()
    fake = FakeAlto(3, seed=1, alto_world=world)

    async def run() -> dict[str, Any]:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=FAST, page_size=2)
                found: dict[str, Any] = {
                    "several": await alto.find_tenancy("501", "42"),
                    "one": await alto.find_tenancy("501", "43"),
                    "nobody": await alto.find_tenancy("501", "99"),
                    "no tenancy": await alto.find_tenancy("502", "42"),
                }
                asked = len(fake.log)
                found["again"] = await alto.find_tenancy("501", "42")
                found["cached"] = len(fake.log) == asked
                return found

    found = asyncio.run(run())
    assert found["several"] == {"tenancyId": "62", "tenantId": "621"}
    assert found["several"] == world.find_tenancy("501", "42")  # the world's own rule
    assert found["one"] == {"tenancyId": "61", "tenantId": "612"}
    assert found["nobody"] is None
    assert found["no tenancy"] is None
    assert found["again"] == found["several"]
    assert found["cached"] is True
    listed = fake.log.matching("GET", "/inventory/501/tenancies")
    assert len(listed) == 2  # three tenancies, two a page: paged with nextToken
    assert all("maxResults=2" in request.query for request in listed)


def test_find_tenancy_on_the_generated_agency_matches_its_tenancy_places() -> None:
    fake = FakeAlto(40, seed=3)
    place = fake.world["tenancy_tenants"][0]
    tenancy = next(t for t in fake.world["tenancies"] if t["id"] == place["tenancyId"])

    async def run() -> Any:
        with base_url("asgi", fake.app) as (url, transport):
            async with client(url, transport, _auth(url, fake)) as http:
                alto = AltoAdapter(http, retry=FAST)
                return await alto.find_tenancy(str(tenancy["propertyId"]), str(place["contactId"]))

    found = asyncio.run(run())
    expected = fake.alto_world.find_tenancy(str(tenancy["propertyId"]), str(place["contactId"]))
    assert found == expected
    assert found is not None
    assert found["tenantId"] in {str(p["tenantId"]) for p in fake.world["tenancy_tenants"]}


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    shift=st.integers(-14 * 60, 14 * 60),
    summary=st.text(min_size=1, max_size=20),
    other=st.text(min_size=1, max_size=20),
)
def test_identity_matches_the_same_instant_in_any_offset_and_no_other_summary(
    moment: datetime, shift: int, summary: str, other: str
) -> None:
    """An order answered with reportedDate in any offset is the one asked for by a UTC
    identity; a different summary or another instant never is."""
    zone = timezone(timedelta(minutes=shift))
    answered = {"propertyId": "1", "summary": summary,
                "reportedDate": moment.astimezone(zone).isoformat()}  # fmt: skip
    wanted = {"propertyId": "1", "summary": summary,
              "reportedDate": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}  # fmt: skip
    assert matches_identity(answered, wanted)
    assert matches_identity(answered, wanted | {"summary": other}) == (other == summary)
    later = (moment + timedelta(seconds=1)).isoformat()
    assert not matches_identity(answered, wanted | {"reportedDate": later})
    assert not matches_identity(answered, {})
