"""'Did you mean ...?' hints from close matches (after rule-engine's suggestions.py)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like `word`, or None when nothing is close enough.

    A choice equal to `word` but for case and surrounding spaces wins outright; then the
    closest by difflib; then a choice that `word` starts with (``equals`` -> ``eq``) or that
    starts with `word`.

    Example:
        >>> closest("inclde", ["include", "map", "archive"])
        'include'
    """
    options = sorted(set(choices))
    folded = {option.casefold(): option for option in options}
    if word.strip().casefold() in folded:
        return folded[word.strip().casefold()]
    cutoff = 0.5 if len(word) <= 4 else 0.6
    matches = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    if matches:
        return matches[0]
    prefixes = [
        option
        for option in options
        if len(option) >= 2
        and (word.startswith(option) or (option.startswith(word) and len(word) >= 3))
    ]
    return max(prefixes, key=len) if prefixes else None


def did_you_mean(word: str, choices: Iterable[str], *, quote: Callable[[str], str] = repr) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string.

    `quote` writes the choice as the message around it writes names (JSON messages pass
    `json.dumps`, so the hint reads ``(did you mean "x"?)``).

    Example:
        >>> did_you_mean("managementTyp", ["managementType", "recordType"])
        " (did you mean 'managementType'?)"
    """
    match = closest(word, choices)
    return f" (did you mean {quote(match)}?)" if match is not None and match != word else ""
