"""Slow: a generated export migrates through the command in bounded memory."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.jupix import write_jupix_export
from tests.rulesets.jupix import RULESET_PATH

COMMAND = "from rulebridge._migrate_cmd import migrate_command; migrate_command()"


@pytest.mark.slow
def test_a_5000_property_export_migrates_in_under_200_mib(tmp_path: Path) -> None:
    write_jupix_export(tmp_path / "jupix", 5000, 5)
    done = subprocess.run(
        [sys.executable, "-c", COMMAND, "--ruleset", str(RULESET_PATH), "--jupix",
         str(tmp_path / "jupix"), "--as-of", "2025-06-02", "--out", str(tmp_path / "alto")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mib < 200, peak_mib
    assert "accounted for (0 unreadable)" in done.stdout
