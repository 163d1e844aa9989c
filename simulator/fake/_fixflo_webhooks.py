"""Fixflo's webhooks in the fake: subscriptions, a delivery on every issue save, Activity.

The routes, in the contract's spellings and shapes (contracts/fixflo.md section 8; facts.json
``webhook_subscribe``, ``webhooks_list``, ``webhook_unsubscribe``, ``webhook_activity``):

- ``POST /Webhook/Subscribe`` answers ``{id}``. A body Fixflo would refuse (``TargetUrl``
  not an absolute http(s) URL, a ``Secret`` outside 16..64 characters, an ``Event``,
  ``Events`` item, ``HttpMethod`` or ``EntityType`` outside its enum, a value of the wrong
  type, no JSON object) is refused as Fixflo refuses a write (section 0): HTTP 200 with an
  Envelope whose ``Errors`` say every fault found, and nothing subscribed.
- ``GET /Webhooks`` answers ``[{id, Url}]``.
- ``DELETE /Webhook/Unsubscribe?id=`` answers ``{}``; an id not subscribed is a 404.
- ``GET /Webhook/Activity?Id=&FailedOnly=&pg=`` answers pages of 20 ``WebhookDeliveryItem``,
  newest first (``Failed`` is the string ``"true"`` or ``"false"``); without ``Id`` every
  subscription's items; an ``Id`` never subscribed is a 404. An unsubscribed subscription's
  activity stays readable.

The deliveries (payload and signature are unpublished: the receiver's assumption,
`adapters.fixflo.webhooks`): on every save of a lifecycle issue, a new issue is
``Issue add``; a changed ``Status`` is ``Issue state change`` (and ``Issue closed`` when it
becomes ``Closed``); changed ``InvoiceDetails`` are ``Job invoice updated``. Each
subscription of EntityType ``Issue`` (or none) whose events include it (none: all) gets
``{"action": event, "payload": {"Id": issue id}}`` (with ``RemoveBody`` false, the
payload also carries ``Status`` and ``StatusChanged``) signed ``ff-signature:
sha256=<hex>`` under its Secret (unsigned without one), with its ``HttpMethod``.
`simulator.fake._webhook_sender` sends them, with faults and retries.
"""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.fixflo.webhooks import sign
from simulator.fake._common import fixflo_refusal, number_page
from simulator.fake._webhook_sender import (
    Attempt,
    Delivery,
    FaultDice,
    Sender,
    WebhookFaults,
)
from simulator.lifecycle.worlds import FixfloWorld

__all__ = ["EVENTS", "ISSUE_ACTIONS", "FixfloWebhooks", "Subscription", "events_of"]

EVENTS: Final = (
    "Property changed", "Property added", "Property deactivated", "Issue state change",
    "Issue add", "Job invoice updated", "Issue closed",
)  # fmt: skip
"""The contract's WebhookEvent enum, exactly."""
ISSUE_ACTIONS: Final = (
    "Issue add",
    "Issue state change",
    "Issue closed",
    "Job invoice updated",
)
"""The events the fake sends (it has no property events)."""
_METHODS: Final = ("POST", "PUT", "PUSH")
_ENTITIES: Final = ("Issue", "Property")
_PAGE: Final = 20
_SECRET: Final = (16, 64)

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass(frozen=True, slots=True)
class Subscription:
    """One webhook subscription as Fixflo keeps it (`events` empty: every event)."""

    id: str
    target_url: str
    events: frozenset[str]
    secret: str | None
    remove_body: bool
    http_method: str
    entity_type: str | None

    def wants(self, event: str) -> bool:
        """Whether this subscription gets issue `event`."""
        return self.entity_type in (None, "Issue") and (not self.events or event in self.events)


