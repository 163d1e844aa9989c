"""Slow: a generated export migrates through the command in bounded memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simulator.jupix import write_jupix_export
from tests.rulesets.jupix import RULESET_PATH

# The child reports its own peak: VmHWM belongs to the image after exec. Neither
# RUSAGE_CHILDREN here (the largest child any test started) nor the child's ru_maxrss (which
# on Linux counts the pages it was forked with) measures the migration alone.
COMMAND = """
import atexit, sys
def peak():
    with open("/proc/self/status") as status:
        kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    print("peak-kib", kib, file=sys.stderr)
atexit.register(peak)
from rulebridge.cli.migrate import migrate_command
migrate_command()
"""


@pytest.mark.slow
def test_a_5000_property_export_migrates_in_under_200_mib(tmp_path: Path) -> None:
    write_jupix_export(tmp_path / "jupix", 5000, 5)
    done = subprocess.run(
        [sys.executable, "-c", COMMAND, "--ruleset", str(RULESET_PATH), "--jupix",
         str(tmp_path / "jupix"), "--as-of", "2025-06-02", "--out", str(tmp_path / "alto")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (peak,) = [line for line in done.stderr.splitlines() if line.startswith("peak-kib ")]
    peak_mib = int(peak.split()[1]) / 1024
    assert peak_mib < 200, peak_mib
    assert "accounted for (0 unreadable)" in done.stdout
