"""The issue phase of a run: Fixflo issues changed since the cursor, reconciled into Alto.

Each issue is read once per run: the Issue first, then the parts the lifecycle reads at
its status (`engine.language.lifecycle.Lifecycle.parts_read`: the property, the occupier,
invoice details, completion documents...), each from its own endpoint through the Fixflo
adapter's `read_parts`. It is reconciled with the ruleset against the ledger
(`engine.issues.reconcile`) and applied to Alto exactly once (`engine.issues.apply`).
Issues whose dead letters a person queued again (``rulebridge deadletters --retry``) are
read again too, wherever the cursor is.

An issue the ledger already agrees with (the same ``StatusChanged`` instant, the works
order its status asks for held and its charge, if any, posted) reads no part and sends
nothing: ``UpdatedSince`` is inclusive, so the last issue of a night is listed again the
next. An issue at a final status whose charge still waits for what the ruleset's gap
``gap.issue-updates`` names (an invoice: Fixflo's ``UpdatedSince`` sees status changes
only) is read in full and is a warning every run it is read.

The cursor then moves to the latest ``StatusChanged`` read, never past an issue held back:
one whose effects are not all recorded (a failure, an unanswered call) or whose status
the ruleset cannot read. An issue whose only open operations are dead letters is parked:
the dead letters hold it, not the cursor, so one bad issue does not make every later
night read everything after it again.

**Shared with the live server.** `issue_work` and `reconcile_issue` are what both the
nightly loop (`reconcile_issues`) and the webhook server (`rulebridge serve`) run for one
issue. Before writing, each takes the issue's lease in the store
(`engine.store.Store.lease_issue`), so a nightly run and the server never write one issue
at once: the server takes it before reading and, when the nightly run holds it, answers
``busy`` (its queue tries again later); the nightly run reads the issue first and then
waits for the lease up to `LEASE_WAIT` seconds, reading the issue again once it has it;
still held, the issue is ``held`` at its stamp (the cursor stays there) and "left to the
live server" in the report. The lease is given back in a ``finally``.

The nightly report says which issues were handled live (read tonight, the ledger agreeing,
at the revision the server last reconciled: `engine.store.Store.handled_live`) and which
at night (tonight applied an operation: a webhook missed it, or the server was down), and
lists the live queue's dead issues, each read tonight and cleared once reconciled.

Example::

    async with fixflo_ports(night, ruleset=night.ruleset) as fixflo, alto_writer(night) as alto:
        await reconcile_issues(night, fixflo.issues, fixflo.documents, alto)
    night.issues["reconciled"]
    # 6
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, Literal, Protocol, runtime_checkable

from engine.errors import CredentialsRefused, EvaluationError, RulebridgeError
from engine.issues.adoption import adopt_issue_ops
from engine.issues.apply import AltoWriter, IssueApplyResult, apply_issue_ops, attachment_kinds
from engine.issues.reconcile import reconcile
from engine.language.lifecycle import Lifecycle
from engine.ports import DocumentSource, IssueSource, Record
from engine.store.records import dumps
from rulebridge.runner._agreement import (
    INVOICE_GAP,
    LIFECYCLE_KINDS,
    agrees,
    same_instant,
    warn_waiting_charge,
)
from rulebridge.runner._night import Night
from rulebridge.runner.log import redact_personal
from rulebridge.runner.stop import checkpoint

__all__ = [
    "INVOICE_GAP",
    "ISSUES_CURSOR",
    "ISSUE_LEASE",
    "LEASE_WAIT",
    "LIFECYCLE_KINDS",
    "Fate",
    "IssueWork",
    "PartReader",
    "holder_of",
    "issue_work",
    "next_cursor",
    "reconcile_issue",
    "reconcile_issues",
]

ISSUES_CURSOR: Final = "fixflo.issues"
ISSUE_LEASE: Final = timedelta(minutes=30)
"""How long an issue's lease (and the live queue's hold on it) lasts unless released: longer
than any one reconcile, its requests waiting on the shared rate limit and retried. A killed
server's are released when it starts again; a killed nightly run's run out."""
LEASE_WAIT: Final = 15.0
"""Seconds the nightly run waits for an issue the live server is reconciling."""
_LEASE_POLL: Final = 0.25
_LISTED: Final = 50  # ids listed per kind in the report
Fate = Literal["reconciled", "parked", "held", "busy"]
"""What became of one issue: ``reconciled`` (the ledger agrees with it), ``parked`` (only
dead letters are open), ``held`` (read again next time: a failure, or the live server
held it all the while) or ``busy`` (the live server's answer when the nightly run holds
the issue: nothing was read)."""


@runtime_checkable
class PartReader(Protocol):
    """An issue source that adds parts to an issue it already read (the Fixflo adapter)."""

    async def read_parts(self, issue: Mapping[str, Any], parts: Iterable[str]) -> Record:
        """`issue` with `parts` read from their endpoints and added under their names."""
        ...


@dataclass
class IssueWork:
    """The ports one run's issues are read and written through, and what it has seen.

    Attributes:
        lifecycle: the ruleset's lifecycle.
        issues: the repair system's issues (Fixflo).
        documents: their files.
        alto: the CRM written to.
        kinds: the attachment kinds (`engine.issues.apply.attachment_kinds`).
        stamps: the ``StatusChanged`` stamps of the issues read from the listing, by fate.
        outcomes: effects per kind and outcome.
        read: the issues read.
        revisions: per issue reconciled, the revision it was reconciled at (canonical
            JSON, what `engine.store.LiveQueue.done` keeps).
        handled: issue ids whose ledger already agreed at the live server's revision
            (``live``) and those tonight applied an operation for (``night``).
        left_to_live: issues the live server held all the while the nightly run waited.
    """

    lifecycle: Lifecycle
    issues: IssueSource
    documents: DocumentSource
    alto: AltoWriter
    kinds: dict[str, str]
    stamps: dict[Fate, list[str]] = field(
        default_factory=lambda: {"reconciled": [], "parked": [], "held": []}
    )
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    read: set[str] = field(default_factory=set)
    revisions: dict[str, str] = field(default_factory=dict)
    handled: dict[str, list[str]] = field(default_factory=lambda: {"live": [], "night": []})
    left_to_live: list[str] = field(default_factory=list)


def issue_work(
    night: Night, issues: IssueSource, documents: DocumentSource, alto: AltoWriter
) -> IssueWork:
    """What `reconcile_issue` needs for the run `night`, over these ports.

    Raises:
        ValueError: the run's ruleset has no lifecycle (it reconciles no issue).

    Example::

        work = issue_work(night, fixflo.issues, fixflo.documents, alto)
        await reconcile_issue(night, work, "42", stamped=False)
    """
    lifecycle = night.ruleset.lifecycle
    if lifecycle is None:
        raise ValueError(
            f"the ruleset {night.ruleset.name} has no lifecycle: it reconciles no Fixflo issue"
        )
    return IssueWork(lifecycle, issues, documents, alto, attachment_kinds(lifecycle))


def holder_of(night: Night) -> str:
    """The run's name on the issue leases: ``night:<run id>:<pid>`` or ``live:<run id>:<pid>``.

    Example::

        holder_of(night)  # 'night:12:4242'
    """
    return f"{night.run.kind}:{night.run.id}:{os.getpid()}"


async def reconcile_issues(
    night: Night, issues: IssueSource, documents: DocumentSource, alto: AltoWriter
) -> None:
    """Reconcile every issue changed since the cursor (and every requeued one, and every
    one the live server gave up on) into Alto, then advance the cursor; the counts go to
    ``night.issues``.

    Args:
        night: the run.
        issues: the repair system's issues (Fixflo).
        documents: their files, attached to Alto's works orders.
        alto: the CRM written to.
    """
    if night.ruleset.lifecycle is None:
        return
    adopting = night.options.adopt
    since = None if adopting else night.store.cursor(ISSUES_CURSOR)
    work = issue_work(night, issues, documents, alto)
    dead = night.store.live_dead()
    cleared: set[str] = set()
    with night.log.phase("issues") as advance:
        async for issue_id in issues.issue_ids(since=since):
            checkpoint()  # a signal stops the run here, between issues
            fate = await reconcile_issue(night, work, issue_id, stamped=True)
            _clear_dead(night, dead, issue_id, fate, cleared)
            advance(1)
        for issue_id in _revisited(night, work, dead):
            checkpoint()
            fate = await reconcile_issue(night, work, issue_id, stamped=False)
            _clear_dead(night, dead, issue_id, fate, cleared)
            advance(1)
    cursor = next_cursor(since, work.stamps["reconciled"] + work.stamps["parked"],
                         work.stamps["held"])  # fmt: skip
    if cursor is not None and not night.options.dry_run and not adopting:
        night.store.advance_cursor(ISSUES_CURSOR, cursor)
    night.issues = _summary(night, work, since, dead, cleared)
    shown = ("outcomes", "live_ids", "night_ids", "live_dead", "left_to_live")
    night.log.event("issues", **{k: v for k, v in night.issues.items() if k not in shown})


def _summary(
    night: Night,
    work: IssueWork,
    since: str | None,
    dead: list[dict[str, Any]],
    cleared: set[str],
) -> dict[str, Any]:
    """The issue phase's part of the report."""
    return {
        "since": since,
        "read": len(work.read),
        **{fate: len(stamps) for fate, stamps in work.stamps.items()},
        "cursor": night.store.cursor(ISSUES_CURSOR),
        "outcomes": {kind: dict(counter) for kind, counter in work.outcomes.items()},
        "handled": {name: len(ids) for name, ids in work.handled.items()},
        "live_ids": work.handled["live"][:_LISTED],
        "night_ids": work.handled["night"][:_LISTED],
        "left_to_live": work.left_to_live[:_LISTED],
        "live_dead": [
            {
                "issue_id": row["issue_id"],
                "attempts": row["attempts"],
                "last_error": redact_personal(str(row["last_error"] or "")) or None,
                "cleared": row["issue_id"] in cleared,
            }
            for row in dead
        ],
    }


