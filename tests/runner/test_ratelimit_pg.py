"""The agency's rate limit kept in Postgres (`rulebridge.runner.ratelimit.PostgresLimiter`):
tables named from the agency's identity, URLs shown without their password, the wiring's
choice of backend; and, on a private Postgres (slow), two processes sharing one agency's
budget never exceed it in any window, and a limiter in a new process sees what an earlier
one spent and waits."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from adapters.http import Limiter
from engine.store import AgencyIdentity, Store
from rulebridge._config import load_agency_config
from rulebridge.runner import RunLog, RunOptions
from rulebridge.runner._night import Night
from rulebridge.runner.calls import TimedLimiter
from rulebridge.runner.home import AgencyHome
from rulebridge.runner.nightly import load_agency_ruleset
from rulebridge.runner.ratelimit import (
    PostgresLimiter,
    SharedLimiter,
    SharedLimitError,
    bucket_table,
    redact_url,
)
from rulebridge.runner.trust import identity_of
from rulebridge.runner.wiring import limiter_for, rate_url_of
from simulator.fake.loopback import fake_agency
from tests.runner.test_shared_limiter import busiest

ROOT = Path(__file__).resolve().parents[2]
LIMIT, PERIOD, EACH = 20, 2.0, 30
SLACK = 0.15  # seconds between the bucket's stamp and the moment the child notes it

CHILD = """
import asyncio, json, sys, time
from rulebridge.runner.ratelimit import PostgresLimiter

url, table, limit, period, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), \\
    float(sys.argv[4]), int(sys.argv[5])

async def main() -> list[float]:
    async with PostgresLimiter(url, table, limit, period=period) as limiter:
        stamps = []
        for _ in range(count):
            await limiter.acquire()
            stamps.append(time.time())
        return stamps

print(json.dumps(asyncio.run(main())))
"""


def _identity(agency: str = "Acme Lettings", ref: str = "AB-12") -> AgencyIdentity:
    return AgencyIdentity.of(agency, ref, "https://acme.fixflo.example")


def _children(
    url: str, table: str, count: int, zones: tuple[str, ...] = ("UTC",)
) -> list[subprocess.Popen[str]]:
    """A child acquiring `count` times per time zone (libpq's ``PGTZ``: each worker's own)."""
    args = [url, table, str(LIMIT), str(PERIOD), str(count)]
    return [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ | {"PGTZ": zone},
        )
        for zone in zones
    ]


def _stamps(children: list[subprocess.Popen[str]]) -> list[float]:
    """Every child's acquire times, sorted (a child still running after a minute is ended)."""
    stamps: list[float] = []
    try:
        for child in children:
            out, _ = child.communicate(timeout=60)
            assert child.returncode == 0
            stamps.extend(json.loads(out))
    finally:
        for child in children:
            child.kill()
            child.wait()
    return sorted(stamps)


# --- names and URLs (default suite) ------------------------------------------------------


def test_a_table_is_named_from_the_agency_slug_a_hash_of_its_identity_and_the_system() -> None:
    name = bucket_table(_identity(), "fixflo")
    slug, digest, system = name.rsplit("_", 2)
    assert (slug, system) == ("acme_lettings", "fixflo")
    assert digest == _identity().key[:10]
    assert bucket_table(_identity(), "alto") == f"acme_lettings_{digest}_alto"


def test_two_agencies_of_one_name_get_two_tables_and_a_rename_keeps_the_hash() -> None:
    one, other = bucket_table(_identity(), "fixflo"), bucket_table(_identity(ref="CD-34"), "fixflo")
    assert one != other
    renamed = bucket_table(_identity(agency="Acme"), "fixflo")
    assert renamed.split("_")[-2] == one.split("_")[-2]


