"""YAML syntax errors in plain words: what is wrong, and what to do (the caret shows where)."""

from __future__ import annotations

import re

__all__ = ["in_words"]

_SYNTAX_WORDS: tuple[tuple[str, str], ...] = (
    (
        r"^mapping values are not allowed here",
        "a mapping value is not allowed here: is a colon missing a space after it, is "
        "the line indented too far, or should the value be quoted?",
    ),
    (
        r"^could not find expected ':'",
        "a line without 'key: value' in a mapping: is the ':' missing after the key "
        "(before this line), or is a line indented wrong?",
    ),
    (
        r"^expected <block end>, but found '<block mapping start>'",
        "this line is indented differently from the keys above it: line up the keys of "
        "one mapping in the same column",
    ),
    (
        r"^expected <block end>, but found '\?'",
        "a 'key: value' among list items ('- '): line it up as a list item, or indent it under one",
    ),
    (
        r"^expected <block end>, but found '-'",
        "a list item ('- ') where a key was expected: indent the list under its key",
    ),
    (
        r"^found undefined alias '(?P<name>.*)'",
        "the alias *{name} refers to no anchor &{name} above it: define the anchor first, "
        "or quote the value if '*' is meant as text",
    ),
    (
        r"^found unexpected end of stream",
        "a quoted value is not closed: add the closing quote",
    ),
    (
        r"^found unknown escape character '(?P<name>.*)'",
        "'\\{name}' is not an escape in a double-quoted value: write '\\\\' for a "
        "backslash, or use single quotes",
    ),
    (
        r"^expected ',' or '\]'",
        "a list in [ ] is not closed, or lacks a comma: close it with ']' or add the ','",
    ),
    (
        r"^expected ',' or '\}'",
        "a mapping in { } is not closed, or lacks a comma: close it with '}' or add the ','",
    ),
    (
        r"^but found another document",
        "a second YAML document starts here ('---'): a file holds one; remove the line "
        "or split the file",
    ),
    (
        r"^found incompatible YAML document",
        "only YAML 1.x is read: remove the %YAML line or make it %YAML 1.2",
    ),
    (
        r"^found character '(?P<name>.)' that cannot start any token",
        "a value cannot start with '{name}': quote the value",
    ),
    (
        r"^expected the node content, but found ','",
        "a value is missing before this ',': write one, or remove the comma",
    ),
    (
        r"^expected '<document start>', but found",
        "unexpected text after the end of the document: is there a closing bracket too many?",
    ),
    (
        r"found duplicate anchor '(?P<name>.*)'",
        "the anchor &{name} is defined a second time here: give each anchor its own name",
    ),
)
"""PyYAML's syntax problems (patterns) in plain words, with what to do (the caret shows where).
The patterns are compiled on first use (`re` keeps them), not by every process that reads
a file without a syntax error."""


def in_words(problem: str, context: str) -> str | None:
    """A syntax problem in plain words, or None when there are none for it."""
    for pattern, words in _SYNTAX_WORDS:
        match = re.search(pattern, f"{problem} ({context})" if context else problem)
        if match is not None:
            return words.replace("{name}", match.groupdict().get("name") or "")
    return None
