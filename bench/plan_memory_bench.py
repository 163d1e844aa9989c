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
from pathlib import Path

from _peak import agency, child_code, peak, print_ratios

ROOT = Path(__file__).resolve().parent.parent
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
CHILD = child_code("rulebridge.cli.plan", "plan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 16000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/plan-memory-bench"))
    args = parser.parse_args()
    floor, _, _ = peak(CHILD, ["--help"])
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
            mib, cpu, _ = peak(CHILD, [*common, *extra])
            peaks[output].append(mib)
            print(f"{size:>8,} properties  {output:<5}  peak {mib:7.0f} MiB  cpu {cpu:6.1f} s")
    print_ratios(peaks, args.sizes, floor)


if __name__ == "__main__":
    main()