def _revisited(night: Night, work: IssueWork, dead: list[dict[str, Any]]) -> list[str]:
    """Issues not read yet in this run with an operation a person queued again, or that
    the live server gave up on (the night is its safety net)."""
    found = {str(op.get("issue_id")) for op in night.store.requeued(LIFECYCLE_KINDS)}
    found |= {str(row["issue_id"]) for row in dead}
    return sorted(found - work.read - {"None"})


def _clear_dead(
    night: Night, dead: list[dict[str, Any]], issue_id: str, fate: Fate, cleared: set[str]
) -> None:
    """The live server's dead row of an issue tonight reconciled goes."""
    if fate != "reconciled" or night.options.dry_run:
        return
    if any(row["issue_id"] == issue_id for row in dead) and night.store.clear_live_dead(issue_id):
        cleared.add(issue_id)


async def reconcile_issue(night: Night, work: IssueWork, issue_id: str, *, stamped: bool) -> Fate:
    """Read one issue (and the parts its status needs, when the ledger does not agree),
    reconcile it and apply what it asks for to Alto exactly once, under its lease.

    An issue Fixflo will not give (an unreadable answer after the adapter's retries) is a
    warning and ``held``; the other issues go on. A live run (``night.run.kind == 'live'``)
    takes the lease before reading and answers ``busy`` without reading when someone
    else holds it; a nightly run reads first and waits for the lease (see the module).
    A dry run takes no lease (it writes nothing).

    Args:
        night: the run.
        work: the run's ports and tallies (`issue_work`).
        issue_id: the Fixflo issue.
        stamped: whether the issue came from the listing since the cursor (its stamp
            then moves the cursor).

    Raises:
        engine.errors.CredentialsRefused: Fixflo or Alto refused the credentials (the
            phase stops).
        engine.store.StoreError: the store failed.

    Example::

        await reconcile_issue(night, work, "42", stamped=False)
        # 'reconciled'
    """
    work.read.add(issue_id)
    holder = holder_of(night)  # the run's name on the lease
    leasing = not night.options.dry_run
    if not leasing:
        return await _read_and_reconcile(night, work, issue_id, stamped=stamped)
    if night.run.kind == "live" and not night.store.lease_issue(issue_id, holder, ttl=ISSUE_LEASE):
        return "busy"
    try:
        if night.run.kind == "live":
            return await _read_and_reconcile(night, work, issue_id, stamped=stamped)
        return await _read_and_reconcile(night, work, issue_id, stamped=stamped, holder=holder)
    finally:
        night.store.release_issue(issue_id, holder)


