"""The fleet across machines: two worker processes over a private Postgres (slow).

A Postgres from the Debian package is started for the test on 127.0.0.1 (initdb in a temp
folder, stopped by the fixture: tests/_postgres.py). Two `rulebridge fleet worker`
processes share its queues; nights of six agencies are enqueued, two nights each at once;
one worker is SIGKILLed in the middle of an apply and the other takes its nights over. Then:
every night succeeded, no agency had two nights at once, nothing is duplicated in the
fakes, Alto agrees with every issue, and the take-over is in the survivor's log.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from engine.store import Store
from simulator.fake.loopback import FakeAgency, agreement, play_issues
from tests.fleet.test_fleet_nights import _fleet, _took_over
from tests.runner.test_crash import assert_no_duplicate_in_fixflo

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "RULEBRIDGE_FLEET_DATABASE_URL": url}


def _cli(folder: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rulebridge", "fleet", *args, "--agencies", str(folder)],
        cwd=ROOT, env=_env(url), capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip


def _worker(folder: Path, url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "rulebridge", "fleet", "worker", "--agencies", str(folder)],
            cwd=ROOT, env=_env(url), stdout=out, stderr=out,
        )  # fmt: skip


def _all_done(folder: Path, url: str, nights: list[str]) -> bool:
    rows = json.loads(_cli(folder, url, "status", "--format", "json").stdout)["agencies"]
    return all(not row["running"] and not row["queued"] for row in rows) and all(
        (row["last_night"] or {}).get("night", "").endswith(nights[-1]) for row in rows
    )


def _writes(agencies: list[FakeAgency]) -> int:
    return sum(len(agency.fixflo.log.matching("POST")) for agency in agencies)


def test_two_workers_on_postgres_share_the_nights_and_survive_a_kill(
    tmp_path: Path, postgres_url: str
) -> None:
    folder = tmp_path / "fleet"
    logs = tmp_path / "logs"
    logs.mkdir()
    with _fleet(folder, 6, size=30, lease=2.0, batch=10) as agencies:
        first = _worker(folder, postgres_url, logs / "w1.log")
        time.sleep(3)  # the first worker creates DBOS's schema
        second = _worker(folder, postgres_url, logs / "w2.log")
        try:
            nights = ["2026-12-07", "2026-12-08"]
            for night in nights:
                _cli(folder, postgres_url, "run", "--night", night, "--no-wait")
            base = _writes(agencies)
            deadline = time.monotonic() + 120
            while _writes(agencies) < base + 30 and time.monotonic() < deadline:
                time.sleep(0.001)
            os.kill(first.pid, signal.SIGKILL)  # in the middle of some agency's apply
            first.wait()
            deadline = time.monotonic() + 240
            while not _all_done(folder, postgres_url, nights):
                assert time.monotonic() < deadline, "the nights did not finish"
                assert second.poll() is None, "the surviving worker exited"
                time.sleep(1)
            for agency in agencies[::2]:
                play_issues(agency, 2, seed=5)
            _cli(folder, postgres_url, "run", "--night", "2026-12-09", "--no-wait")
            deadline = time.monotonic() + 240
            while not _all_done(folder, postgres_url, ["2026-12-09"]):
                assert time.monotonic() < deadline, "the third night did not finish"
                time.sleep(1)
        finally:
            second.send_signal(signal.SIGTERM)  # drains, exits 0
            assert second.wait(timeout=60) == 0
            if first.poll() is None:
                first.kill()
        took = _took_over(logs / "w2.log")
        assert took, "the surviving worker resumed none of the killed worker's nights"
        for agency in agencies:
            with Store.open(agency.store_path) as store:
                runs = sorted((r for r in store.runs() if r.kind == "night"), key=lambda r: r.id)
            assert [run.status for run in runs] == ["succeeded"] * 3, agency.config_path
            for earlier, later in itertools.pairwise(runs):
                assert earlier.finished is not None
                assert datetime.fromisoformat(later.started) >= datetime.fromisoformat(
                    earlier.finished
                )
            assert_no_duplicate_in_fixflo(agency)
            assert agreement(agency) == []
