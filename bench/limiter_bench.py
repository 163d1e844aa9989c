"""Benchmark: the agency's shared rate limit (`rulebridge.runner.ratelimit.SharedLimiter`,
a sliding-window log in an SQLite file under a file lock, shared by the nightly run and the
live server) against the in-process `aiolimiter.AsyncLimiter` it replaced, in one process.

Both are given a limit they never reach, so only the cost of an acquire is measured. It
prints microseconds per acquire for each, the ratio, and the shared acquire's share of one
request's slot at Fixflo's 500 requests a minute (120 ms): the cost that matters.

Usage: python bench/limiter_bench.py [--count 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from aiolimiter import AsyncLimiter

from adapters.http import Limiter
from rulebridge.runner.ratelimit import SharedLimiter

SLOT = 60 / 500  # seconds between requests at Fixflo's 500 a minute


async def _cost(limiter: Limiter, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        await limiter.acquire()
    return (time.perf_counter() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        shared = SharedLimiter(Path(folder) / "rate.sqlite", 10**9)
        try:
            shared_cost = min(asyncio.run(_cost(shared, args.count)) for _ in range(args.repeat))
        finally:
            shared.close()
    own_cost = min(  # a limiter per event loop, as aiolimiter asks
        asyncio.run(_cost(AsyncLimiter(10**9, 60), args.count)) for _ in range(args.repeat)
    )
    print(f"acquires: {args.count}, best of {args.repeat}")
    print(f"aiolimiter (in-process, the baseline): {own_cost * 1e6:8.1f} us per acquire")
    print(f"shared (SQLite file, file lock):       {shared_cost * 1e6:8.1f} us per acquire")
    print(f"ratio shared / baseline: {shared_cost / own_cost:.0f}x")
    print(f"shared acquire / one request's slot at 500 a minute: {shared_cost / SLOT:.2%}")


if __name__ == "__main__":
    main()
