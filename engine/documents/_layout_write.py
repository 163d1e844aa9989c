"""The writer of `engine.documents.layout`: a parsed document in the canonical layout.

Private: `layout.format_text` is the entry point. The writer knows nodes only as
`LayoutNode` (what `layout` builds from ruamel.yaml's), so ruamel stays in one module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TOP_ORDER", "WIDTH", "LayoutNode", "Parsed", "Unformattable", "Writer"]

WIDTH = 100
"""The widest a line may be made (a comment after it, or a long scalar, may go beyond)."""

TOP_ORDER: tuple[str, ...] = (
    "ruleset",
    "version",
    "summary",
    "description",
    "gaps",
    "settings",
    "tables",
    "sources",
    "targets",
    "entities",
    "links",
    "preflight",
    "lifecycle",
    "charges",
    "checklist",
)
"""The top-level keys of a ruleset, in order."""
_RULE = ("id", "summary")
_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {
    pattern: tuple(keys.split())
    for pattern, keys in [
        (("settings", "*"), "type allowed default summary"),
        (("sources", "*"), "summary label key parts fields relations"),
        (("targets", "*"), "summary key archived fields"),
        (
            ("entities", "*"),
            "summary from to ref role dedupe merge near unmatched departed include map archive",
        ),
        (("links", "*"), "id summary from to via target keys set unlink"),
        (
            ("lifecycle",),
            "summary source status revision start final works_order attachments statuses "
            "warnings events",
        ),
        (
            ("lifecycle", "statuses", "*"),
            "id summary works_order unchanged set attach charge cases",
        ),
        (("lifecycle", "events", "*"), "summary from to when sets"),
        (("checklist", "[]"), "id phase summary detail rules"),
    ]
}
_SETTINGS_ORDER = ("settings_for", "agency", "summary", "settings")


@dataclass(eq=False)
class LayoutNode:
    """One occurrence of a node (an alias is one of its own): what it is and where."""

    kind: str  # "map", "seq" or "scalar" (an alias is a scalar written "*name")
    start: int
    end: int
    line: int
    style: str | None = None  # a scalar's: "|", ">", quotes, or None (plain, alias)
    flow_style: bool = False
    anchor: str | None = None
    value: Any = None  # a scalar's value; a map's [(key, value)]; a seq's [item]
    trailing: list[tuple[int, str]] = field(default_factory=list)  # (column, comment)
    leading: list[str] = field(default_factory=list)  # "" for a blank line
    commented: bool = False  # a comment inside a flow collection


@dataclass(frozen=True)
class _Item:
    """An item of a flow collection: on one line, whether its author began a line with it,
    its ``key: `` (or nothing), its node and that node's path."""

    text: str
    broke: bool
    label: str
    value: LayoutNode
    path: tuple[str, ...]


@dataclass
class Parsed:
    """A document as the writer needs it: its text, root, and the comment lines before
    and after it."""

    text: str
    root: LayoutNode
    header: list[str]
    footer: list[str]


