"""The fake Fixflo holds the line of Fixflo's published contract (contracts/fixflo.md)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from simulator.fake import FakeFixflo, FakeTransport, serving
from simulator.fake._fixflo_issues import contract_keys
from simulator.fake._rate_limit import RateLimit
from simulator.lifecycle import FixfloWorld
from tests.adapters.test_fixflo_issues import issue_world

BASE = "http://fixflo.test/api/v2"


def _call(fake: FakeFixflo, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        headers = {"Authorization": f"Bearer {fake.token}"}
        transport = FakeTransport(fake.app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as c:
            return await c.request(method, path, **kwargs)

    return asyncio.run(run())


def _post(fake: FakeFixflo, path: str, body: Any) -> dict[str, Any]:
    response = _call(fake, "POST", path, json=body)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    assert set(answer) >= {"HttpStatusCode", "HttpStatusCodeDesc", "Errors", "Messages"}
    return answer


def _synced_property(fake: FakeFixflo) -> dict[str, Any]:
    props = fake.store.collections["properties"].values()
    return next(p for p in props if p["ExternalPropertyRef"])


def off_contract(*texts: str) -> pytest.MarkDecorator:
    """The mark of a case that sends something outside the contract on purpose."""
    return pytest.mark.contract_violation_expected(*texts)


def _links(fake: FakeFixflo, tenant_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _call(fake, "GET", f"/Tenant/{tenant_id}/Properties").json()[
        "Items"
    ]
    return items


NEW_ADDRESS = {"AddressLine1": "1 New Road", "Town": "Leeds", "PostCode": "LS1 1AA"}


@pytest.mark.req("G-05")
def test_post_property_never_changes_an_existing_address() -> None:
    fake = FakeFixflo(40, seed=5)
    prop = _synced_property(fake)
    old = dict(prop["Address"])
    answer = _post(fake, "/Property", {"id": prop["id"], "KeyReference": "K9",
                                       "Address": NEW_ADDRESS})  # fmt: skip
    assert answer["Errors"] == []
    assert answer["Entity"]["KeyReference"] == "K9"
    assert answer["Entity"]["Address"] == old
    assert fake.store.collections["properties"][prop["id"]]["Address"] == old


def test_update_address_moves_the_property_and_keeps_the_old_address() -> None:
    fake = FakeFixflo(40, seed=5)
    prop = _synced_property(fake)
    old = dict(prop["Address"])
    body = {"ExternalPropertyRef": prop["ExternalPropertyRef"], "Address": NEW_ADDRESS}
    answer = _post(fake, "/Property/UpdateAddress", body)
    assert answer["Errors"] == []
    assert answer["Entity"]["Address"] == NEW_ADDRESS
    assert fake.store.alternates[prop["id"]] == [old]
    missing = _post(fake, "/Property/UpdateAddress", {"id": 999_999, "Address": NEW_ADDRESS})
    assert missing["Errors"]


@pytest.mark.req("G-05")
def test_creating_at_an_address_fixflo_holds_returns_that_property() -> None:
    fake = FakeFixflo(40, seed=5)
    prop = _synced_property(fake)
    count = len(fake.store.collections["properties"])
    body = {"id": 0, "ExternalPropertyRef": "NEW-1", "Address": dict(prop["Address"])}
    answer = _post(fake, "/Property", body)
    assert answer["Entity"]["id"] == prop["id"]
    assert answer["Entity"]["ExternalPropertyRef"] == prop["ExternalPropertyRef"]
    assert len(fake.store.collections["properties"]) == count


def test_a_contractor_posted_without_id_is_created_every_time() -> None:
    fake = FakeFixflo(40, seed=5)
    body = {"ExternalRef": "S-1", "EmailAddress": "plumb@example.com", "CompanyName": "Pipes"}
    first, again = _post(fake, "/Contractor", body), _post(fake, "/Contractor", body | {"Id": ""})
    assert first["Errors"] == again["Errors"] == []
    assert first["Entity"]["Id"] != again["Entity"]["Id"]
    made = [c for c in fake.store.collections["contractors"].values() if c["ExternalRef"] == "S-1"]
    assert len(made) == 2
    unknown = _post(fake, "/Contractor", body | {"Id": "424242"})
    assert unknown["Errors"] == ["No contractor with Id 424242"]


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        pytest.param("/Property", {"id": 0, "Address": NEW_ADDRESS, "Colour": "red"},
                     "Unknown field", marks=off_contract("request body Colour")),
        pytest.param("/Property", {"Id": 0, "Address": NEW_ADDRESS},
                     "Unknown field(s) in the request: Id", marks=off_contract("request body Id")),
        ("/Property", {"id": 0, "Address": {"AddressLine1": "1 Road"}}, "PostCode is required"),
        ("/Tenant", {"ExternalRef": "T-NEW"}, "EmailAddress is required"),
        ("/Tenant", {"id": "x1", "Surname": "Ng"}, "is not an id"),
        pytest.param("/Landlord", {"EmailAddress": "a@example.com", "Address\t": {}},
                     "Unknown field", marks=off_contract("request body Address\t")),
        ("/LandlordPropertyJoin", {"ExternalLandlordRef": "nobody",
                                   "ExternalPropertyRef": "nowhere"}, "No landlord"),
        pytest.param("/Contractor", {"ExternalRef": "C", "EmailAddress": "c@example.com",
                                     "SendWelcomeEmail": False}, "SendWelcomeEmail",
                     marks=off_contract("request body SendWelcomeEmail")),
    ],
)  # fmt: skip
def test_refused_writes_are_http_200_with_errors(path: str, body: Any, error: str) -> None:
    fake = FakeFixflo(20, seed=2)
    answer = _post(fake, path, body)
    assert answer["HttpStatusCode"] == 200
    assert error in answer["Errors"][0]
    assert answer.get("Entity") is None


@pytest.mark.req("G-04")
def test_external_refs_and_emails_are_unique_for_tenants_and_landlords() -> None:
    fake = FakeFixflo(40, seed=5)
    for name, path in (("tenants", "/Tenant"), ("landlords", "/Landlord")):
        taken = next(r for r in fake.store.collections[name].values() if r.get("ExternalRef"))
        same_ref = {"ExternalRef": taken["ExternalRef"], "EmailAddress": "fresh@example.com"}
        same_email = {"ExternalRef": "fresh", "EmailAddress": taken["EmailAddress"].upper()}
        assert "ExternalRef" in _post(fake, path, same_ref)["Errors"][0]
        assert "EmailAddress" in _post(fake, path, same_email)["Errors"][0]
        update = _post(fake, path, {"id": taken["id"], "Surname": "Renamed"})
        assert update["Entity"]["Surname"] == "Renamed"


@pytest.mark.parametrize(
    ("path", "page", "wrong"),
    [
        pytest.param("/Property/Search", "pg", "page", marks=off_contract("query page", "Unheard")),
        pytest.param("/Landlords", "pg", "Pg", marks=off_contract("query Pg", "Unheard")),
        pytest.param("/Tenants", "pg", "page", marks=off_contract("query page", "Unheard")),
        pytest.param("/Contractors", "Pg", "pg", marks=off_contract("query pg", "Unheard")),
    ],
)
def test_each_list_pages_with_its_own_parameter_and_ignores_others(
    path: str, page: str, wrong: str
) -> None:
    fake = FakeFixflo(300, seed=2, page_size=3)
    first = _call(fake, "GET", path).json()
    second = _call(fake, "GET", path, params={page: 2}).json()
    ignored = _call(fake, "GET", path, params={wrong: 2, "Unheard": "x"}).json()
    assert set(first) == {"Items", "TotalItems", "TotalPages", "NextURL", "PreviousURL"}
    assert first["TotalPages"] > 1
    assert second["Items"]
    assert second["Items"] != first["Items"]
    assert ignored["Items"] == first["Items"]  # a wrong page name gets page 1 again
    assert f"{page}=2" in first["NextURL"]


def test_property_search_pages_by_pgsz() -> None:
    fake = FakeFixflo(100, seed=2, page_size=3)
    page = _call(fake, "GET", "/Property/Search", params={"pg": 1, "pgsz": 7}).json()
    assert len(page["Items"]) == 7


def test_records_come_in_the_contracts_shapes_and_casing() -> None:
    fake = FakeFixflo(80, seed=2)
    prop = _call(fake, "GET", "/Property/Search").json()["Items"][0]
    landlord = _call(fake, "GET", "/Landlords").json()["Items"][0]
    contractor = _call(fake, "GET", "/Contractors").json()["Items"][0]
    assert isinstance(prop["id"], int)
    assert "Id" not in prop
    assert isinstance(landlord["id"], str)
    assert "Id" not in landlord
    assert isinstance(contractor["Id"], str)
    assert "id" not in contractor
    assert {"AuditTrailVersion", "LastSeen"}.isdisjoint({*prop, *landlord, *contractor})
    assert _call(fake, "GET", "/Agency/Settings").json().keys() == {"AgencyName", "WorkflowType"}


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, marks=off_contract(f"GET /api/v2{path} [no operation]"))
        for path in ("/AgencySettings", "/LandlordPropertyJoins", "/TenantPropertyLinks")
    ]
    + [
        "/Contractor/not-a-number",
        "/Tenant/abc/Properties",
        "/Property/999999/LandlordProperties",
        "/Tenant?Id=999999",
    ],
)
def test_paths_the_contract_lacks_and_ids_of_the_wrong_kind_are_404(path: str) -> None:
    assert _call(FakeFixflo(10, seed=2), "GET", path).status_code == 404


@pytest.mark.req("T-05")
def test_tenant_links_are_made_listed_and_removed() -> None:
    fake = FakeFixflo(60, seed=3)
    tenant = next(t for t in fake.store.collections["tenants"].values() if t["ExternalRef"])
    prop = _synced_property(fake)
    body = {"PropertyExternalRef": prop["ExternalPropertyRef"], "LinkType": "Tenant"}
    made = _post(fake, f"/Tenant/{tenant['id']}/Property", body)
    assert made["Errors"] == []
    assert made["PropertyId"] == str(prop["id"])  # allOf(Envelope, TenantProperty): flat
    listed = _call(fake, "GET", f"/Tenant/{tenant['id']}/Properties").json()["Items"]
    ref = prop["ExternalPropertyRef"]
    expected = {"Id": made["Id"], "PropertyId": str(prop["id"]), "PropertyExternalRef": ref}
    assert expected | {"LinkType": "Tenant"} in listed
    gone = _call(fake, "DELETE", f"/Tenant/{tenant['id']}/Property/{prop['id']}")
    assert gone.status_code == 200
    after = _call(fake, "GET", f"/Tenant/{tenant['id']}/Properties").json()["Items"]
    assert all(link["PropertyId"] != str(prop["id"]) for link in after)


@pytest.mark.contract_violation_expected("LinkType: 'Lodger' is not a value")
def test_a_link_type_outside_the_enum_is_refused_with_errors() -> None:
    fake = FakeFixflo(60, seed=3)
    tenant = next(t for t in fake.store.collections["tenants"].values() if t["ExternalRef"])
    body = {"PropertyExternalRef": _synced_property(fake)["ExternalPropertyRef"]}
    bad = _post(fake, f"/Tenant/{tenant['id']}/Property", body | {"LinkType": "Lodger"})
    assert "LinkType" in bad["Errors"][0]
    assert not any(link["LinkType"] == "Lodger" for link in _links(fake, tenant["id"]))


def test_landlord_joins_are_made_read_and_deleted_by_reference() -> None:
    fake = FakeFixflo(60, seed=3)
    landlord = next(r for r in fake.store.collections["landlords"].values() if r["ExternalRef"])
    prop = _synced_property(fake)
    refs = {"ExternalLandlordRef": landlord["ExternalRef"],
            "ExternalPropertyRef": prop["ExternalPropertyRef"]}  # fmt: skip
    made = _post(fake, "/LandlordPropertyJoin", refs | {"IsPrimaryLandlord": True})["Entity"]
    assert _post(fake, "/LandlordPropertyJoin", refs)["Entity"]["Id"] == made["Id"]
    query = {"ExternalPropertyRef": refs["ExternalPropertyRef"],
             "ExtrernalLandlordref": refs["ExternalLandlordRef"]}  # fmt: skip
    assert _call(fake, "GET", "/LandlordPropertyJoin", params=query).json()["Id"] == made["Id"]
    per_property = _call(fake, "GET", f"/Property/{prop['id']}/LandlordProperties").json()
    per_landlord = _call(fake, "GET", f"/Landlord/{landlord['id']}/LandlordProperties").json()
    link = {"Id": made["Id"], "LandlordId": landlord["id"], "PropertyId": prop["id"]}
    assert link in per_property["Items"]
    assert link in per_landlord["Items"]
    assert _post(fake, "/LandlordPropertyJoin/Delete", refs)["Errors"] == []
    assert _call(fake, "GET", "/LandlordPropertyJoin", params=query).status_code == 404
    assert _post(fake, "/LandlordPropertyJoin/Delete", refs)["Errors"]


def test_lookups_by_the_contracts_parameters() -> None:
    fake = FakeFixflo(60, seed=3)
    prop = _synced_property(fake)
    tenant = next(t for t in fake.store.collections["tenants"].values() if t["ExternalRef"])
    by_ref = _call(
        fake, "GET", "/Property", params={"ExternalPropertyRef": prop["ExternalPropertyRef"]}
    )
    assert by_ref.json() == prop
    assert _call(fake, "GET", "/Property", params={"Id": prop["id"]}).json() == prop
    for key in ("Id", "ExternalRef", "EmailAddress"):
        value = tenant["id"] if key == "Id" else tenant[key]
        assert _call(fake, "GET", "/Tenant", params={key: value}).json() == tenant
    keyword = _call(fake, "GET", "/Tenants", params={"Keyword": tenant["ExternalRef"]}).json()
    assert tenant in keyword["Items"]


_YEAR = "&Created.From=2026-01-01T00:00:00Z&Created.To=2026-12-31T00:00:00Z"


def _issue_routes(world_issues: dict[str, Any]) -> list[str]:
    """Every GET of the fake's issue endpoints for every world issue, with their queries."""
    paths = ["/Issues", "/Issues?Status=Closed&UpdatedSince=2026-11-01T00:00:00Z&page=1",
             "/Issues/JobAwarded?Page=1", "/Issues/JobCompleted", "/Issues/Closed"]  # fmt: skip
    for key, record in world_issues.items():
        paths += [f"/Issue/{key}", f"/Issue/{key}/Report", f"/issue/{key}/invoicedetails",
                  f"/issue/{key}/completiondocs", f"/Issue/{key}/jobcompletiondetails"]  # fmt: skip
        job, prop = record.get("Job") or {}, record.get("FixfloProperty") or {}
        paths += [f"/Job/{job['id']}"] if job else []
        paths += [f"/Tenant?Id={record['TenantId']}"] if record.get("TenantId") else []
        paths += [f"/Property/Search?Keyword={record['Address']['PostCode']}&pg=1&pgsz=2"]
        if prop:
            ref = prop["ExternalPropertyRef"]
            paths += [f"/Property/Issues?ExternalPropertyRef={ref}&pg=1",
                      f"/Medias/PropertyCertificate?ExternalPropertyRef={ref}{_YEAR}"]  # fmt: skip
        for part in ("CompletionDocs", "Certificates"):
            paths += [f"/Media/{media['Id']}/Download" for media in record.get(part) or []]
    return paths


