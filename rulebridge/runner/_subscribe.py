"""The server's Fixflo subscription: made idempotently at start, checked, removed on request.

`Subscriber.ensure` subscribes anew through `adapters.fixflo.FixfloSubscriptions.ensure`
(the secret or the events may have changed since), which unsubscribes our earlier
subscriptions (those posting below our ``public_url``) and never touches other
integrations'. The id is kept in the store (``live_meta``, `SUBSCRIPTION_KEY`) for the
nightly run, which reads Fixflo's failed deliveries (``GET /Webhook/Activity``) for its
report. Failed deliveries answered 401 hint that Fixflo signs otherwise than assumed.

Example::

    subscriber = Subscriber(config.webhook, secret, log, queue)
    subscription_id = await subscriber.ensure(subscriptions_of(fixflo, config.webhook), url)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Final

from adapters.errors import ConfigError
from adapters.fixflo import DeliveryFailure, FixfloAdapter, FixfloSubscriptions
from engine.errors import RulebridgeError
from engine.ports import RecordTarget
from engine.store import LiveQueue
from rulebridge._config import AgencyConfig, WebhookConfig
from rulebridge.runner._night import Night
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.log import RunLog
from rulebridge.runner.wiring import Wire, fixflo_ports

__all__ = [
    "SUBSCRIPTION_KEY",
    "Subscriber",
    "activity_warning",
    "failure_statuses",
    "night_activity",
    "subscriptions_of",
    "unsubscribe",
]

SUBSCRIPTION_KEY: Final = "fixflo.webhook.subscription"


class Subscriber:
    """The Fixflo subscription: made (idempotently) at start, checked, removed on request."""

    def __init__(self, webhook: WebhookConfig, secret: str, log: RunLog, queue: LiveQueue) -> None:
        self.webhook, self.secret, self.log, self.queue = webhook, secret, log, queue

    async def ensure(self, subscriptions: FixfloSubscriptions, target_url: str) -> str:
        """Subscribe (replacing our earlier subscriptions), remember the id, check the
        last hour's failed deliveries; returns the subscription id."""
        made = await subscriptions.ensure(
            target_url, self.secret, ours=self.webhook.ours, events=self.webhook.events
        )
        self.queue.set_meta(SUBSCRIPTION_KEY, made.id)
        self.log.event("subscribed", subscription=made.id, replaced=list(made.replaced))
        since = datetime.now(UTC) - timedelta(hours=1)
        try:
            failures = await subscriptions.activity(made.id, failed_only=True, since=since)
        except RulebridgeError as exc:
            self.log.event("warning", rule="webhook", message=f"activity unread: {exc}")
            return made.id
        statuses = failure_statuses(failures)
        if failures:
            self.log.event("warning", rule="webhook", message=activity_warning(statuses))
        return made.id


def failure_statuses(failures: list[DeliveryFailure]) -> Counter[str]:
    """Failed deliveries by the status our side answered ("no answer": none came)."""
    return Counter("no answer" if f.status is None else str(f.status) for f in failures)


def activity_warning(statuses: Counter[str]) -> str:
    """The warning for Fixflo's failed deliveries, by answer status (401: the signature
    scheme assumption may be wrong)."""
    total = sum(statuses.values())
    listed = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    text = f"Fixflo reports {total} failed webhook deliveries ({listed})"
    if statuses.get("401"):
        text += (
            "; Fixflo's signature scheme is unpublished and rulebridge assumes ff-signature "
            "HMAC-SHA256: if every delivery is refused 401, set 'signature: none' under "
            "'webhook:' (the path token still keeps strangers out; docs/runner.md)"
        )
    return text


def subscriptions_of(fixflo: object, webhook: WebhookConfig | None) -> FixfloSubscriptions:
    """Fixflo's subscriptions through a run's Fixflo adapter (its limiter and retries)."""
    if not isinstance(fixflo, FixfloAdapter):
        raise TypeError(f"the Fixflo port is a {type(fixflo).__name__}, not the Fixflo adapter")
    return FixfloSubscriptions(fixflo, secret_env=webhook.secret_env if webhook else None)


def unsubscribe(config: AgencyConfig, log: RunLog) -> list[str]:
    """Remove every Fixflo subscription of ours (those posting to our ``public_url``);
    returns their ids. Other integrations' subscriptions are left alone.

    Raises:
        adapters.errors.ConfigError: the config has no ``webhook:`` section.
    """
    webhook = config.webhook
    if webhook is None:
        raise ConfigError(f"{config.path}: no 'webhook:' section; nothing of ours to remove")

    async def remove() -> list[str]:
        async with fixflo_ports(Wire(config, ApiCalls()), drained=False) as fixflo:
            hooks = subscriptions_of(fixflo.target, webhook)
            return await hooks.remove(ours=webhook.ours)

    removed = asyncio.run(remove())
    log.event("unsubscribed", subscriptions=removed)
    return removed


async def night_activity(night: Night, fixflo: RecordTarget) -> None:
    """With a ``webhook:`` section and a subscription the server made, Fixflo's failed
    deliveries since the last night began (`Subscriptions.activity`): the report's
    ``webhooks`` section and a warning. What Fixflo failed to deliver was read tonight
    anyway (the cursor), so this says only that the live server missed it."""
    subscription = night.store.meta(SUBSCRIPTION_KEY)
    if night.config.webhook is None or not subscription or not isinstance(fixflo, FixfloAdapter):
        return
    since = _last_night_start(night)
    try:
        hooks = subscriptions_of(fixflo, night.config.webhook)
        failures = await hooks.activity(subscription, failed_only=True, since=since)
    except RulebridgeError as exc:
        night.warn("webhook", f"Fixflo's webhook activity could not be read ({exc})")
        return
    statuses = failure_statuses(failures)
    night.webhooks = {
        "subscription": subscription,
        "since": since.isoformat(timespec="seconds"),
        "failed": len(failures),
        "statuses": dict(sorted(statuses.items())),
        "first": [
            {"send_time": str(f.send_time), "status": f.status, "event": f.event}
            for f in failures[:20]
        ],
    }
    night.log.event("webhooks", failed=len(failures), statuses=dict(statuses))
    if failures:
        night.warn("webhook", activity_warning(statuses))


def _last_night_start(night: Night) -> datetime:
    """When the latest earlier nightly run began (a day ago when there is none)."""
    for run in night.store.runs(limit=100):
        if run.id != night.run.id and run.kind == "night":
            with contextlib.suppress(ValueError):
                started = datetime.fromisoformat(run.started.replace("Z", "+00:00"))
                return started if started.tzinfo else started.replace(tzinfo=UTC)
    return datetime.now(UTC) - timedelta(days=1)
