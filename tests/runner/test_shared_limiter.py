"""The agency's rate limit shared across processes (`rulebridge.runner.ratelimit`): two
processes, each with its own event loop, never exceed the limit together in any window;
the wiring gives every run's adapters the shared limiter."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiolimiter import AsyncLimiter

from adapters.http import Limiter, make_limiter
from rulebridge._config import load_agency_config
from rulebridge.runner import RunLog, RunOptions
from rulebridge.runner.calls import ApiCalls, TimedLimiter
from rulebridge.runner.home import AgencyHome, state_home
from rulebridge.runner.ratelimit import SharedLimiter, SharedLimitError
from rulebridge.runner.trust import identity_of
from rulebridge.runner.wiring import Wire, agency_home, limiter_for
from simulator.fake.loopback import fake_agency

ROOT = Path(__file__).resolve().parents[2]
LIMIT, PERIOD, EACH = 20, 2.0, 30
SLACK = 0.15  # seconds between the bucket's stamp and the moment the child notes it

CHILD = """
import asyncio, json, sys, time
from pathlib import Path
from aiolimiter import AsyncLimiter
from rulebridge.runner.ratelimit import SharedLimiter

path, limit, period, count, shared = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5] == "shared"

async def main() -> list[float]:
    limiter = SharedLimiter(Path(path), limit, period=period) if shared else \
        AsyncLimiter(limit, period)
    stamps = []
    for _ in range(count):
        await limiter.acquire()
        stamps.append(time.time())
    return stamps

print(json.dumps(asyncio.run(main())))
"""


def _two_processes(path: Path, *, shared: bool) -> list[float]:
    """Two processes acquiring `EACH` times from limiters on `path`; every acquire's time."""
    args = [str(path), str(LIMIT), str(PERIOD), str(EACH), "shared" if shared else "own"]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    stamps: list[float] = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        stamps.extend(json.loads(out))
    return sorted(stamps)


def busiest(stamps: list[float], window: float) -> int:
    """The most acquires in any half-open window of `window` seconds."""
    most, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_two_processes_sharing_the_file_never_exceed_the_limit_in_any_window(
    tmp_path: Path,
) -> None:
    stamps = _two_processes(tmp_path / "rate-fixflo.sqlite", shared=True)
    assert len(stamps) == 2 * EACH
    assert busiest(stamps, PERIOD - SLACK) <= LIMIT
    # 60 acquires at 20 per 2 s: the last 20 cannot start before 4 s have passed
    assert stamps[-1] - stamps[0] >= 2 * PERIOD - SLACK


def test_two_in_process_limiters_do_exceed_it_which_the_check_sees(tmp_path: Path) -> None:
    """The control: one aiolimiter per process lets through twice the limit together."""
    stamps = _two_processes(tmp_path / "unused", shared=False)
    assert busiest(stamps, PERIOD - SLACK) > LIMIT


def test_threads_with_their_own_event_loops_share_one_limiter(tmp_path: Path) -> None:
    """The server's receiver and reconcile threads each run a loop; one object serves both."""
    import threading

    limiter = SharedLimiter(tmp_path / "rate.sqlite", 10, period=1.0)
    stamps: list[float] = []

    def worker() -> None:
        async def run() -> None:
            for _ in range(10):
                await limiter.acquire()
                stamps.append(time.time())

        asyncio.run(run())

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    limiter.close()
    assert len(stamps) == 20
    assert busiest(sorted(stamps), 1.0 - SLACK) <= 10


def test_the_shared_limiter_is_what_the_adapters_take_and_its_files_are_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rate.sqlite"
    limiter: Limiter = SharedLimiter(path, 500)
    other: Limiter = make_limiter(500)
    assert (limiter.max_rate, other.max_rate) == (500.0, 50)
    assert isinstance(other, AsyncLimiter)
    for name in (path, path.with_name(path.name + ".lock")):
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o600


def test_a_request_larger_than_the_limit_and_a_bad_limit_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SharedLimiter(tmp_path / "rate.sqlite", 0)
    limiter = SharedLimiter(tmp_path / "rate.sqlite", 5)
    with pytest.raises(ValueError, match="never fit"):
        asyncio.run(limiter.acquire(6))
    limiter.close()


def test_a_file_that_cannot_be_used_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "rate.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(SharedLimitError, match=r"rate\.sqlite.*cannot be used"):
        SharedLimiter(folder / "rate.sqlite", 5)


def test_every_run_s_ports_share_the_agency_limit_in_its_home(tmp_path: Path) -> None:
    with fake_agency(tmp_path / "agency", size=10, seed=2) as agency:
        config = load_agency_config(agency.config_path)
        from engine.store import Store
        from rulebridge.runner._night import Night
        from rulebridge.runner.nightly import load_agency_ruleset

        with Store.open(agency.store_path) as store:
            ruleset = load_agency_ruleset(config)
            run = store.start_run(ruleset.name, "1", ruleset.content_hash)
            night = Night(RunOptions(config, agency.store_path), ruleset, store, run, RunLog())
            home = agency_home(night)
            assert home is not None
            assert home.folder == AgencyHome(state_home(), identity_of(config)).folder

            async def limiters() -> tuple[Limiter, Limiter]:
                async with (
                    limiter_for(night, "fixflo") as shared,
                    limiter_for(Wire(config, night.calls), "fixflo", drained=True) as own,
                ):
                    return shared, own

            timed, own_timed = asyncio.run(limiters())
            assert isinstance(timed, TimedLimiter)  # its waits are counted for the report
            assert isinstance(own_timed, TimedLimiter)
            shared, own = timed.limiter, own_timed.limiter
            assert isinstance(shared, SharedLimiter)
            assert shared.path == home.rate_path("fixflo")
            assert shared.max_rate == config.api("fixflo").per_minute
            assert isinstance(own, AsyncLimiter)  # no home: in-process, drained


def test_a_runs_preflight_spends_the_agencys_shared_limit(tmp_path: Path) -> None:
    """The preflight's requests (Fixflo's one, Alto's token and tenancies) are counted in
    the agency's shared limit, as the run's others are: a night sends no request the
    vendor's window sees beyond the limit."""
    from rulebridge.runner.check import preflight

    def spent(path: Path) -> int:
        if not path.exists():
            return 0
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT count(*) FROM requests").fetchone()[0])

    with fake_agency(tmp_path / "agency", size=10, seed=2) as agency:
        config = load_agency_config(agency.config_path)
        home = AgencyHome(state_home(), identity_of(config))
        home.prepare()
        lines = preflight(config, limited=Wire(config, ApiCalls(), home))
        assert all(line.ok for line in lines)
        assert spent(home.rate_path("fixflo")) == len(agency.fixflo.log) == 1
        assert spent(home.rate_path("alto")) == len(agency.alto.log) == 2
        preflight(config)  # `rulebridge check`: no run, no shared limit spent
        assert spent(home.rate_path("fixflo")) == 1
