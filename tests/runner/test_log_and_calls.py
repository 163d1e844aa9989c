"""The run's log lines (JSON, personal data masked) and its API call accounting."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rulebridge.runner import ApiCalls, RunLog, redact_personal


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Email ann.o'neil+x@example.co.uk is taken", "Email [email] is taken"),
        ("call 07700 900123 or +44 (0)113 496 0000", "call [phone] or [phone]"),
        ("lives at LS6 2QD and OX37HT", "lives at [postcode] and [postcode]"),
        ("create occupier 500055: HTTP 422", "create occupier 500055: HTTP 422"),
        ("issue I17 at 100020/OID-000020", "issue I17 at 100020/OID-000020"),
        # a fleet's night and an as-of date are dates, not phone numbers
        ("night acme:2026-12-07 as of 2026-12-06", "night acme:2026-12-07 as of 2026-12-06"),
        ("call 0113-496-0000 on 2026-12-07", "call [phone] on 2026-12-07"),
    ],
)
def test_personal_data_is_masked_and_ids_are_kept(text: str, masked: str) -> None:
    assert redact_personal(text) == masked


@given(
    st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@[a-z]{2,8}\.(com|co\.uk|org)", fullmatch=True),
    st.text(alphabet=st.characters(categories=["L", "Zs"]), max_size=20),
)
def test_no_email_survives_redaction_whatever_surrounds_it(email: str, around: str) -> None:
    assert email not in redact_personal(f"{around}{email} {around}")


def test_lines_are_json_with_time_run_and_event_and_masked_text() -> None:
    stream = io.StringIO()
    log = RunLog(stream, terminal=False, clock=lambda: datetime(2026, 11, 22, 1, 0, tzinfo=UTC))
    log.run_id = 7
    log.event("error", message="Fixflo refused bob@example.com", counts={"note": "LS6 2QD"})
    with log.phase("apply", total=3) as advance:
        advance(3)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0] == {
        "at": "2026-11-22T01:00:00.000+00:00",
        "level": "error",
        "event": "error",
        "run": 7,
        "logger": "rulebridge.run",
        "message": "Fixflo refused [email]",
        "counts": {"note": "[postcode]"},
    }
    assert [(line["phase"], line["state"]) for line in lines[1:]] == [
        ("apply", "started"),
        ("apply", "finished"),
    ]


def test_api_calls_are_counted_per_endpoint_with_ids_folded() -> None:
    calls = ApiCalls()
    answers = iter([200, 429, 200, 201, 204])

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers))

    async def run() -> None:
        transport = httpx.MockTransport(reply)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            calls.attach(client, "alto")
            await client.get("/api/v2/Issue/I17")
            await client.get("/api/v2/Issue/I18")
            await client.get("/api/v2/Issue/I18")
            await client.post("/inventory/100020/OID-000020/charges")
            await client.patch("/work-orders/WO-3")

    asyncio.run(run())
    assert calls.requests == {
        "alto GET /api/v2/Issue/{id}": 3,
        "alto POST /inventory/{id}/{id}/charges": 1,
        "alto PATCH /work-orders/{id}": 1,
    }
    assert (calls.total, calls.writes, calls.retries) == (5, 2, 1)
    assert calls.to_json()["per_endpoint"]["alto GET /api/v2/Issue/{id}"] == 3
