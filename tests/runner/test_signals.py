"""SIGTERM and SIGINT end a run cleanly: the effect in progress finished, the run recorded
as interrupted with its report, exit 143 or 130, and the next run resumes with nothing
duplicated.

The fakes serve in this process; ``rulebridge run`` is a child process reaching them over
loopback, as in production (tests/runner/test_crash.py does the same with SIGKILL). Every
Fixflo write is slowed (the fake's ``slow`` fault: the write lands after a delay), so the
signal arrives while the apply is in progress.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store import Store
from rulebridge.runner.stop import Interrupted, checkpoint, requested, stopping
from simulator.fake.loopback import FakeAgency, fake_agency
from tests.runner.test_crash import assert_no_duplicate_in_fixflo

ROOT = Path(__file__).resolve().parents[2]
SLOW_WRITES = "slow@POST /api/v2=1"


def writes(agency: FakeAgency) -> int:
    return len(agency.fixflo.log.matching("POST"))


def start(agency: FakeAgency, stderr: Path) -> subprocess.Popen[bytes]:
    with stderr.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "rulebridge", "run", "--config", str(agency.config_path),
             "--quiet"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )  # fmt: skip


def signal_mid_apply(agency: FakeAgency, signums: list[int], stderr: Path) -> tuple[int, float]:
    """Start a run; once three slowed Fixflo writes were answered and the fourth is on its
    way (a third of the delay later), send `signums` 0.2 s apart. The exit code and the
    seconds from the first signal to the exit."""
    child = start(agency, stderr)
    deadline = time.monotonic() + 60
    while writes(agency) < 3:  # the fake logs a request once it has answered it
        assert child.poll() is None, stderr.read_text()
        assert time.monotonic() < deadline, "the apply never began"
        time.sleep(0.005)
    time.sleep(agency.fixflo.faults.delay / 3)
    sent = time.monotonic()
    for number, signum in enumerate(signums):
        if number:
            time.sleep(0.2)
        os.kill(child.pid, signum)
    code = child.wait(timeout=30)
    return code, time.monotonic() - sent


def finish(agency: FakeAgency, stderr: Path) -> list[int]:
    """Run (writes at full speed) until a run changes nothing; the exit codes."""
    agency.fixflo.faults.rules = ()
    codes = []
    for _ in range(3):
        codes.append(start(agency, stderr).wait(timeout=120))
        with Store.open(agency.store_path) as store:
            latest = store.runs()[0]
        assert latest.report is not None
        if latest.report["run"]["changes"] == 0:
            return codes
    raise AssertionError(f"no quiet run: exit codes {codes}; see {stderr}")


@pytest.mark.req("G-01")
@pytest.mark.parametrize(
    ("signum", "expected", "name"),
    [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")],
)
def test_a_signal_mid_apply_ends_the_run_cleanly_and_the_next_resumes(
    tmp_path: Path, signum: int, expected: int, name: str
) -> None:
    stderr = tmp_path / "stderr.log"
    with fake_agency(tmp_path / "agency", size=12, seed=2, faults=SLOW_WRITES) as agency:
        code, took = signal_mid_apply(agency, [signum], stderr)
        assert code == expected, stderr.read_text()
        assert took < 5, took  # the rest of the write in progress (0.33 s), then out
        said = stderr.read_text()
        assert "Traceback" not in said
        assert f"interrupted by {name}: every effect made so far is recorded" in said
        landed = writes(agency)
        with Store.open(agency.store_path) as store:
            runs = store.runs()
            (run,) = runs
            assert run.status == "interrupted"
            assert run.report is not None
            assert run.report["run"]["status"] == "interrupted"
            assert run.report["run"]["signal"] == name
            assert run.report["run"]["exit_code"] == expected
            assert [r for r in runs if r.status == "running"] == []
            done = sum(n for counts in run.counts.values() for n in counts.values())
        assert 3 <= landed <= done + 2  # each write that landed was recorded (links: 2 calls)
        assert run.report["run"]["changes"] >= 3

        codes = finish(agency, stderr)
        assert codes[0] in (2, 3)  # the rest applied
        assert_no_duplicate_in_fixflo(agency)
        with Store.open(agency.store_path) as store:
            assert [r.status for r in store.runs()][-1] == "interrupted"
            assert all(r.status != "running" for r in store.runs())


def test_a_second_signal_stops_at_once_and_the_next_run_verifies(tmp_path: Path) -> None:
    """The first SIGTERM waits for the write in progress (3 s here); the second stops the
    run at once, leaving that write in flight: the next run verifies it, nothing twice."""
    stderr = tmp_path / "stderr.log"
    with fake_agency(tmp_path / "agency", size=12, seed=2, faults=SLOW_WRITES) as agency:
        agency.fixflo.faults.delay = 3.0
        code, took = signal_mid_apply(agency, [signal.SIGTERM, signal.SIGTERM], stderr)
        assert code == 143, stderr.read_text()
        assert took < 2.5, took  # before the write in progress was answered
        assert "Traceback" not in stderr.read_text()
        with Store.open(agency.store_path) as store:
            (run,) = store.runs()
            assert run.status == "interrupted"
            assert run.report is not None
            assert run.report["run"]["signal"] == "SIGTERM"
        with contextlib.closing(sqlite3.connect(agency.store_path)) as db:
            (in_flight,) = db.execute(
                "SELECT count(*) FROM operations WHERE status = 'in_flight'"
            ).fetchone()
        assert in_flight == 1  # the write cut off: its outcome unknown, verified next run
        time.sleep(3)  # the fake applies it all the same
        finish(agency, stderr)
        assert_no_duplicate_in_fixflo(agency)


def test_the_first_signal_asks_the_second_raises() -> None:
    """In this process: `stopping` installs the handlers, `checkpoint` honours the first
    signal, the second raises wherever the code is, and the old handlers come back."""
    before = signal.getsignal(signal.SIGTERM)
    with stopping():
        checkpoint()  # nothing asked yet
        os.kill(os.getpid(), signal.SIGTERM)
        assert requested() == signal.SIGTERM
        with pytest.raises(Interrupted) as stopped:
            checkpoint()
        assert stopped.value.name == "SIGTERM"
        with pytest.raises(Interrupted):  # the handler raises at once, inside the kill
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before
    assert requested() is None
    checkpoint()  # outside `stopping`: nothing to honour


def test_a_signal_during_the_snapshot_stops_before_anything_is_written(tmp_path: Path) -> None:
    stderr = tmp_path / "stderr.log"
    with fake_agency(tmp_path / "agency", size=12, seed=2, faults="slow@GET /inventory=1") as a:
        child = start(a, stderr)
        deadline = time.monotonic() + 60
        while not a.alto.log.matching("GET", "/tenancies"):  # the preflight is done
            assert child.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, "the run never began"
            time.sleep(0.005)
        time.sleep(0.2)  # inside the first (slowed) read of Alto's inventory
        os.kill(child.pid, signal.SIGTERM)
        assert child.wait(timeout=30) == 143, stderr.read_text()
        assert a.fixflo.log.matching("POST") == []
        with Store.open(a.store_path) as store:
            (run,) = store.runs()
        assert run.status == "interrupted"
        assert run.report is not None
        assert "apply" not in run.report["run"]["phases"]
        assert run.report["run"]["changes"] == 0


def test_sigterm_stops_rulebridge_apply_between_operations(tmp_path: Path) -> None:
    """A saved plan applied by ``rulebridge apply``: SIGTERM mid-apply exits 143, the
    apply is recorded as interrupted, and applying the plan again finishes it."""
    stderr, plan = tmp_path / "stderr.log", tmp_path / "plan.json"
    with fake_agency(tmp_path / "agency", size=12, seed=2, faults=SLOW_WRITES) as agency:
        config = str(agency.config_path)
        dry = [sys.executable, "-m", "rulebridge", "run", "--config", config, "--dry-run",
               "--plan-out", str(plan), "--quiet"]  # fmt: skip
        assert subprocess.run(dry, cwd=ROOT, capture_output=True, check=False).returncode in (2, 3)
        apply = [sys.executable, "-m", "rulebridge", "apply", str(plan), "--config", config,
                 "--quiet"]  # fmt: skip
        with stderr.open("ab") as err:
            child = subprocess.Popen(apply, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        while writes(agency) < 3:
            assert child.poll() is None, stderr.read_text()
            time.sleep(0.005)
        time.sleep(agency.fixflo.faults.delay / 3)
        os.kill(child.pid, signal.SIGTERM)
        assert child.wait(timeout=30) == 143, stderr.read_text()
        assert "interrupted by SIGTERM" in stderr.read_text()
        with Store.open(agency.store_path) as store:
            latest = store.runs()[0]
        assert latest.status == "interrupted"
        assert latest.report is not None
        assert (latest.report["run"]["kind"], latest.report["run"]["signal"]) == (
            "apply",
            "SIGTERM",
        )
        agency.fixflo.faults.rules = ()
        again = subprocess.run(apply, cwd=ROOT, capture_output=True, text=True, check=False)
        assert again.returncode in (2, 3), again.stderr
        assert_no_duplicate_in_fixflo(agency)
