"""Fixflo's webhook subscriptions, exactly as contracts/fixflo.md section 8 documents them.

- ``POST /Webhook/Subscribe`` with ``{TargetUrl, Events, Secret, RemoveBody, HttpMethod,
  EntityType}`` answers ``{id}`` (read at the top, or in the ``Entity`` of Fixflo's write
  envelope; a 200 listing ``Errors`` is an `EnvelopeError`);
- ``GET /Webhooks`` answers ``[{id, Url}]``;
- ``DELETE /Webhook/Unsubscribe?id=`` answers ``{}`` (a 404: already gone);
- ``GET /Webhook/Activity?Id=&FailedOnly=&pg=`` answers pages of 20 WebhookDeliveryItem
  ``{id, WebHookUrl, SendTime, Failed, FailureMessage, ResponseStatus, RequestBody,
  ResponseBody}``, newest first.

Every call goes through the adapter's `adapters.http.Caller` (its limiter, retries and
bounds), with the webhook secret added to what error excerpts are scrubbed of. A subscribe
is a create: it is retried only when it surely did not land, or, after a lost answer, once
the listing shows no new subscription to our URL (`Caller.write_once`).

Nothing personal leaves `activity`: a WebhookDeliveryItem's ``RequestBody`` is read for its
``action`` only when that is one of the documented event names, and its ``ResponseBody`` is
never read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import httpx

from adapters._paging import Listing
from adapters._records import ci_get
from adapters.errors import ConfigError, EnvelopeError, NotFoundError, ProtocolError, redact
from adapters.fixflo._activity import (
    ACTIVITY,
    WEBHOOK_EVENTS,
    DeliveryFailure,
    activity_items,
    failure,
    last_page,
)
from adapters.http import Caller, decode_json

if TYPE_CHECKING:
    from adapters.fixflo._adapter import FixfloAdapter

__all__ = [
    "ISSUE_ACTIONS",
    "ISSUE_EVENTS",
    "WEBHOOK_EVENTS",
    "DeliveryFailure",
    "FixfloSubscriptions",
    "Subscription",
]

ISSUE_ACTIONS: Final = frozenset(
    {"Issue state change", "Issue add", "Job invoice updated", "Issue closed"}
)
"""The events about an issue (EntityType ``Issue``); the others are about properties."""
ISSUE_EVENTS: Final = ("Issue state change", "Job invoice updated", "Issue closed")
"""The events rulebridge subscribes to by default."""

SECRET_LENGTH: Final = (16, 64)  # the contract's Secret minLength and maxLength
ACTIVITY_PAGE: Final = 20  # the contract's page size of GET /Webhook/Activity
_SUBSCRIBE: Final = "/Webhook/Subscribe"
_LIST: Final = "/Webhooks"
_UNSUBSCRIBE: Final = "/Webhook/Unsubscribe"


@dataclass(frozen=True, slots=True)
class Subscription:
    """What `FixfloSubscriptions.ensure` left: our one subscription and those it replaced.

    Attributes:
        id: the subscription Fixflo now posts to us by.
        replaced: the ids of our earlier subscriptions it unsubscribed.
    """

    id: str
    replaced: list[str] = field(default_factory=list)


class FixfloSubscriptions:
    """Subscribe to, list, replace and remove Fixflo webhooks; read their delivery activity.

    Args:
        fixflo: the adapter whose client, limiter and retry policy the calls share.
        secret_env: the environment variable the secret was read from, named in messages
            (its value never is); None: "the webhook secret".

    Example::

        hooks = FixfloSubscriptions(FixfloAdapter(client), secret_env="ACME_WEBHOOK_SECRET")
        sub = await hooks.ensure(f"{public}/{path_token(secret)}", secret, ours=public)
        failed = await hooks.activity(sub.id, failed_only=True, since=an_hour_ago)
    """

    def __init__(self, fixflo: FixfloAdapter, *, secret_env: str | None = None) -> None:
        self._caller = fixflo.caller
        self.secret_env = secret_env

    async def subscribe(
        self, target_url: str, secret: str, events: Sequence[str] = ISSUE_EVENTS
    ) -> str:
        """Ask Fixflo to post `events` about issues to `target_url`, signed with `secret`;
        returns the new subscription's id.

        The body sent: ``{TargetUrl, Events, Secret, RemoveBody: true, HttpMethod: "POST",
        EntityType: "Issue"}``. Checked before anything is sent: the secret's length
        (16..64), the events (documented Issue events, at least one: an empty list would
        mean all) and the URL (absolute http(s)).

        Raises:
            ConfigError: the secret, an event or the URL is not what the contract allows.
            EnvelopeError: Fixflo answered 200 and listed Errors (nothing was subscribed).
            ProtocolError: the answer holds no id.
            OutcomeUnknownError: the subscribe may have landed and was not found.
        """
        body = self._body(target_url, secret, events)
        known = {hook["id"] for hook in await self.listed()}
        return await self._subscribe(body, secret, known)

    async def listed(self) -> list[dict[str, str]]:
        """Every webhook of the agency, ours and other integrations': ``[{id, Url}]``.

        Raises:
            ProtocolError: the answer is not a list of objects with an id.
        """
        body = await self._caller.json("GET", _LIST)
        items = ci_get(body, "Items") if isinstance(body, Mapping) else body
        if not isinstance(items, list):
            raise ProtocolError("the webhooks are not a list", method="GET", path=_LIST)
        hooks = []
        for index, item in enumerate(items):
            hook_id = ci_get(item, "id") if isinstance(item, Mapping) else None
            if isinstance(hook_id, bool) or not isinstance(hook_id, str | int) or hook_id == "":
                raise ProtocolError(
                    f"webhook {index} of the list has no id", method="GET", path=_LIST
                )
            url = ci_get(item, "Url")
            hooks.append({"id": str(hook_id), "Url": url if isinstance(url, str) else ""})
        return hooks

    async def unsubscribe(self, subscription_id: str) -> None:
        """Remove one subscription; one Fixflo no longer holds (404) is done.

        Raises:
            EnvelopeError: Fixflo answered 200 and listed Errors.
        """
        try:
            response = await self._caller.send(
                "DELETE", _UNSUBSCRIBE, params={"id": subscription_id}, idempotent=True
            )
        except NotFoundError:
            return
        self._envelope(response, "DELETE", _UNSUBSCRIBE, self._caller, empty_ok=True)

    async def ensure(
        self,
        target_url: str,
        secret: str,
        *,
        ours: str,
        events: Sequence[str] = ISSUE_EVENTS,
    ) -> Subscription:
        """Make Fixflo post to `target_url` under one subscription of ours, whatever was
        there before; safe to call at every start.

        Subscribes anew (the secret or the events may have changed), then unsubscribes
        every other listed webhook whose Url is `ours` or below it (``ours/...``): our
        earlier subscriptions, and a copy a lost answer may have left. Webhooks of other
        integrations (any other Url) are never touched.

        Args:
            target_url: where Fixflo posts (`ours` plus the path token).
            secret: the subscription's secret (16..64 characters).
            ours: our public URL without the token; `target_url` must be below it.
            events: the Issue events to subscribe to.

        Raises:
            ConfigError: as `subscribe`, or `target_url` is not below `ours`.
        """
        prefix = _our_prefix(ours)
        if not _below(target_url, prefix):
            raise ConfigError(f"the webhook URL must be below the public URL {ours}")
        body = self._body(target_url, secret, events)
        before = await self.listed()
        new_id = await self._subscribe(body, secret, {h["id"] for h in before})
        after = await self.listed()
        replaced = []
        for hook in sorted({h["id"]: h for h in [*before, *after]}.values(), key=_by_id):
            if hook["id"] != new_id and _below(hook["Url"], prefix):
                await self.unsubscribe(hook["id"])
                replaced.append(hook["id"])
        return Subscription(new_id, replaced)

    async def remove(self, *, ours: str) -> list[str]:
        """Unsubscribe every webhook whose Url is `ours` or below it; returns their ids."""
        prefix = _our_prefix(ours)
        gone = []
        for hook in await self.listed():
            if _below(hook["Url"], prefix):
                await self.unsubscribe(hook["id"])
                gone.append(hook["id"])
        return gone

    async def activity(
        self,
        subscription_id: str,
        *,
        failed_only: bool,
        since: datetime,
        max_pages: int = 50,
    ) -> list[DeliveryFailure]:
        """The subscription's delivery attempts sent at or after `since`, newest first.

        Pages (20 a page, newest first) are read until one reaches back past `since`, ends
        short, or `max_pages` were read (then the list is what those pages held).

        Raises:
            ProtocolError: a page is not a list of delivery items, or an item's SendTime
                cannot be read as a time.
            PageLoopError: a page repeats the one before it.
        """
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        listing = Listing(self._caller, ACTIVITY, ACTIVITY_PAGE)
        found: list[DeliveryFailure] = []
        for page in range(1, max_pages + 1):
            params = {"Id": subscription_id, "FailedOnly": _flag(failed_only), "pg": str(page)}
            body = await self._caller.json("GET", ACTIVITY, params=params)
            items = activity_items(body)
            listing.took(items)
            for index, item in enumerate(items):
                attempt = failure(item, page, index)
                if attempt.send_time < since:
                    return found
                found.append(attempt)
            if len(items) < ACTIVITY_PAGE or last_page(body, page):
                return found
        return found

    # -- the subscribe, once -------------------------------------------------------------

    async def _subscribe(self, body: dict[str, Any], secret: str, known: set[str]) -> str:
        """POST the subscribe `body` once: after a lost answer, a webhook to its TargetUrl
        that was not among the `known` ids is the one it made."""
        caller = _scrubbing(self._caller, secret)

        async def find() -> str | None:
            for hook in await self.listed():
                if hook["id"] not in known and hook["Url"] == body["TargetUrl"]:
                    return hook["id"]
            return None

        return await caller.write_once(
            "POST",
            _SUBSCRIBE,
            find=find,
            read=lambda response: self._new_id(response, caller),
            json=body,
        )

    def _body(self, target_url: str, secret: str, events: Sequence[str]) -> dict[str, Any]:
        low, high = SECRET_LENGTH
        if not isinstance(secret, str) or not low <= len(secret) <= high:
            size = len(secret) if isinstance(secret, str) else 0
            name = self.secret_env or "the webhook secret"
            raise ConfigError(
                f"{name} must hold {low} to {high} characters (Fixflo's contract "
                f"for a webhook Secret), not {size}; set a longer random value"
            )
        _check_url(target_url)
        _check_events(events)
        return {
            "TargetUrl": target_url,
            "Events": list(events),
            "Secret": secret,
            "RemoveBody": True,
            "HttpMethod": "POST",
            "EntityType": "Issue",
        }

    def _new_id(self, response: httpx.Response, caller: Caller) -> str:
        body = self._envelope(response, "POST", _SUBSCRIBE, caller)
        entity = ci_get(body, "Entity")
        found = ci_get(body, "id")
        if found is None and isinstance(entity, Mapping):
            found = ci_get(entity, "id")
        if isinstance(found, bool) or not isinstance(found, str | int) or found == "":
            raise ProtocolError("the subscribe answer holds no id", method="POST", path=_SUBSCRIBE)
        return str(found)

    @staticmethod
    def _envelope(
        response: httpx.Response, method: str, path: str, caller: Caller, *, empty_ok: bool = False
    ) -> Mapping[str, Any]:
        """The answer as an object; Fixflo's 200 listing ``Errors`` is a refusal."""
        if empty_ok and not response.content.strip():
            return {}
        body = decode_json(response, path, max_depth=caller.limits.json_depth)
        if not isinstance(body, Mapping):
            raise ProtocolError("the answer is not a JSON object", method=method, path=path)
        errors = ci_get(body, "Errors")
        if errors:
            raise EnvelopeError(
                "Fixflo answered 200 but refused the call",
                method=method,
                path=path,
                status=response.status_code,
                excerpt=redact(str(errors), caller.secrets),
            )
        return body


