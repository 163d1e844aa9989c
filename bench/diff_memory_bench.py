"""Benchmark: `rulebridge diff`'s peak memory and time as the agency grows (target: flat).

For each size, a generated agency (`simulator.agency.write_agency`, seeded; written once
under --work and reused) is diffed by the real command in a child process: the shipped
v2 against a copy that also syncs Commercial properties (so every group has records to
spill), Markdown to a file and JSON to a file. The child reports its own peak resident
memory (``VmHWM`` from /proc/self/status at exit). The floor is the same child importing
the command and diffing nothing (``--help``), measured in the same run. Lifecycle
scenarios are left out (``--scenarios`` an empty folder): they do not grow with the agency.

It prints, per size and output, the peak in MiB, the child's CPU time (user + system) and
wall time, then each output's ratio of the largest size to the smallest (target: at most
1.20) and what each adds above the floor.

Usage: python bench/diff_memory_bench.py [--sizes 10000 100000] [--seed 1]
    [--work /tmp/diff-memory-bench]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _peak import agency, child_code, peak, print_ratios

ROOT = Path(__file__).resolve().parent.parent
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
CHILD = child_code("rulebridge.cli.diff", "diff")


def commercial_copy(work: Path) -> Path:
    """The shipped ruleset with Commercial among the default property categories."""
    text = RULESET.read_text("utf-8")
    old, new = "default: [Residential]\n", "default: [Residential, Commercial]\n"
    changed = text.replace(old, new)
    if changed == text:
        raise SystemExit("the shipped ruleset's property_categories default has moved")
    copy = work / "commercial.yaml"
    copy.write_text(changed, "utf-8")
    return copy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/diff-memory-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    new = commercial_copy(args.work)
    empty = args.work / "no-scenarios"
    empty.mkdir(exist_ok=True)
    floor, _, _ = peak(CHILD, ["--help"])
    print(f"floor (the command imported, nothing diffed): {floor:.0f} MiB")
    peaks: dict[str, list[float]] = {"markdown": [], "json": []}
    for size in args.sizes:
        alto, _ = agency(args.work, size, args.seed)
        common = [str(RULESET), str(new), "--alto", str(alto), "--scenarios", str(empty)]
        for output in peaks:
            out = args.work / f"diff-{size}.{'md' if output == 'markdown' else 'json'}"
            mib, cpu, wall = peak(CHILD, [*common, "--format", output, "--out", str(out)])
            peaks[output].append(mib)
            print(
                f"{size:>8,} properties  {output:<8}  peak {mib:7.0f} MiB  "
                f"cpu {cpu:6.1f} s  wall {wall:6.1f} s  report {out.stat().st_size:,} bytes"
            )
    print_ratios(peaks, args.sizes, floor)


if __name__ == "__main__":
    main()
