"""Benchmark: the recovering Jupix CSV reader against a plain `csv.reader` doing the same work.

For a generated export (seeded; reused when the folder already holds one), in one process:

- baseline: `csv.reader` over each CSV file, every row typed with the same `build_row`,
  but no recovery: a stray quote would swallow the rows after it;
- reader: `JupixExport.iter_located` (rows start at line boundaries, quoted cells checked
  against the recovery rule of docs/jupix-export.md);
- reader, damaged: the same files with a stray quote opening a cell in one row in 50,
  so the recovery path runs for real.

It prints rows per second for each, the ratios to the baseline's time (best of `--repeat`),
and how many rows the baseline loses in the damaged copy (the reader loses none).

Usage: python bench/jupix_read_bench.py [--size 2000] [--seed 11] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from adapters.jupix import TABLES, JupixExport
from adapters.jupix._coerce import build_row
from simulator.jupix import write_jupix_export

CSV_TABLES = [spec for spec in TABLES.values() if spec.file.endswith(".csv")]


def baseline(folder: Path) -> int:
    """Rows typed from every CSV file by a plain `csv.reader` (no recovery)."""
    count = 0
    for spec in CSV_TABLES:
        with (folder / spec.file).open(encoding="utf-8", newline="") as stream:
            reader = csv.reader(stream, strict=True)
            header = next(reader)
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    break
                except csv.Error:
                    count += 1
                    continue
                build_row(spec, dict(zip(header, cells, strict=False)), spec.file)
                count += 1
    return count


def reader(folder: Path) -> int:
    """Rows (or row errors) from every CSV file through `JupixExport`."""
    export = JupixExport(folder)
    return sum(sum(1 for _ in export.iter_located(spec.name)) for spec in CSV_TABLES)


def damage(source: Path, target: Path) -> None:
    """A copy of `source` with a stray quote opening the second cell of every 50th row."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    for spec in CSV_TABLES:
        path = target / spec.file
        lines = path.read_text("utf-8").splitlines(keepends=True)
        for index in range(1, len(lines), 50):
            if '"' not in lines[index]:
                lines[index] = lines[index].replace(",", ',"', 1)
        path.write_text("".join(lines), encoding="utf-8", newline="")


def best(work: Callable[[Path], int], folder: Path, repeat: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        rows = work(folder)
        times.append(time.perf_counter() - started)
    return min(times), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/jupix-read-bench"))
    args = parser.parse_args()
    clean = args.work / f"jupix-{args.size}-{args.seed}"
    if not (clean / "manifest.json").is_file():
        write_jupix_export(clean, args.size, args.seed)
    damaged = args.work / f"damaged-{args.size}-{args.seed}"
    damage(clean, damaged)
    base, rows = best(baseline, clean, args.repeat)
    print(f"baseline (csv.reader + build_row): {rows} rows, {rows / base:,.0f} rows/s")
    _, left = best(baseline, damaged, 1)
    print(f"baseline, damaged: {left} rows ({rows - left} swallowed by stray quotes)")
    for name, folder in (("reader", clean), ("reader, damaged", damaged)):
        seconds, found = best(reader, folder, args.repeat)
        print(
            f"{name}: {found} rows, {found / seconds:,.0f} rows/s, "
            f"{seconds / base:.2f}x the baseline's time"
        )


if __name__ == "__main__":
    main()
