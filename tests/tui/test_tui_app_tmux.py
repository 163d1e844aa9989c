"""The README's key walk in a real terminal (tmux, 80x24): report, instruct, appointment,
complete, close, and the screen shows a closed issue with a charge in money. Slow: it starts
the real command; skipped where tmux is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tui.tui_helpers import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]

WALK = [  # (keys, what the screen shows once the step is done)
    (["1", "Enter"], "Reported"),
    (["2", "Enter"], "JobAwarded"),
    (["1", "Enter"], "AwaitingJobCompletion"),
    (["1", "Enter"], "JobCompleted"),
    (["1", "Enter"], "Closed"),
]


def _tmux(*args: str) -> str:
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, check=True, timeout=10)
    return done.stdout


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[str]:
    """A detached 80x24 tmux session running ``rulebridge tui``; killed afterwards."""
    name = f"rb-tui-{os.getpid()}"
    command = f"{sys.executable} -m rulebridge tui --no-watch --screenshots {tmp_path}"
    _tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", "-c", str(ROOT), command)
    try:
        yield name
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)


def _screen(name: str) -> str:
    return _tmux("capture-pane", "-p", "-t", name)


def _wait(name: str, shown: Callable[[str], bool], timeout: float = 20.0) -> str:
    """The screen once `shown` holds for it (polled; a real terminal has no pilot)."""
    deadline = time.monotonic() + timeout
    while True:
        screen = _screen(name)
        if shown(screen) or time.monotonic() > deadline:
            return screen
        time.sleep(0.1)


def test_the_readme_walk_closes_an_issue_with_a_charge_at_80x24(terminal: str) -> None:
    screen = _wait(terminal, lambda s: "1 report" in s)
    assert "1 report" in screen, screen
    for keys, status in WALK:
        _tmux("send-keys", "-t", terminal, keys[0])
        _wait(terminal, lambda s: "enter" in s.lower() and "esc" in s.lower())
        _tmux("send-keys", "-t", terminal, keys[1])
        screen = _wait(terminal, lambda s, status=status: f"I1  {status}" in s)  # type: ignore[misc]
        assert f"I1  {status}" in screen, screen
    screen = _wait(terminal, lambda s: "£" in s and "no events possible" in s)
    assert "£" in screen, screen  # the charge, in money, in the Alto pane
    assert "no events possible" in screen, screen
    lines = screen.splitlines()
    assert len(lines) <= 24
    assert "^p" in lines[-1] or "palette" in lines[-1], screen  # the footer is on screen
