"""The rulebridge TUI (Textual): step a Fixflo issue through a ruleset's lifecycle.

Example::

    from tui import make_app
    make_app("rulesets/alto-fixflo/v2.yaml", seed=7).run()
"""

from __future__ import annotations

from tui.app import RulebridgeApp, make_app

__all__ = ["RulebridgeApp", "make_app"]
