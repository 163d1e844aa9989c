"""The TUI's public names are exactly its __all__."""

from __future__ import annotations

import tui


def test_tui_exports() -> None:
    assert tui.__all__ == ["RulebridgeApp", "make_app"]
    for name in tui.__all__:
        assert getattr(tui, name).__module__.startswith("tui")
