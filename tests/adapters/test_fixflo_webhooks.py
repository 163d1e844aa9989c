"""The Fixflo webhook receiver: signatures, redeliveries, failures."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from adapters.fixflo.webhooks import MAX_BODY, WebhookReceiver, sign

SECRET = "webhook-s3cret"


def _deliver(receiver: WebhookReceiver, posts: list[tuple[bytes, dict[str, str]]]) -> list[int]:
    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=receiver)
        async with httpx.AsyncClient(transport=transport, base_url="http://hook.test") as http:
            return [(await http.post("/", content=b, headers=h)).status_code for b, h in posts]

    return asyncio.run(run())


def _body(issue_id: int, status: str = "JobAwarded") -> bytes:
    return json.dumps(
        {"action": "Issue state change", "payload": {"Id": issue_id, "Status": status}}
    ).encode()


def test_signed_deliveries_are_handed_on_once() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    async def handler(action: str, payload: dict[str, Any]) -> None:
        seen.append((action, payload))

    one, two = _body(1), _body(2)
    signed = [
        (one, {"ff-signature": sign(one, SECRET)}),
        (two, {"ff-signature": sign(two, SECRET)}),
    ]
    codes = _deliver(WebhookReceiver(SECRET, handler), [*signed, signed[0]])
    assert codes == [200, 200, 200]
    assert [payload["Id"] for _, payload in seen] == [1, 2]


def test_missing_or_bad_signatures_are_refused() -> None:
    async def handler(action: str, payload: dict[str, Any]) -> None:
        raise AssertionError("must not be called")

    body = _body(1)
    posts = [
        (body, {}),
        (body, {"ff-signature": sign(body, "other")}),
        (body, {"ff-signature": sign(body, SECRET)[:-1] + "0"}),
        (body + b" ", {"ff-signature": sign(body, SECRET)}),
    ]
    assert _deliver(WebhookReceiver(SECRET, handler), posts) == [401, 401, 401, 401]


def test_a_failed_handler_is_retried_on_redelivery_and_bad_bodies_are_refused() -> None:
    calls: list[int] = []

    async def handler(action: str, payload: dict[str, Any]) -> None:
        calls.append(payload["Id"])
        if len(calls) == 1:
            raise RuntimeError("the database is busy")

    body, junk, big = _body(7), b"[1, 2]", b"x" * (MAX_BODY + 1)
    posts = [(b, {"ff-signature": sign(b, SECRET)}) for b in (body, body, junk, big)]
    assert _deliver(WebhookReceiver(SECRET, handler), posts) == [500, 200, 400, 413]
    assert calls == [7, 7]
    assert SECRET not in repr(WebhookReceiver(SECRET, handler))