def events_of(previous: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """The webhook events one save of an issue raises, in the order they are sent.

    Example:
        >>> events_of({"Status": "JobCompleted"}, {"Status": "Closed"})
        ['Issue state change', 'Issue closed']
    """
    if previous is None:
        return ["Issue add"]
    found = []
    if previous.get("Status") != new.get("Status"):
        found.append("Issue state change")
        if new.get("Status") == "Closed":
            found.append("Issue closed")
    if previous.get("InvoiceDetails") != new.get("InvoiceDetails"):
        found.append("Job invoice updated")
    return found


class FixfloWebhooks:
    """The fake Fixflo's webhook side: its routes, subscriptions, deliveries and Activity.

    Args:
        world: the lifecycle world whose saves raise deliveries (None: no deliveries).
        faults: the delivery faults and their seed (none by default).
        seed: the seed of subscription ids.

    Attributes:
        subscriptions: the live subscriptions by id.
        sender: the thread sending deliveries (`retries`, `backoff`, `timeout` settable).
        injected: ``(issue id, event, fault)`` of every fault the dice picked, in order.

    Example::

        hooks = FakeFixflo(world=FixfloWorld()).webhooks
        ...  # subscribe through the API, save issues in the world
        assert hooks.drain(5.0)
        hooks.close()
    """

    def __init__(
        self, world: FixfloWorld | None, faults: WebhookFaults | None = None, *, seed: int = 0
    ) -> None:
        self.faults = faults or WebhookFaults(seed=seed)
        self.subscriptions: dict[str, Subscription] = {}
        self.injected: list[tuple[str, str, str]] = []
        self._dice = FaultDice(self.faults)
        self._ids = random.Random(seed)  # noqa: S311 - made-up ids, not secrets
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._activity: list[tuple[str, dict[str, Any]]] = []
        self.sender = Sender(self._record, hold=self.faults.hold)
        self._world = world
        if world is not None:
            world.listen(self.on_save)

    @property
    def sent(self) -> int:
        """Genuine delivery attempts sent over HTTP (duplicates and retries included)."""
        return self.sender.sent

    @property
    def forged(self) -> int:
        """Forged deliveries sent (the ``forge`` fault)."""
        return self.sender.forged

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no delivery is queued or in flight; False if `timeout` passed first."""
        return self.sender.drain(timeout)

    def close(self) -> None:
        """Stop listening to the world and the sender thread; deliveries not yet sent are
        dropped."""
        if self._world is not None and self.on_save in self._world.listeners:
            self._world.listeners.remove(self.on_save)
        self.sender.close()

    def activity(self, subscription_id: str | None = None) -> list[dict[str, Any]]:
        """Activity items, newest first (of one subscription, or of all)."""
        with self._lock:
            items = [item for sub, item in self._activity if subscription_id in (None, sub)]
        return items[::-1]

    # -- deliveries ----------------------------------------------------------------------

    def on_save(self, previous: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """The world's listener: queue the deliveries one save of an issue raises."""
        with self._lock:
            subscriptions = list(self.subscriptions.values())
        issue_id = str(new.get("Id"))
        for event in events_of(previous, new):
            for subscription in subscriptions:
                if subscription.wants(event):
                    self._deliver(subscription, event, issue_id, new)

    def _deliver(
        self, subscription: Subscription, event: str, issue_id: str, issue: Mapping[str, Any]
    ) -> None:
        payload: dict[str, Any] = {"Id": issue_id}
        if not subscription.remove_body:
            payload |= {"Status": issue.get("Status"), "StatusChanged": issue.get("StatusChanged")}
        body = _body(event, payload)
        delivery = Delivery(
            subscription.target_url,
            subscription.http_method,
            body,
            _headers(body, subscription.secret),
            event,
            subscription.id,
        )
        roll = self._dice.roll()
        for kind in filter(None, (roll.kind, "forge" if roll.forge else None)):
            self.injected.append((issue_id, event, kind))
        if roll.forge:
            self._forge(subscription, event, roll.forged_id)
        if roll.kind == "drop":
            delivery = dataclasses.replace(delivery, dropped=True)
        self.sender.submit(
            delivery,
            delay=roll.delay if roll.kind == "delay" else 0.0,
            held=roll.kind == "reorder",
        )
        if roll.kind == "duplicate":
            self.sender.submit(delivery)

    def _forge(self, subscription: Subscription, event: str, issue_id: str) -> None:
        body = _body(event, {"Id": issue_id})
        headers = _headers(body, "not the subscription's secret, forged")
        target, method = subscription.target_url, subscription.http_method
        self.sender.submit(Delivery(target, method, body, headers, event, None))

    def _record(self, attempt: Attempt) -> None:
        delivery = attempt.delivery
        with self._lock:
            item = {
                "id": str(len(self._activity) + 1),
                "WebHookUrl": delivery.target,
                "SendTime": attempt.sent_at.isoformat(timespec="milliseconds"),
                "Failed": "true" if attempt.failed else "false",
                "FailureMessage": attempt.failure,
                "ResponseStatus": attempt.status,
                "RequestBody": delivery.body.decode(),
                "ResponseBody": attempt.answer,
            }
            self._activity.append((str(delivery.subscription), item))

    # -- routes --------------------------------------------------------------------------

    def routes(self, guard: Callable[[Handler], Handler]) -> list[Route]:
        """The four webhook routes, each behind `guard` (the bearer token check)."""
        return [
            Route("/Webhook/Subscribe", guard(self._subscribe), methods=["POST"]),
            Route("/Webhooks", guard(self._listed), methods=["GET"]),
            Route("/Webhook/Unsubscribe", guard(self._unsubscribe), methods=["DELETE"]),
            Route("/Webhook/Activity", guard(self._activity_page), methods=["GET"]),
        ]

    async def _subscribe(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _refused(["The request body is not JSON"])
        errors = _faults_of(body)
        if errors:
            return _refused(errors)
        with self._lock:
            subscription = _subscription(str(uuid.UUID(int=self._ids.getrandbits(128))), body)
            self.subscriptions[subscription.id] = subscription
            self._known.add(subscription.id)
        return JSONResponse({"id": subscription.id})

    async def _listed(self, request: Request) -> Response:
        with self._lock:
            held = [{"id": s.id, "Url": s.target_url} for s in self.subscriptions.values()]
        return JSONResponse(held)

    async def _unsubscribe(self, request: Request) -> Response:
        wanted = request.query_params.get("id", "")
        with self._lock:
            gone = self.subscriptions.pop(wanted, None)
        if gone is None:
            return fixflo_refusal(404, f"No webhook subscription has the id {wanted!r}")
        return JSONResponse({})

    async def _activity_page(self, request: Request) -> Response:
        query = request.query_params
        wanted = query.get("Id") or None
        with self._lock:
            known = wanted is None or wanted in self._known
        if not known:
            return fixflo_refusal(404, f"No webhook subscription has the id {wanted!r}")
        items = self.activity(wanted)
        if (query.get("FailedOnly") or "").strip().lower() in ("true", "1"):
            items = [item for item in items if item["Failed"] == "true"]
        return number_page(request, items, page_key="pg", size_key=None, default_size=_PAGE)


def _body(event: str, payload: Mapping[str, Any]) -> bytes:
    return json.dumps({"action": event, "payload": dict(payload)}).encode()


def _headers(body: bytes, secret: str | None) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if secret is not None:
        headers["ff-signature"] = sign(body, secret)
    return headers


def _refused(errors: list[str]) -> JSONResponse:
    """Fixflo's refusal of a write: HTTP 200, the Envelope with Errors (section 0)."""
    body = {"HttpStatusCode": 200, "HttpStatusCodeDesc": "OK", "Errors": errors,
            "Messages": [], "Entity": None}  # fmt: skip
    return JSONResponse(body)


def _faults_of(body: Any) -> list[str]:
    """Every reason Fixflo would refuse a Subscribe body (empty: none)."""
    if not isinstance(body, dict):
        return ["The request body is not a JSON object"]
    errors = []
    url = body.get("TargetUrl")
    if not _absolute_url(url):
        errors.append(f"TargetUrl must be an absolute http(s) URL, not {url!r}")
    secret = body.get("Secret")
    low, high = _SECRET
    if secret is not None and (not isinstance(secret, str) or not low <= len(secret) <= high):
        errors.append(f"Secret must be a string of {low} to {high} characters")
    errors += _enum_faults(body)
    if not isinstance(body.get("RemoveBody"), bool | None):
        errors.append("RemoveBody must be true or false")
    return errors


def _enum_faults(body: Mapping[str, Any]) -> list[str]:
    errors = []
    events = body.get("Events")
    if events is not None and not isinstance(events, list):
        errors.append("Events must be a list of WebhookEvent values")
        events = None
    for name, value, allowed in (
        *(("Events", item, EVENTS) for item in events or []),
        ("Event", body.get("Event"), EVENTS),
        ("HttpMethod", body.get("HttpMethod"), _METHODS),
        ("EntityType", body.get("EntityType"), _ENTITIES),
    ):
        if value is not None and value not in allowed:
            errors.append(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return errors


def _absolute_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _subscription(subscription_id: str, body: Mapping[str, Any]) -> Subscription:
    events = set(body.get("Events") or [])
    if body.get("Event") is not None:
        events.add(body["Event"])
    return Subscription(
        id=subscription_id,
        target_url=body["TargetUrl"],
        events=frozenset(events),
        secret=body.get("Secret"),
        remove_body=bool(body.get("RemoveBody")),
        http_method=body.get("HttpMethod") or "POST",
        entity_type=body.get("EntityType"),
    )
