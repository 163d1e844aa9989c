"""Benchmark: reading a snapshot with one deeply nested record, against a flat file of the
same size, in the same run.

Issue 15's file: one inventory record nested 100,000 levels deep, padded with ordinary
records to 260 KB. The baseline is a file of the same size holding ordinary records only.
Each file is read in a child process of its own (header, then every collection, as the
runner reads it), under an address-space cap so that a reader that is quadratic in depth
fails with MemoryError instead of taking the machine with it. It prints, for each file,
seconds, the child's peak resident memory, that peak above an idle child's, and what came
out, then the deep/flat ratios of time and peak memory.

To measure the code before a change, point ``--tree`` at a copy of it, e.g.
``git archive <commit> engine | tar -x -C /tmp/before`` then ``--tree /tmp/before``.

Usage: python bench/snapshot_depth_bench.py [--levels 100000] [--size 260000]
       [--cap-gib 4] [--repeat 3] [--tree PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HEADER = '"system": "alto", "taken_at": "2026-11-22T02:00:00Z"'


def _ordinary(number: int) -> str:
    """One inventory record in Alto's Search.InventoryItem shape (GET /inventory/filter)."""
    record = {
        "inventoryId": str(100_000 + number),
        "branchId": "1",
        "createdAt": "2025-06-01T09:00:00Z",
        "modifiedAt": "2026-01-02T03:04:05Z",
        "categoryType": "Residential",
        "recordType": "Rent",
        "archived": False,
        "status": "Let",
        "address": {
            "subDwelling": None,
            "nameNo": str(number),
            "street": "High Street",
            "locality": None,
            "town": "Leeds",
            "county": "West Yorkshire",
            "postcode": "LS1 4AB",
            "countryCode": "GB",
        },
        "managementType": "Managed",
        "maintenanceType": "MaintainedByUs",
        "instructionDate": "2025-06-01T09:00:00Z",
    }
    return json.dumps(record)


def write_file(path: Path, size: int, levels: int) -> None:
    """A snapshot of about `size` bytes; its first record nests `levels` deep when > 0."""
    records = []
    if levels:
        records.append('{"inventoryId": "1", "extra": ' + "[" * levels + "]" * levels + "}")
    total = sum(len(r) + 2 for r in records)
    while total < size:
        records.append(_ordinary(len(records)))
        total += len(records[-1]) + 2
    body = ",\n".join(records)
    path.write_text(f'{{{HEADER},\n"inventory": [\n{body}\n]\n}}\n', "utf-8")


def child(path: str, tree: str, cap: int) -> None:
    """Read `path` with the engine found in `tree`; print one JSON line of results."""
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    sys.path.insert(0, tree)
    from engine.errors import RecordError
    from engine.snapshot import iter_records, read_header

    started = time.perf_counter()
    counts = {"records": 0, "rejected": 0}
    try:
        if path:
            header = read_header(path)
            for collection in header.collections:
                for item in iter_records(path, collection, header=header):
                    counts["rejected" if isinstance(item, RecordError) else "records"] += 1
        outcome = f"{counts['records']} records, {counts['rejected']} rejected"
    except (MemoryError, RecursionError) as exc:
        outcome = type(exc).__name__
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "peak": peak, "outcome": outcome}))


def measure(path: Path | None, tree: Path, cap: int) -> dict[str, Any]:
    """One child's results for `path` (None: an idle child, the memory baseline)."""
    command = [sys.executable, __file__, "--child", str(path or ""), "--tree", str(tree)]
    command += ["--cap-bytes", str(cap)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return {"seconds": float("nan"), "peak": 0, "outcome": f"died: {reason}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def best(path: Path, tree: Path, cap: int, repeat: int) -> dict[str, Any]:
    runs = [measure(path, tree, cap) for _ in range(repeat)]
    return min(runs, key=lambda run: (run["seconds"], run["peak"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=260_000)
    parser.add_argument("--cap-gib", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tree", type=Path, default=ROOT)
    parser.add_argument("--child")
    parser.add_argument("--cap-bytes", type=int)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, str(args.tree), args.cap_bytes)
        return
    cap = int(args.cap_gib * (1 << 30))
    with tempfile.TemporaryDirectory() as folder:
        deep, flat = Path(folder) / "deep.json", Path(folder) / "flat.json"
        write_file(deep, args.size, args.levels)
        write_file(flat, os.path.getsize(deep), 0)
        idle = measure(None, args.tree, cap)["peak"]
        results = {name: best(path, args.tree, cap, args.repeat) for name, path in
                   (("flat", flat), ("deep", deep))}  # fmt: skip
        sizes = {"flat": os.path.getsize(flat), "deep": os.path.getsize(deep)}
    report(args, results, sizes, idle)
    check_flat(results["flat"])


def check_flat(flat: dict[str, Any]) -> None:
    """Stop with an error unless the flat file read whole: its records are the ordinary
    records both files hold, so a rejected one means they no longer fit the snapshot schema
    and the comparison would time error reports, not reading."""
    if not flat["outcome"].endswith(" 0 rejected"):
        raise SystemExit(
            f"FAILED: the flat file read as {flat['outcome']}: make _ordinary() a record "
            "that engine/schema/snapshot.schema.json accepts (alto_inventory)"
        )


def report(
    args: argparse.Namespace, results: dict[str, dict[str, Any]], sizes: dict[str, int], idle: int
) -> None:
    mib = 1 << 20
    print(f"engine from {args.tree}; cap {args.cap_gib:g} GiB; best of {args.repeat}")
    print(f"idle child: {idle / mib:.1f} MiB")
    print(f"{'file':<6} {'bytes':>9} {'seconds':>9} {'peak MiB':>9} {'above idle':>11}  outcome")
    for name, result in results.items():
        above = max(result["peak"] - idle, 0) / mib
        print(
            f"{name:<6} {sizes[name]:>9,} {result['seconds']:>9.3f} {result['peak'] / mib:>9.1f}"
            f" {above:>11.1f}  {result['outcome']}"
        )
    deep, flat = results["deep"], results["flat"]
    print(
        f"deep/flat ({args.levels:,} levels): time {deep['seconds'] / flat['seconds']:.2f}x, "
        f"peak {deep['peak'] / flat['peak']:.2f}x"
    )


if __name__ == "__main__":
    main()
