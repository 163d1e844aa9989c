"""The fake Alto and Fixflo servers: auth, shapes, pagination, faults, loopback only."""

from __future__ import annotations

import asyncio
import base64
import socket
from typing import Any

import httpx
import pytest

import simulator.fake
from simulator.fake import FakeAlto, FakeFixflo, FakeTransport, Faults, parse_faults, serving


def _request(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = FakeTransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fake.test") as http:
            return await http.request(method, url, **kwargs)

    return asyncio.run(run())


def _alto_token(fake: FakeAlto) -> str:
    basic = base64.b64encode(f"{fake.client_id}:{fake.client_secret}".encode()).decode()
    headers = {"Authorization": f"Basic {basic}"}
    answer = _request(
        fake.app, "POST", "/token", headers=headers, data={"grant_type": "client_credentials"}
    )
    assert answer.status_code == 200
    return str(answer.json()["access_token"])


def test_alto_checks_credentials_token_and_agency_ref() -> None:
    fake = FakeAlto(10, seed=1)
    form = {"grant_type": "client_credentials"}
    bad = _request(fake.app, "POST", "/token", headers={"Authorization": "Basic eDp5"}, data=form)
    assert bad.status_code == 401
    assert bad.json()["title"] == "Unauthorized"
    token = _alto_token(fake)
    no_token = _request(
        fake.app, "GET", "/inventory/filter", headers={"AgencyRef": fake.agency_ref}
    )
    assert no_token.status_code == 401
    wrong = {"Authorization": f"Bearer {token}", "AgencyRef": "nope"}
    forbidden = _request(fake.app, "GET", "/inventory/filter", headers=wrong)
    assert forbidden.status_code == 403
    assert "AgencyRef" in forbidden.text  # the gateway's text, as the contract gives no shape


def test_alto_cursor_pagination_in_both_spellings() -> None:
    """Kebab-case names on /contacts/all, camelCase on /suppliers (each endpoint's own)."""
    fake = FakeAlto(60, seed=1)
    headers = {"Authorization": f"Bearer {_alto_token(fake)}", "AgencyRef": fake.agency_ref}
    first = _request(
        fake.app, "GET", "/contacts/all", headers=headers, params={"max-results": 7}
    ).json()
    assert len(first["items"]) == 7
    assert first["items"] == fake.contacts[:7]
    token = first["meta"]["nextToken"]
    second = _request(
        fake.app, "GET", "/contacts/all", headers=headers, params={"next-token": token}
    )
    assert second.json()["items"][0] == fake.contacts[7]
    suppliers = _request(fake.app, "GET", "/suppliers", headers=headers, params={"maxResults": 2})
    assert len(suppliers.json()["items"]) == 2
    more = {"nextToken": suppliers.json()["meta"]["nextToken"]}
    rest = _request(fake.app, "GET", "/suppliers", headers=headers, params=more).json()["items"]
    assert rest[0] == fake.world["suppliers"][2]
    bad = _request(fake.app, "GET", "/contacts/all", headers=headers, params={"next-token": "@@"})
    assert bad.status_code == 400


@pytest.mark.contract_violation_expected(
    "propertyId: missing", "priority: missing", "reportedDate: missing"
)
def test_alto_works_order_validation() -> None:
    fake = FakeAlto(5, seed=1)
    headers = {"Authorization": f"Bearer {_alto_token(fake)}", "AgencyRef": fake.agency_ref}
    missing = _request(fake.app, "POST", "/work-orders", headers=headers, json={"summary": "x"})
    assert missing.status_code == 400
    assert {e["message"] for e in missing.json()["errors"]} >= {"propertyId is required"}
    order = {
        "propertyId": "100001",
        "summary": "x" * 151,
        "priority": "Low",
        "reportedDate": "2026-01-01",
    }
    assert (
        _request(fake.app, "POST", "/work-orders", headers=headers, json=order).status_code == 400
    )


def test_fixflo_needs_its_token_and_pages_with_each_endpoints_parameter() -> None:
    fake = FakeFixflo(200, seed=2, page_size=10)
    assert _request(fake.app, "GET", "/api/v2/Landlords").status_code == 401
    headers = {"Authorization": f"Bearer {fake.token}"}
    page = _request(fake.app, "GET", "/api/v2/Contractors", headers=headers, params={"Pg": 2})
    body = page.json()
    assert set(body) == {"Items", "TotalItems", "TotalPages", "NextURL", "PreviousURL"}
    assert body["PreviousURL"].endswith("Pg=1")
    landlords = _request(fake.app, "GET", "/api/v2/Landlords", headers=headers).json()["Items"]
    assert all(isinstance(item["id"], str) for item in landlords)  # Landlord.id is a string


def test_fixflo_refused_writes_are_200_with_errors() -> None:
    fake = FakeFixflo(10, seed=2)
    headers = {"Authorization": f"Bearer {fake.token}"}
    unknown = {"id": "999999", "Surname": "Nobody"}
    before = dict(fake.store.collections["landlords"])
    answer = _request(fake.app, "POST", "/api/v2/Landlord", headers=headers, json=unknown)
    assert answer.status_code == 200
    assert answer.json()["Errors"]
    assert answer.json().get("Entity") is None
    assert fake.store.collections["landlords"] == before


def test_fault_specs() -> None:
    rules = parse_faults("all=0.1, lost@POST /work-orders=0.2, 429@/contacts=1")
    assert [(r.kind, r.method, r.prefix) for r in rules] == [
        ("all", None, "/"),
        ("lost", "POST", "/work-orders"),
        ("429", None, "/contacts"),
    ]
    for bad, message in [
        ("boom=0.1", "unknown kind"),
        ("429=2", "from 0 to 1"),
        ("429", "KIND=RATE"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_faults(bad)


def test_faults_are_seeded() -> None:
    def picks(seed: int) -> list[str | None]:
        faults = Faults(parse_faults("all=0.5"), seed=seed)
        return [faults.pick("POST", "/x") for _ in range(50)]

    assert picks(1) == picks(1)
    assert picks(1) != picks(2)
    assert set(picks(1)) - {None} <= set(simulator.fake.KINDS)


def test_junk_ends_each_list_page_with_the_next_bad_item_and_leaves_other_answers() -> None:
    faults = Faults(parse_faults("junk@GET=1"), junk=("first", "second"))
    fake = FakeFixflo(30, seed=2, page_size=5, faults=faults)
    headers = {"Authorization": f"Bearer {fake.token}"}
    settings = _request(fake.app, "GET", "/api/v2/Agency/Settings", headers=headers).json()
    pages = [
        _request(fake.app, "GET", "/api/v2/Landlords", headers=headers, params={"pg": n}).json()
        for n in (1, 2, 3)
    ]
    assert set(settings) == {"AgencyName", "WorkflowType"}  # no list: untouched, no junk used
    assert [page["Items"][-1] for page in pages] == ["first", "second", "first"]
    assert [len(page["Items"]) for page in pages[:2]] == [6, 6]  # 5 landlords and the junk
    assert fake.log.faults() == {"junk": 4}


def test_injected_429_carries_retry_after_and_is_logged() -> None:
    fake = FakeFixflo(5, seed=2, faults=Faults(parse_faults("429=1"), retry_after=3))
    answer = _request(fake.app, "GET", "/api/v2/Landlords")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "3"
    assert fake.log.entries[0].fault == "429"


def test_a_real_server_binds_loopback_and_stops() -> None:
    fake = FakeFixflo(5, seed=2)
    with serving(fake.app) as url:
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        answer = httpx.get(
            url + "/api/v2/Agency/Settings", headers={"Authorization": f"Bearer {fake.token}"}
        )
        assert answer.status_code == 200
    with socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex(("127.0.0.1", port)) != 0
