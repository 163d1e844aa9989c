"""Benchmark: `rulebridge migrate` on a generated Jupix export of a given size.

Generates the export (seeded; skipped when the folder already holds one), then runs the
migrate command in a child process twice, the full migration (``--out``) and the go-live
check (``--check --out``: the same single pass, counting instead of writing records), and
reports for each its wall time, CPU time and peak resident memory (that child's own
``ru_maxrss``, from ``os.wait4``), and the command's summary.

Usage: python bench/migrate_bench.py [--size 100000] [--seed 11] [--work /tmp/migrate-bench]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
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
    common = [
        "--ruleset",
        str(ROOT / "rulesets/jupix-alto/v1.yaml"),
        "--jupix",
        str(export),
        "--as-of",
        "2025-06-02",
    ]
    for label, extra in (
        ("migrate --out", ["--out", str(args.work / "alto")]),
        ("migrate --check", ["--check", "--out", str(args.work / "check")]),
    ):
        measure(f"size {args.size}, {label}", [*common, *extra])


def measure(label: str, arguments: list[str]) -> None:
    """Run the migrate command with `arguments` in a child and print what it cost."""
    command = [
        sys.executable,
        "-c",
        "from rulebridge.cli.migrate import migrate_command; migrate_command()",
        *arguments,
    ]
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        said = out.read().strip().splitlines()
    print("\n".join(said[-8:]))
    print(
        f"{label}: wall {wall:.1f} s, cpu {usage.ru_utime + usage.ru_stime:.1f} s, "
        f"peak memory {usage.ru_maxrss / 1024:.0f} MiB, exit {child.returncode}"
    )


if __name__ == "__main__":
    main()
