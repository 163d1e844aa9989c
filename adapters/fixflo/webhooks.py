"""Fixflo webhook receiver: an ASGI app that verifies, de-duplicates and hands on deliveries.

Fixflo posts JSON ``{action, payload}`` signed with ``ff-signature: sha256=<hex>``, the
HMAC-SHA256 of the body under the subscription's secret, and redelivers on failure. The
receiver answers 401 to a missing or wrong signature (compared in constant time), 400 to a
body that is not such JSON, 413 to a body over 1 MiB, and 200 to a redelivery it has
already handed on, without handing it on again. A handler that fails gives 500 and the
delivery is not remembered, so Fixflo's redelivery tries again.

Example:
    >>> async def reconcile(action: str, payload: dict) -> None: ...
    >>> app = WebhookReceiver(secret="from-the-environment", handler=reconcile)
    >>> # serve with uvicorn on 127.0.0.1, behind the agency's TLS proxy
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

__all__ = ["MAX_BODY", "WebhookReceiver", "sign"]

MAX_BODY: Final = 1 << 20
Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


def sign(body: bytes, secret: str | bytes) -> str:
    """The ``ff-signature`` header value for `body`.

    Example:
        >>> sign(b"{}", "k")[:7]
        'sha256='
    """
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class WebhookReceiver:
    """ASGI app receiving Fixflo deliveries on ``POST /`` (mount it where Fixflo posts).

    Args:
        secret: the subscription's secret (read from the environment, never logged).
        handler: awaited with ``(action, payload)`` once per distinct delivery.
        remember: how many delivered bodies to remember for de-duplication.
    """

    def __init__(self, secret: str | bytes, handler: Handler, *, remember: int = 10_000) -> None:
        self._key = secret.encode() if isinstance(secret, str) else secret
        self._handler, self._remember = handler, remember
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._app = Starlette(routes=[Route("/", self._receive, methods=["POST"])])

    def __repr__(self) -> str:
        return "WebhookReceiver(secret=***)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    async def _receive(self, request: Request) -> JSONResponse:
        body = await _read_limited(request)
        if body is None:
            return JSONResponse({"error": "the body is over 1 MiB"}, status_code=413)
        given = request.headers.get("ff-signature", "")
        if not hmac.compare_digest(given.encode(), sign(body, self._key).encode()):
            return JSONResponse({"error": "missing or bad ff-signature"}, status_code=401)
        delivery = _parse(body)
        if delivery is None:
            return JSONResponse({"error": "expected JSON {action, payload}"}, status_code=400)
        digest = hashlib.sha256(body).hexdigest()
        if digest in self._seen:
            return JSONResponse({"status": "duplicate"})
        try:
            await self._handler(*delivery)
        except Exception:  # the sender retries; say only that it failed
            return JSONResponse({"error": "the delivery could not be handled"}, status_code=500)
        self._seen[digest] = None
        while len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        return JSONResponse({"status": "accepted"})


async def _read_limited(request: Request) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> tuple[str, dict[str, Any]] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    action, payload = data.get("action"), data.get("payload")
    if not isinstance(action, str) or not isinstance(payload, dict):
        return None
    return action, payload
