"""Small reusable widgets of the TUI."""

from __future__ import annotations

from tui.widgets.events import EventBar
from tui.widgets.invariants import Invariants, invariants_summary
from tui.widgets.pane import Pane
from tui.widgets.stale import StaleLine

__all__ = ["EventBar", "Invariants", "Pane", "StaleLine", "invariants_summary"]
