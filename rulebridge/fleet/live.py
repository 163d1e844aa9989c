"""The fleet's live work: one issue reconciled into Alto per delivery, on the issues queue.

``rulebridge fleet serve`` (`rulebridge.fleet._serve`) receives Fixflo's deliveries for
every agency and enqueues, per delivery, the workflow `issue_reconcile` on the queue
``rulebridge-issues`` partitioned by ``{agency}:{issue}`` (`issue_partition`): one
reconcile per issue at a time, across every worker. Workers run it (every worker
imports this module, `rulebridge.fleet.worker`, so registers it).

The workflow's step is the live server's own reconcile of one issue
(`rulebridge.runner.serve.reconcile_live`): the issue re-read through the API, the
agency's trusted store (the ledger: every effect exactly once), the per-issue lease the
nightly run and ``serve`` share, the agency's shared rate limiter (the same bucket as its
night), recorded as a ``live`` run of the agency's store (one per reconcile: its fate and
the revision reconciled, which the nightly report reads). Fates:

- ``reconciled``/``parked``: done;
- ``busy`` (the agency's night holds the issue): the workflow sleeps `BUSY_DELAY` (durably)
  and tries again, up to `BUSY_TRIES` times without counting an attempt;
- ``held`` or ``error``: tried again after 5 s, 10 s, 20 s... up to the agency's
  ``webhook.attempts``; then left to the nightly run (its cursor has not passed the issue);
- ``refused``: the agency is not in this worker's fleet, or its store is missing or not
  trusted (the message says which and the fix); never retried.

Example::

    # in a worker process (`rulebridge.fleet.worker.Worker` started)
    issue_reconcile("acme", "42", "Issue state change")  # via the queue, in practice
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from dbos import DBOS

from engine.errors import RulebridgeError
from engine.store import Store
from rulebridge.fleet._process import PROCESS, step_slot
from rulebridge.fleet.config import FleetAgency, FleetConfig
from rulebridge.runner import RunFailedError, RunLog, RunOptions, redact_personal
from rulebridge.runner.nightly import AgencyRun, load_agency_ruleset
from rulebridge.runner.serve import reconcile_live
from rulebridge.runner.trust import open_trusted

__all__ = [
    "BUSY_DELAY",
    "BUSY_TRIES",
    "ISSUE_WORKFLOW",
    "issue_partition",
    "issue_reconcile",
    "issue_workflow_id",
]

ISSUE_WORKFLOW: Final = "rulebridge.issue_reconcile"
BUSY_DELAY: Final = 30.0
"""Seconds a reconcile waits while the agency's night holds the issue."""
BUSY_TRIES: Final = 20
_FINAL: Final = frozenset({"reconciled", "parked", "refused"})


def issue_partition(agency: str, issue_id: str) -> str:
    """The issues queue's partition of one issue: one reconcile of it at a time.

    Example:
        >>> issue_partition("acme", "42")
        'acme:42'
    """
    return f"{agency}:{issue_id}"


def issue_workflow_id(agency: str, issue_id: str, digest: str) -> str:
    """The workflow id of the reconcile a delivery (`digest`) asked for.

    Example:
        >>> issue_workflow_id("acme", "42", "9f86d081884c7d65-0")
        'acme:issue:42:9f86d081884c7d65-0'
    """
    return f"{agency}:issue:{issue_id}:{digest}"


@DBOS.workflow(name=ISSUE_WORKFLOW)
def issue_reconcile(agency: str, issue_id: str, event: str) -> dict[str, Any]:
    """Reconcile `agency`'s issue `issue_id` (see the module docstring for the retries).

    Returns:
        the last step's outcome (fate, run id, revision, changes, error) with ``attempts``
        and ``busy`` (times the night held the issue); ``gave_up`` when left to the night.
    """
    tries = busy = 0
    while True:
        outcome = _reconcile_step(agency, issue_id, event)
        fate = outcome["fate"]
        if fate in _FINAL:
            break
        if fate == "busy" and busy < BUSY_TRIES:
            busy += 1
            DBOS.sleep(BUSY_DELAY)
            continue
        tries += 1
        if tries >= int(outcome.get("attempts_allowed", 5)):
            outcome = {**outcome, "gave_up": True}
            break
        DBOS.sleep(5.0 * 2 ** (tries - 1))
    return {**outcome, "attempts": tries + (fate in _FINAL), "busy": busy}


@DBOS.step(name="rulebridge.issue_reconcile.step")
def _reconcile_step(agency: str, issue_id: str, event: str) -> dict[str, Any]:
    with step_slot() as (fleet, log):
        return _reconcile(fleet, log, PROCESS.rate_url, agency, issue_id, event)


def _reconcile(
    fleet: FleetConfig, log: RunLog, rate_url: str | None, agency: str, issue_id: str, event: str
) -> dict[str, Any]:
    try:
        member = fleet.agency(agency)
    except RulebridgeError as exc:
        return _refused(log, agency, issue_id, str(exc))
    webhook = member.config.webhook
    attempts = webhook.attempts if webhook is not None else 5
    try:
        options = _options(member, rate_url)
        _check_store(member, options)
        ruleset = load_agency_ruleset(member.config)
    except RulebridgeError as exc:
        return {**_refused(log, agency, issue_id, str(exc)), "attempts_allowed": attempts}
    outcome = asyncio.run(reconcile_live(options, ruleset, issue_id, log, event=event))
    return {**outcome, "agency": agency, "issue": issue_id, "attempts_allowed": attempts}


def _refused(log: RunLog, agency: str, issue_id: str, why: str) -> dict[str, Any]:
    error = redact_personal(why)
    log.event("error", agency=agency, issue=issue_id, message=error)
    return {"fate": "refused", "agency": agency, "issue": issue_id, "error": error}


def _options(member: FleetAgency, rate_url: str | None) -> RunOptions:
    """The agency's options as its night has them, so both use one rate-limit bucket."""
    # a Postgres fleet keeps the agency's bucket there (None: the state home's file)
    return RunOptions(member.config, member.store_path, rate_url=rate_url)


def _check_store(member: FleetAgency, options: RunOptions) -> None:
    """Refuse a store the agency's night never made; trust it as the night does, once per
    process (`rulebridge.runner.trust.open_trusted`).

    Raises:
        RunFailedError: no store yet, or one the nightly run never ran with.
        engine.store.StoreRefusedError: the store is not the agency's up-to-date store.
    """
    path = member.store_path
    fix = f"run the agency's night first (`rulebridge fleet run --agency {member.name}`)"
    if not path.is_file() or path.stat().st_size == 0:
        raise RunFailedError(f"{path}: no state store yet; {fix}")
    if member.name in PROCESS.trusted:
        return
    with Store.open(path) as store:
        never = store.binding() is None or store.progress().runs == 0
    if never:
        raise RunFailedError(f"{path}: the nightly job has not run with this store yet; {fix}")
    agency = AgencyRun.of(options)
    agency.home.prepare()
    open_trusted(path, agency.identity, agency.home, agency.hint, None).close()
    PROCESS.trusted.add(member.name)
