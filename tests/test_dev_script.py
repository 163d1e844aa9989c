"""`./dev` syncs the environment only when uv.lock, pyproject.toml or uv's version changed.

Each test runs a copy of the real script in a scratch folder, with a stand-in `uv` first on
PATH that records its calls (``sync`` creates ``.venv/bin/python``; ``run`` runs the rest
of its arguments), so no network and no real environment are touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FAKE_UV = """#!/usr/bin/env bash
set -euo pipefail
echo "$*" >>"$UV_CALLS"
case "$1" in
  --version) echo "uv {version}" ;;
  sync) mkdir -p .venv/bin && ln -sf "{python}" .venv/bin/python ;;
  run) shift 3; exec "$@" ;;
esac
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="./dev is a bash script")


def _version() -> str:
    for line in (ROOT / "dev").read_text("utf-8").splitlines():
        if line.startswith("UV_VERSION="):
            return line.split("=", 1)[1].strip('"')
    raise AssertionError("dev names no UV_VERSION")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A scratch checkout: the real `dev`, a lock file, a pyproject and a stand-in uv."""
    shutil.copy(ROOT / "dev", tmp_path / "dev")
    (tmp_path / "uv.lock").write_text("lock 1\n", "utf-8")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n", "utf-8")
    tools = tmp_path / "fake-bin"
    tools.mkdir()
    uv = tools / "uv"
    uv.write_text(FAKE_UV.format(version=_version(), python=sys.executable), "utf-8")
    uv.chmod(0o755)
    return tmp_path


def _dev(checkout: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    calls = checkout / "uv-calls.txt"
    calls.write_text("", "utf-8")
    env = dict(
        os.environ,
        PATH=f"{checkout / 'fake-bin'}{os.pathsep}{os.environ['PATH']}",
        UV_CALLS=str(calls),
    )
    done = subprocess.run(
        ["bash", str(checkout / "dev"), *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done, [line.split()[0] for line in calls.read_text("utf-8").splitlines()]


def test_the_first_run_syncs_and_stamps_then_runs_without_syncing(checkout: Path) -> None:
    done, calls = _dev(checkout, "python", "-c", "print('ran')")
    assert done.returncode == 0, done.stderr
    assert "sync" in calls
    assert done.stdout.strip() == "ran"
    stamp = (checkout / ".venv" / ".dev-sync").read_text("utf-8").strip()
    assert len(stamp) == 64  # a sha256

    done, calls = _dev(checkout, "python", "-c", "import os; print(os.environ['VIRTUAL_ENV'])")
    assert done.returncode == 0, done.stderr
    assert calls == []  # neither sync nor even uv --version: the stamp matched
    assert done.stdout.strip() == str(checkout / ".venv")


@pytest.mark.parametrize("changed", ["uv.lock", "pyproject.toml"])
def test_a_changed_lock_or_pyproject_syncs_again(checkout: Path, changed: str) -> None:
    _dev(checkout, "python", "-c", "pass")
    before = (checkout / ".venv" / ".dev-sync").read_text("utf-8")
    with (checkout / changed).open("a", encoding="utf-8") as file:
        file.write("# changed\n")
    done, calls = _dev(checkout, "python", "-c", "pass")
    assert done.returncode == 0, done.stderr
    assert "sync" in calls
    assert (checkout / ".venv" / ".dev-sync").read_text("utf-8") != before


def test_a_stamp_from_another_uv_version_syncs_again(checkout: Path) -> None:
    _dev(checkout, "python", "-c", "pass")
    (checkout / ".venv" / ".dev-sync").write_text("stamp of another uv\n", "utf-8")
    _, calls = _dev(checkout, "python", "-c", "pass")
    assert "sync" in calls


def test_the_exit_code_of_the_command_comes_through_stamped_or_not(checkout: Path) -> None:
    first, _ = _dev(checkout, "python", "-c", "raise SystemExit(3)")
    second, calls = _dev(checkout, "python", "-c", "raise SystemExit(3)")
    assert (first.returncode, second.returncode, calls) == (3, 3, [])
