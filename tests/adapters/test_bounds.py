"""Bounds on the network side: every listing ends, every request and phase has a deadline,
every answer has a size and depth, and every bad record of a listing is reported.

Integration tests go over loopback HTTP to the fake servers (uvicorn on 127.0.0.1) with
their ``loop`` and ``trickle`` faults; the property tests drive a model server through
`httpx.MockTransport`.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters._paging import alto_cursor, fixflo_pages
from adapters._records import listed
from adapters.alto import AltoAdapter, AltoAuth
from adapters.errors import (
    AnswerLimitError,
    DeadlineError,
    EnvelopeError,
    ListingLimitError,
    PageLoopError,
    ProtocolError,
    RequestTimeoutError,
)
from adapters.fixflo import FixfloAdapter, FixfloAuth
from adapters.http import (
    Caller,
    Deadline,
    Limits,
    RetryPolicy,
    decode_json,
    make_limiter,
    nested_deeper_than,
)
from engine.errors import OutcomeUnknown, RecordError, RecordRefused, RulesetErrors
from engine.snapshot import RecordLimits, iter_records
from engine.store import Store
from engine.sync.apply import ApplyResult, apply_plan
from rulebridge._config import load_agency_config
from rulebridge.cli.snapshot import snapshot
from rulebridge.runner import RunLog, RunOptions, run_nightly
from simulator.fake import FakeAlto, FakeFixflo, FakeTransport, Faults, parse_faults
from simulator.fake.loopback import FakeAgency, fake_agency
from tests.adapters.fakes import FAST, MODES, base_url, client
from tests.engine.apply_world import holders, make_world

T = TypeVar("T")
Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
ONCE = RetryPolicy(attempts=1, timeout=5.0)
TWICE = RetryPolicy(attempts=2, timeout=30.0, wait_initial=0.01, wait_max=0.02, wait_jitter=0.0)


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def mock_caller(handler: Handler, **options: Any) -> Caller:
    transport = httpx.MockTransport(handler)
    http = httpx.AsyncClient(transport=transport, base_url="http://api.test/api/v2")
    return Caller(http, retry=options.pop("retry", ONCE), **options)


async def drain(items: Any) -> list[Any]:
    return [item async for item in items]


def alto_fake(faults: str = "", **options: Any) -> FakeAlto:
    return FakeAlto(30, seed=4, faults=Faults(parse_faults(faults), seed=1, **options))


async def alto_read(fake: FakeAlto, mode: str, collection: str, **adapter: Any) -> Any:
    with base_url(mode, fake.app) as (url, transport):
        auth = AltoAuth(url + "/token", fake.client_id, fake.client_secret, fake.agency_ref)
        async with client(url, transport, auth, timeout=adapter.pop("timeout", 5.0)) as http:
            options: dict[str, Any] = {"retry": FAST, "page_size": 7} | adapter
            alto = AltoAdapter(http, **options)
            return [record async for record in alto.read(collection)], alto.rejected


# Page loops and caps ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_an_alto_token_sent_twice_is_a_loop_naming_the_endpoint_and_the_token(mode: str) -> None:
    fake = alto_fake("loop@GET /inventory=1")
    with pytest.raises(PageLoopError) as caught:
        run(alto_read(fake, mode, "inventory"))
    message = str(caught.value)
    assert message.startswith("GET /inventory/filter: the API sent page token ")
    assert "a second time" in message
    (token,) = parse_qs(fake.log.matching("GET", "/inventory")[1].query)["next-token"]
    assert f"page token {token} a second time" in message
    assert len(fake.log.matching("GET", "/inventory")) == 2  # stopped at once


@pytest.mark.parametrize("mode", MODES)
def test_a_fixflo_next_url_back_to_a_page_read_is_a_loop(mode: str) -> None:
    faults = Faults(parse_faults("loop@GET /api/v2/Landlords=1"), seed=1)
    fake = FakeFixflo(30, seed=4, faults=faults, page_size=7)

    async def read() -> list[Any]:
        with base_url(mode, fake.app, "/api/v2") as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                return await drain(FixfloAdapter(http, retry=FAST).read("landlords"))

    with pytest.raises(PageLoopError, match=r"^GET /Landlords: the API sent page 1 a second"):
        run(read())
    assert len(fake.log.matching("GET", "/api/v2/Landlords")) == 1


def test_a_page_that_repeats_the_one_before_is_a_loop() -> None:
    """A server that ignores the page parameter sends page 1 again and again, each time
    saying there are a billion pages and giving no next URL."""
    asked: list[str] = []

    async def ignores_pages(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        body = {"Items": [{"Id": 1}, {"Id": 2}], "TotalPages": 10**9, "NextURL": None}
        return httpx.Response(200, json=body)

    pages = fixflo_pages(
        mock_caller(ignores_pages), "/Landlords", {}, page_key="pg", size_key=None, page_size=0
    )
    with pytest.raises(PageLoopError, match="page 2 repeats page 1 exactly"):
        run(drain(pages))
    assert len(asked) == 2


def endless_tokens(seen: list[str]) -> Handler:
    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("nextToken", ""))
        number = len(seen)
        items = [{"id": f"{number}-{i}"} for i in range(10)]
        return httpx.Response(200, json={"meta": {"nextToken": f"t{number}"}, "items": items})

    return handler


def test_the_page_cap_stops_a_listing_that_never_ends_naming_cap_and_setting() -> None:
    seen: list[str] = []
    caller = mock_caller(endless_tokens(seen), limits=Limits(pages_per_listing=5))
    pages = alto_cursor(
        caller, "/suppliers", {}, token_key="nextToken", size_key="maxResults", page_size=10
    )
    with pytest.raises(ListingLimitError) as caught:
        run(drain(pages))
    assert str(caught.value) == (
        "GET /suppliers: the listing goes on past 5 pages; if the agency really holds that "
        "much, raise limits.pages_per_listing in the agency config"
    )
    assert len(seen) == 5  # the sixth page is never asked for


def test_the_record_cap_stops_a_listing_naming_cap_and_setting() -> None:
    seen: list[str] = []
    caller = mock_caller(endless_tokens(seen), limits=Limits(records_per_listing=25))
    pages = alto_cursor(
        caller, "/suppliers", {}, token_key="nextToken", size_key="maxResults", page_size=10
    )
    with pytest.raises(ListingLimitError, match=r"more than 25 records; .*records_per_listing"):
        run(drain(pages))
    assert len(seen) == 3


def test_the_default_page_cap_comes_from_the_record_cap() -> None:
    assert Limits().page_cap(100) == 100_001  # 1,000,000 records at 10 a page, and one more
    assert Limits().page_cap(0) == Limits().page_cap(100)
    assert Limits(records_per_listing=1000).page_cap(4) == 251
    assert Limits(records_per_listing=1000, pages_per_listing=7).page_cap(4) == 7


def test_a_token_that_is_not_text_is_a_protocol_error_not_a_traceback() -> None:
    async def odd(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"meta": {"nextToken": {"x": 1}}, "items": [{"id": "1"}]})

    pages = alto_cursor(
        mock_caller(odd),
        "/suppliers",
        {},
        token_key="nextToken",
        size_key="maxResults",
        page_size=10,
    )
    with pytest.raises(ProtocolError, match="the next page token is not text"):
        run(drain(pages))


def model_server(pages: list[int], loop_at: int | None, *, fixflo: bool) -> Handler:
    """Pages of `pages[i]` records; the link after page `loop_at` goes back to page 0."""

    async def handler(request: httpx.Request) -> httpx.Response:
        key = "pg" if fixflo else "nextToken"
        value = request.url.params.get(key)
        number = int(value) - (1 if fixflo else 0) if value else 0
        items = [{"Id": f"{number}.{i}"} for i in range(pages[number])]
        after = 0 if number == loop_at else number + 1
        more = after < len(pages) and (number == loop_at or after > number)
        link = str(after + (1 if fixflo else 0)) if more else None
        if fixflo:
            url = f"http://api.test/api/v2/List?pg={link}" if link else None
            return httpx.Response(200, json={"Items": items, "NextURL": url})
        return httpx.Response(200, json={"meta": {"nextToken": link}, "items": items})

    return handler


@settings(max_examples=40, deadline=None)
@given(
    pages=st.lists(st.integers(1, 5), min_size=1, max_size=12),
    loop=st.integers(0, 11) | st.none(),
    fixflo=st.booleans(),
)
def test_any_listing_reads_exactly_or_stops_at_its_first_loop(
    pages: list[int], loop: int | None, fixflo: bool
) -> None:
    loop_at = loop if loop is not None and loop < len(pages) else None
    caller = mock_caller(model_server(pages, loop_at, fixflo=fixflo))
    if fixflo:
        listing = fixflo_pages(caller, "/List", {}, page_key="pg", size_key=None, page_size=0)
    else:
        listing = alto_cursor(
            caller, "/List", {}, token_key="nextToken", size_key="maxResults", page_size=5
        )
    everything = [f"{n}.{i}" for n, size in enumerate(pages) for i in range(size)]
    if loop_at is None:
        assert [item["Id"] for item in run(drain(listing))] == everything
        return
    with pytest.raises(PageLoopError):
        run(drain(listing))


# Deadlines -------------------------------------------------------------------------------


def test_a_trickling_server_ends_within_the_request_bound_over_loopback() -> None:
    """One byte every 100 ms: httpx's read timeout (1 s) never trips; the whole-request
    bound (1 s) does, each attempt, and the retries end as a located error."""
    fake = alto_fake("trickle@GET /inventory=1")
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError) as caught:
        run(alto_read(fake, "loopback", "inventory", timeout=1.0, retry=TWICE))
    elapsed = time.monotonic() - started
    assert str(caught.value).startswith(
        "GET /inventory/filter: no whole answer within 1 s (connect, send and the whole body)"
    )
    assert "raise timeout_seconds" in str(caught.value)
    assert len(fake.log.matching("GET", "/inventory")) == 2  # retried like any timeout
    assert elapsed < 2 * 1.0 + 3.0


def test_without_the_bound_the_trickle_would_outlast_httpx_timeouts() -> None:
    """The teeth of the test above: httpx's own timeout of 1 s lets the answer run on."""
    fake = alto_fake("trickle@GET /inventory=1")

    async def raw() -> float:
        with base_url("loopback", fake.app) as (url, _):
            auth = AltoAuth(url + "/token", fake.client_id, fake.client_secret, fake.agency_ref)
            async with httpx.AsyncClient(base_url=url, auth=auth, timeout=1.0) as http:
                started = time.monotonic()
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(2.5):
                        await http.get("/inventory/filter")
                return time.monotonic() - started

    assert run(raw()) >= 2.5