class Writer:
    """Writes the tree in the canonical layout."""

    def __init__(self, tree: Parsed, reorder: bool, settings: bool) -> None:
        self.tree, self.reorder, self.settings = tree, reorder, settings
        self.out: list[str] = []

    def document(self) -> str:
        self.out += self.tree.header
        root = self.tree.root
        if root.kind == "map" and root.value:
            self._block_mapping(root, 0, ())
        elif root.kind == "seq" and root.value:
            self._block_sequence(root, 0, ())
        else:
            raise Unformattable(root, "a document that is not a mapping or a list")
        self.out += self.tree.footer
        return "\n".join(self.out) + "\n"

    def _order(
        self, node: LayoutNode, path: tuple[str, ...]
    ) -> list[tuple[LayoutNode, LayoutNode]]:
        """The mapping's pairs in the canonical key order."""
        pairs = list(node.value)
        keys = [str(key.value) for key, _ in pairs]
        order: tuple[str, ...] | None = None
        if self.settings and not path:
            order = _SETTINGS_ORDER
        elif self.reorder:
            order = TOP_ORDER if not path else _ORDERS.get(_pattern(path))
            if order is None and path[-1:] == ("[]",) and "id" in keys:
                order = _RULE
        if order is None:
            return pairs
        rank = {name: place for place, name in enumerate(order)}
        return sorted(pairs, key=lambda pair: rank.get(str(pair[0].value), len(order)))

    def _flat(self, node: LayoutNode, path: tuple[str, ...]) -> str | None:
        """The node on one line (a flow collection or a one-line scalar), or None."""
        info = node
        if node.kind == "scalar":
            text = self.tree.text[info.start : info.end]
            return None if node.style in ("|", ">") or "\n" in text else text
        items = self._items(node, path)
        if items is None:
            return None
        opening, closing = _brackets(node)
        return opening + ", ".join(item.text for item in items) + closing

    def _items(self, node: LayoutNode, path: tuple[str, ...]) -> list[_Item] | None:
        """Each item of a flow collection on one line (``key: value`` for a mapping), and
        whether the author began a line with it; None when it cannot stay flow."""
        info = node
        if node.value and (not node.flow_style or info.commented):
            return None
        pairs = (
            [(key, value, (*path, str(key.value))) for key, value in self._order(node, path)]
            if node.kind == "map"
            else [(None, item, (*path, "[]")) for item in node.value]
        )
        items: list[_Item] = []
        for key, value, inner in pairs:
            infos = [value] + ([] if key is None else [key])
            if any(info.trailing or info.leading for info in infos):
                return None
            text = self._flat(value, inner)
            key_text = "" if key is None else self._flat(key, inner)
            if text is None or key_text is None:
                return None
            first = infos[-1]
            line_start = self.tree.text.rfind("\n", 0, first.start) + 1
            before = self.tree.text[line_start : first.start]
            broke = first.line > info.line and not before.strip(" \t,[{")
            label = "" if key is None else f"{key_text}: "
            items.append(_Item(label + text, broke, label, value, inner))
        return items

    def _commented(self, text: str, info: LayoutNode | None) -> str:
        """`text` with the trailing comment of `info`, at its column when it can be."""
        for column, comment in (info.trailing if info else [])[:1]:
            text = text.rstrip()
            return text + " " * max(column - len(text), 2) + comment
        return text

    def _leading(self, info: LayoutNode, indent: int) -> None:
        """The comments and blank lines above an entry (no blank line first in the file or
        straight after the comments that head it: those keep their own)."""
        for line in info.leading:
            if line or (self.out and self.out[-1] and len(self.out) > len(self.tree.header)):
                self.out.append(" " * indent + line if line else "")

    def _block_mapping(self, node: LayoutNode, indent: int, path: tuple[str, ...]) -> None:
        for key, value in self._order(node, path):
            info = key
            self._leading(info, indent)
            text = self._flat(key, path)
            if text is None:
                raise Unformattable(info, "a key written over more than one line")
            self._value(value, " " * indent + text + ":", indent, (*path, str(key.value)), info)

    def _block_sequence(self, node: LayoutNode, indent: int, path: tuple[str, ...]) -> None:
        for item in node.value:
            if item.kind == "map" and item.value and self._flat(item, (*path, "[]")) is None:
                # what leads the first key leads the item ("- key:" shares the dash's line)
                first = self._order(item, (*path, "[]"))[0][0]
                item.leading, first.leading = _squeeze_lines(item.leading + first.leading), []
            self._leading(item, indent)
            self._value(item, " " * indent + "-", indent, (*path, "[]"), None)

    def _value(
        self,
        node: LayoutNode,
        prefix: str,
        indent: int,
        path: tuple[str, ...],
        key: LayoutNode | None,
    ) -> None:
        """Write `node` after `prefix` (``key:`` or ``-``); `key` is None for a list item."""
        inner = indent + 2
        if key is not None and key.trailing:  # "key:  # comment", the value below it
            self.out.append(self._commented(prefix, key))
            prefix, key = " " * (inner - 1), None
            if node.kind == "scalar" or self._flat(node, path) is not None:
                self._value(node, prefix, inner - 2, path, None)
                return
            prefix = ""
        if node.kind == "scalar":
            self._scalar(node, prefix, inner)
            return
        flat = self._flat(node, path)
        if flat is not None and self._flow(node, flat, prefix, indent, path, key):
            return
        start = len(self.out)
        if node.anchor:
            prefix = f"{prefix} &{node.anchor}" if prefix else " " * inner + f"&{node.anchor}"
        if prefix:
            self.out.append(prefix)
        if node.kind == "map":
            self._block_mapping(node, inner, path)
        else:
            self._block_sequence(node, inner, path)
        first = self.out[start + 1] if start + 1 < len(self.out) else ""
        if key is None and prefix.strip() == "-" and first[inner : inner + 1] not in ("", " ", "#"):
            self.out[start : start + 2] = [prefix + " " + first[inner:]]

    def _flow(
        self,
        node: LayoutNode,
        flat: str,
        prefix: str,
        indent: int,
        path: tuple[str, ...],
        key: LayoutNode | None,
    ) -> bool:
        """Write a flow collection after `prefix` (``key:`` or ``-``, or only spaces when
        it goes below its key) if it fits; False if it must be block.

        On one line if it can be: after its key, else (a mapping) on the next line. Else
        wrapped, after its key or on the next line: the one taking fewer lines, the one
        its author chose on a tie."""
        inline = bool(prefix.strip())
        pad = " " * (indent + 2)
        one = f"{prefix} {flat}" if inline else pad + flat
        if len(one) <= WIDTH or len(flat) <= 2:
            self.out.append(self._commented(one, node))
            return True
        below_allowed = inline and key is not None
        if below_allowed and node.kind == "map" and len(pad + flat) <= WIDTH:
            self.out += [prefix, self._commented(pad + flat, node)]
            return True
        author_below = key is not None and node.line > key.line
        choices: list[tuple[int, bool, bool, list[str]]] = []
        wrapped = self._wrapped(node, f"{prefix} " if inline else pad, path)
        if wrapped is not None:
            choices.append((len(wrapped), author_below, False, wrapped))
        if below_allowed:
            below = [pad + flat] if len(pad + flat) <= WIDTH else self._wrapped(node, pad, path)
            if below is not None:
                choices.append((len(below) + 1, not author_below, True, below))
        if not choices:
            return False
        _, _, goes_below, lines = min(choices, key=lambda choice: choice[:2])
        self.out += [prefix, *lines[:-1]] if goes_below else lines[:-1]
        self.out.append(self._commented(lines[-1], node))
        return True

    def _wrapped(
        self, node: LayoutNode, first: str, path: tuple[str, ...], after: str = ""
    ) -> list[str] | None:
        """The flow collection wrapped between its items where its author did and wherever
        the line would grow past `WIDTH`, each line from one column after the bracket; an
        item too long for a line, or broken by its author inside, wrapped the same way
        inside. `first` precedes the bracket, `after` follows the closing one; None when an
        item cannot fit."""
        items = self._items(node, path) or []
        opening, closing = _brackets(node)
        lines = [first + opening]
        pad = " " * len(lines[0])
        for index, item in enumerate(items):
            tail = closing + after if index == len(items) - 1 else ","
            if item.broke and index and lines[-1] != pad:
                lines.append(pad)  # where the author began a line
            fresh = lines[-1] == pad or not index
            sep = "" if fresh else " "
            if not self._broken_inside(item):
                if len(lines[-1]) + len(sep) + len(item.text) + len(tail) <= WIDTH:
                    lines[-1] += sep + item.text + tail
                    continue
                if not fresh and len(pad) + len(item.text) + len(tail) <= WIDTH:
                    lines.append(pad + item.text + tail)
                    continue
            if item.value.kind == "scalar" or not item.value.value:
                return None
            nested = self._wrapped(item.value, lines.pop() + sep + item.label, item.path, tail)
            if nested is None:
                return None
            lines += nested
        return lines if all(len(line) <= WIDTH for line in lines) else None

    def _broken_inside(self, item: _Item) -> bool:
        """Whether the author began a line inside the item's flow collection."""
        found = self._items(item.value, item.path) if item.value.kind != "scalar" else None
        return any(inner.broke or self._broken_inside(inner) for inner in found or [])

    def _scalar(self, node: LayoutNode, prefix: str, inner: int) -> None:
        """A scalar as written, its continuation lines indented to `inner`."""
        info = node
        lines = self.tree.text[info.start : info.end].split("\n")
        head = f"{prefix} {lines[0]}" if prefix.strip() else " " * inner + lines[0]
        if node.style not in ("|", ">"):
            rest = [" " * inner + line.strip() if line.strip() else "" for line in lines[1:]]
            self.out += [head, *rest[:-1], *rest[-1:]] if rest else [head]
            self.out[-1] = self._commented(self.out[-1], info)
            return
        if re.search(r"[1-9]", lines[0].split("#")[0]):
            raise Unformattable(info, "a block scalar with an indentation indicator")
        content = lines[1:]
        base = min(
            (len(line) - len(line.lstrip(" ")) for line in content if line.strip()), default=0
        )
        self.out.append(head)
        self.out += [" " * inner + line[base:] if len(line) > base else "" for line in content]
        if info.trailing:
            raise Unformattable(info, "a comment right after a block scalar")


class Unformattable(Exception):
    def __init__(self, info: LayoutNode, what: str) -> None:
        super().__init__(what)
        self.info, self.what = info, what


def _squeeze_lines(lines: list[str]) -> list[str]:
    """Runs of blank lines as one."""
    return [line for at, line in enumerate(lines) if line or at == 0 or lines[at - 1]]


def _brackets(node: LayoutNode) -> tuple[str, str]:
    """The opening (after the node's anchor, if any) and closing of a flow collection."""
    anchor = f"&{node.anchor} " if node.anchor else ""
    return (anchor + "{", "}") if node.kind == "map" else (anchor + "[", "]")


def _pattern(path: tuple[str, ...]) -> tuple[str, ...]:
    """The `_ORDERS` key a mapping's path matches (names after the first two as ``*``)."""
    for pattern in _ORDERS:
        if len(pattern) == len(path) and all(
            p in ("*", q) for p, q in zip(pattern, path, strict=True)
        ):
            return pattern
    return path
