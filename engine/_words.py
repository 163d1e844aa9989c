"""Plain words for explanations (`engine.explain.in_words`): the texts the condition
compiler writes (``= 'Let'``, ``in [A, B]``, ``after as_of (2025-06-02)``, ``any tenancies:
...``) said for an agency, without operators, brackets or Python reprs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["because_words", "clean", "condition_words", "field_words", "value_words"]

_MAX_SHOWN = 6
_ORDER_WORDS = {
    ">": "more than",
    ">=": "at least",
    "<": "less than",
    "<=": "at most",
    "before": "before",
    "after": "after",
}
_QUOTED = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)\"""")
_SUFFIX = re.compile(r"^(.*?)((?: \((?:setting [^()]*|ignoring case|\d{4}-\d{2}-\d{2})\))*)$")
_QUANTIFIED = re.compile(r"^(any|all|none) ([^\s:]+): (.*)$", re.DOTALL)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def because_words(name: str, value: Any, expected: str, held: bool) -> str:
    """One reason in words: field `name` read `value`; `expected` held or not (`held`).

    Example:
        >>> because_words("status", "Let", "in [Active, Proposed]", False)
        'status is Let, not one of Active or Proposed'
    """
    for word in ("not", "none of"):
        if expected.startswith(f"{word} (") and expected.endswith(")"):
            return because_words(name, value, expected[len(word) + 2 : -1], not held)
    so = _split_so(expected)
    if so is not None:
        condition, result = so
        return f"{condition_words(condition)}, so {_literal(result)}"
    if name.startswith("setting "):
        subject = f"the setting {field_words(name[8:])}"
    elif name.startswith("rule "):
        return f"{clean(name)} {'holds' if held else 'does not hold'}"
    else:
        subject = field_words(name)
    quantified = re.match(r"^(any|all|none) (related )?matching: (.*)$", expected, re.DOTALL)
    if quantified:
        return _quantified_words(quantified.group(1), name, value, quantified.group(3), held)
    included = re.match(r"^a related record included as (\S+)$", expected)
    if included:
        return _included_words(name, value, included.group(1), held)
    return _leaf_words(subject, value, expected, held)


def _leaf_words(subject: str, value: Any, expected: str, held: bool) -> str:
    """A comparison read on one record: ``status is Let, not one of Active or Proposed``."""
    body, suffix = _suffix(expected)
    shown = value_words(value)
    empty = value is None or value == "" or value == []
    operator, _, operand = body.partition(" ")
    if body.startswith("not in "):
        wanted = f"one of {_options(body[7:])}"
        return f"{subject} is {shown}, {'not ' if held else ''}{wanted}{suffix}"
    if operator in ("=", "!="):
        target = _literal(operand)
        if (operator == "=") == held:
            return f"{subject} is {target}{suffix}"
        return f"{subject} is {shown}, not {target}{suffix}"
    if operator == "in":
        return f"{subject} is {shown}, {'' if held else 'not '}one of {_options(operand)}{suffix}"
    if body in ("present", "absent"):
        if empty:
            return f"{subject} is empty"
        return f"{subject} is {shown}" + (", not empty" if body == "absent" else "")
    if operator in _ORDER_WORDS:
        wanted = f"{_ORDER_WORDS[operator]} {_operand(operand)}"
        if empty:
            return f"{subject} is empty, so not {wanted}{suffix}"
        return f"{subject} {shown} is {'' if held else 'not '}{wanted}{suffix}"
    if operator == "matches":
        verb = "matches" if held else "does not match"
        return f"{subject} {shown} {verb} the pattern {_pattern(operand)}{suffix}"
    verdict = "" if held else "not "
    return clean(f"{subject} is {shown}, {verdict}{body}{suffix}")


def _quantified_words(quantifier: str, name: str, value: Any, inner: str, held: bool) -> str:
    keys = _keys(value)
    things = field_words(name)
    matching = condition_words(inner)
    if not keys and quantifier != "all":
        return f"it has no {things}"
    shown = f"{things} {keys}" if keys else things
    positive = {"any": held, "none": not held, "all": held}[quantifier]
    if quantifier == "all":
        return f"{'all' if held else 'not all'} of its {shown} match: {matching}"
    return f"{'one' if positive else 'none'} of its {shown} matches: {matching}"