def _scrubbing(caller: Caller, secret: str) -> Caller:
    """`caller` with `secret` added to what its errors are scrubbed of (same client,
    limiter, retries, bounds and deadline)."""
    return Caller(
        caller.client,
        limiter=caller.limiter,
        retry=caller.retry,
        secrets=(*caller.secrets, secret),
        limits=caller.limits,
        deadline=caller.deadline,
    )


def _our_prefix(ours: str) -> str:
    """`ours` without its trailing slash, refused unless an absolute http(s) URL with a
    host (an empty prefix would match every integration's webhooks)."""
    _check_url(ours, what="the public webhook URL")
    return ours.rstrip("/")


def _below(url: str, prefix: str) -> bool:
    return url == prefix or url.startswith(prefix + "/")


def _check_url(url: str, *, what: str = "the webhook TargetUrl") -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what} must be an absolute http(s) URL, not {str(url)[:80]!r}")


def _check_events(events: Sequence[str]) -> None:
    if isinstance(events, str) or not events:
        raise ConfigError(
            "name at least one webhook event (Fixflo reads an empty list as all events)"
        )
    for event in events:
        if event not in ISSUE_ACTIONS:
            known = ", ".join(sorted(ISSUE_ACTIONS))
            raise ConfigError(f"{event!r} is not a Fixflo Issue webhook event; one of: {known}")


def _by_id(hook: Mapping[str, str]) -> str:
    return hook["id"]


def _flag(value: bool) -> str:
    return "true" if value else "false"
