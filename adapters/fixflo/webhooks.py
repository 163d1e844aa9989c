"""Fixflo webhook receiver: an ASGI app that verifies, de-duplicates and hands on deliveries.

**What is assumed** (Fixflo publishes neither the payload nor the signature scheme:
contracts/fixflo.md section 8, UNCONFIRMED there): a delivery is a JSON body ``{action,
payload}`` whose ``action`` is a WebhookEvent name (``Issue state change``...) and whose
``payload`` names the issue by ``Id`` (or ``IssueId``, or ``Issue.Id``: `issue_id_of`), signed
with ``ff-signature: sha256=<hex>``, the HMAC-SHA256 of the body under the subscription's
``Secret``. Fixflo redelivers on failure. Each delivery is a trigger, never data: the handler
re-reads the issue through the API, so a forged, replayed or malformed delivery costs at most
one authenticated read.

**Checks, in order** (each failing one ends the request; nothing later runs):

1. the path: with a `token` (`path_token` of the secret, so the secret never appears in a
   URL), only ``POST /<token>`` is a delivery, compared in constant time; anything else is
   404 and its body is not read. Without one, ``POST /``.
2. the size: over 1 MiB is 413.
3. the signature (mode ``hmac-sha256``): missing or wrong is 401 (constant-time compare).
   Mode ``none`` skips it, leaving the path token as the only check: for when Fixflo turns
   out to sign otherwise than assumed (its Activity then shows 401s). It needs a token.
4. the body: not JSON ``{action, payload}`` (or nested over 64 deep) is 400; an event that is
   not about an issue is 200 ``ignored`` (nothing stored, no handler); an Issue event naming
   no usable issue id is 400.

**Each delivery is handled once**, across concurrent requests, receiver processes and
restarts: a delivery is claimed in the agency's state store (`engine.store.Deliveries`,
keyed by the sha256 of its body: Fixflo documents no delivery id) by one ``INSERT ... ON
CONFLICT DO NOTHING`` before the handler runs.

- The claimant runs the handler: 200 ``accepted``, and the delivery is remembered (for
  30 days by default), so a replay, even after a restart, gets 200 ``duplicate`` and
  does not run the handler.
- A handler that fails releases the claim and gets 500, so Fixflo's redelivery runs it
  again. (A claim whose holder was killed mid-handler is taken over once its lease, 10
  minutes by default, runs out.)
- A handler that raises `Busy` (its queue is full) releases the claim: 503 with the
  ``Retry-After`` it asked for, so the redelivery is handled once there is room.
- An identical delivery arriving while the claimant's handler runs waits for it (up to
  `wait` seconds): 200 ``duplicate`` when it succeeded; when it failed, the waiting
  delivery claims it and runs the handler itself. Still running after `wait`: 503 with
  ``Retry-After``, so Fixflo sends it again later and nothing is lost.
- The store cannot be written (locked, disk full): 503 with ``Retry-After``; the handler
  has not run.

**Remembering versus triggering.** With ``RemoveBody`` (rulebridge subscribes so) a body
holds the issue id only, so two state changes of one issue are the same body, and a
remembered delivery would hide the second change for as long as it is kept. A handler that
hands the issue to a queue coalescing by issue (the live server's) should run with
``keep=timedelta(0)``: every signed delivery then runs the handler (identical copies one
after another, never two at once), so a later change is never taken for a replay; a replay
costs at most one enqueue (coalesced while the issue waits) or one authenticated read, and
the ledger keeps every effect exactly once.

`WebhookReceiver.stats` counts the outcomes (no ids, no bodies). The store's connection
lives in one worker thread, so the event loop never waits on SQLite. Close the receiver
(`close`, or the ASGI lifespan's shutdown) when done.

Example::

    async def reconcile(action: str, payload: dict) -> None: ...

    secret = os.environ["ACME_FIXFLO_WEBHOOK_SECRET"]
    app = WebhookReceiver(secret, reconcile, store="state/acme.db", token=path_token(secret))
    # serve with uvicorn on 127.0.0.1, behind the agency's TLS proxy; Fixflo posts to
    # https://rb.acme.example/fixflo/<token>; then:
    app.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import math
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Final, Literal, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from adapters.fixflo._delivery import (
    RETRY_AFTER,
    Busy,
    digest_of,
    issue_id_of,
    parse,
    path_token,
    sign,
)
from adapters.fixflo._subscriptions import ISSUE_ACTIONS
from engine.store import Deliveries, DeliveryClaim, StoreError

__all__ = [
    "MAX_BODY",
    "RETRY_AFTER",
    "STATS",
    "Busy",
    "Signature",
    "WebhookReceiver",
    "digest_of",
    "issue_id_of",
    "path_token",
    "sign",
]

MAX_BODY: Final = 1 << 20
STATS: Final = (
    "accepted",  # the handler ran and succeeded
    "duplicate",  # a delivery handled before (a replay, a copy)
    "forged",  # a missing or wrong signature
    "malformed",  # not JSON {action, payload}, no issue id, over 1 MiB
    "busy",  # the handler said Busy, or a copy still ran after `wait`
    "ignored",  # an event not about an issue
    "failed",  # the handler raised, or the store could not be written
    "not_found",  # a request to any other path or method (a wrong token)
)
Signature = Literal["hmac-sha256", "none"]
Handler = Callable[[str, dict[str, Any]], Awaitable[None]]
T = TypeVar("T")
log = logging.getLogger("rulebridge.adapters.webhooks")
_SAFE_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{16,128}")
# Every method reaches `_receive`, so that all but a POST to the token's path get one 404.
_ANY_METHOD: Final = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class WebhookReceiver:
    """ASGI app receiving Fixflo deliveries on ``POST /`` or ``POST /<token>`` (mount it
    where Fixflo posts).

    Args:
        secret: the subscription's secret (read from the environment, never logged).
        handler: awaited with ``(action, payload)`` once per distinct delivery of an Issue
            event with a usable issue id (`issue_id_of`); may raise `Busy`.
        store: the agency's state store file (created and migrated if missing).
        token: the path deliveries come to (`path_token` of the secret); None: ``/``.
        signature: ``hmac-sha256`` (check ``ff-signature``) or ``none`` (the token only).
        lease: how long a claim holds before another request may take it over: longer
            than the slowest handler.
        keep: how long a handled delivery is remembered (a replay after that runs again);
            ``timedelta(0)`` for a level-triggered handler (see the module docstring).
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
        token: str | None = None,
        signature: Signature = "hmac-sha256",
    ) -> None:
        """
        Raises:
            ValueError: `signature` is unknown, ``none`` without a token, or the token is
                not 16 to 128 URL-safe characters.
        """
        if signature not in ("hmac-sha256", "none"):
            raise ValueError(f"webhook signature must be hmac-sha256 or none, not {signature!r}")
        if token is not None and not _SAFE_TOKEN.fullmatch(token):
            raise ValueError("a webhook path token must be 16 to 128 letters, digits, _ or -")
        if signature == "none" and token is None:
            raise ValueError("signature none leaves no check at all without a path token")
        self._token = token.encode() if token is not None else b""
        self.signature: Signature = signature
        self._counts = dict.fromkeys(STATS, 0)
        self._key = secret.encode() if isinstance(secret, str) else secret
        self._handler, self._path = handler, os.fspath(store)
        self._lease, self._keep, self._wait, self._timeout = lease, keep, wait, timeout
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="webhook-store")
        self._deliveries: Deliveries | None = None  # opened and used in the worker only
        self._running: dict[str, asyncio.Event] = {}
        route = Route("/{path:path}", self._receive, methods=_ANY_METHOD)
        self._app = Starlette(routes=[route], lifespan=self._lifespan)

    def __repr__(self) -> str:
        return f"WebhookReceiver(secret=***, store={self._path!r})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    @property
    def stats(self) -> dict[str, int]:
        """How many requests ended how (`STATS`), since the receiver was made."""
        return dict(self._counts)

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
        path = str(request.path_params.get("path", "")).encode()
        if request.method != "POST" or not hmac.compare_digest(path, self._token):
            return self._answer("not_found", {"error": "not found"}, 404)
        body = await _read_limited(request)
        if body is None:
            return self._answer("malformed", {"error": "the body is over 1 MiB"}, 413)
        if self.signature == "hmac-sha256":
            given = request.headers.get("ff-signature", "").encode("latin-1")
            if not hmac.compare_digest(given, sign(body, self._key).encode()):
                return self._answer("forged", {"error": "missing or bad ff-signature"}, 401)
        delivery = parse(body)
        if delivery is None:
            return self._answer("malformed", {"error": "expected JSON {action, payload}"}, 400)
        if delivery[0] not in ISSUE_ACTIONS:
            return self._answer("ignored", {"status": "ignored"})
        if issue_id_of(*delivery) is None:
            return self._answer("malformed", {"error": "the payload names no issue Id"}, 400)
        try:
            claim = await self._claim(digest_of(body), delivery[0])
        except (StoreError, RuntimeError) as exc:  # RuntimeError: the receiver was closed
            log.warning("webhook %s: not recorded: %s", digest_of(body)[:19], exc)
            self._counts["failed"] += 1
            return _later("the delivery could not be recorded")
        if claim.outcome == "handled":
            return self._answer("duplicate", {"status": "duplicate"})
        if claim.outcome == "in_progress":
            self._counts["busy"] += 1
            return _later("the same delivery is still being handled")
        return await self._handle(claim, *delivery)

    def _answer(self, outcome: str, body: dict[str, str], status: int = 200) -> JSONResponse:
        self._counts[outcome] += 1
        return JSONResponse(body, status_code=status)

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
            except Busy as busy:  # back-pressure: the redelivery is handled once there is room
                await self._release(claim)
                self._counts["busy"] += 1
                return _later("the receiver is busy", busy.retry_after)
            except Exception as exc:  # the sender retries; say only that it failed
                log.warning(
                    "webhook %s: handler failed (%s)", claim.digest[:19], type(exc).__name__
                )
                await self._release(claim)
                return self._answer("failed", {"error": "the delivery could not be handled"}, 500)
            except BaseException:  # cancelled: let a redelivery run it
                await asyncio.shield(self._release(claim))
                raise
            await self._finish(claim)
            return self._answer("accepted", {"status": "accepted"})
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


def _later(problem: str, retry_after: float = RETRY_AFTER) -> JSONResponse:
    wait = max(1, math.ceil(retry_after)) if math.isfinite(retry_after) else RETRY_AFTER
    return JSONResponse(
        {"error": f"{problem}; send it again later"},
        status_code=503,
        headers={"Retry-After": str(wait)},
    )


async def _read_limited(request: Request) -> bytes | None:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
