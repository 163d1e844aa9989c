"""One mistake, one error: drop the errors another error already explains.

The compiler checks each reference on its own, so one bad declaration used to show up again
at every place that refers to it. Two rules remove those echoes, after compiling:

1. A reference to a name the document *does* declare, but whose declaration was rejected
   (its own error says why: a setting of an unknown type, an entity reading an unknown
   source), is not reported: fixing the declaration fixes the reference.
2. References to a name declared nowhere, made at two places or more, when the closest
   declared name is itself never referred to, are one misspelt declaration: a single error
   at that declaration, naming the lines that use the other spelling (``managementTyp``
   declared, ``managementType`` read twice). A single such reference keeps its own error
   (its "did you mean" names the declaration): either may be the misspelt one.

Only errors in the ruleset itself are touched (not those of an agency settings file).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.documents.document import Document, JsonPath
from engine.documents.suggest import closest
from engine.errors import RulesetError
from engine.language._declarations import Declarations
from engine.language._settings import check_setting_value
from engine.language.compiler._dependencies import settings_named

__all__ = ["drop_cascades"]


@dataclass(frozen=True, slots=True)
class _Kind:
    """One kind of declared name: the error code of a reference to an unknown one, how to
    read the name (and the owning source) from its message, and what it is called."""

    code: str
    pattern: re.Pattern[str]
    noun: str


_KINDS = (
    _Kind("unknown-setting", re.compile(r"no setting '([^']*)'"), "setting"),
    _Kind("unknown-source", re.compile(r"no source '([^']*)' is declared"), "source"),
    _Kind("unknown-target", re.compile(r"no target '([^']*)' is declared"), "target"),
    _Kind("unknown-entity", re.compile(r"no entity '([^']*)'"), "entity"),
    _Kind("unknown-rule", re.compile(r"no rule has the id '([^']*)'"), "rule"),
    _Kind("unknown-entity", re.compile(r"no entity reads ([^\s,;]+)"), "reader"),
    _Kind("unknown-attachment", re.compile(r"^no attachment '([^']*)'"), "attachment"),
    _Kind(
        "unknown-works-order-map-field",
        re.compile(r"^no works order map field '([^']*)'"),
        "works order field",
    ),
    _Kind("unknown-relation", re.compile(r"^(\S+) has no relation '([^']*)'"), "relation"),
    _Kind("unknown-field", re.compile(r"^(\S+) has no field '([^']*)'"), "field"),
    _Kind("unknown-field", re.compile(r"^entity '([^']*)' maps no field '([^']*)'"), "mapped"),
)


def drop_cascades(
    document: Document,
    decls: Declarations,
    errors: list[RulesetError],
    mapped: Mapping[str, set[str]] | None = None,
) -> list[RulesetError]:
    """`errors` without the echoes of another error (see the module's rules).

    Args:
        document: the ruleset compiled.
        decls: what the compiler accepted of its declarations.
        errors: the errors found while compiling it (schema errors included).
        mapped: each entity's target fields the compiler accepted (map and on_create).

    Example:
        >>> from engine.documents.document import parse_document
        >>> doc = parse_document(b"settings: {a: {type: strin}}\\n", "v1.yaml")
        >>> echo = doc.error((), "unknown-setting", "no setting 'a'")
        >>> drop_cascades(doc, Declarations(), [echo])
        []
    """
    data = document.data if isinstance(document.data, Mapping) else {}
    names = _Declared(data, decls, mapped or {})
    kept: list[RulesetError] = []
    misspelt: dict[tuple[str, str, JsonPath], list[RulesetError]] = {}
    marks = {mark: path for path, mark in sorted(document.values.items(), key=_depth)}
    for error in errors:
        if _reads_a_bad_default(error, document, decls, marks):
            continue
        found = _reference(error, document)
        if found is None:
            kept.append(error)
            continue
        kind, owner, name = found
        name = re.sub(r"\[\d*\]", "", name) if kind.noun == "field" else name
        if names.rejected(kind, owner, name, error.message):
            continue
        declaration = names.misspelt(kind, owner, name)
        if declaration is None:
            kept.append(error)
        else:
            misspelt.setdefault((kind.noun, name, declaration), []).append(error)
    for (noun, name, declaration), echoes in misspelt.items():
        if len(echoes) == 1:
            kept.extend(echoes)
        else:
            kept.append(_at_declaration(document, noun, name, declaration, echoes))
    return kept


def _depth(item: tuple[JsonPath, Any]) -> int:
    return len(item[0])


def _reads_a_bad_default(
    error: RulesetError,
    document: Document,
    decls: Declarations,
    marks: Mapping[tuple[int, int], JsonPath],
) -> bool:
    """Whether `error` is about a ``{setting: NAME}`` whose default is reported already."""
    path = marks.get((error.line, error.column))
    if error.path != document.path or path is None or error.code == "bad-default":
        return False
    node = _value_at(document.data, path)
    name = node.get("setting") if isinstance(node, Mapping) else None
    decl = decls.settings.get(name) if isinstance(name, str) else None
    return decl is not None and check_setting_value(decl, decl.default) is not None


def _reference(error: RulesetError, document: Document) -> tuple[_Kind, str, str] | None:
    if error.path != document.path:
        return None
    for kind in _KINDS:
        match = kind.pattern.search(error.message) if error.code == kind.code else None
        if match is not None:
            groups = match.groups()
            return (kind, groups[0], groups[1]) if len(groups) == 2 else (kind, "", groups[0])
    return None


def _at_declaration(
    document: Document, noun: str, name: str, declaration: JsonPath, echoes: list[RulesetError]
) -> RulesetError:
    declared = _value_at(document.data, declaration) if noun == "field" else declaration[-1]
    lines = sorted({echo.line for echo in echoes})
    where = f"line{'s' * (len(lines) > 1)} {', '.join(map(str, lines))}"
    message = (
        f"{noun} {declared!r} is declared but never used, while {name!r} is used on "
        f"{where} and declared nowhere: is {declared!r} misspelt?"
    )
    return document.error(declaration, echoes[0].code, message, at_key=noun != "field")


class _Declared:
    """What the document declares, what the compiler accepted of it, and what is used."""

    def __init__(
        self, data: Mapping[str, Any], decls: Declarations, mapped: Mapping[str, set[str]]
    ) -> None:
        self.data = data
        self.decls = decls
        self.mapped = mapped
        self.settings_used = set(settings_named(data))
        self.words = set(_words(data, ()))

    def section(self, *path: str) -> Mapping[str, Any]:
        node: Any = self.data
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        return node if isinstance(node, Mapping) else {}

    def rejected(self, kind: _Kind, owner: str, name: str, message: str) -> bool:
        """Rule 1: `name` is declared in the document, but the compiler rejected it."""
        noun = kind.noun
        if noun == "setting":
            return name in self.section("settings") and name not in self.decls.settings
        if noun == "source":
            return name in self.section("sources") and name not in self.decls.sources
        if noun == "target":
            return name in self.section("targets") and name not in self.decls.targets
        if noun == "attachment":  # declared, but its source of documents was rejected
            return name in self.section("lifecycle", "attachments")
        if noun == "works order field":  # declared, but its value was rejected
            return name in self.section("lifecycle", "works_order", "map")
        if noun == "rule":  # a rule of an entity rejected with its own error
            return name in self.rules_of_rejected()
        if noun == "reader":  # an entity reading it was rejected (its source is unknown)
            unread = [
                str(spec.get("from"))
                for entity, spec in self.section("entities").items()
                if isinstance(spec, Mapping) and entity not in self.decls.entity_sources
            ]
            return closest(name, unread) is not None
        if noun == "mapped":  # the entity's map entry was rejected, with its own error
            written = {str(key) for part in _MAPS for key in self.section("entities", owner, part)}
            rejected = written - self.mapped.get(owner, written)
            return name in written or closest(name, rejected) is not None
        if noun == "relation":
            declared = name in self.section("sources", owner, "relations")
            return declared and name not in self.decls.relations_of(owner)
        if noun == "entity":
            failed = set(self.section("entities")) - set(self.decls.entity_sources)
            return bool(failed) and (name in failed or "no entity reads" in message)
        return False

    def rules_of_rejected(self) -> set[str]:
        """The rule ids of the entities the compiler rejected."""
        return {
            str(rule.get("id"))
            for entity, spec in self.section("entities").items()
            if entity not in self.decls.entity_sources and isinstance(spec, Mapping)
            for part in ("include", "archive")
            for rule in _listed(spec.get(part))
            if isinstance(rule, Mapping)
        }

    def misspelt(self, kind: _Kind, owner: str, name: str) -> JsonPath | None:
        """Rule 2: where the never-used declaration that `name` misspells is, or None."""
        if kind.noun == "field":
            listed = self.section("sources", owner).get("fields")
            fields = [item if isinstance(item, str) else "" for item in _listed(listed)]
            match = closest(name, fields)
            if match is None or match == name or self._used(match, ("sources", owner, "fields")):
                return None
            return ("sources", owner, "fields", fields.index(match))
        section: tuple[str, ...] = _SECTIONS.get(kind.noun, ())
        if kind.noun == "relation":
            section = ("sources", owner, "relations")
        if not section:
            return None
        match = closest(name, [str(key) for key in self.section(*section)])
        if match is None or match == name:
            return None
        used = match in self.settings_used if kind.noun == "setting" else self._used(match, ())
        return None if used else (*section, match)

    def _used(self, name: str, declared_at: JsonPath) -> bool:
        """Whether some text of the document (but the list `declared_at`) mentions `name`."""
        return any(
            _mentions(word, name)
            for path, word in self.words
            if not declared_at or path[: len(declared_at)] != declared_at
        )


_SECTIONS = {
    "setting": ("settings",),
    "source": ("sources",),
    "target": ("targets",),
    "entity": ("entities",),
    "works order field": ("lifecycle", "works_order", "map"),
}
_MAPS = ("map", "on_create")


def _mentions(word: str, name: str) -> bool:
    """Whether the text `word` refers to `name` (itself, a part of it, or through it)."""
    if word == name or word.startswith((name + ".", name + "[")):
        return True
    return word.endswith("." + name) or f".{name}." in word or f".{name}[" in word


def _words(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from _words(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _words(value, (*path, index))


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _value_at(data: Any, path: JsonPath) -> Any:
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data
