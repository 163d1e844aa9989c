"""The Fixflo webhook receiver: signatures, bad bodies, and each delivery handled once,
claimed in the agency's state store (concurrent deliveries over loopback HTTP, restarts,
failed handlers, claims left by a killed receiver)."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.fixflo.webhooks import (
    MAX_BODY,
    Busy,
    WebhookReceiver,
    digest_of,
    issue_id_of,
    path_token,
    sign,
)
from adapters.http import JSON_DEPTH, nested_deeper_than
from engine.store import Deliveries, Store
from simulator.fake import serving

SECRET = "webhook-s3cret-of-16+"
Posts = list[tuple[bytes, dict[str, str]]]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "agency.db"


@pytest.fixture
def receivers(store_path: Path) -> Iterator[Callable[..., WebhookReceiver]]:
    """Makes receivers on the same store file and closes every one afterwards."""
    made: list[WebhookReceiver] = []

    def make(handler: Any, **options: Any) -> WebhookReceiver:
        receiver = WebhookReceiver(SECRET, handler, store=store_path, **options)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


def _body(issue_id: int, status: str = "JobAwarded") -> bytes:
    return json.dumps(
        {"action": "Issue state change", "payload": {"Id": issue_id, "Status": status}}
    ).encode()


def _signed(body: bytes) -> tuple[bytes, dict[str, str]]:
    return body, {"ff-signature": sign(body, SECRET)}


def _in_process(receiver: WebhookReceiver, posts: Posts) -> list[int]:
    """Post one after another through the ASGI app, in process."""

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=receiver)
        async with httpx.AsyncClient(transport=transport, base_url="http://hook.test") as http:
            return [(await http.post("/", content=b, headers=h)).status_code for b, h in posts]

    return asyncio.run(run())


def _at_once(url: str, posts: Posts) -> list[httpx.Response]:
    """Post all at once over real HTTP to the receiver served on 127.0.0.1."""

    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(posts))
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
            return list(
                await asyncio.gather(*(http.post("/", content=b, headers=h) for b, h in posts))
            )

    return asyncio.run(run())


class Calls:
    """A handler that records its calls, optionally slow or failing the first n times."""

    def __init__(self, *, delay: float = 0.0, failures: int = 0) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.delay, self.failures = delay, failures

    async def __call__(self, action: str, payload: dict[str, Any]) -> None:
        self.seen.append((action, payload))
        await asyncio.sleep(self.delay)
        if len(self.seen) <= self.failures:
            raise RuntimeError("the database is busy")


# Signatures and bodies ------------------------------------------------------------------


def test_signed_deliveries_are_handed_on_once(receivers: Callable[..., WebhookReceiver]) -> None:
    handler = Calls()
    one, two = _signed(_body(1)), _signed(_body(2))
    assert _in_process(receivers(handler), [one, two, one]) == [200, 200, 200]
    assert [payload["Id"] for _, payload in handler.seen] == [1, 2]


def test_missing_or_bad_signatures_are_refused_and_claim_nothing(
    receivers: Callable[..., WebhookReceiver], store_path: Path
) -> None:
    handler = Calls()
    body = _body(1)
    posts = [
        (body, {}),
        (body, {"ff-signature": sign(body, "other")}),
        (body, {"ff-signature": sign(body, SECRET)[:-1] + "0"}),
        (body + b" ", {"ff-signature": sign(body, SECRET)}),
    ]
    assert _in_process(receivers(handler), posts) == [401, 401, 401, 401]
    assert handler.seen == []
    with Deliveries.open(store_path) as deliveries:
        assert deliveries.status(digest_of(body)) is None


def test_bad_bodies_are_refused_and_the_secret_never_shows(
    receivers: Callable[..., WebhookReceiver],
) -> None:
    handler = Calls()
    deep = b'{"action": "Issue closed", "payload": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    bodies = (b"[1, 2]", b"{", b'{"action": 1, "payload": {}}', deep)
    posts = [_signed(b) for b in bodies]
    posts.append(_signed(b"x" * (MAX_BODY + 1)))
    receiver = receivers(handler)
    assert _in_process(receiver, posts) == [400, 400, 400, 400, 413]
    assert handler.seen == []
    assert SECRET not in repr(receiver)


# Once, whatever the timing --------------------------------------------------------------


@pytest.mark.parametrize("copies", [5, 50])
def test_concurrent_identical_deliveries_over_http_run_the_handler_once(
    receivers: Callable[..., WebhookReceiver], copies: int
) -> None:
    handler = Calls(delay=0.2)  # long enough for every copy to arrive while it runs
    receiver = receivers(handler)
    with serving(receiver) as url:
        answers = _at_once(url, [_signed(_body(7))] * copies)
    assert len(handler.seen) == 1
    assert [a.status_code for a in answers] == [200] * copies
    statuses = sorted(a.json()["status"] for a in answers)
    assert statuses == ["accepted"] + ["duplicate"] * (copies - 1)


def test_two_receivers_on_one_store_run_the_handler_once(
    receivers: Callable[..., WebhookReceiver],
) -> None:
    handler = Calls(delay=0.2)  # one handler: two processes would share the agency's effects
    with serving(receivers(handler)) as one, serving(receivers(handler)) as two:

        async def run() -> list[httpx.Response]:
            body, headers = _signed(_body(8))
            async with httpx.AsyncClient(timeout=30) as http:
                posts = [http.post(url, content=body, headers=headers) for url in [one, two] * 5]
                return list(await asyncio.gather(*posts))

        answers = asyncio.run(run())
    assert [a.status_code for a in answers] == [200] * 10
    assert len(handler.seen) == 1


def test_a_replay_after_a_restart_runs_nothing(
    receivers: Callable[..., WebhookReceiver], store_path: Path
) -> None:
    first = Calls()
    delivery = _signed(_body(3))
    before = receivers(first)
    with serving(before) as url:
        assert [a.status_code for a in _at_once(url, [delivery])] == [200]
    before.close()  # the process ends; a new one starts on the same store file
    again = Calls()
    with serving(receivers(again)) as url:
        (answer,) = _at_once(url, [delivery])
    assert (answer.status_code, answer.json()) == (200, {"status": "duplicate"})
    assert (len(first.seen), again.seen) == (1, [])
    with Deliveries.open(store_path) as deliveries:
        assert deliveries.status(digest_of(delivery[0])) == "handled"


def test_a_failed_handler_lets_the_redelivery_run_it(
    receivers: Callable[..., WebhookReceiver], store_path: Path
) -> None:
    handler = Calls(failures=1)
    delivery = _signed(_body(9))
    assert _in_process(receivers(handler), [delivery]) == [500]
    with Deliveries.open(store_path) as deliveries:
        assert deliveries.status(digest_of(delivery[0])) is None  # released
    assert _in_process(receivers(handler), [delivery, delivery]) == [200, 200]
    assert [payload["Id"] for _, payload in handler.seen] == [9, 9]


def test_a_copy_waiting_on_a_failing_handler_runs_it_itself(
    receivers: Callable[..., WebhookReceiver],
) -> None:
    handler = Calls(delay=0.2, failures=1)
    with serving(receivers(handler)) as url:
        answers = _at_once(url, [_signed(_body(4))] * 5)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 200, 500]
    assert sorted(a.json().get("status", "") for a in answers) == [
        "", "accepted", "duplicate", "duplicate", "duplicate"
    ]  # fmt: skip
    assert len(handler.seen) == 2  # the failure, then one waiting copy: never lost


def test_a_copy_still_running_after_the_wait_is_asked_to_come_back(
    receivers: Callable[..., WebhookReceiver],
) -> None:
    handler = Calls(delay=0.5)
    with serving(receivers(handler, wait=0.1)) as url:
        answers = _at_once(url, [_signed(_body(5))] * 2)
    later = next(a for a in answers if a.status_code != 200)
    assert later.status_code == 503
    assert later.headers["Retry-After"] == "30"
    assert "send it again later" in later.json()["error"]
    assert len(handler.seen) == 1


# Claims in the store --------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_claim_left_by_a_killed_receiver_is_taken_over_after_its_lease(
    store_path: Path,
) -> None:
    clock, lease = Clock(), timedelta(minutes=10)
    with (
        Deliveries.open(store_path, clock=clock) as one,
        Deliveries.open(store_path, clock=clock) as two,
    ):
        held = one.claim("sha256:a", "Issue closed", lease=lease)
        assert held.outcome == "claimed"
        assert two.claim("sha256:a", "Issue closed", lease=lease).outcome == "in_progress"
        clock.now += lease + timedelta(seconds=1)  # `one` died without finishing
        taken = two.claim("sha256:a", "Issue closed", lease=lease)
        assert (taken.outcome, taken.attempts) == ("claimed", 2)
        assert not one.finish(held)  # the dead claimant's token no longer counts
        assert not one.release(held)
        assert two.finish(taken)
        assert one.claim("sha256:a", "Issue closed", lease=lease).outcome == "handled"


def test_handled_deliveries_are_forgotten_after_the_retention(store_path: Path) -> None:
    clock, keep = Clock(), timedelta(days=30)
    with Deliveries.open(store_path, clock=clock) as deliveries:
        deliveries.finish(deliveries.claim("sha256:old", "Issue add", keep=keep))
        clock.now += keep - timedelta(seconds=1)
        assert deliveries.claim("sha256:old", "Issue add", keep=keep).outcome == "handled"
        clock.now += timedelta(seconds=2)
        assert deliveries.claim("sha256:new", "Issue add", keep=keep).outcome == "claimed"
        assert deliveries.status("sha256:old") is None


def test_the_table_holds_digests_and_event_names_only(
    receivers: Callable[..., WebhookReceiver], store_path: Path
) -> None:
    body = json.dumps(
        {"action": "Issue add", "payload": {"Id": 1, "Email": "tenant@example.com"}}
    ).encode()
    assert _in_process(receivers(Calls()), [_signed(body)]) == [200]
    with sqlite3.connect(store_path) as raw:
        rows = raw.execute("SELECT * FROM webhook_deliveries").fetchall()
    assert len(rows) == 1
    assert "tenant@example.com" not in repr(rows)
    assert rows[0][:3] == (digest_of(body), "Issue add", "handled")


def test_a_store_that_cannot_be_written_asks_for_a_redelivery(
    receivers: Callable[..., WebhookReceiver], store_path: Path
) -> None:
    handler = Calls()
    Store.open(store_path).close()
    locker = sqlite3.connect(store_path)
    locker.execute("BEGIN EXCLUSIVE")  # another writer holds the file
    try:
        receiver = receivers(handler, timeout=0.1)
        codes = _in_process(receiver, [_signed(_body(2))])
    finally:
        locker.rollback()
        locker.close()
    assert codes == [503]
    assert handler.seen == []
    assert _in_process(receiver, [_signed(_body(2))]) == [200]
    assert len(handler.seen) == 1


def test_a_closed_receiver_answers_503_and_closing_twice_is_fine(
    receivers: Callable[..., WebhookReceiver],
) -> None:
    receiver = receivers(Calls())
    receiver.close()
    receiver.close()
    assert _in_process(receiver, [_signed(_body(1))]) == [503]


# The path token, the signature modes and what is a delivery -------------------------------

TOKEN = path_token(SECRET)


def _posts_to(
    receiver: WebhookReceiver, requests: list[tuple[str, str, bytes, dict[str, str]]]
) -> list[httpx.Response]:
    """Send (method, path, body, headers) one after another over loopback HTTP."""

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            return [await http.request(m, p, content=b, headers=h) for m, p, b, h in requests]

    with serving(receiver) as url:
        return asyncio.run(run())


def test_the_path_token_hides_the_secret_and_differs_by_secret() -> None:
    token = path_token(SECRET)
    assert len(token) == 32
    assert int(token, 16) >= 0
    assert SECRET not in token
    assert token == path_token(SECRET.encode())
    assert token != path_token(SECRET + "x")


def test_with_a_token_only_a_post_to_it_is_a_delivery(
    receivers: Callable[..., WebhookReceiver], store_path: Path
) -> None:
    handler = Calls()
    receiver = receivers(handler, token=TOKEN)
    body, headers = _signed(_body(11))
    huge = b"x" * (MAX_BODY + 10)
    answers = _posts_to(
        receiver,
        [
            ("POST", "/", body, headers),
            ("POST", f"/{TOKEN[:-1]}0", body, headers),
            ("POST", f"/{TOKEN}/more", body, headers),
            ("POST", f"/{TOKEN.upper()}", body, headers),
            ("GET", f"/{TOKEN}", b"", {}),
            ("PUT", f"/{TOKEN}", body, headers),
            ("POST", "/wrong-token-of-some-length", huge, headers),  # not read: 404, not 413
            ("POST", f"/{TOKEN}", body, headers),
        ],
    )
    assert [a.status_code for a in answers] == [404] * 7 + [200]
    assert [payload["Id"] for _, payload in handler.seen] == [11]
    assert receiver.stats["not_found"] == 7
    assert receiver.stats["accepted"] == 1
    with sqlite3.connect(store_path) as raw:
        assert raw.execute("SELECT count(*) FROM webhook_deliveries").fetchone() == (1,)


def test_signature_none_takes_the_token_as_the_only_check(
    receivers: Callable[..., WebhookReceiver],
) -> None:
    handler = Calls()
    receiver = receivers(handler, token=TOKEN, signature="none")
    one, two = _body(21), _body(22)
    answers = _posts_to(
        receiver,
        [
            ("POST", f"/{TOKEN}", one, {}),
            ("POST", f"/{TOKEN}", two, {"ff-signature": "sha256=whatever-fixflo-sends"}),
            ("POST", "/", _body(23), {}),
        ],
    )
    assert [a.status_code for a in answers] == [200, 200, 404]
    assert [payload["Id"] for _, payload in handler.seen] == [21, 22]


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"signature": "none"}, "no check at all"),
        ({"signature": "sha1"}, "hmac-sha256 or none"),
        ({"token": "short"}, "16 to 128"),
        ({"token": "a/b" * 8}, "16 to 128"),
    ],
)
def test_a_receiver_that_would_check_nothing_is_refused(
    store_path: Path, options: dict[str, Any], says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        WebhookReceiver(SECRET, Calls(), store=store_path, **options)


def test_events_not_about_issues_are_ignored_and_issue_events_need_an_id(
    receivers: Callable[..., WebhookReceiver], store_path: Path
) -> None:
    handler = Calls()

    def delivery(action: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        return _signed(json.dumps({"action": action, "payload": payload}).encode())

    posts = [
        delivery("Property changed", {"Id": 5}),
        delivery("Something new", {"Id": 5}),
        delivery("Issue closed", {}),
        delivery("Issue closed", {"Id": "../../Property/5"}),
        delivery("Issue closed", {"Id": True}),
        delivery("Issue closed", {"Id": 1.5}),
        delivery("Issue closed", {"Id": "x" * 65}),
        delivery("Issue closed", {"IssueId": "1043"}),
        delivery("Job invoice updated", {"Issue": {"Id": 1044}}),
    ]
    receiver = receivers(handler)
    assert _in_process(receiver, posts) == [200, 200, 400, 400, 400, 400, 400, 200, 200]
    assert [action for action, _ in handler.seen] == ["Issue closed", "Job invoice updated"]
    assert (receiver.stats["ignored"], receiver.stats["malformed"]) == (2, 5)
    with sqlite3.connect(store_path) as raw:  # ignored and malformed ones claimed nothing
        assert raw.execute("SELECT count(*) FROM webhook_deliveries").fetchone() == (2,)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"Id": 1042}, "1042"),
        ({"id": "A-17_b"}, "A-17_b"),
        ({"IssueId": 7}, "7"),
        ({"Issue": {"id": 8}}, "8"),
        ({"Id": None, "IssueId": 7}, None),  # the first key present decides
        ({"Id": -1}, None),
        ({"Id": "1042 "}, None),
        ({"Id": "1042/Report"}, None),
        ({"Id": {"Id": 1}}, None),
        ({"Issue": 1042}, None),
    ],
)
def test_issue_id_of(payload: dict[str, Any], expected: str | None) -> None:
    assert issue_id_of("Issue state change", payload) == expected
    assert issue_id_of("Property changed", payload) is None


@given(st.from_type(object).flatmap(lambda v: st.just({"Id": v})) | st.dictionaries(
    st.sampled_from(["Id", "id", "IssueId", "Issue", "Status"]),
    st.recursive(st.none() | st.integers() | st.text(max_size=70) | st.booleans(),
                 lambda inner: st.dictionaries(st.sampled_from(["Id", "x"]), inner), max_leaves=4),
))  # fmt: skip
def test_issue_id_of_only_ever_gives_a_path_safe_id(payload: dict[str, Any]) -> None:
    found = issue_id_of("Issue closed", payload)
    assert found is None or re.fullmatch(r"[A-Za-z0-9_-]{1,64}", found)


# Back-pressure -----------------------------------------------------------------------------


class Full:
    """A handler whose queue is full for the first `busy` deliveries."""

    def __init__(self, busy: int, retry_after: float = 12.5) -> None:
        self.busy, self.retry_after = busy, retry_after
        self.seen: list[Any] = []

    async def __call__(self, action: str, payload: dict[str, Any]) -> None:
        if self.busy > 0:
            self.busy -= 1
            raise Busy(self.retry_after)
        self.seen.append(payload["Id"])


def test_busy_is_503_with_retry_after_and_the_redelivery_is_handled_once(
    receivers: Callable[..., WebhookReceiver], store_path: Path
) -> None:
    handler = Full(busy=2)
    receiver = receivers(handler, token=TOKEN)
    body, headers = _signed(_body(31))
    path = f"/{TOKEN}"
    first = _posts_to(receiver, [("POST", path, body, headers)] * 2)
    assert [(a.status_code, a.headers.get("Retry-After")) for a in first] == [(503, "13")] * 2
    assert "busy" in first[0].json()["error"]
    with Deliveries.open(store_path) as deliveries:
        assert deliveries.status(digest_of(body)) is None  # released: nothing remembered
    later = _posts_to(receiver, [("POST", path, body, headers)] * 2)
    assert [a.json()["status"] for a in later] == ["accepted", "duplicate"]
    assert handler.seen == [31]
    assert receiver.stats["busy"] == 2


@pytest.mark.parametrize(("asked", "sent"), [(0, "1"), (0.2, "1"), (float("inf"), "30"), (-5, "1")])
def test_retry_after_is_a_whole_number_of_seconds(
    receivers: Callable[..., WebhookReceiver], asked: float, sent: str
) -> None:
    receiver = receivers(Full(busy=1, retry_after=asked))
    body, headers = _signed(_body(32))
    (answer,) = _posts_to(receiver, [("POST", "/", body, headers)])
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, sent)


def test_with_keep_zero_each_delivery_is_a_trigger_of_its_own(
    receivers: Callable[..., WebhookReceiver],
) -> None:
    """RemoveBody leaves only the Id: two state changes of one issue are the same body.
    The live server keeps nothing (its queue coalesces), so the second change is handled."""
    handler = Calls()
    delivery = _signed(_body(41))
    receiver = receivers(handler, keep=timedelta(0))
    assert _in_process(receiver, [delivery, delivery]) == [200, 200]
    assert [payload["Id"] for _, payload in handler.seen] == [41, 41]


def test_with_keep_zero_concurrent_copies_run_one_after_another(
    receivers: Callable[..., WebhookReceiver],
) -> None:
    running, peak = [0], [0]

    async def handler(action: str, payload: dict[str, Any]) -> None:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await asyncio.sleep(0.05)
        running[0] -= 1

    with serving(receivers(handler, keep=timedelta(0))) as url:
        answers = _at_once(url, [_signed(_body(42))] * 4)
    assert [a.status_code for a in answers] == [200] * 4
    assert peak == [1]


# Any request at all ------------------------------------------------------------------------

_ACTIONS = st.sampled_from(
    ["Issue state change", "Issue add", "Job invoice updated", "Issue closed",
     "Property changed", "issue closed", ""]
)  # fmt: skip
_PAYLOADS = st.dictionaries(
    st.sampled_from(["Id", "IssueId", "Issue", "Status", "Email"]),
    st.none()
    | st.integers(-3, 10**6)
    | st.text(max_size=8)
    | st.booleans()
    | st.fixed_dictionaries({"Id": st.integers(0, 99) | st.text(max_size=3)}),
    max_size=3,
)
_JSON_BODIES = st.builds(
    lambda a, p: json.dumps({"action": a, "payload": p}).encode(), _ACTIONS, _PAYLOADS
)
_BODIES = (
    _JSON_BODIES
    | st.binary(max_size=64)
    | st.builds(
        lambda n: b'{"action": "Issue closed", "payload": ' + b"[" * n + b"]" * n + b"}",
        st.integers(60, 3000),
    )
)
_SIGNING = st.sampled_from(["right", "none", "other secret", "truncated", "garbage"])


def _headers_for(body: bytes, how: str) -> dict[str, Any]:
    headers: dict[str, dict[str, Any]] = {
        "right": {"ff-signature": sign(body, SECRET)},
        "none": {},
        "other secret": {"ff-signature": sign(body, SECRET + "!")},
        "truncated": {"ff-signature": sign(body, SECRET)[:-2]},
        "garbage": {"ff-signature": b"sha256=\xe9\xe9"},  # not ASCII
    }
    return headers[how]


def _well_formed_issue_event(body: bytes) -> bool:
    if nested_deeper_than(body, JSON_DEPTH):
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        return False
    action = data.get("action")
    return isinstance(action, str) and issue_id_of(action, data["payload"]) is not None


def test_any_request_runs_the_handler_only_for_signed_issue_events_once_per_body(
    receivers: Callable[..., WebhookReceiver],
) -> None:
    handler = Calls()
    receiver = receivers(handler, token=TOKEN)
    handled: list[bytes] = []  # the model: each signed well-formed Issue event, once

    with serving(receiver) as url:

        @given(st.lists(st.tuples(_BODIES, _SIGNING, st.booleans()), min_size=1, max_size=6))
        def check(requests: list[tuple[bytes, str, bool]]) -> None:
            async def run() -> list[int]:
                async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                    return [
                        (await http.post(f"/{TOKEN}" if right_path else "/", content=body,
                                         headers=_headers_for(body, how))).status_code
                        for body, how, right_path in requests
                    ]  # fmt: skip

            codes = asyncio.run(run())
            for (body, how, right_path), code in zip(requests, codes, strict=True):
                if not right_path:
                    assert code == 404
                elif how != "right":
                    assert code == 401
                elif _well_formed_issue_event(body):
                    assert code == 200
                    if body not in handled:
                        handled.append(body)
                else:
                    assert code in (200, 400)  # ignored, or malformed
            assert [json.loads(b)["payload"] for b in handled] == [p for _, p in handler.seen]

        check()
