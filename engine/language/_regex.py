"""Spot regular expressions that backtrack catastrophically in backtracking engines.

RE2 (which rulebridge uses) is immune, but rulesets are also read by editors and other
tools, so a pattern such as ``(a+)+`` or ``(\\w*)*`` is refused with a fix instead.
"""

from __future__ import annotations

from typing import Any

import re2

__all__ = ["compile_re2", "has_nested_quantifier"]


def compile_re2(pattern: str, *, case_sensitive: bool = True) -> tuple[Any, str, str]:
    """Compile `pattern` with RE2 (linear time, 8 MiB at most).

    Returns ``(regex, "", "")``, or ``(None, code, message)`` saying why it is refused:
    ``slow-regex`` (a nested unbounded repeat, see `has_nested_quantifier`) or
    ``bad-regex`` (not valid RE2).

    Example:
        >>> compile_re2("^([^/]+)")[0].search("100020/OID-1").group(1)
        '100020'
        >>> compile_re2("(a+)+")[1]
        'slow-regex'
    """
    if has_nested_quantifier(pattern):
        return (
            None,
            "slow-regex",
            f"/{pattern}/ repeats a group that itself repeats without bound (like (a+)+), "
            "which backtracks catastrophically; repeat only once",
        )
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    options.case_sensitive = case_sensitive
    try:
        return re2.compile(pattern, options), "", ""
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        return None, "bad-regex", f"/{pattern}/ is not a valid RE2 regular expression: {reason}"


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