def test_the_phase_deadline_ends_a_trickling_snapshot_naming_the_phase() -> None:
    fake = alto_fake("trickle@GET /inventory=1")
    deadline = Deadline.after(1.5, "the snapshot phase", "limits.snapshot_seconds")
    started = time.monotonic()
    with pytest.raises(DeadlineError) as caught:
        run(alto_read(fake, "loopback", "inventory", timeout=30.0, deadline=deadline))
    assert time.monotonic() - started < 1.5 + 2.0
    assert str(caught.value) == (
        "GET /inventory/filter: the snapshot phase ran out of its 1.5 s; if the APIs need "
        "longer, raise limits.snapshot_seconds in the agency config"
    )


class SlowBody(httpx.AsyncByteStream):
    """A body sent in `chunks` pieces, `pause` seconds apart."""

    def __init__(self, body: bytes, chunks: int, pause: float) -> None:
        self.body, self.chunks, self.pause = body, chunks, pause

    async def __aiter__(self) -> Any:
        step = len(self.body) // self.chunks
        for start in range(0, len(self.body), step):
            await asyncio.sleep(self.pause)
            yield self.body[start : start + step]


def test_large_bodies_get_time_in_proportion_and_nothing_else_does() -> None:
    """A second more per 256 KiB sent or announced: a 1 MiB upload or a 512 KiB answer on
    a slow line is not cut short; the same slowness without the bytes is."""
    payload = json.dumps({"items": ["x" * (512 << 10)]}).encode()

    async def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/upload"):
            await asyncio.sleep(0.6)  # receiving the upload
            return httpx.Response(201, json={"id": "1"})
        big = request.url.path.endswith("/big")
        announced = {"Content-Length": str(len(payload))} if big else {}
        return httpx.Response(200, headers=announced, stream=SlowBody(payload, 6, 0.1))

    caller = mock_caller(slow, limits=Limits(request_seconds=0.3))
    assert run(caller.json("GET", "/big"))["items"][0].startswith("x")
    with pytest.raises(RequestTimeoutError, match=r"no whole answer within 0\.3 s"):
        run(caller.json("GET", "/unannounced"))
    response = run(caller.send("POST", "/upload", content=b"y" * (1 << 20)))
    assert response.status_code == 201
    with pytest.raises(RequestTimeoutError):
        run(caller.send("POST", "/upload", content=b"y"))


