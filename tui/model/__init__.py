"""The TUI's model, without Textual: the timeline of a session and the ruleset's rule index.

The screens draw these and call their methods; everything here is testable without a
terminal.
"""

from __future__ import annotations

from tui.model.rules import RuleInfo, rule_index
from tui.model.scenario_file import ScenarioFile, save_text, scenario_text
from tui.model.session import AGENCY_SETTINGS, Frame, Session, random_steps
from tui.model.watch import FileWatch

__all__ = [
    "AGENCY_SETTINGS",
    "FileWatch",
    "Frame",
    "RuleInfo",
    "ScenarioFile",
    "Session",
    "random_steps",
    "rule_index",
    "save_text",
    "scenario_text",
]
