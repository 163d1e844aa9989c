"""Fixflo webhook subscriptions (`FixfloSubscriptions`) over loopback HTTP, on the contract.

The server here is a small Fixflo of webhooks only, behind the contract recorder
(`simulator.fake.contract.recorded`): every request the client sends and every answer is
judged against facts.json (``webhook_subscribe``, ``webhooks_list``, ``webhook_unsubscribe``,
``webhook_activity``), and the suite's conftest fails a test on any violation. The server
also checks what the recorder cannot: the Secret's 16..64 length and an absolute TargetUrl,
refusing as the contract says Fixflo refuses (200 with Errors).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from adapters.errors import ConfigError, EnvelopeError, PageLoopError, ProtocolError
from adapters.fixflo import (
    ISSUE_EVENTS,
    DeliveryFailure,
    FixfloAdapter,
    FixfloAuth,
    FixfloSubscriptions,
    Subscription,
)
from adapters.fixflo.webhooks import WebhookReceiver, path_token
from adapters.http import RetryPolicy
from simulator.fake import FakeFixflo, serving
from simulator.fake.contract import recorded
from simulator.lifecycle.worlds import FixfloWorld

SECRET = "a-webhook-secret-0123456789"
OURS = "https://rb.acme.example/fixflo"
TARGET = f"{OURS}/0123456789abcdef0123456789abcdef"
OTHER = "https://crm.other.example/hooks/fixflo"
T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=6, timeout=20.0, wait_initial=0.001, wait_max=0.01, wait_jitter=0)


class Hooks:
    """Fixflo's webhook endpoints over an in-memory table, with faults to inject."""

    def __init__(self) -> None:
        self.hooks: dict[str, dict[str, Any]] = {}
        self.activity: list[dict[str, Any]] = []  # newest first
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.faults: list[Callable[[Request], Response | None]] = []
        self.lose_subscribe_answers = 0  # subscribes that land, then answer 500
        self.ignore_pg = False
        self.next_id = 100
        routes = [
            Route("/Webhook/Subscribe", self._subscribe, methods=["POST"]),
            Route("/Webhooks", self._list, methods=["GET"]),
            Route("/Webhook/Unsubscribe", self._unsubscribe, methods=["DELETE"]),
            Route("/Webhook/Activity", self._activity, methods=["GET"]),
        ]
        self.app = recorded(
            Starlette(routes=[Mount("/api/v2", routes=routes)]), "fixflo", prefix="/api/v2"
        )

    def add(self, url: str) -> str:
        self.next_id += 1
        self.hooks[str(self.next_id)] = {"Url": url}
        return str(self.next_id)

    def urls(self) -> dict[str, str]:
        return {hook_id: hook["Url"] for hook_id, hook in self.hooks.items()}

    async def _seen(self, request: Request) -> Response | None:
        body = json.loads(await request.body()) if await request.body() else None
        path = request.url.path.removeprefix("/api/v2")
        self.requests.append((request.method, path, dict(request.query_params), body))
        for fault in list(self.faults):
            answer = fault(request)
            if answer is not None:
                self.faults.remove(fault)
                return answer
        return None

    async def _subscribe(self, request: Request) -> Response:
        if (fault := await self._seen(request)) is not None:
            return fault
        body = await request.json()
        secret, url = body.get("Secret") or "", urlsplit(body.get("TargetUrl") or "")
        if not 16 <= len(secret) <= 64 or url.scheme not in ("http", "https"):
            return JSONResponse({"HttpStatusCode": 400, "Errors": ["The request is invalid"]})
        hook_id = self.add(body["TargetUrl"])
        self.hooks[hook_id] |= body
        if self.lose_subscribe_answers:
            self.lose_subscribe_answers -= 1
            return Response("upstream failed", status_code=500)
        return JSONResponse({"id": hook_id})

    async def _list(self, request: Request) -> Response:
        if (fault := await self._seen(request)) is not None:
            return fault
        return JSONResponse([{"id": k, "Url": v["Url"]} for k, v in self.hooks.items()])

    async def _unsubscribe(self, request: Request) -> Response:
        if (fault := await self._seen(request)) is not None:
            return fault
        if self.hooks.pop(request.query_params.get("id", ""), None) is None:
            return JSONResponse({"HttpStatusCode": 404, "Errors": ["Not found"]}, 404)
        return JSONResponse({})

    async def _activity(self, request: Request) -> Response:
        if (fault := await self._seen(request)) is not None:
            return fault
        page = 1 if self.ignore_pg else int(request.query_params.get("pg", "1"))
        failed_only = request.query_params.get("FailedOnly") == "true"
        items = [i for i in self.activity if i["Failed"] == "true" or not failed_only]
        pages = max(1, -(-len(items) // 20))
        shown = items[(page - 1) * 20 : page * 20]
        return JSONResponse({"TotalItems": len(items), "TotalPages": pages, "Items": shown})


@pytest.fixture
def fixflo() -> Iterator[tuple[Hooks, str]]:
    hooks = Hooks()
    with serving(hooks.app) as url:
        yield hooks, url + "/api/v2"


def run(url: str, work: Callable[[FixfloSubscriptions], Awaitable[Any]], **options: Any) -> Any:
    async def main() -> Any:
        async with httpx.AsyncClient(base_url=url, auth=FixfloAuth("tok"), timeout=5) as client:
            adapter = FixfloAdapter(client, retry=FAST, **options)
            return await work(FixfloSubscriptions(adapter, secret_env="ACME_WEBHOOK_SECRET"))

    return asyncio.run(main())


# Subscribe -------------------------------------------------------------------------------


def test_subscribe_sends_the_documented_body_and_returns_the_id(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    new_id = run(url, lambda s: s.subscribe(TARGET, SECRET))
    assert hooks.urls() == {new_id: TARGET}
    posted = [body for method, _, _, body in hooks.requests if method == "POST"]
    assert posted == [
        {
            "TargetUrl": TARGET,
            "Events": ["Issue state change", "Job invoice updated", "Issue closed"],
            "Secret": SECRET,
            "RemoveBody": True,
            "HttpMethod": "POST",
            "EntityType": "Issue",
        }
    ]
    assert tuple(posted[0]["Events"]) == ISSUE_EVENTS


@pytest.mark.parametrize(
    ("target", "secret", "events", "says"),
    [
        (TARGET, "x" * 15, ISSUE_EVENTS, "ACME_WEBHOOK_SECRET must hold 16 to 64"),
        (TARGET, "x" * 65, ISSUE_EVENTS, "not 65"),
        (TARGET, SECRET, (), "at least one webhook event"),
        (TARGET, SECRET, ("Property changed",), "not a Fixflo Issue webhook event"),
        (TARGET, SECRET, ("Issue closed ",), "not a Fixflo Issue webhook event"),
        ("rb.acme.example/fixflo/x", SECRET, ISSUE_EVENTS, "absolute http(s) URL"),
        ("ftp://rb.acme.example/x", SECRET, ISSUE_EVENTS, "absolute http(s) URL"),
    ],
)
def test_what_the_contract_refuses_is_refused_before_sending(
    fixflo: tuple[Hooks, str], target: str, secret: str, events: tuple[str, ...], says: str
) -> None:
    hooks, url = fixflo
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")) as err:
        run(url, lambda s: s.subscribe(target, secret, events))
    assert secret not in str(err.value)
    assert hooks.requests == []  # nothing was sent, not even a listing


# Fixflo may answer any write 200 with Errors (contracts/fixflo.md section 0).
def test_a_refusal_in_a_200_envelope_is_an_error_without_the_secret(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    echo = JSONResponse({"HttpStatusCode": 400, "Errors": [f"Secret {SECRET} is not allowed"]})
    hooks.faults.append(lambda r: echo if r.method == "POST" else None)
    with pytest.raises(EnvelopeError) as err:
        run(url, lambda s: s.subscribe(TARGET, SECRET))
    assert "refused" in str(err.value)
    assert SECRET not in str(err.value)
    assert hooks.hooks == {}


def test_a_subscribe_whose_answer_was_lost_is_found_not_sent_again(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    hooks.lose_subscribe_answers = 1  # it lands, then the answer is a 500
    new_id = run(url, lambda s: s.subscribe(TARGET, SECRET))
    assert hooks.urls() == {new_id: TARGET}
    assert [r[0] for r in hooks.requests] == ["GET", "POST", "GET"]


def test_rate_limits_and_server_errors_are_retried_through_the_adapters_limiter(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    limited = Response("slow down", status_code=429, headers={"Retry-After": "0"})
    hooks.faults += [
        lambda r: limited if r.url.path.endswith("/Webhooks") else None,
        lambda r: limited if r.method == "POST" else None,
        lambda r: Response("oops", 503) if r.method == "DELETE" else None,
    ]
    old = hooks.add(f"{OURS}/old-token-0123456789")

    class Counting:
        max_rate = 1000.0
        acquired = 0

        async def acquire(self) -> None:
            Counting.acquired += 1

    sub = run(url, lambda s: s.ensure(TARGET, SECRET, ours=OURS), limiter=Counting())
    assert sub.replaced == [old]
    assert hooks.urls() == {sub.id: TARGET}
    assert Counting.acquired == len(hooks.requests)  # every attempt waited for the limiter
    assert len(hooks.requests) == 7  # 2 lists + 1 retry, 1 subscribe + 1 retry, 2 deletes


# Ensure and remove -----------------------------------------------------------------------


def test_ensure_leaves_one_subscription_of_ours_and_never_touches_others(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    other = hooks.add(OTHER)
    lookalike = hooks.add(OURS + "-staging/0123456789abcdef")  # same prefix, not below ours
    ours_before = [hooks.add(f"{OURS}/stale-token-{n:08d}") for n in range(2)]
    first = run(url, lambda s: s.ensure(TARGET, SECRET, ours=OURS))
    assert isinstance(first, Subscription)
    assert first.replaced == ours_before
    assert hooks.urls() == {other: OTHER, lookalike: OURS + "-staging/0123456789abcdef",
                            first.id: TARGET}  # fmt: skip
    again = run(url, lambda s: s.ensure(TARGET, SECRET, ours=OURS + "/"))
    assert again.replaced == [first.id]
    assert set(hooks.urls()) == {other, lookalike, again.id}


def test_ensure_with_a_new_secret_replaces_the_subscription_and_sends_the_new_secret(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    first = run(url, lambda s: s.ensure(TARGET, SECRET, ours=OURS))
    new_target, new_secret = (
        f"{OURS}/fedcba9876543210fedcba9876543210",
        "another-secret-of-32-characters!",
    )
    second = run(url, lambda s: s.ensure(new_target, new_secret, ours=OURS))
    assert second.replaced == [first.id]
    assert hooks.hooks[second.id]["Secret"] == new_secret
    assert hooks.urls() == {second.id: new_target}


def test_ensure_refuses_a_target_outside_ours_and_an_empty_prefix(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    hooks.add(OTHER)
    with pytest.raises(ConfigError, match="below the public URL"):
        run(url, lambda s: s.ensure(OTHER + "/x", SECRET, ours=OURS))
    with pytest.raises(ConfigError, match="absolute http"):
        run(url, lambda s: s.remove(ours=""))
    assert len(hooks.hooks) == 1
    assert [r[0] for r in hooks.requests] == []


def test_remove_unsubscribes_ours_by_id_and_a_vanished_one_is_done(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    other = hooks.add(OTHER)
    mine = [hooks.add(TARGET), hooks.add(f"{OURS}/older")]
    gone = run(url, lambda s: s.remove(ours=OURS))
    assert gone == mine
    assert hooks.urls() == {other: OTHER}
    deletes = [(p, q) for m, p, q, _ in hooks.requests if m == "DELETE"]
    assert deletes == [("/Webhook/Unsubscribe", {"id": i}) for i in mine]
    run(url, lambda s: s.unsubscribe(mine[0]))  # Fixflo answers 404: already gone
    assert hooks.urls() == {other: OTHER}


@pytest.mark.parametrize(
    "answer",
    [
        JSONResponse({"Webhooks": []}),
        JSONResponse([{"Url": TARGET}]),
        JSONResponse([{"id": True, "Url": TARGET}]),
        Response("<html>maintenance</html>", media_type="text/html"),
    ],
)
@pytest.mark.contract_violation_expected
def test_a_listing_that_is_not_the_documented_shape_is_a_clear_error(
    fixflo: tuple[Hooks, str], answer: Response
) -> None:
    hooks, url = fixflo
    hooks.faults.append(lambda r: answer)
    with pytest.raises(ProtocolError, match=r"GET /Webhooks: .*(not a list|no id|not JSON)"):
        run(url, lambda s: s.listed())


# Activity --------------------------------------------------------------------------------


def _item(n: int, sent: datetime, *, failed: bool = True, status: Any = 401) -> dict[str, Any]:
    body = {"action": "Issue state change", "payload": {"Id": n, "Email": "tenant@example.com"}}
    return {
        "id": str(n),
        "WebHookUrl": TARGET,
        "SendTime": sent.replace(tzinfo=None).isoformat(),
        "Failed": "true" if failed else "false",
        "FailureMessage": "Unauthorized: call 07700 900123" if failed else None,
        "ResponseStatus": status,
        "RequestBody": json.dumps(body),
        "ResponseBody": '{"error": "tenant@example.com"}',
    }


def test_activity_reads_the_documented_parameters_and_nothing_personal(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    hooks.activity = [
        _item(3, T0, status="401 Unauthorized"),
        _item(2, T0 - timedelta(minutes=5), failed=False, status=200),
        _item(1, T0 - timedelta(hours=2)),
    ]
    since = T0 - timedelta(hours=1)
    failed = run(url, lambda s: s.activity("42", failed_only=True, since=since))
    assert failed == [DeliveryFailure(T0, 401, "Unauthorized: call <phone>", "Issue state change")]
    assert "tenant@example.com" not in repr(failed)
    assert hooks.requests[-1][1:3] == (
        "/Webhook/Activity", {"Id": "42", "FailedOnly": "true", "pg": "1"}
    )  # fmt: skip
    every = run(url, lambda s: s.activity("42", failed_only=False, since=since))
    assert [(f.status, f.failed) for f in every] == [(401, True), (200, False)]


def test_activity_stops_at_the_first_page_reaching_back_past_since(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    hooks.activity = [_item(n, T0 - timedelta(minutes=n)) for n in range(100)]
    since = T0 - timedelta(minutes=45)
    found = run(url, lambda s: s.activity("42", failed_only=True, since=since))
    assert len(found) == 46
    assert [q["pg"] for _, _, q, _ in hooks.requests] == ["1", "2", "3"]
    capped = run(url, lambda s: s.activity("42", failed_only=True, since=T0 - timedelta(days=1),
                                            max_pages=2))  # fmt: skip
    assert len(capped) == 40


@pytest.mark.parametrize(
    ("items", "says"),
    [
        ([{"id": "1", "SendTime": "yesterday", "Failed": "true"}], "no readable SendTime"),
        ([{"id": "1", "Failed": "true"}], "no readable SendTime"),
        (["not an item"], "is not an object"),
    ],
)
@pytest.mark.contract_violation_expected
def test_activity_items_that_cannot_be_read_are_a_clear_error(
    fixflo: tuple[Hooks, str], items: list[Any], says: str
) -> None:
    hooks, url = fixflo
    hooks.faults.append(lambda r: JSONResponse({"TotalPages": 1, "Items": items}))
    with pytest.raises(ProtocolError, match=f"GET /Webhook/Activity: .*{says}"):
        run(url, lambda s: s.activity("42", failed_only=True, since=T0))


def test_activity_of_a_server_ignoring_the_page_stops_at_the_repeat(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo
    hooks.ignore_pg = True
    hooks.activity = [_item(n, T0 + timedelta(days=1)) for n in range(40)]
    with pytest.raises(PageLoopError, match="repeats page 1"):
        run(url, lambda s: s.activity("42", failed_only=True, since=T0))
    assert len(hooks.requests) == 2


def test_activity_returns_exactly_the_attempts_since_newest_first(
    fixflo: tuple[Hooks, str],
) -> None:
    hooks, url = fixflo

    @given(
        ages=st.lists(st.integers(0, 10_000), max_size=70).map(sorted),
        since_age=st.integers(0, 10_000),
        failed=st.lists(st.booleans(), min_size=70, max_size=70),
    )
    def check(ages: list[int], since_age: int, failed: list[bool]) -> None:
        hooks.requests.clear()
        hooks.activity = [
            _item(n, T0 - timedelta(seconds=age), failed=failed[n]) for n, age in enumerate(ages)
        ]
        since = T0 - timedelta(seconds=since_age)
        found = run(url, lambda s: s.activity("7", failed_only=True, since=since))
        expected = [
            T0 - timedelta(seconds=age)
            for n, age in enumerate(ages)
            if failed[n] and age <= since_age
        ]
        assert [f.send_time for f in found] == expected
        assert all(f.failed for f in found)
        pages = [q["pg"] for _, _, q, _ in hooks.requests]
        assert pages == [str(p + 1) for p in range(len(pages))]
        assert len(pages) <= len(expected) // 20 + 1  # no page read past the one reaching since

    check()


# Against the fake Fixflo, which sends the deliveries -------------------------------------


class Heard:
    """The receiver's handler: each call's action and issue id."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, action: str, payload: dict[str, Any]) -> None:
        self.calls.append((action, str(payload["Id"])))


async def _failed_today(hooks: FixfloSubscriptions, sub_id: str) -> list[DeliveryFailure]:
    return await hooks.activity(sub_id, failed_only=True, since=datetime.now(UTC) - timedelta(1))


def _issue_moves(world: FixfloWorld, issue_id: str) -> None:
    world.save({"Id": issue_id, "Status": "Reported"})  # Issue add: not subscribed to
    world.save({"Id": issue_id, "Status": "JobAwarded"})  # Issue state change
    world.save({"Id": issue_id, "Status": "Closed"})  # Issue state change, Issue closed


@pytest.mark.parametrize("faults", ["", "duplicate=1.0", "forge=1.0"])
def test_the_fake_fixflo_delivers_to_the_receiver_ensure_subscribed(
    tmp_path: Path, faults: str
) -> None:
    world, heard = FixfloWorld(), Heard()
    fake = FakeFixflo(5, world=world, webhook_faults=faults, token="tok")
    token = path_token(SECRET)
    receiver = WebhookReceiver(
        SECRET, heard, store=tmp_path / "agency.db", token=token, keep=timedelta(0)
    )
    try:
        with serving(fake.app) as api, serving(receiver) as public:
            sub = run(api + "/api/v2", lambda s: s.ensure(f"{public}/{token}", SECRET, ours=public))
            _issue_moves(world, "1042")
            assert fake.webhooks.drain(10)
            failures = run(api + "/api/v2", lambda s: _failed_today(s, sub.id))
    finally:
        fake.close()
        receiver.close()
    # Two state changes of one issue are the same body (RemoveBody: only the Id): with
    # keep=0 each is a trigger of its own, so the second change is not taken for a replay.
    copies = 2 if faults == "duplicate=1.0" else 1
    assert sorted(heard.calls) == sorted(
        [("Issue state change", "1042")] * 2 * copies + [("Issue closed", "1042")] * copies
    )
    assert failures == []
    assert receiver.stats["forged"] == (3 if faults == "forge=1.0" else 0)
    assert receiver.stats["accepted"] == 3 * copies


def test_a_secret_fixflo_does_not_sign_with_shows_as_401s_in_the_activity(
    tmp_path: Path,
) -> None:
    world, heard = FixfloWorld(), Heard()
    fake = FakeFixflo(5, world=world, token="tok")
    fake.webhooks.sender.retries, fake.webhooks.sender.backoff = 1, 0.01
    token = path_token(SECRET)
    wrong = WebhookReceiver("not-the-subscribed-secret", heard, store=tmp_path / "a.db",
                            token=token)  # fmt: skip
    try:
        with serving(fake.app) as api, serving(wrong) as public:
            sub = run(api + "/api/v2", lambda s: s.ensure(f"{public}/{token}", SECRET, ours=public))
            world.save({"Id": "7", "Status": "Reported"})
            world.save({"Id": "7", "Status": "JobAwarded"})
            assert fake.webhooks.drain(10)
            failures = run(api + "/api/v2", lambda s: _failed_today(s, sub.id))
    finally:
        fake.close()
        wrong.close()
    assert heard.calls == []
    assert [(f.status, f.event, f.failed) for f in failures] == [
        (401, "Issue state change", True)
    ] * 2  # the first attempt and its one retry, newest first
    assert wrong.stats["forged"] == 2
