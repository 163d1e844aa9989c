"""Load a YAML file into plain data, keeping the line and column of every key and value.

Safe by construction: the file is only *composed* (YAML nodes, no object construction) and
then turned into dicts, lists and scalars here. Tags other than the YAML core ones are
refused, alias expansion is bounded, duplicate keys are errors, and mapping keys are always
the text the author wrote (so ``on:`` or ``no:`` stay strings).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.errors import RulesetError, RulesetErrors

__all__ = ["MAX_FILE_BYTES", "MAX_VALUES", "Document", "load_document", "parse_document"]

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest file accepted: rulesets are hand-written; anything bigger is a mistake."""
MAX_VALUES = 200_000
"""Most values a document may expand to, aliases included (stops alias bombs)."""
MAX_DEPTH = 64

JsonPath = tuple[str | int, ...]
Mark = tuple[int, int]

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null")}
_TIMESTAMP = f"{_CORE}timestamp"
_MAP, _SEQ = f"{_CORE}map", f"{_CORE}seq"


@dataclass(frozen=True)
class Document:
    """A loaded YAML document: its data and where each part of it was written.

    Attributes:
        path: the file name used in messages.
        data: plain JSON-like data (dict, list, str, int, float, bool, None).
        values: 1-based (line, column) of each value, by its path from the root.
        keys: 1-based (line, column) of each mapping key, by the path of its value.
        sha256: hash of the file's bytes.
    """

    path: str
    data: Any
    values: Mapping[JsonPath, Mark]
    keys: Mapping[JsonPath, Mark]
    sha256: str

    def where(self, path: JsonPath) -> Mark:
        """The position of the value at `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            mark = self.values.get(path[:end])
            if mark is not None:
                return mark
        return (1, 1)

    def key_where(self, path: JsonPath) -> Mark:
        """The position of the key that holds `path`, falling back to its value."""
        return self.keys.get(path) or self.where(path)

    def error(
        self, path: JsonPath, code: str, message: str, *, at_key: bool = False
    ) -> RulesetError:
        """A located error at the value (or key) of `path` in this document."""
        line, column = self.key_where(path) if at_key else self.where(path)
        return RulesetError(self.path, line, column, code, message)


def load_document(path: str | os.PathLike[str]) -> Document:
    """Read and parse one YAML file.

    Raises:
        RulesetErrors: the file is missing, too large, not UTF-8 text or not valid YAML.

    Example:
        >>> doc = load_document("rulesets/alto-fixflo/v1.yaml")  # doctest: +SKIP
        >>> doc.where(("entities", "property"))  # doctest: +SKIP
        (40, 5)
    """
    label = str(path)
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _whole_file(label, "too-large", _too_large(size))
        raw = file.read_bytes()
    except OSError as exc:
        raise _whole_file(label, "unreadable", f"cannot read the file: {exc.strerror}") from exc
    return parse_document(raw, label)


def parse_document(raw: bytes, label: str) -> Document:
    """Parse YAML bytes named `label` (used in messages) into a `Document`."""
    if len(raw) > MAX_FILE_BYTES:
        raise _whole_file(label, "too-large", _too_large(len(raw)))
    text = _decode(raw, label)
    if not text.strip() or all(_is_comment(line) for line in text.splitlines()):
        raise _whole_file(
            label,
            "empty-file",
            "the file is empty; a ruleset starts with 'ruleset:', 'version:' and 'summary:'",
        )
    node = _compose(text, label)
    if node is None:
        raise _whole_file(label, "empty-file", "the file holds no YAML document")
    builder = _Builder(label)
    data = builder.build(node, (), 0)
    if builder.errors:
        raise RulesetErrors(builder.errors)
    digest = hashlib.sha256(raw).hexdigest()
    return Document(label, data, builder.values, builder.keys, digest)


def _too_large(size: int) -> str:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    return (
        f"the file is {size / (1024 * 1024):.1f} MiB; a ruleset may be at most {limit} "
        "MiB (is this the right file?)"
    )


def _is_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#") or stripped in {"---", "..."}


def _whole_file(
    label: str, code: str, message: str, line: int = 1, column: int = 1
) -> RulesetErrors:
    return RulesetErrors([RulesetError(label, line, column, code, message)])


def _decode(raw: bytes, label: str) -> str:
    if b"\x00" in raw[:8192]:
        raise _whole_file(label, "binary-file", "this is a binary file, not YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise _whole_file(
            label,
            "not-utf8",
            f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8",
            line,
            column,
        ) from None


def _compose(text: str, label: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, label) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise _whole_file(
            label,
            "yaml-syntax",
            f"character U+{int(exc.character):04X} is not allowed in YAML text; remove it",
            line,
            column,
        ) from None
    except yaml.YAMLError as exc:
        raise _whole_file(label, "yaml-syntax", str(exc).replace("\n", " ")) from None


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, label: str) -> RulesetErrors:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem = (exc.problem or "invalid YAML").strip()
    at = text[mark.index] if mark and mark.index < len(text) else ""
    if at == "\t" or "'\\t'" in problem:
        message = "a tab is used for indentation; YAML indents with spaces only"
    elif exc.context:
        message = f"{problem} ({exc.context.strip()})"
    else:
        message = problem
    return _whole_file(label, "yaml-syntax", message, line, column)


class _TooBig(Exception):
    """Raised inside the builder when the document expands beyond MAX_VALUES."""


class _Builder:
    """Turns composed YAML nodes into plain data and records positions and errors."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.values: dict[JsonPath, Mark] = {}
        self.keys: dict[JsonPath, Mark] = {}
        self.errors: list[RulesetError] = []
        self.count = 0
        self.active: set[int] = set()
        self.scalars = SafeConstructor()

    def build(self, node: Node, path: JsonPath, depth: int) -> Any:
        try:
            return self._node(node, path, depth)
        except _TooBig:
            self.errors = [
                self._error(
                    node,
                    "too-large",
                    f"the document expands to more than "
                    f"{MAX_VALUES} values (an alias bomb?); write it out "
                    "without so many aliases",
                )
            ]
            return None

    def _node(self, node: Node, path: JsonPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooBig
        self.values.setdefault(path, _mark(node))
        if depth > MAX_DEPTH:
            self.errors.append(
                self._error(
                    node,
                    "too-deep",
                    f"nesting deeper than {MAX_DEPTH} levels; flatten the structure",
                )
            )
            return None
        if id(node) in self.active:
            self.errors.append(
                self._error(
                    node,
                    "recursive-alias",
                    "an alias refers to a value that contains it; remove the recursion",
                )
            )
            return None
        self.active.add(id(node))
        try:
            return self._dispatch(node, path, depth)
        finally:
            self.active.discard(id(node))

    def _dispatch(self, node: Node, path: JsonPath, depth: int) -> Any:
        if isinstance(node, MappingNode) and node.tag == _MAP:
            return self._mapping(node, path, depth)
        if isinstance(node, SequenceNode) and node.tag == _SEQ:
            return [
                self._node(item, (*path, index), depth + 1) for index, item in enumerate(node.value)
            ]
        if isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS:
            return self.scalars.construct_object(node, deep=True)
        if isinstance(node, ScalarNode) and node.tag == _TIMESTAMP:
            return str(node.value)
        self.errors.append(
            self._error(
                node,
                "tag-not-allowed",
                f"the YAML tag {node.tag!r} is not allowed; write plain values without tags",
            )
        )
        return None

    def _mapping(self, node: MappingNode, path: JsonPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in result:
                first = self.keys[(*path, key)]
                self.errors.append(
                    self._error(
                        key_node,
                        "duplicate-key",
                        f"key {key!r} is already set on line {first[0]}; keep one",
                    )
                )
                continue
            self.keys[(*path, key)] = _mark(key_node)
            result[key] = self._node(value_node, (*path, key), depth + 1)
        return result

    def _key(self, node: Node, path: JsonPath) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == f"{_CORE}merge":
            self.errors.append(
                self._error(
                    node,
                    "merge-key",
                    "YAML merge keys ('<<') are not supported; write the keys out",
                )
            )
            return None
        if not isinstance(node, ScalarNode):
            self.errors.append(self._error(node, "bad-key", "a mapping key must be plain text"))
            return None
        return str(node.value)

    def _error(self, node: Node, code: str, message: str) -> RulesetError:
        line, column = _mark(node)
        return RulesetError(self.label, line, column, code, message)


def _mark(node: Node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)
