"""'Did you mean ...?' hints from close matches (after rule-engine's suggestions.py)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like `word`, or None when nothing is close enough.

    A choice equal to `word` but for case wins outright.

    Example:
        >>> closest("inclde", ["include", "map", "archive"])
        'include'
    """
    options = sorted(set(choices))
    folded = {option.casefold(): option for option in options}
    if word.casefold() in folded:
        return folded[word.casefold()]
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string.

    Example:
        >>> did_you_mean("managementTyp", ["managementType", "recordType"])
        " (did you mean 'managementType'?)"
    """
    match = closest(word, choices)
    return f" (did you mean {match!r}?)" if match is not None and match != word else ""
