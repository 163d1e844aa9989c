"""Rich text for the stepper's panes, drawn from the model (`tui.model`)."""

from __future__ import annotations

from tui.render.expect import expect_text
from tui.render.money import money
from tui.render.panes import alto_text, fixflo_text, invariants_text
from tui.render.timeline import timeline_text
from tui.render.why import explain_text

__all__ = [
    "alto_text",
    "expect_text",
    "explain_text",
    "fixflo_text",
    "invariants_text",
    "money",
    "timeline_text",
]
