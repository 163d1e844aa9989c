"""Small reusable widgets of the TUI."""

from __future__ import annotations

from tui.widgets.events import EventBar
from tui.widgets.pane import Pane

__all__ = ["EventBar", "Pane"]
