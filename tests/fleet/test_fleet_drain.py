"""A worker drained with SIGTERM mid-apply, and a night stopped by a defect.

Draining: the worker's steps stop after the effect in progress, record nothing, and the
worker releases its lease and exits 0; the night is PENDING until the next worker takes it
over at once (no lease to wait out), from the step that was stopped, with nothing
duplicated. A defect in a step (an exception the runner does not record as the night's
error) finishes the run as failed, as `rulebridge run` records it, and the workflow fails
with it; `fleet status` shows both.
"""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from engine.store import Run, Store
from rulebridge.fleet import TERMINAL, Leases, Worker, fleet_status, load_fleet, running
from rulebridge.runner import RunLog
from rulebridge.runner.steps import NightSteps
from tests.fleet.test_fleet_nights import (
    NIGHTS,
    ROOT,
    _assert_agrees,
    _fleet,
    _run,
    _runs,
    _took_over,
)


@pytest.mark.req("W-03", "W-09")
def test_a_drained_worker_stops_between_effects_and_its_night_moves_on(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with _fleet(tmp_path / "fleet", 1, size=60, lease=30.0, batch=10) as (agency,):
        worker = _run(tmp_path / "fleet", NIGHTS[0], logs, name="drained")
        base = len(agency.fixflo.log.matching("POST"))
        deadline = time.monotonic() + 120
        while len(agency.fixflo.log.matching("POST")) < base + 20:
            assert worker.poll() is None, "the night ended before the drain"
            assert time.monotonic() < deadline
            time.sleep(0.001)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0  # drained: exit 0, long before the lease ran out
        writes = len(agency.fixflo.log.matching("POST"))
        time.sleep(0.5)
        assert len(agency.fixflo.log.matching("POST")) == writes  # nothing after the drain
        with Store.open(agency.store_path) as store:
            run = store.run_of_night(f"a1:{NIGHTS[0]}")
            assert run is not None
            assert run.status == "running"  # not finished: resumed by the next worker
        heir = _run(tmp_path / "fleet", NIGHTS[0], logs, name="heir")
        assert heir.wait(timeout=120) in (0, 2, 3)
        assert _took_over(logs / "heir.log") == [f"a1:{NIGHTS[0]}"]
        runs = _runs(agency)
        assert [r.status for r in runs] == ["succeeded"]  # the same run, resumed
        _assert_agrees(agency)
        assert '"state": "drained"' in (logs / "drained.log").read_text()


def test_a_defect_fails_the_night_and_its_run(tmp_path: Path, monkeypatch) -> None:
    def broken(self: NightSteps, run_id: int) -> dict[str, object]:
        raise RuntimeError("a defect in planning")

    monkeypatch.setattr(NightSteps, "plan", broken)
    with _fleet(tmp_path / "fleet", 1, size=10) as (agency,):
        fleet = load_fleet(tmp_path / "fleet")
        with running(Worker(fleet, RunLog(io.StringIO(), terminal=False), schedules=False)) as w:
            (night,) = w.enqueue(date.fromisoformat(NIGHTS[0]))
            w.wait(lambda: getattr(w.status_of([night]).get(night), "status", "") in TERMINAL)
            assert w.status_of([night])[night].status == "ERROR"
        (run,) = _runs_any(agency.store_path)
        assert run.status == "failed"
        assert (run.report or {})["run"]["error"] == "stopped by a defect (RuntimeError)"
        rows, workers = fleet_status(fleet)
        assert rows[0]["last_night"]["status"] == "error"
        assert "a defect in planning" in rows[0]["last_night"]["error"]
        assert workers == []


def _runs_any(path: Path) -> list[Run]:
    with Store.open(path) as store:
        return store.runs()


def test_a_worker_whose_lease_was_claimed_stops(tmp_path: Path) -> None:
    """A worker that stalled longer than its lease finds its nights taken over: it drains
    itself rather than run them in two places."""
    logs = tmp_path / "logs"
    logs.mkdir()
    with _fleet(tmp_path / "fleet", 1, size=10, lease=1.5):
        with (logs / "w.log").open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "rulebridge", "fleet", "worker", "--agencies",
                 str(tmp_path / "fleet")],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=out,
            )  # fmt: skip
        try:
            leases = Leases(load_fleet(tmp_path / "fleet").database_url)
            deadline = time.monotonic() + 60
            while not leases.leases():
                assert time.monotonic() < deadline, "the worker took no lease"
                time.sleep(0.1)
            (lease,) = leases.leases()
            assert leases.claim(lease.executor_id, by="another worker")
            assert worker.wait(timeout=30) == 0
            leases.close()
        finally:
            if worker.poll() is None:
                worker.kill()
        assert '"state": "lease lost"' in (logs / "w.log").read_text()
