"""The Fixflo adapter against the fake Fixflo, in-process and over real loopback HTTP."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from adapters.errors import AdapterError, AuthError, ConflictError, EnvelopeError
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
    fake = _faulty(60, "all=0.1,lost@POST=0.15,errors@POST=0.1")
    before = len(fake.store.collections["landlords"])
    props = fake.store.collections["properties"].values()
    prop_ref = next(p["ExternalPropertyRef"] for p in props if p["ExternalPropertyRef"])
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
            "ExternalPropertyRef": prop_ref,
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
    joins = [j for j in fake.store.join_records()[0] if j["ExternalPropertyRef"] == prop_ref]
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


@pytest.mark.req("T-05")
def test_links_unlinks_archives_and_issues() -> None:
    fake = FakeFixflo(40, seed=3)
    tenant = next(r for r in fake.store.collections["tenants"].values() if r.get("ExternalRef"))
    props = fake.store.collections["properties"].values()
    prop = next(p for p in props if p["ExternalPropertyRef"])
    link = {
        "TenantExternalRef": tenant["ExternalRef"],
        "PropertyExternalRef": prop["ExternalPropertyRef"],
    }

    async def run() -> tuple[list[dict[str, Any]], bytes, dict[str, Any], list[dict[str, Any]]]:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fixflo = FixfloAdapter(http, retry=FAST)
                await fixflo.link("tenant_properties", link)
                await fixflo.link("tenant_properties", link)
                linked = [r async for r in fixflo.read("tenant_properties")]
                await fixflo.unlink("tenant_properties", link)
                await fixflo.unlink("tenant_properties", link)  # gone already: done
                archived = await fixflo.archive("tenants", {"ExternalRef": tenant["ExternalRef"]})
                issues = [issue async for issue in fixflo.read_issues()]
                reported = [i async for i in fixflo.read_issues(status="Reported")]
                assert reported
                assert {i["Status"] for i in reported} == {"Reported"}
                return issues, await fixflo.issue_report(issues[0]["Id"]), archived, linked

    issues, report, archived, linked = asyncio.run(run())
    assert [i["Id"] for i in issues] == [str(key) for key in fake.store.issues]
    assert report == PDF
    assert archived["IsDeleted"] is True
    assert archived["id"] == tenant["id"]
    mine = [r for r in linked if r["TenantExternalRef"] == tenant["ExternalRef"]
            and r["PropertyExternalRef"] == prop["ExternalPropertyRef"]]  # fmt: skip
    assert len(mine) == 1
    assert mine[0]["LinkType"] == "Tenant"
    assert mine[0]["PropertyId"] == str(prop["id"])
    left = fake.store.join_records()[1]
    assert not [r for r in left if r["Id"] == mine[0]["Id"]]


def test_landlord_links_are_joined_and_deleted_by_reference() -> None:
    fake = FakeFixflo(40, seed=3)
    landlord = next(r for r in fake.store.collections["landlords"].values() if r["ExternalRef"])
    props = fake.store.collections["properties"].values()
    prop = next(p for p in props if p["ExternalPropertyRef"])
    refs = {"ExternalLandlordRef": landlord["ExternalRef"],
            "ExternalPropertyRef": prop["ExternalPropertyRef"]}  # fmt: skip

    async def run() -> list[dict[str, Any]]:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fixflo = FixfloAdapter(http, retry=FAST)
                await fixflo.link("landlord_properties", refs)
                joined = [r async for r in fixflo.read("landlord_properties")]
                await fixflo.unlink("landlord_properties", refs)
                await fixflo.unlink("landlord_properties", refs)  # gone already: done
                return joined

    joined = asyncio.run(run())
    assert {**refs, "IsPrimaryLandlord": None} in [
        {k: v for k, v in r.items() if k != "Id"} for r in joined
    ]
    assert not [
        j
        for j in fake.store.join_records()[0]
        if j["ExternalPropertyRef"] == refs["ExternalPropertyRef"]
        and j["ExternalLandlordRef"] == refs["ExternalLandlordRef"]
    ]


def test_a_landlord_without_a_reference_keeps_its_link_with_a_null_ref() -> None:
    fake = FakeFixflo(40, seed=3)
    landlord = next(r for r in fake.store.collections["landlords"].values() if not r["ExternalRef"])
    props = fake.store.collections["properties"].values()
    prop = next(p for p in props if p["ExternalPropertyRef"])
    fake.store.landlord_links[1] = {"Id": 1, "LandlordId": landlord["id"], "PropertyId": prop["id"]}

    async def run() -> list[dict[str, Any]]:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                return [r async for r in FixfloAdapter(http).read("landlord_properties")]

    read = asyncio.run(run())
    ref = prop["ExternalPropertyRef"]
    expected = {"Id": 1, "ExternalLandlordRef": None, "ExternalPropertyRef": ref}
    assert expected | {"IsPrimaryLandlord": None} in read


def _write(fake: FakeFixflo, *steps: tuple[str, str, dict[str, Any]]) -> list[Any]:
    async def run() -> list[Any]:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fixflo = FixfloAdapter(http, retry=FAST)
                return [await getattr(fixflo, op)(name, fields) for op, name, fields in steps]

    return asyncio.run(run())


def _paths(fake: FakeFixflo, method: str) -> list[str]:
    return [r.path.removeprefix(PREFIX) for r in fake.log.entries if r.method == method]


def test_an_address_change_goes_through_update_address() -> None:
    fake = FakeFixflo(40, seed=5)
    props = fake.store.collections["properties"].values()
    prop = next(p for p in props if p["ExternalPropertyRef"])
    moved = {"AddressLine1": "2 Moved Lane", "Town": "York", "PostCode": "YO1 1AA"}
    fields = {"ExternalPropertyRef": prop["ExternalPropertyRef"], "KeyReference": "K7",
              "Address": moved}  # fmt: skip
    (record,) = _write(fake, ("upsert", "properties", fields))
    assert record["Address"] == moved
    assert record["KeyReference"] == "K7"
    assert _paths(fake, "POST") == ["/Property", "/Property/UpdateAddress"]
    fake.log.entries.clear()
    _write(fake, ("upsert", "properties", fields))  # the same again: no address to move
    assert _paths(fake, "POST") == ["/Property"]


@pytest.mark.req("G-05")
def test_a_new_property_at_an_address_fixflo_holds_without_a_ref_is_merged() -> None:
    fake = FakeFixflo(40, seed=5)
    props = fake.store.collections["properties"].values()
    twin = next(p for p in props if not p["ExternalPropertyRef"] and not p["IsDeleted"])
    count = len(fake.store.collections["properties"])
    fields = {"ExternalPropertyRef": "NEW-9", "Address": dict(twin["Address"])}
    (record,) = _write(fake, ("upsert", "properties", fields))
    assert record["id"] == twin["id"]
    assert fake.store.collections["properties"][twin["id"]]["ExternalPropertyRef"] == "NEW-9"
    assert len(fake.store.collections["properties"]) == count


def test_a_new_property_at_an_address_held_under_another_ref_is_a_conflict() -> None:
    fake = FakeFixflo(40, seed=5)
    props = fake.store.collections["properties"].values()
    held = next(p for p in props if p["ExternalPropertyRef"])
    fields = {"ExternalPropertyRef": "NEW-9", "Address": dict(held["Address"])}
    with pytest.raises(ConflictError, match="two Alto properties share the address"):
        _write(fake, ("upsert", "properties", fields))
    assert held["ExternalPropertyRef"] != "NEW-9"


@pytest.mark.req("C-03")
def test_a_contractor_create_whose_answer_is_lost_is_looked_up_not_repeated() -> None:
    faults = Faults(parse_faults("lost@POST=1"), seed=1)
    fake = FakeFixflo(40, seed=5, faults=faults)
    fields = {"ExternalRef": "S-77", "EmailAddress": "s77@trades.example", "CompanyName": "Taps"}
    (record,) = _write(fake, ("upsert", "contractors", fields))
    made = [c for c in fake.store.collections["contractors"].values() if c["ExternalRef"] == "S-77"]
    assert len(made) == 1
    assert record["Id"] == made[0]["Id"]
    assert _paths(fake, "POST") == ["/Contractor"]
    searches = [r for r in fake.log.entries if r.path.endswith("/Contractors")]
    assert searches  # looked up by Keyword before creating, and again after the lost answer


def test_contractor_and_landlord_updates_find_their_record_by_keyword() -> None:
    fake = FakeFixflo(60, seed=5)
    contractor = next(c for c in fake.store.collections["contractors"].values() if c["ExternalRef"])
    landlord = next(c for c in fake.store.collections["landlords"].values() if c["ExternalRef"])
    count = len(fake.store.collections["contractors"])
    records = _write(
        fake,
        ("upsert", "contractors", {"ExternalRef": contractor["ExternalRef"], "Surname": "New"}),
        ("upsert", "landlords", {"ExternalRef": landlord["ExternalRef"], "Surname": "Newer"}),
    )
    assert [r["Surname"] for r in records] == ["New", "Newer"]
    assert records[0]["Id"] == contractor["Id"]
    assert records[1]["id"] == landlord["id"]
    assert len(fake.store.collections["contractors"]) == count


def test_the_agency_settings_come_from_agency_settings() -> None:
    fake = FakeFixflo(10, seed=2)

    async def run() -> list[dict[str, Any]]:
        with base_url("asgi", fake.app, PREFIX) as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                return [r async for r in FixfloAdapter(http).read("agency_settings")]

    assert asyncio.run(run()) == [fake.store.settings]
    assert _paths(fake, "GET") == ["/Agency/Settings"]


def test_bad_link_items_are_reported_with_the_endpoint_and_index() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        items: list[Any]
        if path == "/Property/Search":
            items = [{"id": 7, "ExternalPropertyRef": "100007"}]
        elif path == "/Landlords":
            items = [{"id": "3", "ExternalRef": "500003"}]
        else:
            items = [{"Id": 1, "LandlordId": "3", "PropertyId": 7}, "junk", {"LandlordId": "3"}]
        return httpx.Response(200, json={"Items": items, "TotalPages": 1})

    async def run() -> tuple[list[dict[str, Any]], list[str]]:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://f.test") as http:
            fixflo = FixfloAdapter(http, retry=FAST)
            read = [r async for r in fixflo.read("landlord_properties")]
            return read, [str(e) for e in fixflo.rejected]

    read, rejected = asyncio.run(run())
    assert read == [{"Id": 1, "ExternalLandlordRef": "500003", "ExternalPropertyRef": "100007",
                     "IsPrimaryLandlord": None}]  # fmt: skip
    assert len(rejected) == 2
    assert "GET /Property/7/LandlordProperties#Items[1]" in rejected[0]
    assert "GET /Property/7/LandlordProperties#Items[2]" in rejected[1]


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
                fresh = {"ExternalRef": "fresh", "Surname": "Okafor", "EmailAddress": "o@x.example"}
                await fixflo.upsert("landlords", fresh)
                return [r async for r in fixflo.read("landlords", since="2026-11-22T02:00:01Z")]

    changed = asyncio.run(run())
    assert [r["ExternalRef"] for r in changed] == ["fresh"]


def test_a_keyword_search_finds_only_an_exact_reference() -> None:
    """Landlords have no documented lookup by ExternalRef: a Keyword search may answer
    records that merely contain the reference; only an exact one is a match, so a write is
    never recorded against another person."""
    near = [{"id": "5", "ExternalRef": "2000011"}, {"id": "6", "ExternalRef": "x200001"}]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/Landlords"
        keyword = request.url.params["Keyword"]
        items = near + ([{"id": "9", "ExternalRef": keyword}] if keyword == "200009" else [])
        return httpx.Response(200, json={"Items": items, "TotalPages": 1})

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
    assert right == {"id": "9", "ExternalRef": "200009"}