def _included_words(name: str, value: Any, entity: str, held: bool) -> str:
    keys = _keys(value)
    things = field_words(name)
    if not keys:
        return f"it has no {things}"
    kind = clean(entity.replace("_", " "))
    return f"{'one' if held else 'none'} of its {things} {keys} is included as {kind}"


@lru_cache(maxsize=4096)  # a ruleset has few conditions; each is said for many records
def condition_words(text: str) -> str:
    """Condition text as `Check.text` builds it, recursively, in words."""
    text = _unwrap(text.strip())
    quantified = _QUANTIFIED.match(text)
    if quantified:
        quantifier, name, inner = quantified.groups()
        things = field_words(name)
        words = condition_words(inner)
        if quantifier == "all":
            return f"all of its {things} match: {words}"
        return f"{'one' if quantifier == 'any' else 'none'} of its {things} matches: {words}"
    for joiner in (" or ", " and "):
        parts = _split_top(text, joiner)
        if len(parts) > 1:
            return joiner.join(_grouped(part) for part in parts)
    for word in ("not", "none of"):
        if text.startswith(f"{word} (") and text.endswith(")"):
            return f"{word} ({condition_words(text[len(word) + 2 : -1])})"
    rule = re.fullmatch(r"rule (\S+) holds", text)
    if rule:
        return f"rule {clean(rule.group(1))} holds"
    included = re.fullmatch(r"(\S+) included as (\S+)", text)
    if included:
        things, kind = field_words(included.group(1)), clean(included.group(2).replace("_", " "))
        return f"one of its {things} is included as {kind}"
    if text.startswith("setting "):
        name, _, rest = text[8:].partition(" ")
        return _condition_leaf(f"the setting {field_words(name)}", rest)
    name, _, rest = text.partition(" ")
    return _condition_leaf(field_words(name), rest)


def _grouped(part: str) -> str:
    """One operand of ``and``/``or`` in words, in parentheses when it was grouped."""
    part = part.strip()
    words = condition_words(part)
    return f"({words})" if part.startswith("(") and _closes_at_end(part) else words


def _condition_leaf(subject: str, body: str) -> str:
    body, suffix = _suffix(body)
    operator, _, operand = body.partition(" ")
    if body.startswith("not in "):
        return f"{subject} is none of {_options(body[7:])}{suffix}"
    if operator == "=":
        return f"{subject} is {_literal(operand)}{suffix}"
    if operator == "!=":
        return f"{subject} is not {_literal(operand)}{suffix}"
    if operator == "in":
        return f"{subject} is one of {_options(operand)}{suffix}"
    if body == "present":
        return f"{subject} is given"
    if body == "absent":
        return f"{subject} is empty"
    if operator in _ORDER_WORDS:
        return f"{subject} is {_ORDER_WORDS[operator]} {_operand(operand)}{suffix}"
    if operator == "matches":
        return f"{subject} matches the pattern {_pattern(operand)}{suffix}"
    return clean(f"{subject} {body}{suffix}")


def _suffix(text: str) -> tuple[str, str]:
    """``(body, words)`` for the trailing ``(setting X)``, ``(ignoring case)`` and
    ``(YYYY-MM-DD)`` notes a comparison text may carry."""
    found = _SUFFIX.match(text)
    if found is None or not found.group(2):
        return text, ""
    body, notes = found.group(1), found.group(2)
    words = []
    for note in re.findall(r"\(([^()]*)\)", notes):
        if note.startswith("setting "):
            words.append(f" (the setting {field_words(note[8:])})")
        elif note == "ignoring case":
            words.append(" (ignoring case)")
        elif body.endswith("as_of"):
            body += f" ({note})"
        else:
            words.append(f" ({note})")
    return body, "".join(words)


