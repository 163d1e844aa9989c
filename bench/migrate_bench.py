"""Benchmark: `rulebridge migrate` on a generated Jupix export of a given size.

Generates the export (seeded; skipped when the folder already holds one), then runs the
migrate command in a child process and reports its wall time, CPU time and peak resident
memory (the child's ``ru_maxrss``), and the number of Jupix records accounted for.

Usage: python bench/migrate_bench.py [--size 100000] [--seed 11] [--work /tmp/migrate-bench]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

from simulator.jupix import write_jupix_export

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--work", type=Path, default=Path("/tmp/migrate-bench"))
    args = parser.parse_args()
    export = args.work / f"jupix-{args.size}-{args.seed}"
    if not (export / "manifest.json").is_file():
        started = time.perf_counter()
        write_jupix_export(export, args.size, args.seed)
        print(f"generated {export} in {time.perf_counter() - started:.1f} s")
    command = [
        sys.executable,
        "-c",
        "from rulebridge.cli.migrate import migrate_command; migrate_command()",
        "--ruleset",
        str(ROOT / "rulesets/jupix-alto/v1.yaml"),
        "--jupix",
        str(export),
        "--as-of",
        "2025-06-02",
        "--out",
        str(args.work / "alto"),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(done.stdout.strip() or done.stderr.strip())
    print(
        f"size {args.size}: wall {wall:.1f} s, cpu {usage.ru_utime + usage.ru_stime:.1f} s, "
        f"peak memory {usage.ru_maxrss / 1024:.0f} MiB, exit {done.returncode}"
    )


if __name__ == "__main__":
    main()
