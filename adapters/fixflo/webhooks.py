"""Fixflo webhook receiver: an ASGI app that verifies, de-duplicates and hands on deliveries.

Fixflo posts JSON ``{action, payload}`` signed with ``ff-signature: sha256=<hex>``, the
HMAC-SHA256 of the body under the subscription's secret, and redelivers on failure. (Fixflo
publishes neither the payload nor the signature scheme: contracts/fixflo.md section 8; this
is the shape the receiver assumes.) The receiver answers 401 to a missing or wrong signature
(compared in constant time), 400 to a body that is not such JSON, 413 to a body over 1 MiB.

**Each delivery is handled once**, across concurrent requests, receiver processes and
restarts: a signed delivery is claimed in the agency's state store
(`engine.store.Deliveries`, keyed by the sha256 of its body: Fixflo documents no delivery
id) by one ``INSERT ... ON CONFLICT DO NOTHING`` before the handler runs.

- The claimant runs the handler: 200 ``accepted``, and the delivery is remembered (for
  30 days by default), so a replay, even after a restart, gets 200 ``duplicate`` and
  does not run the handler.
- A handler that fails releases the claim and gets 500, so Fixflo's redelivery runs it
  again. (A claim whose holder was killed mid-handler is taken over once its lease, 10
  minutes by default, runs out.)
- An identical delivery arriving while the claimant's handler runs waits for it (up to
  `wait` seconds): 200 ``duplicate`` when it succeeded; when it failed, the waiting
  delivery claims it and runs the handler itself. Still running after `wait`: 503 with
  ``Retry-After``, so Fixflo sends it again later and nothing is lost.
- The store cannot be written (locked, disk full): 503 with ``Retry-After``; the handler
  has not run.

The store's connection lives in one worker thread, so the event loop never waits on
SQLite. Close the receiver (`close`, or the ASGI lifespan's shutdown) when done.

Example::

    async def reconcile(action: str, payload: dict) -> None: ...

    app = WebhookReceiver("from-the-environment", reconcile, store="state/acme.db")
    # serve with uvicorn on 127.0.0.1, behind the agency's TLS proxy; then:
    app.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Final, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from adapters.http import JSON_DEPTH, nested_deeper_than
from engine.store import Deliveries, DeliveryClaim, StoreError

__all__ = ["MAX_BODY", "RETRY_AFTER", "WebhookReceiver", "digest_of", "sign"]

MAX_BODY: Final = 1 << 20
RETRY_AFTER: Final = 30  # seconds Fixflo is asked to wait before sending again
Handler = Callable[[str, dict[str, Any]], Awaitable[None]]
T = TypeVar("T")
log = logging.getLogger("rulebridge.adapters.webhooks")


def sign(body: bytes, secret: str | bytes) -> str:
    """The ``ff-signature`` header value for `body`.

    Example:
        >>> sign(b"{}", "k")[:7]
        'sha256='
    """
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def digest_of(body: bytes) -> str:
    """A delivery's identity: the sha256 of its body as received."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


