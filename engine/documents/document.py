"""Load a YAML file into plain data, keeping the line and column of every key and value.

Safe by construction: the file is only *composed* (YAML nodes, no object construction) and
then turned into dicts, lists and scalars here. Tags other than the YAML core ones are
refused, alias expansion is bounded, duplicate keys are errors, and mapping keys are always
the text the author wrote (so ``on:`` or ``no:`` stay strings).

Plain values are read by the YAML 1.2 core schema (`CORE_SCHEMA`), not PyYAML's YAML 1.1
one: ``yes``, ``no``, ``on``, ``off``, ``y``, ``n`` (and ``NO``, the country code) stay
text; only ``true``/``false`` (also ``True``, ``TRUE``...) are booleans; ``null``, ``~`` or
nothing is null; whole numbers are decimal, ``0o17`` or ``0x1F``; no sexagesimal
(``1:30`` is text), no ``0b``, no ``_`` in numbers, and dates stay text.

Composing uses libyaml (``yaml.CSafeLoader``, about 14 times faster) when PyYAML was built
with it, and PyYAML's pure-Python loader otherwise. The pure loader still words every syntax
error (a text libyaml refuses is composed again by it), and it takes the few texts that the
two read differently (see `_libyaml_can_compose`) or that nest deep enough to exhaust the C
stack under libyaml's recursive composer; so both give the same documents and errors.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.documents._core12 import CORE_SCHEMA, core_12, core_value, dump_yaml
from engine.documents._syntax import in_words
from engine.errors import RulesetError, RulesetErrors

__all__ = [
    "CORE_SCHEMA",
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "Document",
    "core_value",
    "dump_yaml",
    "load_document",
    "parse_document",
]

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest file accepted: rulesets are hand-written; anything bigger is a mistake."""
MAX_VALUES = 200_000
"""Most values a document may expand to, aliases included (stops alias bombs)."""
MAX_DEPTH = 64
_LIBYAML_MAX_DEPTH = 5_000
"""Deepest nesting handed to libyaml's composer, which recurses on the C stack (a few hundred
bytes a level; 100,000 levels crash the interpreter) and slows down quadratically with it."""
JsonPath = tuple[str | int, ...]
Mark = tuple[int, int]

_CORE = "tag:yaml.org,2002:"
_LIBYAML: type[yaml.CSafeLoader] | None = (
    core_12(yaml.CSafeLoader) if hasattr(yaml, "CSafeLoader") else None
)
"""Libyaml's loader (YAML 1.2 core values), or None where PyYAML was built without it."""
_PURE: type[yaml.SafeLoader] = core_12(yaml.SafeLoader)
"""PyYAML's pure-Python loader, with YAML 1.2 core values."""

_SCALAR_TAGS = {f"{_CORE}{name}" for name in ("str", "int", "float", "bool", "null")}
_STR, _TIMESTAMP, _MERGE = f"{_CORE}str", f"{_CORE}timestamp", f"{_CORE}merge"
_MAP, _SEQ = f"{_CORE}map", f"{_CORE}seq"
_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")
_YAML_SPACE = " \n\r\x85\u2028\u2029"
_LIBYAML_DIFFERS = (
    re.compile(r"#(?:(?<=[|>]#)|(?<=[|>][-+0-9]#)|(?<=[|>][-+0-9]{2}#))"),
    re.compile(r"!(?<![^\s\[\]{},:\"']!)"),
    re.compile(rf":[{_YAML_SPACE}]++(?:#[^{_YAML_SPACE[1:]}]*+[{_YAML_SPACE}]++)*+[,\]}}]"),
)
"""A block scalar header then ``#``; a ``!`` where a tag may start; an empty flow value.
(Each starts with its rarest character, which keeps the search fast.)"""


@dataclass(frozen=True)
class Document:
    """A loaded YAML document: its data and where each part of it was written.

    Attributes:
        path: the file name used in messages.
        data: plain JSON-like data (dict, list, str, int, float, bool, None).
        values: 1-based (line, column) of each value, by its path from the root.
        keys: 1-based (line, column) of each mapping key, by the path of its value.
        sha256: hash of the file's bytes.
        problems: errors found while reading that left the rest usable (a duplicate key,
            a tag, a value that is not what its form says); only a document read with
            ``partial=True`` has any.
        damaged: the paths whose values those problems replaced with None, so that later
            checks do not report them a second time.
    """

    path: str
    data: Any
    values: Mapping[JsonPath, Mark]
    keys: Mapping[JsonPath, Mark]
    sha256: str
    problems: tuple[RulesetError, ...] = ()
    damaged: frozenset[JsonPath] = frozenset()

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


