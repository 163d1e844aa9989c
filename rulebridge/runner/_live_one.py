"""One issue reconciled live outside the server's `Reconciler` thread, and a subscription
made outside it: what a durable engine's step needs (`rulebridge.fleet.live`,
``rulebridge fleet serve``), with the server's own code.

Example::

    outcome = asyncio.run(reconcile_live(options, ruleset, "42", log))
    outcome["fate"]
    # 'reconciled'
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.errors import ConfigError
from engine.errors import RulebridgeError
from engine.language.ruleset import CompiledRuleset
from engine.store import LiveItem, LiveQueue, Store, StoreError
from rulebridge._config import AgencyConfig
from rulebridge.runner._live import RENEW_EVERY, LiveNight, LiveStats, live_report
from rulebridge.runner._night import RunOptions
from rulebridge.runner._subscribe import Subscriber, subscriptions_of
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.issues import ISSUE_LEASE, holder_of, issue_work, reconcile_issue
from rulebridge.runner.log import RunLog, redact_personal
from rulebridge.runner.wiring import Wire, alto_writer, fixflo_ports

__all__ = ["reconcile_live", "subscribe"]


async def reconcile_live(
    options: RunOptions, ruleset: CompiledRuleset, issue_id: str, log: RunLog, *, event: str = ""
) -> dict[str, Any]:
    """Reconcile one issue into Alto as a live run of its own, outside the `Reconciler`
    thread (a durable engine's step: `rulebridge.fleet.live`).

    The same code as the server's: the issue re-read through the API (a delivery is a
    trigger, never data), the per-issue lease taken first (``busy`` when the nightly run
    holds it), the agency's shared limiter (`rulebridge.runner.wiring`), every effect
    exactly once through the ledger. The run is recorded as a ``live`` run with
    `live_report`; the revision reconciled is kept for the nightly report
    (`engine.store.Store.handled_live`). Call it with a store the nightly run made and
    trusts (the caller checks).

    Returns:
        ``{"fate", "run_id", "revision", "changes", "error"}``; ``fate`` is a
        `rulebridge.runner.issues.Fate` or ``error`` (a RulebridgeError, its text in
        ``error`` without personal data).
    """
    with Store.open(options.store_path) as store, LiveQueue.open(options.store_path) as queue:
        run = store.start_run(ruleset.name, str(ruleset.version), ruleset.content_hash, kind="live")
        night = LiveNight(options, ruleset, store, run, log, calls=ApiCalls())
        stats, started, work = LiveStats(), time.monotonic(), None
        fate, error = "error", None
        try:
            async with (
                fixflo_ports(night, drained=False, ruleset=ruleset) as fixflo,
                alto_writer(night, drained=False) as alto,
            ):
                work = issue_work(night, fixflo.issues, fixflo.documents, alto)
                renewing = asyncio.create_task(_renew(store, issue_id, holder_of(night), log))
                try:
                    fate = await reconcile_issue(night, work, issue_id, stamped=False)
                finally:
                    renewing.cancel()
        except RulebridgeError as exc:
            error = redact_personal(str(exc))
            log.event("error", issue=issue_id, message=error)
        except BaseException:
            store.finish_run("interrupted", report=live_report(night, stats, started, None, work))
            raise
        stats.fates[fate] += 1
        stats.last_reconcile = datetime.now(UTC).isoformat(timespec="seconds")
        revision = work.revisions.get(issue_id) if work and fate == "reconciled" else None
        if revision is not None:  # no row of the queue has an empty token: only the revision
            queue.done(LiveItem(issue_id, event, 1, "", stats.last_reconcile), revision)
        store.finish_run(
            "failed" if error else "succeeded",
            report=live_report(night, stats, started, error, work),
        )
        log.event("live", issue=issue_id, fate=fate, run=run.id)
    return {
        "fate": fate,
        "run_id": run.id,
        "revision": revision,
        "changes": night.changes,
        "error": error,
    }


def subscribe(
    config: AgencyConfig, secret: str, target_url: str, log: RunLog, store_path: Path
) -> str:
    """Subscribe the agency to Fixflo's webhooks posting to `target_url` (replacing our
    earlier subscriptions, `Subscriber.ensure`), outside the `Reconciler` thread (a server
    of many agencies); the subscription id, kept in the agency's store.

    Raises:
        adapters.errors.ConfigError: the config has no ``webhook:`` section.
        engine.errors.RulebridgeError: Fixflo refused or did not answer.
    """
    webhook = config.webhook
    if webhook is None:
        raise ConfigError(f"{config.path}: no 'webhook:' section; add one to subscribe")

    async def made() -> str:
        async with fixflo_ports(Wire(config, ApiCalls()), drained=False) as fixflo:
            with LiveQueue.open(store_path) as queue:
                subscriber = Subscriber(webhook, secret, log, queue)
                return await subscriber.ensure(subscriptions_of(fixflo.target, webhook), target_url)

    return asyncio.run(made())


async def _renew(store: Store, issue_id: str, holder: str, log: RunLog) -> None:
    """Keep the issue's lease while its reconcile runs (slowed by the shared rate limit)."""
    while True:
        await asyncio.sleep(RENEW_EVERY)
        try:
            store.lease_issue(issue_id, holder, ttl=ISSUE_LEASE)
        except StoreError as exc:  # locked for a moment: the lease still has time left
            log.event("live", issue=issue_id, note=f"lease not renewed: {exc}")