@pytest.mark.req("W-09")
def test_every_issue_route_answers_on_the_contract_with_nothing_pending() -> None:
    world = issue_world()
    fake = FakeFixflo(20, seed=3, world=world)
    answers = {path: _call(fake, "GET", path) for path in _issue_routes(world.issues)}
    assert {path: r.status_code for path, r in answers.items() if r.status_code != 200} == {
        "/Issue/1050/jobcompletiondetails": 404,
        "/Issue/1060/jobcompletiondetails": 404,
    }
    assert list(fake.recorder.violations) == []  # not even one PENDING_ISSUE_14 excuses
    issue = answers["/Issue/1042"].json()
    assert set(issue) <= contract_keys("issue_get")
    assert "Contractor" in issue["Job"]
    assert not set(issue) & {"FixfloProperty", "FixfloTenant", "InvoiceDetails",
                             "CompletionDocs", "CompletionDetails", "Certificates"}  # fmt: skip
    documents = answers["/issue/1042/completiondocs"].json()
    assert [d["ShortDescription"] for d in documents] == [
        "gas-safety-certificate.pdf", "invoice-1042.pdf"]  # fmt: skip
    assert all("EncodedByteData" not in d for d in documents)


def test_property_issue_lists_and_certificates_follow_the_world() -> None:
    world = issue_world()
    fake = FakeFixflo(20, seed=3, world=world, page_size=1)
    pages = [_call(fake, "GET", f"/Property/Issues?ExternalPropertyRef=P1/OP1&pg={n}").json()
             for n in (1, 2)]  # fmt: skip
    assert [p["Items"][0]["id"] for p in pages] == ["1001", "1042"]
    assert pages[0]["TotalPages"] == 2
    assert pages[1]["Items"][0]["Status"] == "Closed"
    window = "&Created.From=2026-11-05T08:00:00Z&Created.To=2026-11-09T09:00:00Z"
    certificates = _call(
        fake, "GET", f"/Medias/PropertyCertificate?ExternalPropertyRef=P1/OP1{window}"
    )
    assert [m["ShortDescription"] for m in certificates.json()["Items"]] == ["cp12-2026.pdf"]
    every = _call(fake, "GET", "/Medias/PropertyCertificate?ExternalPropertyRef=P1/OP1").json()
    assert every["TotalItems"] == 2
    found = _call(fake, "GET", "/Property/Search?Keyword=ls6 2ab&pgsz=10").json()["Items"]
    assert {p["id"] for p in found} >= {"FP1", "FP2"}
    assert _call(fake, "GET", "/Tenant?Id=FT1").json()["ExternalRef"] == "C1"
    assert _call(fake, "GET", "/Tenant?Id=nobody").status_code == 404
    assert _call(fake, "GET", "/Media/no-such-media/Download").status_code == 404