def test_a_passed_deadline_sends_nothing() -> None:
    sent: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    deadline = Deadline.after(-1, "the snapshot phase", "limits.snapshot_seconds")
    with pytest.raises(DeadlineError):
        run(mock_caller(handler, deadline=deadline).json("GET", "/x"))
    assert sent == []


@pytest.mark.real_backoff  # the retry must really wait for the deadline to cut it short
def test_a_long_retry_after_does_not_wait_past_the_deadline() -> None:
    async def busy(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "30"})

    retry = RetryPolicy(attempts=5, timeout=120.0, max_retry_after=60.0)
    deadline = Deadline.after(0.5, "the snapshot phase", "limits.snapshot_seconds")
    started = time.monotonic()
    with pytest.raises(DeadlineError):
        run(mock_caller(busy, retry=retry, deadline=deadline).json("GET", "/x"))
    assert time.monotonic() - started < 0.5 + 1.5


def test_waiting_for_the_rate_limiter_stops_at_the_deadline() -> None:
    async def fine(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    async def main() -> None:
        limiter = make_limiter(1)
        await limiter.acquire()  # the next request may go in a minute
        deadline = Deadline.after(0.3, "the snapshot phase", "limits.snapshot_seconds")
        caller = mock_caller(fine, limiter=limiter, deadline=deadline)
        started = time.monotonic()
        with pytest.raises(DeadlineError):
            await caller.json("GET", "/x")
        assert time.monotonic() - started < 0.3 + 1.5

    run(main())


# Answers: size and depth -----------------------------------------------------------------


def test_an_answer_nested_100000_deep_is_a_located_error_never_a_recursion_error() -> None:
    deep = b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    async def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=deep)

    with pytest.raises(AnswerLimitError) as caught:
        run(mock_caller(handler).json("GET", "/inventory/filter"))
    assert str(caught.value).startswith("GET /inventory/filter: 200: the answer nests more than 64")


