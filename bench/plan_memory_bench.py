"""Benchmark: `rulebridge plan`'s peak memory as the agency grows (target: flat within 20%).

For each size, a generated agency (`simulator.agency.write_agency`, seeded; written once
under --work and reused) is planned by the real command in a child process, once with
``--format json --out`` and once as the table, and the child reports its own peak resident
memory (``VmHWM`` from /proc/self/status, read at exit: the child's ``ru_maxrss`` would
count the pages it was forked with). The floor is the same child importing the command
and planning nothing (``--help``), measured in the same run.

It prints, per size and output, the peak in MiB and the child's CPU time (user + system:
the machine may be shared, so wall time says little), then each output's ratio of the
largest size to the smallest (target: at most 1.20) and what each adds above the floor.

Usage: python bench/plan_memory_bench.py [--sizes 2000 16000] [--seed 1]
    [--work /tmp/plan-memory-bench]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

from simulator.agency import write_agency

ROOT = Path(__file__).resolve().parent.parent
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
CHILD = """
import atexit, sys
def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print("peak-kib", kib, file=sys.stderr)
atexit.register(peak)
from rulebridge.cli.plan import plan
plan()
"""


def agency(work: Path, size: int, seed: int) -> tuple[Path, Path]:
    """The agency's snapshots, generated on first use."""
    folder = work / f"agency-{size}-{seed}"
    alto, fixflo = folder / "alto.json", folder / "fixflo.json"
    if not (alto.is_file() and fixflo.is_file()):
        started = time.perf_counter()
        write_agency(folder, size=size, seed=seed)
        print(f"generated {folder} in {time.perf_counter() - started:.1f} s")
    return alto, fixflo


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak(arguments: list[str]) -> tuple[float, float]:
    """The child's peak resident memory in MiB, and its CPU time in seconds."""
    started = _cpu()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *arguments], capture_output=True, text=True, check=False
    )
    cpu = _cpu() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"plan failed ({done.returncode}):\n{done.stderr[-2000:]}")
    lines = [line for line in done.stderr.splitlines() if line.startswith("peak-kib ")]
    return int(lines[-1].split()[1]) / 1024, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 16000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/plan-memory-bench"))
    args = parser.parse_args()
    floor, _ = peak(["--help"])
    print(f"floor (the command imported, nothing planned): {floor:.0f} MiB")
    peaks: dict[str, list[float]] = {"json": [], "table": []}
    for size in args.sizes:
        alto, fixflo = agency(args.work, size, args.seed)
        common = ["--ruleset", str(RULESET), "--alto", str(alto), "--fixflo", str(fixflo)]
        out = args.work / f"plan-{size}"
        outputs = (
            ("json", ["--format", "json", "--out", f"{out}.json"]),
            ("table", ["--out", f"{out}.txt"]),
        )
        for output, extra in outputs:
            mib, cpu = peak([*common, *extra])
            peaks[output].append(mib)
            print(f"{size:>8,} properties  {output:<5}  peak {mib:7.0f} MiB  cpu {cpu:6.1f} s")
    small, large = args.sizes[0], args.sizes[-1]
    for output, found in peaks.items():
        ratio = found[-1] / found[0]
        verdict = "flat" if ratio <= 1.2 else "NOT flat"
        print(
            f"{output:<5} peak {large:,} / {small:,}: {ratio:.2f}x (target <= 1.20: {verdict}); "
            f"above the floor: {found[0] - floor:.0f} MiB -> {found[-1] - floor:.0f} MiB"
        )


if __name__ == "__main__":
    main()
