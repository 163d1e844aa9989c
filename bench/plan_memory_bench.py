"""Benchmark: `rulebridge plan`'s peak memory as the agency grows (target: flat within 20%).

For each size, a generated agency (`simulator.agency.write_agency`, seeded; written once
under --work and reused) is planned by the real command in a child process, once with
``--format json --out`` and once as the table, and the child reports its own peak resident
memory (``VmHWM`` from /proc/self/status, read at exit: the child's ``ru_maxrss`` would
count the pages it was forked with). The floor is the same child importing the command
and planning nothing (``--help``), measured in the same run.

Two more outputs plan the way the nightly runner does, with `make_plan` (the snapshots in
file-backed tables, every item of the plan read once, its summary taken): ``make_plan``
with the plan's sections spilled to a file past `engine.sync.spill.SPILL_AT` items (the
default) and ``in-memory`` with every item held (the behaviour before spilling), so the
spill's effect is measured in the same run.

It prints, per size and output, the peak in MiB and the child's CPU time (user + system:
the machine may be shared, so wall time says little), then each output's ratio of the
largest size to the smallest with ok (at most 1.20, issue 21's target) or OVER, and what
each adds above the floor. The defaults are the target's: 10,000 and 100,000 properties,
`make_plan` only (a 100k run takes minutes of CPU per output; generating the 100k agency
once takes about four); ``--sizes`` and ``--outputs`` for quicker or wider runs.

Usage: python bench/plan_memory_bench.py [--sizes 10000 100000] [--seed 1]
    [--work /tmp/plan-memory-bench] [--outputs make_plan json table in-memory]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _peak import agency, child_code, peak, print_ratios

from engine.sync.spill import SPILL_AT

ROOT = Path(__file__).resolve().parent.parent
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
CHILD = child_code("rulebridge.cli.plan", "plan")
# `make_plan` as the runner calls it; arguments: ruleset, alto, fixflo, spill_at.
MAKE_PLAN = CHILD.split("from rulebridge")[0] + (
    "import tempfile\n"
    "from pathlib import Path\n"
    "from engine import load_ruleset\n"
    "from engine.sync.planner import make_plan\n"
    "from rulebridge.cli._plan_input import spilled_snapshots\n"
    "path, alto, fixflo, spill_at = sys.argv[1:5]\n"
    "ruleset = load_ruleset(Path(path))\n"
    "with tempfile.TemporaryDirectory() as folder, spilled_snapshots(\n"
    "    Path(alto), Path(fixflo), Path(folder)\n"
    ") as loaded:\n"
    "    plan = make_plan(\n"
    "        ruleset, loaded.records, as_of=loaded.run_date(None), spill_at=int(spill_at)\n"
    "    )\n"
    "    items = sum(1 for _ in plan.items())\n"
    "    plan.summary()\n"
    "    print('items', items, file=sys.stderr)\n"
)
OUTPUTS = ("json", "table", "make_plan", "in-memory")
TARGET = 1.20  # issue 21: the peak at the largest size over the smallest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/plan-memory-bench"))
    parser.add_argument("--outputs", nargs="+", choices=OUTPUTS, default=["make_plan"])
    args = parser.parse_args()
    floor, _, _ = peak(CHILD, ["--help"])
    print(f"floor (the command imported, nothing planned): {floor:.0f} MiB")
    peaks: dict[str, list[float]] = {output: [] for output in args.outputs}
    for size in args.sizes:
        alto, fixflo = agency(args.work, size, args.seed)
        common = ["--ruleset", str(RULESET), "--alto", str(alto), "--fixflo", str(fixflo)]
        out = args.work / f"plan-{size}"
        runs = {
            "json": (CHILD, [*common, "--format", "json", "--out", f"{out}.json"]),
            "table": (CHILD, [*common, "--out", f"{out}.txt"]),
            "make_plan": (MAKE_PLAN, [str(RULESET), str(alto), str(fixflo), str(SPILL_AT)]),
            "in-memory": (MAKE_PLAN, [str(RULESET), str(alto), str(fixflo), str(10**12)]),
        }
        for output in args.outputs:
            mib, cpu, _ = peak(*runs[output])
            peaks[output].append(mib)
            print(f"{size:>8,} properties  {output:<9}  peak {mib:7.0f} MiB  cpu {cpu:6.1f} s")
    print_ratios(peaks, args.sizes, floor)
    for output, found in peaks.items():
        ratio = found[-1] / found[0]
        verdict = "ok" if ratio <= TARGET else "OVER"
        print(
            f"{output}: {found[-1]:.0f} / {found[0]:.0f} MiB = {ratio:.2f} "
            f"(target <= {TARGET:.2f}): {verdict}"
        )


if __name__ == "__main__":
    main()
