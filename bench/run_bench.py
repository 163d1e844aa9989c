"""Benchmark: the nightly job's API calls and wall time, first night against later nights.

For a generated agency on the fake Alto and Fixflo (loopback HTTP, real SQLite store),
runs the job three times in one process:

1. the first night (every record the ruleset wants is written to Fixflo);
2. a night after a day's work (a few repairs in Fixflo, a few changed addresses in Alto);
3. a night with nothing changed (the baseline: the reads every night needs).

It prints, per night, the API requests (reads and writes, per system), the wall time, and
the ratio of each night's requests to the unchanged night's, plus the time the Fixflo
requests would take at the vendor's default 500 a minute (the fakes have no limit, so the
runs here use a high one: the limit, not the CPU, bounds a real night).

Usage: python bench/run_bench.py [--size 10000] [--seed 1] [--folder out/bench-run]
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.store import Store
from rulebridge._config import load_agency_config
from rulebridge.runner import RunLog, RunOptions, run_nightly
from simulator.fake.loopback import FakeAgency, fake_agency, play_issues

VENDOR_PER_MINUTE = 500


def night(agency: FakeAgency) -> tuple[dict[str, Any], float]:
    """One run of the job; its report and wall time."""
    options = RunOptions(
        load_agency_config(agency.config_path),
        agency.store_path,
        state_home=agency.folder / "home",  # each benchmark agency its own lock and witness
    )
    started = time.perf_counter()
    outcome = run_nightly(options, RunLog(io.StringIO(), terminal=False))
    seconds = time.perf_counter() - started
    if outcome.exit_code == 1:
        raise SystemExit(f"the run failed: {outcome.report['run'].get('error')}")
    return outcome.report, seconds


def a_days_work(agency: FakeAgency, seed: int) -> int:
    """Twenty repairs in Fixflo; twenty synced properties' streets changed in Alto (the
    fake Alto's Search.InventoryItem records, by ``inventoryId``). How many changed."""
    rng = random.Random(seed)
    play_issues(agency, 20, seed=seed)
    with Store.open(agency.store_path) as store:
        synced = sorted(store.id_map("property"))
    inventory = {str(record["inventoryId"]): record for record in agency.alto.world["inventory"]}
    missing = [key for key in synced if key not in inventory]
    if missing:
        raise SystemExit(f"the store maps properties the fake Alto does not hold: {missing[:5]}")
    changed = rng.sample(synced, min(20, len(synced)))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for key in changed:
        inventory[key]["address"]["street"] = f"{rng.randrange(1, 999)} New Road"
        inventory[key]["modifiedAt"] = now  # as Alto stamps an edited record
    return len(changed)


def split(report: dict[str, Any]) -> dict[str, int]:
    """Requests per system and kind (read, write), token requests counted as reads."""
    counts = {"alto read": 0, "alto write": 0, "fixflo read": 0, "fixflo write": 0}
    for name, n in report["api"]["per_endpoint"].items():
        system, method, path = name.split(" ", 2)
        write = method != "GET" and not path.endswith("/token")
        counts[f"{system} {'write' if write else 'read'}"] += n
    return counts


def endpoints(nights: list[tuple[str, dict[str, Any]]]) -> None:
    """Requests per system and endpoint (ids folded, as the run report counts them), one
    column a night, with each system's total and Fixflo's minutes at 500 a minute."""
    names = sorted({name for _, report in nights for name in report["api"]["per_endpoint"]})
    width = max(len(name) for name in names) + 2
    print("requests per system and endpoint:")
    print(f"  {'':<{width}}" + "".join(f"{label:>10}" for label, _ in nights))
    for system in ("alto", "fixflo"):
        for name in (n for n in names if n.startswith(system + " ")):
            counts = [report["api"]["per_endpoint"].get(name, 0) for _, report in nights]
            print(f"  {name:<{width}}" + "".join(f"{n:>10,}" for n in counts))
        totals = [
            sum(n for k, n in report["api"]["per_endpoint"].items() if k.startswith(system + " "))
            for _, report in nights
        ]
        print(f"  {system + ' total':<{width}}" + "".join(f"{n:>10,}" for n in totals))
    minutes = [sum(_fixflo(report).values()) / VENDOR_PER_MINUTE for _, report in nights]
    print(f"  {'fixflo minutes at 500/min':<{width}}" + "".join(f"{m:>10.1f}" for m in minutes))


def _fixflo(report: dict[str, Any]) -> dict[str, int]:
    return {k: n for k, n in report["api"]["per_endpoint"].items() if k.startswith("fixflo ")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000, help="properties in the agency")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--folder", type=Path, default=Path("out/bench-run"))
    args = parser.parse_args()
    shutil.rmtree(args.folder, ignore_errors=True)
    rows = []
    with fake_agency(args.folder, size=args.size, seed=args.seed) as agency:
        first = night(agency)
        changed = a_days_work(agency, args.seed)
        day = night(agency)
        unchanged = night(agency)
    base = unchanged[0]["api"]["total"]
    print(f"agency: {args.size} properties (seed {args.seed}), fakes on loopback")
    print(f"a day's work: 20 issues played in Fixflo, {changed} synced addresses changed in Alto")
    header = f"{'night':<22}{'requests':>9}{'ratio':>8}{'alto r/w':>12}{'fixflo r/w':>13}"
    print(header + f"{'wall s':>9}{'fixflo at 500/min':>19}")
    for label, (report, seconds) in (
        ("1 first", first),
        ("2 after a day's work", day),
        ("3 nothing changed", unchanged),
    ):
        parts = split(report)
        fixflo = parts["fixflo read"] + parts["fixflo write"]
        rows.append((label, report["api"]["total"], seconds))
        print(
            f"{label:<22}{report['api']['total']:>9}{report['api']['total'] / base:>7.1f}x"
            f"{parts['alto read']:>6}/{parts['alto write']:<5}"
            f"{parts['fixflo read']:>7}/{parts['fixflo write']:<5}"
            f"{seconds:>9.1f}{fixflo / VENDOR_PER_MINUTE:>15.1f} min"
        )
    print(f"baseline: the unchanged night, {base} requests, every one a read")
    endpoints([("night 1", first[0]), ("night 2", day[0]), ("night 3", unchanged[0])])
    print("seconds per phase:")
    for label, (report, _) in (("1", first), ("2", day), ("3", unchanged)):
        phases = ", ".join(f"{k} {v:.1f}" for k, v in report["run"]["phases"].items())
        print(f"  night {label}: {phases}")


if __name__ == "__main__":
    main()
