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
  in `WIDTH` columns: on its key's line, on the next line (a mapping), or wrapped between
  its items with each line starting one column after the bracket; otherwise it becomes
  block. A block collection stays block (the author's choice);
- blank lines kept (runs of them as one); a trailing comment keeps its column when it can.

The result is checked: read back with `parse_document` it must hold exactly the data the file
held, and formatting it again changes nothing.

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
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.tokens import AliasToken

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


def _compose(text: str, label: str) -> Node:
    try:
        node = YAML(typ="rt", pure=True).compose(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise RulesetErrors(
            [RulesetError(label, line, column, "yaml-syntax", str(exc.problem or exc))]
        ) from exc
    if node is None:
        raise RulesetErrors([RulesetError(label, 1, 1, "empty-file", "no YAML document")])
    return node  # type: ignore[no-any-return]


class _Tree:
    """The composed nodes, with comments and blank lines attached where they belong."""

    def __init__(self, source: _Text, root: Node) -> None:
        self.src = source
        self.seen: set[int] = set()
        self.all: list[LayoutNode] = []
        self.aliases = iter(_alias_spans(source.text))
        self.scalars: list[tuple[int, int]] = []
        self.entries: list[LayoutNode] = []  # mapping keys and list items, the owners of lines
        self.flows: list[LayoutNode] = []
        self.root = self._walk(root)
        self.scalars.sort()
        self.header = self._attach()

    def _walk(self, node: Node) -> LayoutNode:
        if id(node) in self.seen:  # an alias: ruamel gives the anchored node again
            start, end = next(self.aliases)
            alias = LayoutNode("scalar", start, end, self.src.line_of(start), value=node.value)
            self.scalars.append((start, end))
            return alias
        self.seen.add(id(node))
        kind = (
            "scalar"
            if isinstance(node, ScalarNode)
            else "map"
            if isinstance(node, MappingNode)
            else "seq"
        )
        end = node.end_mark.index
        if isinstance(node, ScalarNode) and node.style in ("|", ">"):
            end = self._block_end(node)
        info = LayoutNode(kind, node.start_mark.index, end, node.start_mark.line)
        info.anchor = node.anchor if kind != "scalar" else None
        if isinstance(node, ScalarNode):
            info.style, info.value = node.style, node.value
            self.scalars.append((info.start, end))
        elif isinstance(node, MappingNode):
            info.flow_style = bool(node.flow_style)
            info.value = []
            for key, value in node.value:
                if not isinstance(key, ScalarNode):
                    self._refuse(key, "a key that is not a plain value")
                pair = (self._walk(key), self._walk(value))
                self.entries.append(pair[0])
                info.value.append(pair)
        elif isinstance(node, SequenceNode):
            info.flow_style = bool(node.flow_style)
            info.value = [self._walk(item) for item in node.value]
            self.entries += info.value
        if kind != "scalar" and info.flow_style:
            self.flows.append(info)
        self.all.append(info)
        return info

    def _refuse(self, node: Node, what: str) -> None:
        mark = node.start_mark
        raise RulesetErrors(
            [
                RulesetError(
                    self.src.label, mark.line + 1, mark.column + 1, "fmt", f"fmt keeps {what}"
                )
            ]
        )

    def _block_end(self, node: ScalarNode) -> int:
        """Where a block scalar's text ends: after its last non-blank line (all of them kept
        with ``+``)."""
        text = self.src.text[node.start_mark.index : node.end_mark.index]
        if "+" in text.split("\n", 1)[0]:
            return int(node.end_mark.index)
        return int(node.start_mark.index) + len(text.rstrip())

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
        """Attach comments and blank lines; return the lines before the document."""
        claimed: set[int] = set(range(self.root.line))
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
        header = []
        for number in range(self.root.line):
            header.append(comment_lines.get(number, "").strip())
        tail = [
            comment_lines[n].strip()
            for n in sorted(comment_lines)
            if n not in claimed and n >= self.root.line
        ]
        self.footer = [line for line in tail if line]
        return _squeeze(header) if any(header) else []


def _alias_spans(text: str) -> list[tuple[int, int]]:
    """Where each alias (``*name``) is written, in document order."""
    return [
        (token.start_mark.index, token.end_mark.index)
        for token in YAML(typ="rt", pure=True).scan(text)
        if isinstance(token, AliasToken)
    ]


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
    tree = _Tree(source, _compose(text, label))
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
    if _comments(tree) != _comments(_Tree(_Text(result, label), _compose(result, label))):
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