def test_the_depth_limit_is_exact_and_recursion_is_caught_beyond_the_scan() -> None:
    request = httpx.Request("GET", "http://api.test/x")
    at_limit = httpx.Response(200, content=b"[" * 64 + b"]" * 64, request=request)
    assert decode_json(at_limit, "/x") is not None
    over = httpx.Response(200, content=b"[" * 65 + b"]" * 65, request=request)
    with pytest.raises(AnswerLimitError):
        decode_json(over, "/x")
    # A limit above Python's own: the parser's RecursionError is caught all the same.
    beyond = httpx.Response(200, content=b"[" * 50_000 + b"]" * 50_000, request=request)
    with pytest.raises(AnswerLimitError):
        decode_json(beyond, "/x", max_depth=10**6)


def json_values() -> st.SearchStrategy[Any]:
    text = st.text(alphabet=st.sampled_from('ab[]{}"\\:,\n é'), max_size=6)
    scalars = st.none() | st.booleans() | st.integers() | text
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
        max_leaves=30,
    )


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(value=json_values(), limit=st.integers(0, 8), ascii_only=st.booleans(), indent=st.booleans())
def test_the_depth_scan_agrees_with_the_parser(
    value: Any, limit: int, ascii_only: bool, indent: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=2 if indent else None)
    assert nested_deeper_than(text.encode(), limit) == (depth(value) > limit)


