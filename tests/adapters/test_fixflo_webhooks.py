"""The Fixflo webhook receiver: signatures, bad bodies, and each delivery handled once,
claimed in the agency's state store (concurrent deliveries over loopback HTTP, restarts,
failed handlers, claims left by a killed receiver)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.fixflo.webhooks import MAX_BODY, WebhookReceiver, digest_of, sign
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