async def _read_and_reconcile(
    night: Night, work: IssueWork, issue_id: str, *, stamped: bool, holder: str | None = None
) -> Fate:
    """Read one issue and reconcile it; with `holder`, take its lease after reading (a
    nightly run), waiting for the live server and reading again if it had to wait."""
    issue = await _read(night, work, issue_id, stamped=stamped)
    if issue is None:
        return "held"
    if holder is not None:
        waited = await _wait_for_lease(night, issue_id, holder)
        if waited is None:
            work.left_to_live.append(issue_id)
            night.log.event("issue", id=issue_id, note="left to the live server")
            return _stamp(work, issue, "held", stamped=stamped)
        if waited:  # the server reconciled it meanwhile: what it saw may be newer
            issue = await _read(night, work, issue_id, stamped=stamped)
            if issue is None:
                return "held"
    fate = await _reconcile_one(night, work, issue)
    return _stamp(work, issue, fate, stamped=stamped)


def _stamp(work: IssueWork, issue: Mapping[str, Any], fate: Fate, *, stamped: bool) -> Fate:
    if stamped:
        work.stamps.setdefault(fate, []).append(str(issue.get("StatusChanged") or ""))
    return fate


async def _read(
    night: Night, work: IssueWork, issue_id: str, *, stamped: bool
) -> dict[str, Any] | None:
    """The issue as Fixflo has it now; None (a warning, the cursor held) when Fixflo will
    not give it. Refused credentials stop the phase."""
    try:
        return dict(await work.issues.read_issue(issue_id))
    except CredentialsRefused:
        raise
    except RulebridgeError as exc:
        night.warn("fixflo", f"issue {issue_id} could not be read ({exc}); read again next run")
        night.incomplete += 1
        if stamped:
            work.stamps["held"].append("")  # its stamp is unknown: the cursor stays
        return None


