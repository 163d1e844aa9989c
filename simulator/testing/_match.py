"""Subset matching of expectations against what the ruleset did, and values as text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.explain import render_value
from simulator.lifecycle.expect import same

__all__ = ["ANY", "same", "shown", "subset"]

ANY = "*"
"""An expected value of ``"*"`` matches any non-empty value."""


def subset(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    """Whether every dotted path of `expected` has the same value in `actual` (`same`, the
    one comparison scenario expectations use too: ``"*"`` any non-empty value, numbers by
    value, true never 1).

    Example:
        >>> subset({"Address.Town": "Leeds", "n": 1}, {"Address": {"Town": "Leeds"}, "n": 1.0})
        True
        >>> subset({"flag": True}, {"flag": 1})
        False
    """
    return same(dict(expected), actual)


def shown(value: Any) -> str:
    """A value as a failure message shows it."""
    return render_value(value)
