"""The crash harness: `rulebridge run` killed with SIGKILL at random points, then run again.

The fake Alto and Fixflo serve in this process; the runner is a child process reaching
them over loopback, as in production. A watcher kills the child the moment the fakes have
received a randomly chosen number of its requests, so kills land inside reads, between a
write's intent and its effect, and in the middle of a write the server goes on to apply
(the answer is lost with the process). "Write applied but response lost" faults are on
as well. Afterwards the job is run to completion and both worlds must agree with the
ruleset: nothing duplicated (records, links, works orders, documents, charges) and nothing
lost (every record and issue the ruleset wants is there, in its latest state).

Five kills run in the default suite; the slow test (``-m slow``) makes at least fifty.
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from engine.issues.reconcile import reconcile
from engine.store import Store
from simulator.fake.loopback import FakeAgency, fake_agency, play_issues
from simulator.lifecycle import violations
from simulator.lifecycle.worlds import LedgerEntry

ROOT = Path(__file__).resolve().parents[2]
FAULTS = "lost=0.05"


def _requests(agency: FakeAgency) -> int:
    return len(agency.alto.log) + len(agency.fixflo.log)


def _run(agency: FakeAgency, kill_after: int | None, logs: Path) -> int | None:
    """Run the job as a child process; kill it after `kill_after` more requests.

    Returns the exit code, or None when the child was killed.
    """
    base = _requests(agency)
    with (logs / "stderr.log").open("a") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "rulebridge", "run", "--config", str(agency.config_path),
             "--quiet"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )  # fmt: skip
        killed = threading.Event()
        if kill_after is not None:
            watcher = threading.Thread(
                target=_kill_when, args=(agency, child, base + kill_after, killed), daemon=True
            )
            watcher.start()
        code = child.wait(timeout=300)
    return None if killed.is_set() else code


def _kill_when(
    agency: FakeAgency, child: subprocess.Popen[bytes], at: int, killed: threading.Event
) -> None:
    while child.poll() is None:
        if _requests(agency) >= at:
            os.kill(child.pid, signal.SIGKILL)
            killed.set()
            return
        time.sleep(0.0005)


def _finish(agency: FakeAgency, logs: Path) -> None:
    """Run until a run changes nothing (a few runs at most: lost answers may need one more);
    exit 3 is a success that left items for a person (this agency always has some)."""
    codes = []
    for _ in range(4):
        codes.append(_run(agency, None, logs))
        with Store.open(agency.store_path) as store:
            report = store.runs()[0].report or {}
        if codes[-1] in (0, 3) and report.get("run", {}).get("changes") == 0:
            return
    raise AssertionError(f"the job did not converge: exit codes {codes}; see {logs}")


def _make_work(agency: FakeAgency, rng: random.Random) -> None:
    """Give the next run writes to make: new issues in Fixflo, changed addresses in Alto."""
    play_issues(agency, 3, seed=rng.randrange(1_000_000))
    with Store.open(agency.store_path) as store:
        synced = sorted(store.id_map("property"))
    inventory = {record["id"]: record for record in agency.alto.world["inventory"]}
    for key in rng.sample(synced, min(2, len(synced))):
        inventory[key]["address"]["street"] = f"{rng.randrange(1, 99)} Changed Street"


def _assert_agreement(agency: FakeAgency) -> None:
    assert_no_duplicate_in_fixflo(agency)
    world = agency.simulation
    alto = world.alto
    with Store.open(agency.store_path) as store:
        ledger = {}
        for issue_id, issue in world.fixflo.issues.items():
            state = store.issue_state(issue_id)
            # nothing lost: Alto holds all the issue's current state asks for
            assert reconcile(world.ruleset, issue, state.holding()).operations == (), issue_id
            assert state.revision == issue["StatusChanged"], issue_id
            ledger[issue_id] = LedgerEntry(
                state.works_order_id, set(state.documents), set(state.charges), state.revision
            )
    judged = dataclasses.replace(alto, ledger=ledger)
    # no duplicate works order, document or charge; each as the contract has it
    assert violations(world.fixflo, judged, agency.settings) == []


def assert_no_duplicate_in_fixflo(agency: FakeAgency) -> None:
    store = agency.fixflo.store
    for name, key in (
        ("properties", "ExternalPropertyRef"),
        ("tenants", "ExternalRef"),
        ("landlords", "ExternalRef"),
        ("contractors", "ExternalRef"),
    ):
        refs = Counter(r.get(key) for r in store.collections[name].values() if r.get(key))
        assert [ref for ref, n in refs.items() if n > 1] == [], name
    for links in store.join_records():  # a link is its two ends, whatever its Id
        pairs = Counter(
            tuple(sorted((k, v) for k, v in link.items() if k != "Id")) for link in links
        )
        assert [pair for pair, n in pairs.items() if n > 1] == []


def _harness(tmp_path: Path, *, seed: int, kills: int) -> int:
    """Kill runs at random requests until `kills` runs were killed; check after each
    completed run and at the end. Returns the runs started."""
    rng = random.Random(seed)
    logs = tmp_path / "logs"
    logs.mkdir()
    killed = started = 0
    with fake_agency(tmp_path / "agency", size=40, seed=seed, faults=FAULTS) as agency:
        while killed < kills:
            started += 1
            assert started <= kills * 4, f"only {killed} of {started} runs were killed"
            if _run(agency, rng.randint(1, 40), logs) is None:
                killed += 1
                continue
            _finish(agency, logs)  # the run got to its end: check, then make more work
            _assert_agreement(agency)
            _make_work(agency, rng)
        _finish(agency, logs)
        _assert_agreement(agency)
        assert agency.alto.log.faults().get("lost") or agency.fixflo.log.faults().get("lost")
    return started


@pytest.mark.req("W-03", "W-09", "W-10", "CH-03")
def test_killed_runs_resume_with_nothing_duplicated_or_lost(tmp_path: Path) -> None:
    _harness(tmp_path, seed=11, kills=5)


@pytest.mark.slow
@pytest.mark.req("W-03", "W-09", "W-10", "CH-03")
@pytest.mark.parametrize("seed", [21, 22, 23, 24, 25])
def test_fifty_killed_runs_resume_with_nothing_duplicated_or_lost(
    tmp_path: Path, seed: int
) -> None:
    _harness(tmp_path, seed=seed, kills=10)  # five agencies: fifty kills in all