def test_a_long_or_odd_name_still_makes_a_postgres_identifier_in_63_characters() -> None:
    for agency in ("Ünïcode & Sons — Lettings, Sales and Property Management Ltd", "!!!", ""):
        name = bucket_table(_identity(agency=agency), "fixflo")
        # pyrate-limiter's table and index names carry prefixes of 11 and 15 characters
        assert len("timestampindex_" + name) <= 63
        assert name.replace("_", "").isalnum()
        assert name.isascii()
        assert name == name.lower()
        assert not name.startswith("_")
        assert "__" not in name


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ops:s3cret@db:5432/fleet", "postgresql://ops:***@db:5432/fleet"),
        ("postgresql://ops@db/fleet", "postgresql://ops@db/fleet"),
        ("postgres://ops:p%40ss@db/fleet?sslmode=require", "postgres://ops:***@db/fleet?sslmode=require"),
        ("postgresql://db/fleet?user=ops&password=s3cret", "postgresql://db/fleet?user=ops&password=%2A%2A%2A"),
    ],
)  # fmt: skip
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_url_that_is_not_postgres_is_refused_naming_it_without_its_password() -> None:
    with pytest.raises(SharedLimitError, match=r"postgresql://") as caught:
        PostgresLimiter("mysql://ops:s3cret@db/fleet", "t", 5)
    assert "s3cret" not in str(caught.value)
    assert "mysql://ops:***@db/fleet" in str(caught.value)


def test_an_unreachable_database_is_a_clear_error_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = _refused_port()
    with caplog.at_level(logging.DEBUG):
        url = f"postgresql://ops:s3cret@127.0.0.1:{port}/fleet"
        with pytest.raises(SharedLimitError) as caught:
            PostgresLimiter(url, "t", 5)
    message = str(caught.value)
    assert message.startswith(f"postgresql://ops:***@127.0.0.1:{port}/fleet")
    assert "cannot reach its database" in message
    assert "rate_url" in message
    assert "s3cret" not in message
    assert "s3cret" not in caplog.text


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed: connections are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- the wiring's choice -----------------------------------------------------------------


@contextmanager
def _night(tmp_path: Path, rate_url: str | None) -> Iterator[tuple[Night, AgencyHome]]:
    """A run of a fake agency with the state home in `tmp_path`, its limits at `rate_url`."""
    with fake_agency(tmp_path / "agency", size=5, seed=3) as agency:
        config = load_agency_config(agency.config_path)
        options = RunOptions(
            config, agency.store_path, state_home=tmp_path / "home", rate_url=rate_url
        )
        with Store.open(agency.store_path) as store:
            ruleset = load_agency_ruleset(config)
            run = store.start_run(ruleset.name, "1", ruleset.content_hash)
            night = Night(options, ruleset, store, run, RunLog())
            yield night, AgencyHome(tmp_path / "home", identity_of(config))


async def _shared_of(night: Night, system: str) -> Limiter:
    async with limiter_for(night, system) as timed:
        assert isinstance(timed, TimedLimiter)  # its waits are counted for the report
        await timed.acquire()
        return timed.limiter


def test_without_rate_url_a_run_keeps_its_limit_in_the_state_homes_file(tmp_path: Path) -> None:
    with _night(tmp_path, None) as (night, home):
        assert rate_url_of(night) is None
        shared = asyncio.run(_shared_of(night, "fixflo"))
    assert isinstance(shared, SharedLimiter)
    assert shared.path == home.rate_path("fixflo")
    assert shared.path.exists()


def test_with_rate_url_a_run_uses_postgres_and_a_bad_url_is_a_clear_error(
    tmp_path: Path,
) -> None:
    """No server needed: the wiring hands the URL to the Postgres limiter, which refuses it."""
    with _night(tmp_path, "mysql://ops:s3cret@db/fleet") as (night, home):
        assert rate_url_of(night) == "mysql://ops:s3cret@db/fleet"
        with pytest.raises(SharedLimitError, match=r"^mysql://ops:\*\*\*@db/fleet: ") as caught:
            asyncio.run(_shared_of(night, "alto"))
    assert "s3cret" not in str(caught.value)
    assert not home.rate_path("alto").exists()


# --- on a private Postgres (slow) --------------------------------------------------------