def _operand(text: str) -> str:
    if text.startswith("as_of"):
        return "the migration date" + text[5:]
    return _literal(text)


def _pattern(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == "/" else text


def _options(text: str) -> str:
    """``[A, B, C]`` or ``['A', 'B']`` as ``A, B or C``."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    items = [_literal(item) for item in _split_top(inner, ", ") if item.strip()]
    return _joined(items, "or") if items else "nothing"


def _literal(text: str) -> str:
    """A rendered value (a repr, a list text or a bare word) as words."""
    text = text.strip()
    if text in ("True", "False"):
        return "yes" if text == "True" else "no"
    if text == "None":
        return "empty"
    quoted = _QUOTED.fullmatch(text)
    if quoted:
        inner = quoted.group(1) if quoted.group(1) is not None else quoted.group(2)
        return re.sub(r"\\(.)", r"\1", inner)
    if text.startswith("[") and text.endswith("]"):
        return _options(text)
    return clean(text)


def value_words(value: Any) -> str:
    """A value read from a record, as words."""
    if value is True or value is False:
        return "yes" if value else "no"
    if value is None or value == "" or value == []:
        return "empty"
    if isinstance(value, (list, tuple)):
        items = [value_words(item) for item in value]
        if len(items) > _MAX_SHOWN:
            items = [*items[:_MAX_SHOWN], f"{len(items) - _MAX_SHOWN} more"]
        return _joined(items, "and")
    if isinstance(value, Mapping):
        return "a record"
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _keys(value: Any) -> str:
    """Related records' keys as ``(T1, T2)`` ("" when none)."""
    if isinstance(value, (list, tuple)):
        shown = [str(item) for item in value if item is not None]
        if len(shown) > _MAX_SHOWN:
            shown = [*shown[:_MAX_SHOWN], f"{len(shown) - _MAX_SHOWN} more"]
        return f"({', '.join(shown)})" if shown else ""
    if isinstance(value, str) and value and not value.startswith("0 "):
        return f"({value})"
    return ""


@lru_cache(maxsize=4096)
def field_words(name: str) -> str:
    """``profileExpiryDate`` -> ``profile expiry date``; ``images[]`` -> ``images``."""
    words = []
    for part in re.split(r"[._\s]+", name.replace("[]", "")):
        for word in _CAMEL.split(part):
            if word:
                words.append(word if word.isupper() and len(word) > 1 else word.lower())
    return clean(" ".join(words)) or "the value"


def _joined(items: list[str], last: str) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def _split_so(expected: str) -> tuple[str, str] | None:
    """A case branch's ``<condition>, so <value repr>``, split (None when not that form)."""
    index = expected.rfind(", so ")
    if index < 0:
        return None
    return expected[:index], expected[index + 5 :]


def _split_top(text: str, joiner: str) -> list[str]:
    """`text` split at `joiner` outside brackets, parentheses, quotes and /patterns/."""
    parts, depth, start, quote, index = [], 0, 0, "", 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"/" and (index == 0 or not text[index - 1].isalnum()):
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif depth == 0 and text.startswith(joiner, index):
            parts.append(text[start:index])
            start = index + len(joiner)
            index = start
            continue
        index += 1
    parts.append(text[start:])
    return parts


def _unwrap(text: str) -> str:
    """``(A and B)`` -> ``A and B`` when the parentheses enclose the whole text."""
    while text.startswith("(") and _closes_at_end(text):
        text = text[1:-1].strip()
    return text


def _closes_at_end(text: str) -> bool:
    depth = 0
    for index, char in enumerate(text):
        depth += char == "("
        depth -= char == ")"
        if depth == 0:
            return index == len(text) - 1
    return False


def clean(text: str) -> str:
    """Operators, brackets and repr quotes out of text a person reads."""
    text = _QUOTED.sub(lambda found: found.group(1) or found.group(2) or "", text)
    text = text.replace("!=", " is not ").replace(">=", " at least ").replace("<=", " at most ")
    text = text.replace("=", " is ").replace("[", "").replace("]", "")
    return re.sub(r"\s+", " ", text).strip()