class WebhookReceiver:
    """ASGI app receiving Fixflo deliveries on ``POST /`` (mount it where Fixflo posts).

    Args:
        secret: the subscription's secret (read from the environment, never logged).
        handler: awaited with ``(action, payload)`` once per distinct delivery.
        store: the agency's state store file (created and migrated if missing).
        lease: how long a claim holds before another request may take it over: longer
            than the slowest handler.
        keep: how long a handled delivery is remembered (a replay after that runs again).
        wait: seconds an identical delivery waits for the one being handled.
        timeout: seconds to wait for the store's write lock before answering 503.
    """

    def __init__(
        self,
        secret: str | bytes,
        handler: Handler,
        *,
        store: str | os.PathLike[str],
        lease: timedelta = timedelta(minutes=10),
        keep: timedelta = timedelta(days=30),
        wait: float = 10.0,
        timeout: float = 5.0,
    ) -> None:
        self._key = secret.encode() if isinstance(secret, str) else secret
        self._handler, self._path = handler, os.fspath(store)
        self._lease, self._keep, self._wait, self._timeout = lease, keep, wait, timeout
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="webhook-store")
        self._deliveries: Deliveries | None = None  # opened and used in the worker only
        self._running: dict[str, asyncio.Event] = {}
        self._app = Starlette(
            routes=[Route("/", self._receive, methods=["POST"])], lifespan=self._lifespan
        )

    def __repr__(self) -> str:
        return f"WebhookReceiver(secret=***, store={self._path!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def close(self) -> None:
        """Close the store's connection and stop the worker (idempotent)."""
        with contextlib.suppress(RuntimeError):  # already shut down
            self._worker.submit(self._close_in_worker).result()
        self._worker.shutdown(wait=True)

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        yield
        self.close()

    # The request ---------------------------------------------------------------------

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
        try:
            claim = await self._claim(digest_of(body), delivery[0])
        except (StoreError, RuntimeError) as exc:  # RuntimeError: the receiver was closed
            log.warning("webhook %s: not recorded: %s", digest_of(body)[:19], exc)
            return _later("the delivery could not be recorded")
        if claim.outcome == "handled":
            return JSONResponse({"status": "duplicate"})
        if claim.outcome == "in_progress":
            return _later("the same delivery is still being handled")
        return await self._handle(claim, *delivery)

    async def _claim(self, digest: str, action: str) -> DeliveryClaim:
        """Claim `digest`; while another request holds it, wait (up to `wait`) for it to
        be handled or released, and try again."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while True:
            claim = await self._in_worker(
                lambda d: d.claim(digest, action, lease=self._lease, keep=self._keep)
            )
            left = deadline - loop.time()
            if claim.outcome != "in_progress" or left <= 0:
                return claim
            await self._settled(digest, min(left, 0.05))

    async def _settled(self, digest: str, timeout: float) -> None:
        """Until the local handler of `digest` ends, or `timeout` (a claim held by another
        process is polled)."""
        running = self._running.get(digest)
        if running is None:
            await asyncio.sleep(timeout)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(running.wait(), timeout)

    async def _handle(
        self, claim: DeliveryClaim, action: str, payload: dict[str, Any]
    ) -> JSONResponse:
        """Run the handler under `claim`; identical deliveries waiting on it wake when its
        outcome is recorded (handled, or released for them to claim)."""
        running = self._running[claim.digest] = asyncio.Event()
        try:
            try:
                await self._handler(action, payload)
            except Exception as exc:  # the sender retries; say only that it failed
                log.warning(
                    "webhook %s: handler failed (%s)", claim.digest[:19], type(exc).__name__
                )
                await self._release(claim)
                return JSONResponse({"error": "the delivery could not be handled"}, status_code=500)
            except BaseException:  # cancelled: let a redelivery run it
                await asyncio.shield(self._release(claim))
                raise
            await self._finish(claim)
            return JSONResponse({"status": "accepted"})
        finally:
            running.set()
            if self._running.get(claim.digest) is running:  # a waiter may have claimed anew
                del self._running[claim.digest]

    async def _finish(self, claim: DeliveryClaim) -> None:
        try:
            await self._in_worker(lambda d: d.finish(claim))
        except (StoreError, RuntimeError) as exc:  # handled but not remembered: once the
            # lease runs out, a redelivery runs the (level-triggered) handler once more
            log.warning("webhook %s: handled, not recorded: %s", claim.digest[:19], exc)

    async def _release(self, claim: DeliveryClaim) -> None:
        try:
            await self._in_worker(lambda d: d.release(claim))
        except (StoreError, RuntimeError) as exc:  # the claim's lease frees it later
            log.warning("webhook %s: claim not released: %s", claim.digest[:19], exc)

    # The store, in its own thread ----------------------------------------------------

    async def _in_worker(self, work: Callable[[Deliveries], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._call_in_worker, work)

    def _call_in_worker(self, work: Callable[[Deliveries], T]) -> T:
        if self._deliveries is None:
            self._deliveries = Deliveries.open(self._path, timeout=self._timeout)
        return work(self._deliveries)

    def _close_in_worker(self) -> None:
        if self._deliveries is not None:
            self._deliveries.close()
            self._deliveries = None


def _later(problem: str) -> JSONResponse:
    return JSONResponse(
        {"error": f"{problem}; send it again later"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER)},
    )


async def _read_limited(request: Request) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes) -> tuple[str, dict[str, Any]] | None:
    if nested_deeper_than(body, JSON_DEPTH):  # the parser would recurse past Python's stack
        return None
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