@pytest.mark.slow
def test_two_processes_sharing_one_agencys_table_never_exceed_it_in_any_window(
    fresh_postgres_url: str,
) -> None:
    """Even when the two workers' sessions default to different time zones."""
    table = bucket_table(_identity(), "fixflo")
    zones = ("UTC", "America/New_York")
    stamps = _stamps(_children(fresh_postgres_url, table, EACH, zones))
    assert len(stamps) == 2 * EACH
    assert busiest(stamps, PERIOD - SLACK) <= LIMIT
    # 60 acquires at 20 per 2 s: the last 20 cannot start before 4 s have passed
    assert stamps[-1] - stamps[0] >= 2 * PERIOD - SLACK
    with psycopg.connect(fresh_postgres_url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE 'ratelimit%'"
        ).fetchall()
    assert tables == [(f"ratelimit___{table}",)]


@pytest.mark.slow
def test_a_limiter_in_a_new_process_sees_what_the_first_spent_and_waits(
    fresh_postgres_url: str,
) -> None:
    """A run resumed on another worker cannot burst: the budget is kept with the agency."""
    table = bucket_table(_identity(), "fixflo")
    first = _stamps(_children(fresh_postgres_url, table, LIMIT))
    assert first[-1] - first[0] < PERIOD / 2  # the whole budget, spent at once
    resumed = _stamps(_children(fresh_postgres_url, table, 5))
    assert resumed[0] >= first[0] + PERIOD - SLACK
    assert busiest(sorted(first + resumed), PERIOD - SLACK) <= LIMIT


@pytest.mark.slow
def test_another_agency_on_the_same_database_has_its_own_budget(fresh_postgres_url: str) -> None:
    first = _stamps(_children(fresh_postgres_url, bucket_table(_identity(), "fixflo"), LIMIT))
    other = bucket_table(_identity(agency="Beta", ref="CD-34"), "fixflo")
    second = _stamps(_children(fresh_postgres_url, other, LIMIT))
    assert second[-1] - first[0] < PERIOD - SLACK  # no wait for the first agency's spending


@pytest.mark.slow
def test_the_wiring_puts_a_runs_limit_in_the_database_at_rate_url(
    fresh_postgres_url: str, tmp_path: Path
) -> None:
    with _night(tmp_path, fresh_postgres_url) as (night, home):
        shared = asyncio.run(_shared_of(night, "fixflo"))
        assert isinstance(shared, PostgresLimiter)
        table = bucket_table(home.identity, "fixflo")
        assert shared.table == table
        assert shared.max_rate == night.config.api("fixflo").per_minute
    assert not home.rate_path("fixflo").exists()
    with psycopg.connect(fresh_postgres_url) as conn:
        row = conn.execute(f'SELECT count(*) FROM "ratelimit___{table}"').fetchone()
    assert row == (1,)


@pytest.mark.slow
def test_a_sqlalchemy_style_url_reaches_the_same_database(fresh_postgres_url: str) -> None:
    """A fleet's database URL may name its driver (postgresql+psycopg://): the same table."""
    plain = PostgresLimiter(fresh_postgres_url, "spelled_twice", 3, period=30.0)
    driver = fresh_postgres_url.replace("postgresql://", "postgresql+psycopg://")
    named = PostgresLimiter(driver, "spelled_twice", 3, period=30.0)
    try:

        async def spend() -> None:
            await plain.acquire(3)
            await asyncio.wait_for(named.acquire(), timeout=1.0)

        with pytest.raises(TimeoutError):  # the budget `plain` spent is `named`'s too
            asyncio.run(spend())
    finally:
        plain.close()
        named.close()


@pytest.mark.slow
def test_acquire_leaves_the_event_loop_free_while_it_waits(fresh_postgres_url: str) -> None:
    async def main() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async with PostgresLimiter(fresh_postgres_url, "loop_check", 3, period=1.0) as limiter:
            task = asyncio.create_task(ticker())
            started = time.monotonic()
            for _ in range(6):  # the second three wait about a second
                await limiter.acquire()
            assert time.monotonic() - started >= 1.0 - SLACK
            task.cancel()
        return ticks

    assert asyncio.run(main()) >= 50