# -- rate limit (issue 16: the seeds' "about 500 a minute", off by default) -----------------


def _clocked(fake: FakeFixflo) -> list[float]:
    """Drive the fake's rate limit by hand: the list's one item is the time now."""
    now = [1000.0]
    assert fake.limit is not None
    fake.limit.clock = lambda: now[0]
    return now


def test_the_rate_limit_answers_429_with_retry_after_beyond_n_in_any_60_seconds() -> None:
    fake = FakeFixflo(5, seed=1, rate_limit=3)
    now = _clocked(fake)
    assert [_call(fake, "GET", "/Webhooks").status_code for _ in range(3)] == [200] * 3
    refused = _call(fake, "GET", "/Landlords")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.json()["Errors"]
    assert refused.json()["HttpStatusCode"] == 429
    now[0] += 45  # a sliding window: the three still count for 15 s more
    assert _call(fake, "GET", "/Webhooks").headers["Retry-After"] == "15"
    now[0] += 15
    assert _call(fake, "GET", "/Webhooks").status_code == 200
    assert fake.limit is not None
    assert fake.limit.refused == 2
    assert [e.status for e in fake.log.entries].count(429) == 2


def test_the_rate_limit_counts_each_token_apart_and_refused_requests_not_at_all() -> None:
    fake = FakeFixflo(5, seed=1, rate_limit=2)
    now = _clocked(fake)
    for _ in range(2):
        assert _call(fake, "GET", "/Webhooks").status_code == 200
    for _ in range(5):
        assert _call(fake, "GET", "/Webhooks").status_code == 429
    other = {"Authorization": "Bearer someone-else"}
    assert _call(fake, "GET", "/Webhooks", headers=other).status_code == 401  # not 429
    now[0] += 60
    assert [_call(fake, "GET", "/Webhooks").status_code for _ in range(3)] == [200, 200, 429]


