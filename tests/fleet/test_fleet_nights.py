"""The fleet on SQLite, against the fakes over loopback, with real worker processes.

`rulebridge fleet run` and `rulebridge fleet worker` run as child processes (DBOS is one per
process), the fake Alto and Fixflo of every agency serve in this process. What is checked
is what the issue asks: many agencies converge, two nights of one agency never overlap
(two of them enqueued at once by two commands), a worker SIGKILLed in the middle of its
apply is taken over by another worker and nothing is duplicated, and the same night
enqueued twice runs once.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from engine.store import Run, Store
from simulator.fake.loopback import FakeAgency, agreement, fake_agency
from tests.runner.test_crash import assert_no_duplicate_in_fixflo

ROOT = Path(__file__).resolve().parents[2]
NIGHTS = ("2026-12-07", "2026-12-08", "2026-12-09")


@contextlib.contextmanager
def _fleet(
    folder: Path, count: int, *, size: int, lease: float = 2.0, batch: int = 25
) -> Iterator[list[FakeAgency]]:
    """`count` fake agencies in `folder` (a1, a2, ...), with a fleet.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "fleet.yaml").write_text(
        "concurrency: {global: 16, per_worker: 4}\n"
        f"lease_seconds: {lease}\nbatch_size: {batch}\n",
        "utf-8",
    )
    with contextlib.ExitStack() as stack:
        agencies = [
            stack.enter_context(fake_agency(folder / f"a{n}", size=size, seed=n, agency=f"a{n}"))
            for n in range(1, count + 1)
        ]
        yield agencies


def _fleet_cmd(folder: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "rulebridge", "fleet", *args, "--agencies", str(folder)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("RULEBRIDGE_FLEET_DATABASE_URL", None)
    return env


def _run(
    folder: Path, night: str, logs: Path, *extra: str, name: str | None = None
) -> subprocess.Popen[bytes]:
    log = logs / f"{name or f'fleet-{night}-{time.monotonic_ns()}'}.log"
    with log.open("ab") as out:
        return subprocess.Popen(
            [*_fleet_cmd(folder, "run"), "--night", night, "--quiet", *extra],
            cwd=ROOT,
            env=_env(),
            stdout=out,
            stderr=out,
        )


def _took_over(log: Path) -> list[str]:
    """The nights a worker's log says it took over from a dead worker."""
    nights: list[str] = []
    for line in log.read_text("utf-8").splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if event.get("state") == "took over":
                nights.extend(event.get("resumed", []))
    return nights


def _runs(agency: FakeAgency) -> list[Run]:
    with Store.open(agency.store_path) as store:
        return sorted((r for r in store.runs() if r.kind == "night"), key=lambda r: r.id)


def _assert_never_overlapped(agency: FakeAgency) -> None:
    runs = _runs(agency)
    assert runs, agency.config_path
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished is not None
        assert datetime.fromisoformat(later.started) >= datetime.fromisoformat(earlier.finished)
    assert {run.status for run in runs} == {"succeeded"}, [(r.id, r.status) for r in runs]


def _assert_agrees(agency: FakeAgency) -> None:
    assert_no_duplicate_in_fixflo(agency)
    assert agreement(agency) == []


def _status(folder: Path) -> dict[str, Any]:
    out = subprocess.run(
        [*_fleet_cmd(folder, "status"), "--format", "json"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    status: dict[str, Any] = json.loads(out.stdout)
    return status


@pytest.mark.req("W-03", "W-09", "W-10")
def test_twenty_agencies_converge_and_one_agencys_nights_never_overlap(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with _fleet(tmp_path / "fleet", 20, size=10) as agencies:
        # two nights of every agency enqueued at once by two commands (the second waits
        # for the first, the SQLite fleet's one worker): one night per agency at a time
        first = _run(tmp_path / "fleet", NIGHTS[0], logs)
        time.sleep(1.0)
        second = _run(tmp_path / "fleet", NIGHTS[1], logs)
        assert first.wait(timeout=300) in (0, 2, 3), logs
        assert second.wait(timeout=300) in (0, 2, 3), logs
        for agency in agencies:
            _assert_never_overlapped(agency)
            _assert_agrees(agency)
            runs = _runs(agency)
            assert len(runs) == 2
            first_report, second_report = runs[0].report or {}, runs[1].report or {}
            assert first_report["run"]["changes"] > 0  # the first night wrote the agency
            assert second_report["run"]["changes"] == 0, agency.config_path  # converged
        status = _status(tmp_path / "fleet")
        assert {row["agency"] for row in status["agencies"]} == {f"a{n}" for n in range(1, 21)}
        assert all(row["last_night"]["status"] == "succeeded" for row in status["agencies"])
        assert all(not row["running"] and not row["queued"] for row in status["agencies"])
        assert status["workers"] == []  # both runs released their leases


@pytest.mark.req("W-09")
def test_the_same_night_enqueued_twice_runs_once(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with _fleet(tmp_path / "fleet", 2, size=10) as agencies:
        assert _run(tmp_path / "fleet", NIGHTS[0], logs).wait(timeout=120) in (0, 2, 3)
        runs = [len(_runs(agency)) for agency in agencies]
        requests = [len(a.fixflo.log) + len(a.alto.log) for a in agencies]
        assert _run(tmp_path / "fleet", NIGHTS[0], logs).wait(timeout=120) in (0, 2, 3)
        assert [len(_runs(agency)) for agency in agencies] == runs == [1, 1]
        assert [len(a.fixflo.log) + len(a.alto.log) for a in agencies] == requests


def _kill_when_writing(agency: FakeAgency, child: subprocess.Popen[bytes], writes: int) -> bool:
    """SIGKILL `child` once the fake Fixflo has taken `writes` more writes (mid-apply)."""
    base = len(agency.fixflo.log.matching("POST"))
    deadline = time.monotonic() + 120
    while child.poll() is None and time.monotonic() < deadline:
        if len(agency.fixflo.log.matching("POST")) >= base + writes:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            return True
        time.sleep(0.0005)
    return False


@pytest.mark.req("W-03", "W-09", "W-10")
def test_a_worker_killed_mid_apply_is_taken_over_and_nothing_is_duplicated(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with _fleet(tmp_path / "fleet", 1, size=60, lease=1.5, batch=10) as (agency,):
        victim = _run(tmp_path / "fleet", NIGHTS[0], logs)
        killed = threading.Event()
        if _kill_when_writing(agency, victim, 25):
            killed.set()
        assert killed.is_set(), "the worker finished before it could be killed mid-apply"
        with Store.open(agency.store_path) as store:
            run = store.run_of_night(f"a1:{NIGHTS[0]}")
            assert run is not None
            assert run.status == "running"
            done_before = set(store.step_results(run.id))
        assert {"check", "snapshot", "plan"} <= done_before
        # another worker: takes the dead worker's night over once its lease runs out
        heir = _run(tmp_path / "fleet", NIGHTS[0], logs, name="heir")
        assert heir.wait(timeout=180) in (0, 2, 3)
        assert _took_over(logs / "heir.log") == [f"a1:{NIGHTS[0]}"]
        runs = _runs(agency)
        assert len(runs) == 1
        assert runs[0].status == "succeeded"
        with Store.open(agency.store_path) as store:
            steps = store.step_results(runs[0].id)
        assert {"check", "snapshot", "plan", "issues", "report"} <= set(steps)
        _assert_agrees(agency)
        # nothing left over: the next night changes nothing
        assert _run(tmp_path / "fleet", NIGHTS[1], logs).wait(timeout=120) in (0, 3)
        assert (_runs(agency)[-1].report or {})["run"]["changes"] == 0
