"""The per-issue lease the nightly run and the live server share, over real HTTP to the fake
servers and a real store: the server is busy while the night holds an issue, the night
waits for the server and then leaves the issue to it, the report says who handled what,
and the live queue's dead issues are done and cleared by the night."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.store import LiveQueue, Store
from rulebridge._config import load_agency_config
from rulebridge.runner import ISSUES_CURSOR, RunLog, RunOptions, run_nightly
from rulebridge.runner import issues as issue_phase
from rulebridge.runner._night import Night
from rulebridge.runner.issues import holder_of, issue_work, reconcile_issue
from rulebridge.runner.nightly import load_agency_ruleset
from rulebridge.runner.wiring import alto_writer, fixflo_ports
from simulator.fake.loopback import FakeAgency, agreement, fake_agency, play_issues

SIZE, SEED = 30, 5
SERVER = "live:900:1"


@pytest.fixture
def agency(tmp_path: Path) -> Iterator[FakeAgency]:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED) as served:
        yield served


def night(agency: FakeAgency) -> dict[str, Any]:
    config = load_agency_config(agency.config_path)
    stream = io.StringIO()
    outcome = run_nightly(RunOptions(config, agency.store_path), RunLog(stream, terminal=False))
    assert outcome.exit_code in (0, 2, 3), outcome.report["run"]["error"]
    return outcome.report


def live(agency: FakeAgency, issue_ids: list[str]) -> dict[str, str]:
    """Reconcile `issue_ids` as the live server does (a live run, its own store
    connection); the fates, and the revisions the queue would keep."""
    config = load_agency_config(agency.config_path)
    ruleset = load_agency_ruleset(config)
    with Store.open(agency.store_path) as store:
        run = store.start_run(ruleset.name, "1", ruleset.content_hash, kind="live")
        server = Night(RunOptions(config, agency.store_path), ruleset, store, run, RunLog())

        async def reconcile() -> dict[str, str]:
            async with (
                fixflo_ports(server, ruleset=ruleset) as fixflo,
                alto_writer(server) as alto,
            ):
                work = issue_work(server, fixflo.issues, fixflo.documents, alto)
                fates: dict[str, str] = {}
                for issue_id in issue_ids:
                    holder = holder_of(server)
                    fates[issue_id] = await reconcile_issue(server, work, issue_id, stamped=False)
                    if fates[issue_id] == "reconciled":
                        with LiveQueue.open(agency.store_path) as queue:
                            queue.enqueue(issue_id, "Issue state change")
                            item = queue.take(holder)
                            assert item is not None
                            queue.done(item, work.revisions.get(issue_id))
                return fates

        fates = asyncio.run(reconcile())
        store.finish_run("succeeded")
        assert server.run.kind == "live"
        assert holder_of(server).startswith("live:")
    return fates


def issue_reads(agency: FakeAgency, issue_id: str) -> int:
    return sum(1 for e in agency.fixflo.log.entries if e.path.rstrip("/").endswith(f"/{issue_id}"))


def test_the_live_server_is_busy_while_the_night_holds_an_issue_and_reads_nothing(
    agency: FakeAgency,
) -> None:
    night(agency)
    [issue] = play_issues(agency, 1, seed=SEED)
    with Store.open(agency.store_path) as other:
        assert other.lease_issue(issue, "night:77:1")
        before = issue_reads(agency, issue)
        assert live(agency, [issue]) == {issue: "busy"}
        assert issue_reads(agency, issue) == before  # a busy issue costs no request
        other.release_issue(issue, "night:77:1")
    assert live(agency, [issue]) == {issue: "reconciled"}
    assert agreement(agency) == []
    with Store.open(agency.store_path) as store:
        assert store.issue_holder(issue) is None  # released in `finally`
        assert store.handled_live(issue) is not None


def test_the_night_reports_what_the_server_handled_and_what_only_it_did(
    agency: FakeAgency,
) -> None:
    night(agency)
    issues = play_issues(agency, 4, seed=SEED)
    by_server, missed = issues[:2], issues[2:]
    assert set(live(agency, by_server).values()) == {"reconciled"}
    report = night(agency)["issues"]
    assert set(report["live_ids"]) == set(by_server)
    assert set(report["night_ids"]) <= set(missed)
    assert report["handled"] == {"live": 2, "night": len(report["night_ids"])}
    assert report["handled"]["night"] >= 1  # a webhook missed them: the night did them
    assert agreement(agency) == []


def test_the_night_waits_for_the_server_then_reconciles_what_it_now_reads(
    agency: FakeAgency,
) -> None:
    night(agency)
    [issue] = play_issues(agency, 1, seed=SEED)
    leased = threading.Event()

    def server() -> None:  # another thread, its own connection, as the server has
        with Store.open(agency.store_path) as other:
            assert other.lease_issue(issue, SERVER)
            leased.set()
            time.sleep(0.6)
            other.release_issue(issue, SERVER)

    holding = threading.Thread(target=server)
    holding.start()
    assert leased.wait(10)
    started = time.monotonic()
    report = night(agency)["issues"]
    holding.join(10)
    assert time.monotonic() - started >= 0.5
    assert report["left_to_live"] == []
    assert report["reconciled"] == 1
    assert agreement(agency) == []


def test_an_issue_the_server_holds_all_along_is_left_to_it_and_the_cursor_waits(
    agency: FakeAgency, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(issue_phase, "LEASE_WAIT", 0.5)
    night(agency)
    issues = play_issues(agency, 3, seed=SEED)
    held = issues[0]
    with Store.open(agency.store_path) as other:
        assert other.lease_issue(held, SERVER, ttl=timedelta(minutes=5))
        report = night(agency)["issues"]
        cursor = other.cursor(ISSUES_CURSOR)
        untouched = other.issue_state(held)
        other.release_issue(held, SERVER)
    assert report["left_to_live"] == [held]
    assert report["held"] == 1
    stamp = str(agency.simulation.fixflo.issues[held].get("StatusChanged") or "")
    assert cursor is not None
    assert cursor <= stamp
    assert (untouched.revision, untouched.works_order_id) == (None, None)  # nothing written
    again = night(agency)["issues"]
    assert again["left_to_live"] == []
    assert again["read"] >= 1
    with Store.open(agency.store_path) as store:
        assert store.issue_state(held).revision is not None
    assert agreement(agency) == []


def test_issues_the_server_gave_up_on_are_done_and_cleared_by_the_night(
    agency: FakeAgency,
) -> None:
    night(agency)
    issues = play_issues(agency, 2, seed=SEED)
    with LiveQueue.open(agency.store_path) as queue:
        for issue in issues:
            queue.enqueue(issue, "Issue state change")
            item = queue.take(SERVER)
            assert item is not None
            assert not queue.retry(item, "HTTP 503: Fixflo is down", delay=timedelta(0), attempts=1)
        assert len(queue.live_dead()) == 2
    report = night(agency)["issues"]
    assert {row["issue_id"] for row in report["live_dead"]} == set(issues)
    assert all(row["cleared"] and row["last_error"] for row in report["live_dead"])
    with Store.open(agency.store_path) as store:
        assert store.live_dead() == []
    assert agreement(agency) == []
    # the cursor is past them now; a dead row alone makes the night read an issue again
    with LiveQueue.open(agency.store_path) as queue:
        queue.enqueue(issues[0], "Issue closed")
        item = queue.take(SERVER)
        assert item is not None
        queue.retry(item, "boom", delay=timedelta(0), attempts=1)
    report = night(agency)["issues"]
    assert [row["issue_id"] for row in report["live_dead"]] == [issues[0]]
    assert report["live_dead"][0]["cleared"]
    assert report["read"] >= 1
    assert json.dumps(report)  # the report stays JSON
