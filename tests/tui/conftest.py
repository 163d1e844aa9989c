"""Fixtures for the TUI tests."""

from __future__ import annotations

import pytest

from tests.tui.tui_helpers import build
from tui.app import RulebridgeApp


@pytest.fixture
def app() -> RulebridgeApp:
    """A fresh app on the shipped ruleset, with a fixed clock."""
    return build()