def test_an_answer_over_the_size_limit_is_refused_and_an_error_answer_is_cut() -> None:
    async def big(request: httpx.Request) -> httpx.Response:
        status = 500 if request.url.path.endswith("/fail") else 200
        return httpx.Response(status, json={"items": ["x" * 5000]})

    caller = mock_caller(big, limits=Limits(body_bytes=1000))
    with pytest.raises(AnswerLimitError, match=r"larger than 1,000 bytes.*response_megabytes"):
        run(caller.json("GET", "/list"))
    with pytest.raises(Exception, match="the API answered 500") as caught:
        run(caller.json("GET", "/fail"))
    assert not isinstance(caught.value, AnswerLimitError)


def test_a_deep_token_answer_is_a_located_error_not_a_recursion_error() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000)
        return httpx.Response(200, json={"items": []})

    transport = httpx.MockTransport(handler)
    auth = AltoAuth("http://alto.test/token", "id", "secret", "agency")

    async def main() -> None:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://alto.test", auth=auth
        ) as http:
            await drain(AltoAdapter(http, retry=ONCE).read("suppliers"))

    with pytest.raises(AnswerLimitError, match=r"^POST /token: 200: the answer nests"):
        run(main())


# Bad records in a listing ------------------------------------------------------------------

JUNK: tuple[Any, ...] = (42, "text", None, [], {"address": {"town": "No Id"}}, {"inventoryId": 7})


@pytest.mark.parametrize("mode", MODES)
def test_every_bad_alto_item_is_reported_with_endpoint_and_index_and_the_rest_read(
    mode: str,
) -> None:
    """A ``junk`` fault puts one bad item at the end of each page of 5 (outside the
    recorder: the fake itself keeps the contract, the answers do not)."""
    fake = FakeAlto(30, seed=4, faults=Faults(parse_faults("junk@GET /inventory=1"), junk=JUNK))
    good = list(fake.world["inventory"])
    records, rejected = run(alto_read(fake, mode, "inventory", page_size=5))
    assert records == good
    assert [error.where for error in rejected] == [
        f"GET /inventory/filter#items[{6 * page + 5}]" for page in range(len(JUNK))
    ]
    messages = [error.message for error in rejected]
    assert messages[0] == "a number, not a record (an object); left out of the snapshot"
    assert messages[1].startswith("a string, not a record")
    assert messages[2].startswith("null, not a record")
    assert messages[3].startswith("a list, not a record")
    assert messages[4].startswith('missing "inventoryId": add ')
    assert messages[5].startswith("inventoryId is the number 7, expected ")
    assert rejected[5].record_id == "7"


@pytest.mark.parametrize("mode", MODES)
def test_every_bad_fixflo_item_is_reported_and_the_rest_read(mode: str) -> None:
    fake = FakeFixflo(30, seed=4, page_size=7)
    expected = fake.snapshot_collections()["landlords"]
    landlords: dict[Any, Any] = fake.store.collections["landlords"]
    landlords["junk-1"] = {"Surname": "No Id"}

    async def read() -> tuple[list[Any], list[RecordError]]:
        with base_url(mode, fake.app, "/api/v2") as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fixflo = FixfloAdapter(http, retry=FAST)
                return await drain(fixflo.read("landlords")), fixflo.rejected

    records, rejected = run(read())
    assert records == expected
    (error,) = rejected
    assert error.where == f"GET /Landlords#Items[{len(expected)}]"
    assert error.message.startswith('missing "id"')


def test_a_record_larger_than_a_snapshot_may_hold_is_reported_not_written() -> None:
    async def items() -> Any:
        for item in ({"id": "1"}, {"id": "2", "companyName": "x" * 500}, {"id": "3"}):
            yield item

    rejected: list[RecordError] = []
    records = listed(
        "alto",
        "suppliers",
        items(),
        where="GET /suppliers#items",
        rejected=rejected,
        limits=RecordLimits(max_bytes=200),
    )
    assert [r["id"] for r in run(drain(records))] == ["1", "3"]
    (error,) = rejected
    assert (error.where, error.record_id) == ("GET /suppliers#items[1]", "2")
    assert "more than a snapshot record may be (200)" in error.message


