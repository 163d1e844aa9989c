"""The TUI's screens: the lifecycle stepper, the ruleset browser, the lifecycle diagram, a
rule's detail, the file picker, the errors of a failed reload, help and dialogs."""

from __future__ import annotations

from tui.screens.browser import BrowserScreen
from tui.screens.dialogs import AgencyDialog, EventDialog, PromptDialog
from tui.screens.errors import ErrorsScreen
from tui.screens.files import FilePicker, SaveChoice, scenarios_folder
from tui.screens.help import HelpScreen
from tui.screens.lifecycle import LifecycleScreen
from tui.screens.rule import RuleScreen
from tui.screens.stepper import StepperScreen

__all__ = [
    "AgencyDialog",
    "BrowserScreen",
    "ErrorsScreen",
    "EventDialog",
    "FilePicker",
    "HelpScreen",
    "LifecycleScreen",
    "PromptDialog",
    "RuleScreen",
    "SaveChoice",
    "StepperScreen",
    "scenarios_folder",
]