def load_document(path: str | os.PathLike[str], *, partial: bool = False) -> Document:
    """Read and parse one YAML file.

    With `partial`, problems that leave the rest of the document usable (a duplicate key, a
    tag, a bad value) come back in `Document.problems` instead of being raised, so a caller
    can go on to report every other error of the file too.

    Raises:
        RulesetErrors: the file is missing, too large, not UTF-8 text or not valid YAML
            (and, without `partial`, any problem at all).

    Example:
        >>> doc = load_document("rulesets/alto-fixflo/v2.yaml")
        >>> doc.data["ruleset"], doc.key_where(("ruleset",))
        ('alto-fixflo', (2, 1))
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
    return parse_document(raw, label, partial=partial)


def parse_document(raw: bytes, label: str, *, partial: bool = False) -> Document:
    """Parse YAML bytes named `label` (used in messages) into a `Document` (see
    `load_document` for `partial`)."""
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
    if builder.errors and (builder.fatal or not partial):
        raise RulesetErrors(builder.errors)
    digest = hashlib.sha256(raw).hexdigest()
    problems, damaged = tuple(builder.errors), frozenset(builder.damaged)
    return Document(label, data, builder.values, builder.keys, digest, problems, damaged)


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
    libyaml = _LIBYAML
    if libyaml is not None and _libyaml_can_compose(text, libyaml):
        try:
            return yaml.compose(text, Loader=libyaml)
        except yaml.YAMLError:
            pass  # the pure loader below words the error exactly (libyaml's marks and texts differ)
    return _compose_pure(text, label)


def _libyaml_can_compose(text: str, libyaml: type[yaml.CSafeLoader]) -> bool:
    """Whether libyaml composes `text` to the same nodes as the pure loader, and safely.

    The two read a few texts differently, found by comparing them on generated YAML
    (tests/engine/test_yaml_loaders.py); such texts go to the pure loader, as before:

    - no line break at the end: libyaml places a value left empty there on a new line;
    - a tab, which the pure loader refuses in more places;
    - a byte-order mark, which libyaml skips at the start of any line, the pure loader only
      at the start of the text;
    - a ``?``: in a flow collection the pure loader takes it for a key even inside a word;
    - a block scalar header followed by ``#`` without a space, which libyaml accepts;
    - a ``!`` where a tag may start, which the two scan differently;
    - a value left empty in a flow collection (``{a: }``), placed by libyaml at what follows.

    Every level of nesting needs one of ``[{-:`` (or a ``?``, sent away above), so their
    count bounds the depth; past the bound the events (parsed without recursion) tell it.
    """
    if not text.endswith(_LINE_BREAKS) or any(char in text for char in "\t\ufeff?"):
        return False
    if any(pattern.search(text) for pattern in _LIBYAML_DIFFERS):
        return False
    if sum(map(text.count, "[{-:")) <= _LIBYAML_MAX_DEPTH:
        return True
    return _shallow(text, libyaml)


def _shallow(text: str, libyaml: type[yaml.CSafeLoader]) -> bool:
    """Whether no collection in `text` is nested deeper than `MAX_DEPTH` allows.

    Deeper texts are refused either way; the pure loader refuses them as before. Stopping at
    the first one keeps this pass short: libyaml slows down with depth (quadratically).
    """
    return _too_deep(text, libyaml) is None


def _may_be_deep(text: str) -> bool:
    """Whether `text` has enough of ``[{-:?`` to nest past `MAX_DEPTH` (a cheap first test)."""
    return sum(map(text.count, "[{-:?")) > MAX_DEPTH


def _too_deep(text: str, loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader]) -> Mark | None:
    """Where a collection first nests deeper than `MAX_DEPTH` allows, or None.

    Parsing makes events without recursion (unlike composing, which recurses per level: the
    pure composer would exhaust Python's stack, libyaml's the C stack).
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                mark = event.start_mark
                if depth > MAX_DEPTH + 1:
                    return (mark.line + 1, mark.column + 1) if mark else (1, 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        pass  # composing fails at the same event, and the pure loader words the error
    return None


def _compose_pure(text: str, label: str) -> Node | None:
    too_deep = _too_deep(text, yaml.SafeLoader) if _may_be_deep(text) else None
    if too_deep is not None:
        line, column = too_deep
        message = f"nesting deeper than {MAX_DEPTH} levels; flatten the structure"
        raise _whole_file(label, "too-deep", message, line, column)
    try:
        return yaml.compose(text, Loader=_PURE)
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
    context = (exc.context or "").strip()
    if at == "\t" or "'\\t'" in problem:
        message = "a tab is used for indentation; YAML indents with spaces only"
    else:
        message = in_words(problem, context) or (f"{problem} ({context})" if context else problem)
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
        self.fatal = False
        """Set when the document as a whole cannot be used (an alias bomb)."""
        self.damaged: set[JsonPath] = set()

    def build(self, node: Node, path: JsonPath, depth: int) -> Any:
        try:
            return self._node(node, path, depth)
        except _TooBig:
            self.fatal = True
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
            self.damaged.add(path)
            self.errors.append(
                self._error(
                    node,
                    "too-deep",
                    f"nesting deeper than {MAX_DEPTH} levels; flatten the structure",
                )
            )
            return None
        if id(node) in self.active:
            self.damaged.add(path)
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
        if isinstance(node, ScalarNode) and node.tag == _STR:
            return node.value  # what the constructor gives, without its bookkeeping (most values)
        if isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS:
            return self._scalar(node, path)
        if isinstance(node, ScalarNode) and node.tag in (_TIMESTAMP, _MERGE):
            return str(node.value)  # a date stays its text; ``<<`` is only special as a key
        self.damaged.add(path)
        self.errors.append(
            self._error(
                node,
                "tag-not-allowed",
                f"the YAML tag {node.tag!r} is not allowed; write plain values without tags",
            )
        )
        return None

    def _scalar(self, node: ScalarNode, path: JsonPath) -> Any:
        """A core-tagged scalar as Python: the plain nulls, booleans and numbers, and
        ``!!null``, ``!!bool``, ``!!int``, ``!!float`` (YAML 1.2 core forms only)."""
        try:
            return core_value(node.tag, node.value)
        except (ValueError, OverflowError):
            kind = node.tag.removeprefix(_CORE)
            self.damaged.add(path)
            self.errors.append(self._error(node, "bad-value", _bad_scalar(node.value, kind)))
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
        if isinstance(node, ScalarNode) and node.tag == _MERGE:
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


def _bad_scalar(text: str, kind: str) -> str:
    shown = text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} long)"
    if kind == "int" and len(text) > 100:
        return f"the number {shown} is too long; numbers here have at most 100 digits"
    return f"{shown!r} is not a valid {kind}; write the value without a tag, or quote it"


def _mark(node: Node) -> Mark:
    return (node.start_mark.line + 1, node.start_mark.column + 1)