async def _wait_for_lease(night: Night, issue_id: str, holder: str) -> bool | None:
    """Take the issue's lease, polling while another holds it, for up to `LEASE_WAIT`
    seconds: False (taken at once), True (taken after waiting), None (still held)."""
    deadline = time.monotonic() + LEASE_WAIT
    waited = False
    while not night.store.lease_issue(issue_id, holder, ttl=ISSUE_LEASE):
        if time.monotonic() >= deadline:
            return None
        waited = True
        await asyncio.sleep(_LEASE_POLL)
    return waited


async def _reconcile_one(night: Night, work: IssueWork, issue: dict[str, Any]) -> Fate:
    issue_id = str(issue.get("Id"))
    state = night.store.issue_state(issue_id)
    revision = _revision(work.lifecycle, issue)
    if agrees(night, work.lifecycle, issue, state):
        _handled_live(night, work, issue_id, revision)
        return _reconciled(work, issue_id, revision)
    try:
        issue = await _with_parts(work, issue)
    except RulebridgeError as exc:
        night.warn("fixflo", f"issue {issue_id}: {exc}; it is read again next run")
        night.incomplete += 1
        return "held"
    try:
        result = reconcile(night.ruleset, issue, state.holding())
    except EvaluationError as exc:
        night.warn("lifecycle", f"issue {issue_id}: {exc}; it is read again until the ruleset can")
        return "held"
    for because in result.warnings:
        night.warn(because.rule, f"issue {issue_id}: {because}")
    warn_waiting_charge(night, work.lifecycle, issue, state, result)
    wanted = {op.idempotency_key for op in result.operations}
    for queued in night.store.requeued(LIFECYCLE_KINDS):
        key = str(queued.get("idempotency_key"))
        if queued.get("issue_id") == issue_id and key not in wanted:
            night.store.settle(key, "superseded: the issue moved on")
    if night.options.dry_run:
        for op in result.operations:
            work.outcomes.setdefault(op.kind, Counter())[f"would {op.op}"] += 1
        night.changes += len(result.operations)
        return "reconciled"
    if night.options.adopt:  # look only: record what Alto holds, send nothing
        adopted = await adopt_issue_ops(
            result, work.alto, night.store, run=night.run, attachments=work.kinds
        )
        return _note(night, work, issue_id, revision, adopted)
    applied = await apply_issue_ops(
        result, work.alto, work.documents, night.store, run=night.run, attachments=work.kinds
    )
    return _note(night, work, issue_id, revision, applied)


