"""Spot regular expressions that backtrack catastrophically in backtracking engines.

RE2 (which rulebridge uses) is immune, but rulesets are also read by editors and other
tools, so a pattern such as ``(a+)+`` or ``(\\w*)*`` is refused with a fix instead.
"""

from __future__ import annotations

__all__ = ["has_nested_quantifier"]


def has_nested_quantifier(pattern: str) -> bool:
    """True when a group holding an unbounded quantifier is itself repeated without bound.

    Example:
        >>> has_nested_quantifier(r"(a+)+$"), has_nested_quantifier(r"^(Flat|Room) \\d+$")
        (True, False)
    """
    groups = [False]
    closed: bool | None = None
    index = 0
    while index < len(pattern):
        char = pattern[index]
        unbounded, width = _unbounded_quantifier(pattern, index)
        if unbounded:
            if closed:
                return True
            groups[-1] = True
            closed = None
            index += width
            continue
        closed, index = _advance(pattern, index, char, groups)
    return False


def _advance(pattern: str, index: int, char: str, groups: list[bool]) -> tuple[bool | None, int]:
    if char == "\\":
        return None, index + 2
    if char == "[":
        return None, _skip_class(pattern, index)
    if char == "(":
        groups.append(False)
        return None, index + 1
    if char == ")" and len(groups) > 1:
        inner = groups.pop()
        groups[-1] = groups[-1] or inner
        return inner, index + 1
    return None, index + 1


def _unbounded_quantifier(pattern: str, index: int) -> tuple[bool, int]:
    char = pattern[index]
    if char in "*+":
        return True, 1
    if char == "{":
        end = pattern.find("}", index)
        body = pattern[index + 1 : end] if end != -1 else ""
        if body.endswith(",") and body[:-1].isdigit():
            return True, end - index + 1
    return False, 1


def _skip_class(pattern: str, index: int) -> int:
    position = index + 1
    if position < len(pattern) and pattern[position] == "^":
        position += 1
    if position < len(pattern) and pattern[position] == "]":
        position += 1
    while position < len(pattern) and pattern[position] != "]":
        position += 2 if pattern[position] == "\\" else 1
    return position + 1
