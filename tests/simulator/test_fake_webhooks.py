"""The fake Fixflo sends webhooks (issue 16, design section 4), over real loopback HTTP.

A small receiver (a Starlette app served by uvicorn on 127.0.0.1) records what arrives and
answers as each test says; the fake Fixflo is served the same way and subscribed through its
API, exactly as Fixflo is. Contract: contracts/fixflo.md section 8.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.fixflo.webhooks import sign
from engine import load_ruleset
from simulator.fake import FakeFixflo, FakeTransport, serving
from simulator.fake._fixflo_webhooks import events_of
from simulator.fake._webhook_sender import FaultDice, WebhookFaults, parse_webhook_faults
from simulator.fake.loopback import RULESET, fake_agency
from simulator.lifecycle import FixfloWorld, Simulation

SECRET = "a-secret-of-32-characters-long!!"
ISSUE_EVENTS = ["Issue state change", "Job invoice updated", "Issue closed"]


@dataclass
class Received:
    """One request that reached the receiver."""

    method: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def signed(self) -> bool:
        return self.headers.get("ff-signature") == sign(self.body, SECRET)


@dataclass
class Receiver:
    """Records deliveries; answers `answers` in turn (then 200), or 500 for `failing` ids."""

    answers: list[int] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    pause: float = 0.0
    got: list[Received] = field(default_factory=list)

    @property
    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            body = await request.body()
            self.got.append(Received(request.method, dict(request.headers), body, time.monotonic()))
            if self.pause:
                await asyncio.sleep(self.pause)
            issue = str(json.loads(body)["payload"]["Id"])
            status = self.answers.pop(0) if self.answers else 200
            status = 500 if issue in self.failing else status
            return JSONResponse({"status": status}, status_code=status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST", "PUT", "PUSH"])])

    def actions(self) -> list[tuple[str, str]]:
        return [(r.json["action"], r.json["payload"]["Id"]) for r in self.got]


@dataclass
class Hooked:
    """A served fake Fixflo with a world, a served receiver and an API client."""

    fake: FakeFixflo
    world: FixfloWorld
    receiver: Receiver
    api: httpx.Client
    target: str

    def subscribe(self, **body: Any) -> str:
        sent = {
            "TargetUrl": self.target,
            "Secret": SECRET,
            "RemoveBody": True,
            "HttpMethod": "POST",
            "EntityType": "Issue",
            "Events": ISSUE_EVENTS,
        } | body
        answer = self.api.post("/Webhook/Subscribe", json=sent)
        assert answer.status_code == 200, answer.text
        subscription: str = answer.json()["id"]
        return subscription

    def save(self, issue_id: str, status: str, **fields: Any) -> None:
        self.world.save({"Id": issue_id, "Status": status, "StatusChanged": "t", **fields})

    def drained(self) -> Hooked:
        assert self.fake.webhooks.drain(10.0), "deliveries still queued after 10 s"
        return self

    def activity(self, **query: Any) -> dict[str, Any]:
        answer = self.api.get("/Webhook/Activity", params=query)
        assert answer.status_code == 200, answer.text
        page: dict[str, Any] = answer.json()
        return page


@contextlib.contextmanager
def hooked(
    faults: str | WebhookFaults = "", receiver: Receiver | None = None, **fake: Any
) -> Iterator[Hooked]:
    world, receiver = FixfloWorld(), receiver or Receiver()
    fixflo = FakeFixflo(3, seed=1, world=world, webhook_faults=faults, **fake)
    fixflo.webhooks.sender.backoff = 0.01
    headers = {"Authorization": f"Bearer {fixflo.token}"}
    try:
        with (
            serving(receiver.app) as hook_url,
            serving(fixflo.app) as fixflo_url,
            httpx.Client(base_url=fixflo_url + "/api/v2", headers=headers) as api,
        ):
            yield Hooked(fixflo, world, receiver, api, hook_url + "/hook")
    finally:
        fixflo.close()


# -- deliveries ----------------------------------------------------------------------------


def test_each_save_sends_its_events_signed_to_a_subscription_that_wants_them() -> None:
    with hooked() as h:
        h.subscribe()
        h.save("7", "Reported")  # Issue add: not subscribed
        h.save("7", "JobAwarded")
        h.save("7", "JobCompleted", InvoiceDetails=[{"InvoiceNumber": "INV-7"}])
        h.save("7", "JobCompleted", InvoiceDetails=[{"InvoiceNumber": "INV-7b"}])
        h.save("7", "Closed", InvoiceDetails=[{"InvoiceNumber": "INV-7b"}])
        h.drained()
    assert h.receiver.actions() == [
        ("Issue state change", "7"),
        ("Issue state change", "7"),
        ("Job invoice updated", "7"),
        ("Job invoice updated", "7"),
        ("Issue state change", "7"),
        ("Issue closed", "7"),
    ]
    assert all(r.signed and r.method == "POST" for r in h.receiver.got)
    assert all(r.json["payload"] == {"Id": "7"} for r in h.receiver.got)  # RemoveBody
    assert all(r.headers["content-type"] == "application/json" for r in h.receiver.got)
    assert h.fake.webhooks.sent == 6
    assert h.fake.webhooks.forged == 0


def test_events_filter_deliveries_empty_means_all_and_remove_body_false_adds_the_status() -> None:
    with hooked() as h:
        h.subscribe(Events=[], RemoveBody=False, HttpMethod="PUT")
        h.subscribe(Events=None, Event="Issue closed", Secret="another secret, 16+")
        h.subscribe(Events=[], EntityType="Property", Secret="a property secret")
        h.save("8", "Reported")
        h.save("8", "Closed")
        h.drained()
    everything = [r for r in h.receiver.got if r.method == "PUT"]
    assert [r.json["action"] for r in everything] == [
        "Issue add",
        "Issue state change",
        "Issue closed",
    ]
    assert everything[-1].json["payload"] == {"Id": "8", "Status": "Closed", "StatusChanged": "t"}
    closed_only = [r for r in h.receiver.got if r.method == "POST"]
    assert [r.json["action"] for r in closed_only] == ["Issue closed"]
    assert closed_only[0].headers["ff-signature"] == sign(
        closed_only[0].body, "another secret, 16+"
    )
    assert len(h.receiver.got) == 4  # the Property subscription got nothing


def test_events_of_a_save() -> None:
    assert events_of(None, {"Status": "Reported"}) == ["Issue add"]
    assert events_of({"Status": "Reported"}, {"Status": "Reported"}) == []
    assert events_of({"Status": "JobAwarded"}, {"Status": "Closed"}) == [
        "Issue state change",
        "Issue closed",
    ]
    assert events_of({"Status": "JobCompleted"}, {"Status": "JobCompleted", "InvoiceDetails": []})
    assert events_of({"InvoiceDetails": [1]}, {"InvoiceDetails": [1]}) == []


@pytest.mark.req("W-03")
def test_playing_lifecycle_events_delivers_by_itself() -> None:
    """An instruct played in the world is an "Issue state change" to JobAwarded at once."""
    with hooked() as h:
        h.subscribe()
        sim = Simulation(load_ruleset(RULESET), fixflo=h.world)
        sim.perform("report", "I1", deliver=False)
        sim.perform("instruct", "I1", deliver=False)
        h.drained()
        assert h.receiver.actions() == [("Issue state change", "I1")]
        assert h.world.issues["I1"]["Status"] == "JobAwarded"


def test_unsubscribe_stops_deliveries_and_an_unknown_id_is_a_404() -> None:
    with hooked() as h:
        first, second = h.subscribe(), h.subscribe(Secret="second secret 1234")
        listed = h.api.get("/Webhooks").json()
        assert sorted(item["id"] for item in listed) == sorted([first, second])
        assert {item["Url"] for item in listed} == {h.target}
        assert h.api.delete("/Webhook/Unsubscribe", params={"id": first}).json() == {}
        assert [item["id"] for item in h.api.get("/Webhooks").json()] == [second]
        h.save("9", "Reported")
        h.save("9", "JobAwarded")
        h.drained()
        assert [r.signed for r in h.receiver.got] == [False]  # only the second's secret
        missing = h.api.delete("/Webhook/Unsubscribe", params={"id": first})
        assert missing.status_code == 404
        assert missing.json()["Errors"]
        assert h.activity(Id=first)["Items"] == []  # still readable, and empty


# -- Activity ------------------------------------------------------------------------------


def test_activity_pages_twenty_newest_first_and_failed_only_keeps_the_failures() -> None:
    with hooked(receiver=Receiver(failing={"5", "10", "15", "20", "25"})) as h:
        h.fake.webhooks.sender.retries = 0
        subscription = h.subscribe(Events=[])
        for number in range(1, 26):
            h.save(str(number), "Reported")
        h.drained()
        first, second = h.activity(Id=subscription), h.activity(Id=subscription, pg=2)
        failed = h.activity(Id=subscription, FailedOnly="true")
        everyone = h.activity()
        unknown = h.api.get("/Webhook/Activity", params={"Id": "no-such-subscription"})
    ids = [json.loads(item["RequestBody"])["payload"]["Id"] for item in first["Items"]]
    assert ids == [str(n) for n in range(25, 5, -1)]
    assert (first["TotalItems"], first["TotalPages"], len(second["Items"])) == (25, 2, 5)
    assert first["NextURL"]
    assert "pg=2" in first["NextURL"]
    assert second["NextURL"] is None
    assert [item["Failed"] for item in first["Items"][:2]] == ["true", "false"]
    failures = failed["Items"]
    assert [json.loads(i["RequestBody"])["payload"]["Id"] for i in failures] == [
        "25",
        "20",
        "15",
        "10",
        "5",
    ]
    assert all(i["ResponseStatus"] == 500 and i["FailureMessage"] for i in failures)
    assert all(i["WebHookUrl"] == h.target and i["SendTime"] for i in first["Items"])
    assert everyone["TotalItems"] == 25
    assert unknown.status_code == 404


def test_a_failed_delivery_is_retried_three_times_and_each_attempt_is_an_activity_item() -> None:
    with hooked(receiver=Receiver(answers=[500, 502])) as h:
        subscription = h.subscribe()
        h.save("3", "Reported")
        h.save("3", "JobAwarded")
        h.drained()
        items = h.activity(Id=subscription)["Items"]
        assert [item["ResponseStatus"] for item in items] == [200, 502, 500]
        assert [item["Failed"] for item in items] == ["false", "true", "true"]
        assert len({r.body for r in h.receiver.got}) == 1
        assert len(h.receiver.got) == 3
    with hooked(receiver=Receiver(failing={"4"})) as h:
        subscription = h.subscribe()
        h.save("4", "Reported")
        h.save("4", "JobAwarded")
        h.drained()
        assert len(h.receiver.got) == 4 == h.fake.webhooks.sent  # the first and 3 retries
        assert {i["Failed"] for i in h.activity(Id=subscription)["Items"]} == {"true"}


def test_a_receiver_that_does_not_answer_is_a_failure_with_no_status() -> None:
    with hooked() as h:
        with serving(Starlette()) as gone:
            pass  # the port is closed again: nobody listens
        h.fake.webhooks.sender.retries = 1
        subscription = h.subscribe(TargetUrl=gone + "/hook")
        h.save("5", "Reported")
        h.save("5", "JobAwarded")
        h.drained()
        items = h.activity(Id=subscription)["Items"]
    assert [(i["Failed"], i["ResponseStatus"]) for i in items] == [("true", None)] * 2
    assert all("no answer" in i["FailureMessage"] for i in items)


# -- Subscribe refuses what Fixflo refuses -------------------------------------------------


@pytest.mark.parametrize(("length", "accepted"), [(15, False), (16, True), (64, True), (65, False)])
def test_subscribe_takes_a_secret_of_16_to_64_characters_only(length: int, accepted: bool) -> None:
    with hooked() as h:
        body = {"TargetUrl": h.target, "Secret": "s" * length, "Events": ISSUE_EVENTS}
        answer = h.api.post("/Webhook/Subscribe", json=body)
        listed = h.api.get("/Webhooks").json()
    assert answer.status_code == 200  # Fixflo refuses a write with HTTP 200 and Errors
    if accepted:
        assert set(answer.json()) == {"id"}
        assert len(listed) == 1
    else:
        assert answer.json()["Errors"] == ["Secret must be a string of 16 to 64 characters"]
        assert answer.json()["Entity"] is None
        assert listed == []


def _subscribe_in_process(fake: FakeFixflo, body: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = FakeTransport(fake.app)
        headers = {"Authorization": f"Bearer {fake.token}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://fixflo.test/api/v2", headers=headers
        ) as client:
            return await client.post("/Webhook/Subscribe", json=body)

    return asyncio.run(run())


@settings(max_examples=60, deadline=None)
@given(secret=st.text(max_size=80))
def test_any_secret_is_accepted_exactly_when_it_has_16_to_64_characters(secret: str) -> None:
    fake = FakeFixflo(2, seed=1)
    body = {"TargetUrl": "https://rb.example/fixflo/abc", "Secret": secret}
    answer = _subscribe_in_process(fake, body).json()
    assert ("id" in answer) is (16 <= len(secret) <= 64)
    assert len(fake.webhooks.subscriptions) == (1 if "id" in answer else 0)


@pytest.mark.contract_violation_expected(
    "'Issue updated' is not a value of WebhookEvent",
    "'PATCH' is not a value of WebhookHttpMethod",
    "a list where the contract has an object",
)
def test_subscribe_refuses_a_relative_url_and_values_outside_the_enums_saying_each() -> None:
    fake = FakeFixflo(2, seed=1)
    body = {
        "TargetUrl": "/fixflo/abc",
        "Secret": SECRET,
        "Events": ["Issue updated"],
        "HttpMethod": "PATCH",
        "RemoveBody": "yes",
    }
    errors = _subscribe_in_process(fake, body).json()["Errors"]
    assert len(errors) == 4
    assert errors[0].startswith("TargetUrl must be an absolute http(s) URL")
    assert any("'Issue updated' is not one of" in e for e in errors)
    assert any("HttpMethod: 'PATCH'" in e for e in errors)
    assert "RemoveBody must be true or false" in errors
    for bad in (["not an object"], {"TargetUrl": "ftp://x.example/"}, {"TargetUrl": "http://"}):
        assert _subscribe_in_process(fake, bad).json()["Errors"]
    assert fake.webhooks.subscriptions == {}


# -- faults --------------------------------------------------------------------------------


def test_drop_sends_nothing_and_activity_shows_the_connection_lost() -> None:
    with hooked("drop=1") as h:
        subscription = h.subscribe()
        h.save("1", "Reported")
        h.save("1", "JobAwarded")
        h.drained()
        items = h.activity(Id=subscription, FailedOnly="true")["Items"]
    assert h.receiver.got == []
    assert h.fake.webhooks.sender.dropped == 1
    assert [(i["FailureMessage"], i["ResponseStatus"]) for i in items] == [
        ("connection lost", None)
    ]


def test_duplicate_sends_the_same_signed_delivery_twice() -> None:
    with hooked("duplicate=1") as h:
        h.subscribe()
        h.save("1", "Reported")
        h.save("1", "JobAwarded")
        h.drained()
    first, second = h.receiver.got
    assert first.body == second.body
    assert first.signed
    assert second.signed
    assert h.fake.webhooks.injected == [("1", "Issue state change", "duplicate")]


def test_delay_holds_a_delivery_back_by_the_seeded_wait() -> None:
    faults = WebhookFaults(delay=1.0, seed=4, max_delay=0.6)
    expected = FaultDice(faults).roll().delay
    with hooked(faults) as h:
        h.subscribe()
        h.save("1", "Reported")
        saved = time.monotonic()
        h.save("1", "JobAwarded")
        h.drained()
    (arrived,) = h.receiver.got
    assert expected - 0.05 <= arrived.at - saved <= expected + 0.5
    assert expected > 0.1  # the seed gives a wait long enough to see


def _seed_where(faults: str, kinds: list[str | None]) -> int:
    """A seed whose first rolls pick `kinds`, found by replaying the dice."""
    for seed in range(500):
        dice = FaultDice(parse_webhook_faults(faults, seed=seed))
        if [dice.roll().kind for _ in kinds] == kinds:
            return seed
    raise AssertionError(f"no seed below 500 rolls {kinds}")


def test_reorder_holds_a_delivery_until_the_next_one_is_sent() -> None:
    seed = _seed_where("reorder=0.5", ["reorder", None])
    with hooked(WebhookFaults(reorder=0.5, seed=seed, hold=5.0)) as h:
        h.subscribe()
        for number in ("1", "2"):
            h.save(number, "Reported")
        h.save("1", "JobAwarded")
        h.save("2", "JobAwarded")
        h.drained()
    assert h.receiver.actions() == [("Issue state change", "2"), ("Issue state change", "1")]
    second, first = h.receiver.got
    assert first.at - second.at < 1.0  # right after the next one, not at the 5 s hold


def test_a_reordered_delivery_with_no_next_one_goes_after_the_hold() -> None:
    with hooked(WebhookFaults(reorder=1.0, hold=0.3)) as h:
        h.subscribe()
        h.save("1", "Reported")
        saved = time.monotonic()
        h.save("1", "JobAwarded")
        h.drained()
    (arrived,) = h.receiver.got
    assert arrived.at - saved >= 0.25


def test_forge_sends_one_more_delivery_with_a_wrong_signature_and_another_issue() -> None:
    with hooked("forge=1") as h:
        subscription = h.subscribe()
        h.save("1", "Reported")
        h.save("1", "JobAwarded")
        h.drained()
        items = h.activity(Id=subscription)["Items"]
    genuine = [r for r in h.receiver.got if r.signed]
    forged = [r for r in h.receiver.got if not r.signed]
    assert len(genuine) == 1 == len(forged)
    assert "ff-signature" in forged[0].headers
    assert forged[0].json["payload"]["Id"] != "1"
    assert (h.fake.webhooks.sent, h.fake.webhooks.forged, len(items)) == (1, 1, 1)


def test_the_same_seed_and_saves_give_the_same_faults() -> None:
    spec = "drop=0.2,duplicate=0.2,delay=0.2,reorder=0.1,forge=0.2"

    def injected(seed: int) -> list[tuple[str, str, str]]:
        with hooked(parse_webhook_faults(spec, seed=seed, max_delay=0.05)) as h:
            h.subscribe(Events=[])
            for number in range(1, 31):
                h.save(str(number), "Reported")
            h.drained()
            return list(h.fake.webhooks.injected)

    once = injected(11)
    assert once == injected(11)
    assert once != injected(12)
    assert {kind for _, _, kind in once} == {"drop", "duplicate", "delay", "reorder", "forge"}


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("lose=0.1", "unknown kind 'lose'"),
        ("drop", "write KIND=RATE"),
        ("drop=x", "is not a number"),
        ("forge=2", "from 0 to 1"),
        ("drop=0.6,delay=0.6", "add up to more than 1"),
    ],
)
def test_a_bad_fault_spec_says_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_webhook_faults(spec)


# -- the sender thread ---------------------------------------------------------------------


def test_a_slow_receiver_never_blocks_the_fake_and_close_stops_the_thread() -> None:
    with hooked(receiver=Receiver(pause=1.0)) as h:
        h.subscribe()
        h.save("1", "Reported")
        h.save("1", "JobAwarded")
        deadline = time.monotonic() + 5
        while not h.receiver.got and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        assert h.api.get("/Webhooks").status_code == 200
        assert time.monotonic() - started < 0.5  # answered while a delivery waits
        sender = h.fake.webhooks.sender
        states = [sender.alive]
        h.fake.close()
        states.append(sender.alive)
        assert h.world.listeners == []  # a closed fake no longer hears the world
        h.save("1", "Closed")  # after close: nothing queued, no thread again
        assert sender.pending() == 0
        states.append(sender.alive)
        assert states == [True, False, False]


def test_no_thread_runs_before_a_delivery() -> None:
    before = threading.active_count()
    fake = FakeFixflo(2, seed=1, world=FixfloWorld())
    assert not fake.webhooks.sender.alive
    assert threading.active_count() == before
    fake.close()


# -- the loopback agency -------------------------------------------------------------------


def test_fake_agency_with_webhooks_writes_the_webhook_section_and_its_secret(
    tmp_path: Path,
) -> None:
    with fake_agency(tmp_path / "on", size=20, webhooks=True, fixflo_rate_limit=120) as agency:
        config = yaml.safe_load(agency.config_path.read_text("utf-8"))
        secrets = (tmp_path / "on" / "agency.secrets").read_text("utf-8")
        assert agency.fixflo.limit is not None
        assert agency.fixflo.limit.limit == 120
    section = config["webhook"]
    port = int(section["listen"].rpartition(":")[2])
    assert section == {
        "listen": f"127.0.0.1:{port}",
        "public_url": f"http://127.0.0.1:{port}",
        "secret_env": "RULEBRIDGE_DEMO_WEBHOOK_SECRET",
        "signature": "hmac-sha256",
        "events": ISSUE_EVENTS,
    }
    assert agency.webhook_url == section["public_url"]
    assert f"RULEBRIDGE_DEMO_WEBHOOK_SECRET={agency.webhook_secret}\n" in secrets
    assert agency.webhook_secret is not None
    assert len(agency.webhook_secret) == 32
    assert agency.webhook_secret not in repr(agency)
    assert config["fixflo"]["rate_limit"] == {"per_minute": 120}
    assert not agency.fixflo.webhooks.sender.alive
    with fake_agency(tmp_path / "off", size=20) as plain:
        config = yaml.safe_load(plain.config_path.read_text("utf-8"))
    assert "webhook" not in config
    assert plain.webhook_url is None
    assert plain.fixflo.limit is None


def test_fake_agency_listens_on_the_port_it_is_given(tmp_path: Path) -> None:
    with fake_agency(tmp_path, size=20, webhooks=True, webhook_port=18787) as agency:
        config = yaml.safe_load(agency.config_path.read_text("utf-8"))
    assert config["webhook"]["listen"] == "127.0.0.1:18787"
    assert agency.webhook_url == "http://127.0.0.1:18787"