def _revision(lifecycle: Lifecycle, issue: Mapping[str, Any]) -> str | None:
    """The issue's revision as read (canonical JSON), or None when the lifecycle reads none."""
    if lifecycle.read_revision is None:
        return None
    value = lifecycle.read_revision(issue)
    return None if value is None else dumps(value)


def _reconciled(work: IssueWork, issue_id: str, revision: str | None) -> Fate:
    if revision is not None:
        work.revisions[issue_id] = revision
    return "reconciled"


def _handled_live(night: Night, work: IssueWork, issue_id: str, revision: str | None) -> None:
    """A nightly run found the ledger agreeing at the revision the live server reconciled."""
    if night.run.kind != "night" or revision is None:
        return
    live = night.store.handled_live(issue_id)
    if live is not None and same_instant(_loads(live), _loads(revision)):
        work.handled["live"].append(issue_id)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _note(
    night: Night, work: IssueWork, issue_id: str, revision: str | None, applied: IssueApplyResult
) -> Fate:
    for kind, counter in applied.counts.items():
        work.outcomes.setdefault(kind, Counter()).update(counter)
    night.changes += applied.applied
    night.dead_letters.extend(applied.dead_letters)
    if applied.applied:
        work.handled["night" if night.run.kind == "night" else "live"].append(issue_id)
    if applied.complete:
        return _reconciled(work, issue_id, revision)
    if applied.total("failed", "unknown", "deferred"):
        night.incomplete += 1
        return "held"
    return "parked"  # only dead letters (and what waits on them) are open


async def _with_parts(work: IssueWork, issue: dict[str, Any]) -> dict[str, Any]:
    """The issue with the parts the lifecycle reads at its status (none: as it is).

    A source without `PartReader` is asked for the issue again with the parts."""
    parts = work.lifecycle.parts_read(work.lifecycle.status_of(issue) or "")
    if not parts:
        return issue
    if isinstance(work.issues, PartReader):
        return dict(await work.issues.read_parts(issue, parts))
    return dict(await work.issues.read_issue(str(issue.get("Id")), parts))


def next_cursor(since: str | None, passed: list[str], held: list[str]) -> str | None:
    """The new cursor: up to the last issue read, never past one held back
    (``UpdatedSince`` is inclusive, so the next run reads that issue again). None: stay.

    Example:
        >>> next_cursor("2026-11-01", ["2026-11-03", "2026-11-02"], [])
        '2026-11-03'
        >>> next_cursor("2026-11-01", ["2026-11-03"], ["2026-11-02"])
        '2026-11-02'
    """
    if not all(held):
        return None  # an issue held without a stamp (it could not be read): stay
    stamps = [stamp for stamp in passed if stamp]
    cursor = min(held) if held else max(stamps, default=since)
    if cursor is None or (since is not None and cursor <= since):
        return None
    return cursor
