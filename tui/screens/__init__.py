"""The TUI's screens: the lifecycle stepper, the ruleset browser, help and dialogs."""

from __future__ import annotations

from tui.screens.browser import BrowserScreen
from tui.screens.dialogs import AgencyDialog, EventDialog, PromptDialog
from tui.screens.help import HelpScreen
from tui.screens.stepper import StepperScreen

__all__ = [
    "AgencyDialog",
    "BrowserScreen",
    "EventDialog",
    "HelpScreen",
    "PromptDialog",
    "StepperScreen",
]
