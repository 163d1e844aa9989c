"""The Fixflo adapter against the fake Fixflo, in-process and over real loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from adapters.errors import AdapterError, AuthError, EnvelopeError
from adapters.fixflo import FixfloAdapter, FixfloAuth
from engine.ports import RecordSource, RecordTarget
from simulator.fake import PDF, FakeFixflo, Faults, parse_faults
from tests.adapters.fakes import FAST, MODES, base_url, client

PREFIX = "/api/v2"


def _faulty(size: int, spec: str, seed: int = 4) -> FakeFixflo:
    faults = Faults(parse_faults(spec), seed=seed, retry_after=0.01, delay=0.01)
    return FakeFixflo(size, seed=9, faults=faults, page_size=5)


async def _read_all(adapter: FixfloAdapter) -> dict[str, list[dict[str, Any]]]:
    return {name: [r async for r in adapter.read(name)] for name in adapter.collections()}


@pytest.mark.parametrize("mode", MODES)
def test_a_snapshot_read_is_complete_and_exact_under_faults(mode: str) -> None:
    fake = _faulty(300, "all=0.1")
    expected = fake.snapshot_collections()

    async def run() -> dict[str, list[dict[str, Any]]]:
        with base_url(mode, fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                return await _read_all(FixfloAdapter(http, retry=FAST, page_size=7))

    assert asyncio.run(run()) == expected
    assert len(fake.log.faults()) >= 3


async def _land(fixflo: FixfloAdapter, collection: str, fields: dict[str, Any]) -> dict[str, Any]:
    """What the runner does with a failed upsert: try again (upserts by reference are safe)."""
    for _ in range(10):
        try:
            return await fixflo.upsert(collection, fields)
        except (EnvelopeError, AdapterError):
            continue
    raise AssertionError(f"{fields} never landed")


@pytest.mark.parametrize("mode", MODES)
def test_a_batch_of_upserts_lands_exactly_once_under_faults(mode: str) -> None:
    fake = _faulty(20, "all=0.1,lost@POST=0.15,errors@POST=0.1")
    before = len(fake.store.collections["landlords"])
    batch = [
        {"ExternalRef": f"new-{n}", "FirstName": "Ann", "Surname": f"Lee{n}",
         "EmailAddress": f"ann{n}@landlords.example"}
        for n in range(30)
    ]  # fmt: skip

    async def run() -> None:
        with base_url(mode, fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fixflo = FixfloAdapter(http, retry=FAST)
                await asyncio.gather(*(_land(fixflo, "landlords", fields) for fields in batch))
                await asyncio.gather(*(_link(fixflo, n) for n in range(30)))

    async def _link(fixflo: FixfloAdapter, n: int) -> None:
        link = {
            "ExternalLandlordRef": f"new-{n}",
            "ExternalPropertyRef": "P1",
            "IsPrimaryLandlord": True,
        }
        for _ in range(10):
            try:
                await fixflo.link("landlord_properties", link)
                return
            except AdapterError:
                continue

    asyncio.run(run())
    landlords = fake.store.collections["landlords"].values()
    refs = [r["ExternalRef"] for r in landlords if str(r.get("ExternalRef")).startswith("new-")]
    assert sorted(refs) == sorted(f["ExternalRef"] for f in batch)
    assert len(fake.store.collections["landlords"]) == before + 30
    joins = [j for j in fake.store.landlord_properties if j["ExternalPropertyRef"] == "P1"]
    assert len(joins) == 30
    assert {"lost", "errors"} <= set(fake.log.faults())


def test_a_200_with_errors_is_a_failure() -> None:
    fake = FakeFixflo(20, seed=2)
    taken = next(r for r in fake.store.collections["landlords"].values() if r.get("EmailAddress"))

    async def run() -> None:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fields = {"ExternalRef": "other", "EmailAddress": taken["EmailAddress"]}
                await FixfloAdapter(http, retry=FAST).upsert("landlords", fields)

    with pytest.raises(EnvelopeError, match="refused the write") as caught:
        asyncio.run(run())
    assert caught.value.status == 200
    assert "already in use" in caught.value.excerpt
    assert taken["EmailAddress"] not in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_bad_token_is_an_auth_error_without_the_token(mode: str) -> None:
    fake = FakeFixflo(5, seed=2)

    async def run() -> None:
        with base_url(mode, fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth("not-the-t0ken")) as http:
                await _read_all(FixfloAdapter(http, retry=FAST))

    with pytest.raises(AuthError) as caught:
        asyncio.run(run())
    assert "not-the-t0ken" not in str(caught.value) + repr(caught.value)


def test_links_archives_and_issues() -> None:
    fake = FakeFixflo(40, seed=3)
    tenant = next(r for r in fake.store.collections["tenants"].values() if r.get("ExternalRef"))

    async def run() -> tuple[list[dict[str, Any]], bytes, dict[str, Any]]:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fixflo = FixfloAdapter(http, retry=FAST)
                link = {"TenantExternalRef": tenant["ExternalRef"], "PropertyExternalRef": "P9"}
                await fixflo.link("tenant_properties", link)
                await fixflo.link("tenant_properties", link)
                archived = await fixflo.archive("tenants", {"ExternalRef": tenant["ExternalRef"]})
                issues = [issue async for issue in fixflo.read_issues()]
                reported = [i async for i in fixflo.read_issues(status="Reported")]
                assert reported
                assert {i["Status"] for i in reported} == {"Reported"}
                return issues, await fixflo.issue_report(issues[0]["Id"]), archived

    issues, report, archived = asyncio.run(run())
    assert [i["Id"] for i in issues] == list(fake.store.issues)
    assert all(set(issue) >= {"Status", "ExternalPropertyRef"} for issue in issues)
    assert report == PDF
    assert archived["IsDeleted"] is True
    assert archived["Id"] == tenant["Id"]
    linked = [t for t in fake.store.tenant_properties if t["PropertyExternalRef"] == "P9"]
    assert linked == [
        {
            "TenantExternalRef": tenant["ExternalRef"],
            "PropertyExternalRef": "P9",
            "LinkType": "Tenant",
        }
    ]


def test_an_undocumented_list_that_is_missing_reads_as_empty() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"Message": "No HTTP resource"})

    async def run() -> list[dict[str, Any]]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://f.test") as http:
            fixflo = FixfloAdapter(http, retry=FAST)
            return [r async for r in fixflo.read("tenant_properties")] + [
                r async for r in fixflo.read("agency_settings")
            ]

    assert asyncio.run(run()) == []


def test_the_adapter_implements_the_engine_ports() -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url="http://f.test") as http:
            fixflo = FixfloAdapter(http)
            assert isinstance(fixflo, RecordSource)
            assert isinstance(fixflo, RecordTarget)

    asyncio.run(run())


def test_no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    fake = _faulty(20, "all=0.3")
    caplog.set_level(logging.DEBUG)

    async def run() -> None:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                await _read_all(FixfloAdapter(http, retry=FAST))

    asyncio.run(run())
    assert caplog.records
    assert fake.token not in caplog.text


def test_reading_only_what_changed_since_a_cursor() -> None:
    fake = FakeFixflo(30, seed=3)

    async def run() -> list[dict[str, Any]]:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fixflo = FixfloAdapter(http)
                await fixflo.upsert("landlords", {"ExternalRef": "fresh", "Surname": "Okafor"})
                return [r async for r in fixflo.read("landlords", since="2026-11-22T02:00:01Z")]

    changed = asyncio.run(run())
    assert [r["ExternalRef"] for r in changed] == ["fresh"]


def test_a_lookup_answered_with_another_record_finds_nothing() -> None:
    """An API that ignores the parameter (GET /Landlord documents none) and sends some
    record is no match: a create is never recorded against another person."""
    someone = {"Id": 5, "ExternalRef": "200009", "Surname": "Else"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=someone)

    async def run() -> tuple[Any, Any]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://f.test") as http:
            fixflo = FixfloAdapter(http, retry=FAST)
            return (
                await fixflo.find("landlords", ExternalRef="200001"),
                await fixflo.find("landlords", ExternalRef="200009"),
            )

    wrong, right = asyncio.run(run())
    assert wrong is None
    assert right is not None
    assert right["ExternalRef"] == "200009"
