"""Benchmark: the engine against a hand-written Python function doing the same work.

For generated agencies of each size, in one process:

- baseline: a hand-written function applying exactly the alto-fixflo v2 include rules and
  field maps with the default settings (P-01..P-06; occupiers T-01/T-02/G-03 through
  contact details and tenancy_tenants to live tenancies at included properties; landlords
  L-01; contractors C-01 through the same-id Supplier contact, C-02, G-03) to every record;
- engine: the compiled ruleset doing the same (include rules, then the map);
- plan: the whole `make_plan` (explanations, merges against Fixflo, diffs, links).

Before timing, it checks that both include the same records per entity with the same
mapped fields, prints the counts, and stops with an error if they differ: the ratio then
compares equal work. It prints records per second for each, the engine/baseline ratio
(target: within 2x), and the peak memory each pass adds on top of the records already in
memory (tracemalloc, in a separate run so that timing is not slowed). Records are counted
once per entity evaluated.

Usage: python bench/plan_bench.py [--sizes 10000 100000] [--seed 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from _by_hand import AltoByHand, Record, Records

from engine import CompiledRuleset, load_ruleset
from engine.sync.plan import Plan
from engine.sync.planner import make_plan
from simulator.agency import AgencyGenerator

RULESET = Path(__file__).resolve().parent.parent / "rulesets" / "alto-fixflo" / "v2.yaml"
AS_OF = date(2026, 11, 22)
Kept = dict[str, list[Record]]
ENTITIES = ("property", "occupier", "landlord", "contractor")
SOURCES = {
    "property": "alto.inventory",
    "occupier": "alto.contacts",
    "landlord": "alto.contacts",
    "contractor": "alto.suppliers",
}


def generate(size: int, seed: int) -> Records:
    """A generated agency held in memory, by source name (every Alto and Fixflo collection
    a snapshot of it would hold, in the vendors' shapes)."""
    agency = AgencyGenerator(size=size, seed=seed)
    records: Records = {}
    for system, collections in (
        ("alto", agency.alto_collections()),
        ("fixflo", agency.fixflo_collections()),
    ):
        for name, stream in collections.items():
            records[f"{system}.{name}"] = list(stream)
    return records


def baseline(records: Records, keep: Kept | None = None) -> dict[str, int]:
    """The v2 include rules and maps written by hand (default settings; each entity's
    function in bench/_by_hand.py, as bench/evaluate_bench.py times them one by one).

    Returns how many records each entity included; with `keep`, also appends each
    included record's mapped fields to ``keep[entity]`` (for the equal-work check).
    """
    functions, counts = AltoByHand(records).functions(), dict.fromkeys(ENTITIES, 0)
    for entity in ENTITIES:
        decide = functions[entity]
        for record in records[SOURCES[entity]]:
            _, included, payload = decide(record)
            if included:
                _count(counts, keep, entity, payload)
    return counts


def _count(counts: dict[str, int], keep: Kept | None, entity: str, payload: Record) -> None:
    counts[entity] += 1
    if keep is not None:
        keep.setdefault(entity, []).append(payload)


def engine_pass(
    ruleset: CompiledRuleset, records: Records, keep: Kept | None = None
) -> dict[str, int]:
    """The compiled ruleset's include rules and maps over every record, as the plan does;
    how many records each entity included (and, with `keep`, their mapped fields)."""
    context = ruleset.context({k: v for k, v in records.items() if k in ruleset.sources}, AS_OF)
    counts: dict[str, int] = {}
    for name, entity in ruleset.entities.items():
        counts[name] = 0
        for record in records[entity.source]:
            if entity.includes(record, context):
                _count(counts, keep, name, entity.map(record, context))
    return counts


def _ref(payload: Record) -> Any:
    return payload.get("ExternalRef", payload.get("ExternalPropertyRef"))


def _differing(mine: Record, theirs: Record, prefix: str = "") -> list[str]:
    """The dotted names of the fields that differ (values not shown: they are people's)."""
    names = []
    for name in sorted(set(mine) | set(theirs)):
        left, right = mine.get(name), theirs.get(name)
        if isinstance(left, dict) and isinstance(right, dict):
            names.extend(_differing(left, right, f"{prefix}{name}."))
        elif left != right or (name in mine) != (name in theirs):
            names.append(prefix + name)
    return names


def check_equal_work(ruleset: CompiledRuleset, records: Records) -> dict[str, int]:
    """Fail loudly unless the baseline and the engine include the same records per entity
    with the same mapped fields; the counts per entity."""
    base_kept: Kept = {}
    engine_kept: Kept = {}
    base = baseline(records, base_kept)
    engine = engine_pass(ruleset, records, engine_kept)
    print("included per entity (baseline / engine):")
    for entity in ENTITIES:
        mark = "" if base.get(entity) == engine.get(entity) else "   <-- DIFFERENT"
        print(f"  {entity:<11}{base.get(entity, 0):>8,} / {engine.get(entity, 0):<8,}{mark}")
    if base != engine:
        raise SystemExit(f"FAILED: the baseline included {base}, the engine {engine}")
    for entity in ENTITIES:
        pairs = zip(base_kept.get(entity, []), engine_kept.get(entity, []), strict=True)
        for position, (mine, theirs) in enumerate(pairs):
            if mine != theirs:
                raise SystemExit(
                    f"FAILED: {entity} #{position} (ref {_ref(theirs)}) maps differently in "
                    f"{', '.join(_differing(mine, theirs))}: fix the baseline to follow v2.yaml"
                )
    return engine


def timed(work: Callable[[], object], repeat: int) -> tuple[float, object]:
    """The best wall time of `repeat` runs, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_mib(work: Callable[[], object]) -> float:
    """Peak memory allocated while `work` runs, in MiB."""
    gc.collect()
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / (1024 * 1024)


def run(size: int, seed: int, repeat: int, ruleset: CompiledRuleset) -> None:
    records = generate(size, seed)
    evaluated = sum(len(records[entity.source]) for entity in ruleset.entities.values())
    print(
        f"\n== {size:,} properties ({sum(map(len, records.values())):,} records in all, "
        f"{evaluated:,} evaluations) =="
    )
    included = sum(check_equal_work(ruleset, records).values())
    base_time, _ = timed(lambda: baseline(records), repeat)
    engine_time, _ = timed(lambda: engine_pass(ruleset, records), repeat)
    plan_time, made = timed(lambda: make_plan(ruleset, records, as_of=AS_OF), repeat)
    assert isinstance(made, Plan)
    for name, seconds in (("baseline", base_time), ("engine", engine_time)):
        print(
            f"{name:<9} {evaluated / seconds:>12,.0f} records/s  {seconds:7.3f} s  "
            f"included {included:,}"
        )
    print(
        f"plan      {evaluated / plan_time:>12,.0f} records/s  {plan_time:7.3f} s  "
        f"{len(made.operations):,} operations, {len(made.skips):,} skips"
    )
    print(
        f"ratio engine/baseline {engine_time / base_time:.2f}x (target <= 2x); "
        f"plan/baseline {plan_time / base_time:.2f}x"
    )
    base_peak = peak_mib(lambda: baseline(records))
    engine_peak = peak_mib(lambda: engine_pass(ruleset, records))
    plan_peak = peak_mib(lambda: make_plan(ruleset, records, as_of=AS_OF))
    print(
        f"peak memory added: baseline {base_peak:.1f} MiB, engine {engine_peak:.1f} MiB "
        f"({engine_peak * 1024 / evaluated:.2f} KiB per evaluation), whole plan "
        f"{plan_peak:.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ruleset = load_ruleset(RULESET)
    for size in args.sizes:
        run(size, args.seed, args.repeat, ruleset)


if __name__ == "__main__":
    main()
