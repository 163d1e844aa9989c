"""Benchmark: many agencies' first nights through the fleet against the same nights run one
after another, with each agency's Fixflo rate limit holding.

Two identical sets of generated agencies (same seeds) are served by fake Alto and Fixflo
servers on loopback; each fake Fixflo lets through at most ``--per-minute`` requests in any
60 s (429 beyond), and each agency's config says the same limit, as a real agency's would.

1. **Sequential**: ``rulebridge run --config`` for each agency of the first set, one after
   another (one process each, as cron would run them).
2. **Fleet**: ``rulebridge fleet run --agencies DIR`` over the second set: one worker
   process running ``--per-worker`` nights at once (one machine, the queues in SQLite,
   which has one worker; ``--workers N`` starts more, which needs a Postgres fleet:
   ``RULEBRIDGE_FLEET_DATABASE_URL``).

It prints the wall time of each and their ratio (in the same run), and, per agency, the
Fixflo requests in its busiest 60 s window against the limit (the fleet must never exceed
it: the limit is kept with the agency, whichever night or worker spends it), the 429s the
fakes answered, and whether every night succeeded.

The default limit is Fixflo's own, 500 a minute: a 300-property first night sends about
1,100 Fixflo requests, so each night waits on its limit, as real nights do. With a limit a
night never reaches (``--per-minute 100000``) the nights are bound by the CPU instead.

Sequential nights at that limit take about two minutes each (80 minutes for 40); with
``--sample N`` only N run one after another and the sequential time is their mean night
times the agencies, printed as an extrapolation (each night waits on its own agency's limit,
so the nights' times do not depend on one another).

Usage: python bench/fleet_bench.py [--agencies 40] [--size 300] [--per-minute 500]
       [--workers 1] [--per-worker 16] [--sample N] [--folder out/bench-fleet]
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from simulator.fake.loopback import FakeAgency, fake_agency

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def agencies(folder: Path, count: int, size: int, per_minute: int) -> Iterator[list[FakeAgency]]:
    """`count` generated agencies (seeds 1..count) served on loopback, configs in `folder`."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(
                fake_agency(
                    folder / f"a{n:03d}",
                    size=size,
                    seed=n,
                    agency=f"a{n:03d}",
                    fixflo_rate_limit=per_minute,
                    per_minute=per_minute,
                )
            )
            for n in range(1, count + 1)
        ]


def busiest_minute(agency: FakeAgency) -> int:
    """The most Fixflo requests the agency sent in any 60 s, as the vendor counts them (the
    fake's window: the requests it received in the 60 s up to each one, that one included)."""
    times = sorted(entry.at for entry in agency.fixflo.log.entries)
    return max(
        (i + 1 - bisect.bisect_right(times, at - 60.0) for i, at in enumerate(times)),
        default=0,
    )


def refused(agency: FakeAgency) -> int:
    """The 429s the fake Fixflo answered (the limit was reached)."""
    return sum(1 for entry in agency.fixflo.log.entries if entry.status == 429)


def env(home: Path) -> dict[str, str]:
    """The environment of a variant's processes: a state home of its own (locks, witnesses,
    the agencies' shared rate limits)."""
    return {**os.environ, "RULEBRIDGE_STATE_HOME": str(home)}


def sequential(served: list[FakeAgency], logs: Path, home: Path) -> tuple[float, list[int]]:
    """Each agency's night as its own `rulebridge run`, one after another."""
    codes = []
    started = time.perf_counter()
    for agency in served:
        with (logs / f"{agency.folder.name}.log").open("wb") as out:
            done = subprocess.run(
                [sys.executable, "-m", "rulebridge", "run", "--config", str(agency.config_path),
                 "--quiet"],
                cwd=ROOT, env=env(home), stdout=out, stderr=out, check=False,
            )  # fmt: skip
        codes.append(done.returncode)
    return time.perf_counter() - started, codes