# A write answered 2xx with garbage ---------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"<html><body>Service Unavailable</body></html>", b"\x00\xff", b"[[[" * 40_000]
)
def test_a_2xx_write_answered_with_garbage_is_left_to_verify_never_refused(body: bytes) -> None:
    async def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201 if request.url.path == "/work-orders" else 200, content=body)

    transport = httpx.MockTransport(garbage)

    async def write(kind: str) -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            if kind == "fixflo":
                await FixfloAdapter(http, retry=ONCE).upsert("landlords", {"ExternalRef": "1"})
            else:
                alto = AltoAdapter(http, retry=ONCE)
                identity = {"propertyId": "1", "summary": "Leak"}
                await alto.create_works_order("1", {"summary": "Leak"}, identity=identity)

    for kind in ("fixflo", "alto"):
        with pytest.raises(ProtocolError) as caught:
            run(write(kind))
        assert isinstance(caught.value, OutcomeUnknown)  # the appliers verify it next time
        assert not isinstance(caught.value, RecordRefused | EnvelopeError)


def html_after_landing(app: Any, path: str) -> Any:
    """`app`, except that a POST to `path` is applied, then answered 200 with an HTML page
    (a proxy's error page, say) instead of the envelope."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) != ("POST", path):
            await app(scope, receive, send)
            return

        async def swallow(_message: Any) -> None:
            return None

        await app(scope, receive, swallow)
        page = b"<html><body><h1>Service temporarily unavailable</h1></body></html>"
        headers = [(b"content-type", b"text/html"), (b"content-length", str(len(page)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": page})

    return wrapped


def test_a_landed_write_answered_with_an_html_200_is_verified_not_dead_or_repeated(
    tmp_path: Path,
) -> None:
    world = make_world(tmp_path)
    landlords = [op for op in world.plan.operations if op.target == "fixflo.landlords"]
    creates = [op for op in landlords if op.op == "create"]
    assert creates
    state = tmp_path / "state" / "agency.db"

    async def apply(app: Any) -> ApplyResult:
        with Store.open(state) as store:
            run_ = store.start_run("alto-fixflo", "1", world.ruleset_hash)
            async with httpx.AsyncClient(
                base_url="http://fixflo.test/api/v2",
                transport=FakeTransport(app),
                auth=FixfloAuth(world.fake.token),
            ) as http:
                result = await apply_plan(
                    world.plan, FixfloAdapter(http, retry=FAST), store, run=run_
                )
            store.finish_run("succeeded")
        return result

    first = run(apply(html_after_landing(world.fake.app, "/api/v2/Landlord")))
    assert first.dead_lettered == 0
    assert first.total("unknown") == len(landlords)
    with Store.open(state) as store:
        assert {store.operation_status(op.idempotency_key) for op in landlords} == {"in_flight"}

    second = run(apply(world.fake.app))
    assert second.dead_lettered == 0
    assert second.total("verified") >= len(creates)
    for op in creates:
        assert holders(world.fake, "landlords", "ExternalRef", str(op.fields["ExternalRef"])) == 1


# Through the night -------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[FakeAgency]:
    faults = getattr(request, "param", "")
    with fake_agency(tmp_path / "agency", size=20, seed=5, faults=faults) as agency:
        yield agency


def night(agency: FakeAgency, limits: str = "") -> tuple[dict[str, Any], float]:
    if limits:
        with agency.config_path.open("a", encoding="utf-8") as config:
            config.write(f"limits: {limits}\n")
    options = RunOptions(load_agency_config(agency.config_path), agency.store_path)
    started = time.monotonic()
    outcome = run_nightly(options, RunLog(io.StringIO(), terminal=False))
    return outcome.report, time.monotonic() - started


@pytest.mark.parametrize("served", ["junk@GET /contacts/all=1"], indirect=True)
def test_the_night_counts_and_names_the_bad_items_of_a_listing(served: FakeAgency) -> None:
    """Each /contacts/all listing (clients as landlords or tenants, then suppliers) ends
    with a bad item."""
    kinds = [c["contactType"] for c in served.alto.contacts]
    clients = sum(
        1 for k in kinds if k["category"] == "Client" and {"Landlord", "Tenant"} & {*k["persona"]}
    )
    suppliers = sum(1 for k in kinds if k["category"] == "Supplier")
    report, _ = night(served)
    assert report["run"]["status"] == "succeeded"
    assert report["reference"]["rejected"] == 2
    warned = [w["message"] for w in report["warnings"] if w["rule"] == "snapshot"]
    assert warned == [
        f"GET /contacts/all#items[{clients}]: unreadable, left out of the plan",
        f"GET /contacts/all#items[{suppliers}]: unreadable, left out of the plan",
    ]


@pytest.mark.parametrize("served", ["trickle@GET /inventory=1"], indirect=True)
def test_a_night_against_a_trickling_api_ends_at_its_snapshot_deadline(
    served: FakeAgency,
) -> None:
    report, elapsed = night(served, "{snapshot_seconds: 2}")
    assert report["run"]["exit_code"] == 1
    assert report["run"]["error"] == (
        "GET /inventory/filter: the snapshot phase ran out of its 2 s; if the APIs need "
        "longer, raise limits.snapshot_seconds in the agency config"
    )
    assert elapsed < 2 + 4.0
    assert served.fixflo.log.matching("POST") == []  # nothing applied


def test_rulebridge_snapshot_lists_the_items_it_left_out(tmp_path: Path) -> None:
    faults = "junk@GET /suppliers=1"  # the default junk: a list first
    with fake_agency(tmp_path / "agency", size=5, seed=5, faults=faults) as agency:
        suppliers = len(agency.alto.world["suppliers"])
        out = tmp_path / "alto.json"
        result = CliRunner().invoke(
            snapshot, ["alto", "--config", str(agency.config_path), "--out", str(out)]
        )
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        f"left out: GET /suppliers#items[{suppliers}]: a list, not a record (an object); left "
        "out of the snapshot\n"
    )
    assert result.stdout.rstrip().endswith("; 1 unusable record left out")
    assert len(list(iter_records(out, "suppliers"))) == suppliers


def test_rulebridge_snapshot_ends_at_its_deadline_against_a_trickling_api(
    tmp_path: Path,
) -> None:
    faults = "trickle@GET /inventory=1"
    with fake_agency(tmp_path / "agency", size=5, seed=5, faults=faults) as agency:
        with agency.config_path.open("a", encoding="utf-8") as config:
            config.write("limits: {snapshot_seconds: 1}\n")
        out = tmp_path / "alto.json"
        started = time.monotonic()
        result = CliRunner().invoke(
            snapshot, ["alto", "--config", str(agency.config_path), "--out", str(out)]
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert "GET /inventory/filter: the snapshot ran out of its 1 s" in result.output
    assert elapsed < 1 + 4.0
    assert not out.exists()


def test_limits_in_the_agency_config_are_read_and_checked(tmp_path: Path) -> None:
    with fake_agency(tmp_path / "agency", size=5, seed=5) as agency:
        path = agency.config_path
        base = path.read_text("utf-8")
        path.write_text(
            base
            + "limits: {records_per_listing: 500, response_megabytes: 2, snapshot_seconds: 60}\n",
            "utf-8",
        )
        config = load_agency_config(path)
        assert config.limits == Limits(
            request_seconds=10.0, body_bytes=2 << 20, records_per_listing=500
        )
        assert config.limits.page_cap(100) == 51
        assert config.snapshot_seconds == 60.0
        path.write_text(base + "limits: {pages_per_listing: 0, snapshot_secs: 5}\n", "utf-8")
        with pytest.raises(RulesetErrors) as caught:
            load_agency_config(path)
    first, second = str(caught.value).splitlines()
    assert first.startswith(f"{path}:18:")
    assert "invalid-value: must be at least 1" in first
    assert second.endswith("unknown key 'snapshot_secs' (did you mean 'snapshot_seconds'?)")