def test_no_rate_limit_by_default_and_a_limit_below_one_is_refused() -> None:
    fake = FakeFixflo(5, seed=1)
    assert fake.limit is None
    assert {_call(fake, "GET", "/Webhooks").status_code for _ in range(60)} == {200}
    with pytest.raises(ValueError, match="at least 1 request"):
        RateLimit(fake.app, 0)


def test_the_rate_limit_holds_over_real_http() -> None:
    fake = FakeFixflo(5, seed=1, rate_limit=2)
    with serving(fake.app) as url:
        headers = {"Authorization": f"Bearer {fake.token}"}
        with httpx.Client(base_url=url + "/api/v2", headers=headers) as client:
            answers = [client.get("/Agency/Settings") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 0 < int(answers[2].headers["Retry-After"]) <= 60


# -- the world's listeners (the fake's webhooks hear of saves through them) ----------------


def test_a_world_tells_its_listeners_of_every_save_with_copies() -> None:
    world, heard = FixfloWorld(), []
    world.listen(lambda before, after: heard.append((before, after)))
    issue = {"Id": "1", "Status": "Reported"}
    world.save(issue)
    issue["Status"] = "JobAwarded"  # the lifecycle changes the held record in place
    world.save(issue)
    assert heard == [
        (None, {"Id": "1", "Status": "Reported"}),
        ({"Id": "1", "Status": "Reported"}, {"Id": "1", "Status": "JobAwarded"}),
    ]
    heard[1][1]["Status"] = "changed by a listener"
    assert world.snapshot("1")["Status"] == "JobAwarded"


def test_a_fake_without_a_world_serves_subscriptions_but_sends_nothing() -> None:
    fake = FakeFixflo(5, seed=1)
    body = {"TargetUrl": "https://rb.example/hook", "Secret": "s" * 16}
    answer = _call(fake, "POST", "/Webhook/Subscribe", json=body).json()
    assert _call(fake, "GET", "/Webhooks").json() == [
        {"id": answer["id"], "Url": "https://rb.example/hook"}
    ]
    assert not fake.webhooks.sender.alive
    assert fake.webhooks.sent == 0