def fleet(folder: Path, workers: int, per_worker: int, logs: Path, home: Path) -> tuple[float, int]:
    """All the agencies' nights through one `rulebridge fleet run` and `workers - 1`
    `rulebridge fleet worker` processes beside it (drained with SIGTERM at the end)."""
    (folder / "fleet.yaml").write_text(
        f"concurrency: {{global: {max(per_worker * workers, 64)}, per_worker: {per_worker}}}\n",
        "utf-8",
    )
    command = [sys.executable, "-m", "rulebridge", "fleet"]
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        helpers = []
        for n in range(workers - 1):
            out = stack.enter_context((logs / f"worker-{n}.log").open("wb"))
            worker = subprocess.Popen(
                [*command, "worker", "--agencies", str(folder)],
                cwd=ROOT, env=env(home), stdout=out, stderr=out,
            )  # fmt: skip
            helpers.append(worker)
        out = stack.enter_context((logs / "fleet.log").open("wb"))
        done = subprocess.run(
            [*command, "run", "--agencies", str(folder), "--quiet"],
            cwd=ROOT, env=env(home), stdout=out, stderr=out, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        for helper in helpers:
            helper.send_signal(signal.SIGTERM)
            helper.wait(timeout=120)
    return seconds, done.returncode


def report(name: str, seconds: float, served: list[FakeAgency], per_minute: int) -> bool:
    """Print one variant's figures; whether every agency stayed within its limit."""
    peaks = [busiest_minute(agency) for agency in served]
    requests = [len(agency.fixflo.log.entries) for agency in served]
    over = [a.folder.name for a, peak in zip(served, peaks, strict=True) if peak > per_minute]
    print(
        f"{name:<11} {seconds:8.1f} s   Fixflo requests per agency {min(requests)}-"
        f"{max(requests)}, busiest minute per agency max {max(peaks)} (limit {per_minute}), "
        f"429s {sum(refused(agency) for agency in served)}, over the limit: {over or 'none'}"
    )
    return not over


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=40)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--per-minute", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--per-worker", type=int, default=16)
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="Run only this many agencies one after another and extrapolate the sequential "
        "time to all (their mean night times the agencies; printed as such). 0: all.",
    )
    parser.add_argument("--folder", type=Path, default=Path("out/bench-fleet"))
    args = parser.parse_args()
    shutil.rmtree(args.folder, ignore_errors=True)
    logs = args.folder / "logs"
    logs.mkdir(parents=True)
    print(
        f"{args.agencies} agencies of {args.size} properties, Fixflo limit {args.per_minute} a "
        f"minute each, fleet: {args.workers} worker processes, {args.per_worker} nights at once "
        "in each"
    )
    sample = args.sample if 0 < args.sample < args.agencies else args.agencies
    with agencies(args.folder / "one-by-one", sample, args.size, args.per_minute) as a:
        measured, codes = sequential(a, logs, args.folder / "home-one-by-one")
        fine = report("sequential", measured, a, args.per_minute)
        failed = [code for code in codes if code not in (0, 2, 3)]
    one_by_one = measured / sample * args.agencies
    if sample < args.agencies:
        print(
            f"sequential: {sample} agencies measured ({measured:.1f} s, "
            f"{measured / sample:.1f} s a night); {args.agencies} extrapolated: {one_by_one:.1f} s"
        )
    with agencies(args.folder / "fleet", args.agencies, args.size, args.per_minute) as b:
        home = args.folder / "home-fleet"
        together, code = fleet(args.folder / "fleet", args.workers, args.per_worker, logs, home)
        fine = report("fleet", together, b, args.per_minute) and fine
    print(f"wall time ratio sequential / fleet: {one_by_one / together:.2f}x")
    print(f"exit codes: sequential failures {len(failed)}, fleet {code}")
    return 0 if fine and not failed and code in (0, 2, 3) else 1


if __name__ == "__main__":
    raise SystemExit(main())
