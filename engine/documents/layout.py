"""The canonical layout of a ruleset or settings file, for `rulebridge fmt`.

The file is composed by ruamel.yaml (YAML 1.2; the only module that imports it) into nodes
that know where they were written; the layout is then written from those nodes, with every
scalar copied as it was written (its quotes, its folded or literal form) and every comment
kept, so only layout changes, never a value:

- keys in a canonical order: the top level of a ruleset as `TOP_ORDER`, and inside settings,
  sources, targets, entities, links, lifecycle statuses and events, and every rule (a list
  item with an ``id``: ``id`` and ``summary`` first); keys not named keep their order, after
  those named; a comment above a key moves with it;
- block style indented by two, a list's ``-`` two in from its key;
- a flow collection (``{...}``, ``[...]``) stays flow only when it holds no comment and fits
  in `WIDTH` columns: on one line after its key, else (a mapping) on the next line, else
  wrapped between its items (where its author broke it, and wherever a line would grow
  past the width; each line one column after its bracket, a nested collection wrapped the
  same way inside); otherwise it becomes block. A block collection stays block (the
  author's choice);
- blank lines kept (runs of them as one); a trailing comment keeps its column when it can.

The result is checked before it is returned: read back with `parse_document` it holds
exactly the data the file held, and every comment. Formatting it again changes nothing
(tests/engine/test_layout_fmt.py, with Hypothesis over mutated shipped rulesets).

Example:
    >>> print(format_text("b: 1   # one\\nruleset: x\\nc: {d: [1, 2]}\\n", "x.yaml"), end="")
    ruleset: x
    b: 1   # one
    c: {d: [1, 2]}
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    Event,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)

from engine.documents._layout_write import (
    TOP_ORDER,
    WIDTH,
    LayoutNode,
    Parsed,
    Unformattable,
    Writer,
)
from engine.documents.document import parse_document
from engine.errors import RulesetError, RulesetErrors

__all__ = ["TOP_ORDER", "WIDTH", "format_text", "kind_of"]


def kind_of(data: Any) -> str | None:
    """``ruleset`` or ``settings`` by the document's top-level keys, else None.

    Example:
        >>> kind_of({"ruleset": "x"}), kind_of({"settings_for": "x"}), kind_of([1])
        ('ruleset', 'settings', None)
    """
    if isinstance(data, dict) and "ruleset" in data:
        return "ruleset"
    if isinstance(data, dict) and "settings_for" in data:
        return "settings"
    return None


class _Text:
    """The source, its line starts and where its scalars and comments are."""

    def __init__(self, text: str, label: str) -> None:
        self.text, self.label = text, label
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.lines = text.split("\n")

    def line_of(self, index: int) -> int:
        return bisect.bisect_right(self.starts, index) - 1


def _events(text: str, label: str) -> list[Event]:
    """The document's parse events (they carry where each node was written, aliases too)."""
    try:
        events = list(YAML(typ="safe", pure=True).parse(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise RulesetErrors(
            [RulesetError(label, line, column, "yaml-syntax", str(exc.problem or exc))]
        ) from exc
    nodes = [event for event in events if isinstance(event, NodeEvent)]
    if not nodes:
        raise RulesetErrors([RulesetError(label, 1, 1, "empty-file", "no YAML document")])
    return [event for event in events if isinstance(event, NodeEvent | CollectionEndEvent)]


class _Tree:
    """The composed nodes, with comments and blank lines attached where they belong."""

    def __init__(self, source: _Text, events: list[Event]) -> None:
        self.src = source
        self.events, self.at = events, 0
        self.all: list[LayoutNode] = []
        self.scalars: list[tuple[int, int]] = []
        self.entries: list[LayoutNode] = []  # mapping keys and list items, the owners of lines
        self.flows: list[LayoutNode] = []
        self.root = self._walk()
        self.scalars.sort()
        self.header = self._attach()

    def _walk(self) -> LayoutNode:
        """The next node of the event stream (a whole collection), as a LayoutNode."""
        event = self.events[self.at]
        self.at += 1
        start, end = event.start_mark.index, event.end_mark.index
        line = event.start_mark.line
        if isinstance(event, AliasEvent | ScalarEvent):
            style = event.style if isinstance(event, ScalarEvent) else None
            value = event.value if isinstance(event, ScalarEvent) else f"*{event.anchor}"
            if style in ("|", ">"):
                end = self._block_end(start, end)
            info = LayoutNode("scalar", start, end, line, style=style, value=value)
            self.scalars.append((start, end))
        else:
            kind = "map" if isinstance(event, MappingStartEvent) else "seq"
            info = LayoutNode(kind, start, end, line, anchor=getattr(event, "anchor", None))
            info.flow_style = bool(getattr(event, "flow_style", False))
            info.value = []
            while not isinstance(self.events[self.at], CollectionEndEvent):
                if kind == "map":
                    key = self._walk()
                    if key.kind != "scalar":
                        self._refuse(key, "a key that is not a plain value")
                    info.value.append((key, self._walk()))
                    self.entries.append(key)
                else:
                    info.value.append(self._walk())
                    self.entries.append(info.value[-1])
            info.end = self.events[self.at].end_mark.index
            self.at += 1
            if info.flow_style:
                self.flows.append(info)
        self.all.append(info)
        return info

    def _refuse(self, node: LayoutNode, what: str) -> None:
        line = node.line + 1
        column = node.start - self.src.starts[node.line] + 1
        raise RulesetErrors(
            [RulesetError(self.src.label, line, column, "fmt", f"fmt keeps {what}")]
        )

    def _block_end(self, start: int, end: int) -> int:
        """Where a block scalar's text ends: after its last non-blank line (all of them kept
        with ``+``)."""
        text = self.src.text[start:end]
        return end if "+" in text.split("\n", 1)[0] else start + len(text.rstrip())

    def _in_scalar(self, index: int) -> bool:
        at = bisect.bisect_right(self.scalars, (index, 1 << 62)) - 1
        return at >= 0 and self.scalars[at][0] <= index < self.scalars[at][1]

    def comments(self) -> Iterator[tuple[int, int, str]]:
        """(index, line, text) of every comment."""
        for number, line in enumerate(self.src.lines):
            base = self.src.starts[number]
            for match in re.finditer(r"(?:^|(?<=[ \t]))#", line):
                if not self._in_scalar(base + match.start()):
                    yield base + match.start(), number, line[match.start() :].rstrip()
                    break

    def _attach(self) -> list[str]:
        """Attach comments and blank lines; return the comment lines that open the file."""
        header: list[str] = []  # the comment lines that open the file stay first
        for line in self.src.lines[: self.root.line]:
            if not line.startswith("#"):
                break
            header.append(line.rstrip())
        claimed: set[int] = set(range(len(header)))
        comment_lines: dict[int, str] = {}
        ends = sorted(
            (info.end, -(info.end - info.start), info)
            for info in self.all
            if info.kind == "scalar" or info in self.flows
        )
        keys = [(end, span) for end, span, _ in ends]
        for index, number, comment in self.comments():
            line = self.src.lines[number]
            column = index - self.src.starts[number]
            for flow in self.flows:
                if flow.start < index < flow.end:
                    flow.commented = True
            if line[:column].strip():
                at = bisect.bisect_right(keys, (index, 0)) - 1
                if at >= 0 and self.src.line_of(ends[at][0]) == number:
                    ends[at][2].trailing.append((column, comment))
                    continue
            comment_lines[number] = comment
        for info in sorted(self.entries, key=lambda entry: (entry.start, entry.start - entry.end)):
            number = info.line - 1
            found: list[str] = []
            while number >= 0 and number not in claimed:
                text = self.src.lines[number]
                if number in comment_lines and not text[: text.index("#")].strip():
                    found.append(comment_lines[number].strip())
                elif text.strip() or self._in_scalar(self.src.starts[number]):
                    break
                else:
                    found.append("")
                claimed.add(number)
                number -= 1
            info.leading = _squeeze(found[::-1])
        tail = [comment_lines[n].strip() for n in sorted(comment_lines) if n not in claimed]
        self.footer = [line for line in tail if line]
        return header


def _squeeze(lines: list[str]) -> list[str]:
    """Runs of blank lines as one; none leading a document."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]) or not out:
            out.append(line)
    return out


def _comments(tree: _Tree) -> list[str]:
    """Every comment's text, in order (the layout may move them, never lose one)."""
    return sorted(comment.strip() for _, _, comment in tree.comments())


def format_text(text: str, label: str) -> str:
    """`text` (a YAML document named `label` in messages) in the canonical layout.

    Args:
        text: the file's text.
        label: the file's name, for messages.

    Raises:
        RulesetErrors: the text is not YAML a ruleset may hold (located, as `load_document`
            reports it), or holds what fmt cannot lay out without changing it.

    Example:
        >>> format_text("a: [1,   2]  # kept in its column\\nb:   {c: 1}\\n", "x.yaml")
        'a: [1, 2]    # kept in its column\\nb: {c: 1}\\n'
    """
    before = parse_document(text.encode("utf-8"), label).data
    source = _Text(text, label)
    tree = _Tree(source, _events(text, label))
    kind = kind_of(before)
    parsed = Parsed(text, tree.root, tree.header, tree.footer)
    writer = Writer(parsed, reorder=kind == "ruleset", settings=kind == "settings")
    try:
        result = writer.document()
    except Unformattable as exc:
        line = exc.info.line + 1
        raise RulesetErrors(
            [RulesetError(label, line, 1, "fmt", f"fmt keeps {exc.what} as it is: rewrite it")]
        ) from exc
    after = parse_document(result.encode("utf-8"), label).data
    if _comments(tree) != _comments(_Tree(_Text(result, label), _events(result, label))):
        raise RulesetErrors(
            [
                RulesetError(
                    label,
                    1,
                    1,
                    "fmt",
                    "the new layout would lose a comment; "
                    "the file was left as it is (please report this)",
                )
            ]
        )
    if after != before:
        raise RulesetErrors(
            [
                RulesetError(
                    label,
                    1,
                    1,
                    "fmt",
                    "the new layout would change the data; "
                    "the file was left as it is (please report this)",
                )
            ]
        )
    return result
