"""What the memory benchmarks share: a generated agency on first use, a command run in a
child process that reports its own peak resident memory, and the ratio lines they print.

Used by `plan_memory_bench.py` and `diff_memory_bench.py` (run as scripts from the
repository root, so this module is imported as ``_peak``).
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

from simulator.agency import write_agency

__all__ = ["agency", "child_code", "peak", "print_ratios"]


def agency(work: Path, size: int, seed: int) -> tuple[Path, Path]:
    """The agency's Alto and Fixflo snapshots, generated on first use."""
    folder = work / f"agency-{size}-{seed}"
    alto, fixflo = folder / "alto.json", folder / "fixflo.json"
    if not (alto.is_file() and fixflo.is_file()):
        started = time.perf_counter()
        write_agency(folder, size=size, seed=seed)
        print(f"generated {folder} in {time.perf_counter() - started:.1f} s")
    return alto, fixflo


def child_code(module: str, command: str) -> str:
    """Python code that runs the click command `command` of `module` with the child's
    arguments and prints its peak resident memory (``VmHWM``) on standard error at exit."""
    return (
        "import atexit, sys\n"
        "def peak():\n"
        "    with open('/proc/self/status') as status:\n"
        "        kib = next(line.split()[1] for line in status if line.startswith('VmHWM:'))\n"
        "    print('peak-kib', kib, file=sys.stderr)\n"
        "atexit.register(peak)\n"
        f"from {module} import {command}\n"
        f"{command}()\n"
    )


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peak(code: str, arguments: list[str]) -> tuple[float, float, float]:
    """Run `code` (see `child_code`) with `arguments` in a child: its peak resident memory
    in MiB, its CPU time (user + system) and its wall time in seconds. Exit codes 0 and 2
    (nothing, changes) are success; anything else stops the benchmark with the child's
    error."""
    started, wall = _cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *arguments], capture_output=True, text=True, check=False
    )
    cpu, wall = _cpu() - started, time.perf_counter() - wall
    if done.returncode not in (0, 2):
        raise SystemExit(f"the command failed ({done.returncode}):\n{done.stderr[-2000:]}")
    lines = [line for line in done.stderr.splitlines() if line.startswith("peak-kib ")]
    return int(lines[-1].split()[1]) / 1024, cpu, wall


def print_ratios(peaks: dict[str, list[float]], sizes: list[int], floor: float) -> None:
    """Per output, the largest size's peak over the smallest's (target: at most 1.20) and
    what each adds above the floor (the command imported, nothing done)."""
    small, large = sizes[0], sizes[-1]
    width = max(len(output) for output in peaks)
    for output, found in peaks.items():
        ratio = found[-1] / found[0]
        verdict = "flat" if ratio <= 1.2 else "NOT flat"
        print(
            f"{output:<{width}} peak {large:,} / {small:,}: {ratio:.2f}x (target <= 1.20: "
            f"{verdict}); above the floor: {found[0] - floor:.0f} MiB -> "
            f"{found[-1] - floor:.0f} MiB"
        )
