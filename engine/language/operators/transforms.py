"""Compile field-map values: a field path, or one named transform.

Transforms: ``field``, ``const``, ``format`` ('{id}/{oid}', placeholders are field paths),
``join`` (+ ``sep``), ``first_of``, ``lookup`` (+ ``table``), ``lower``, ``upper``, ``strip``,
``date`` (+ ``pattern``, an strftime pattern), ``related`` (+ ``value``, ``where``,
``pick``) to read from related records, ``within`` (+ ``value``, ``where``, ``pick``) to read
from the items of a list field, ``case`` (+ ``else``; see `engine.language.operators.case`),
``as_of`` (the run's date, formatted), ``digits`` (only the digits of a text),
``extract`` (+ ``pattern``: the first RE2 capture group that matched, or the whole match)
and ``list`` (the non-empty values as one list). Any of them takes ``default:``, used when the
result is missing or empty.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from engine.documents.document import JsonPath
from engine.documents.suggest import did_you_mean
from engine.language._regex import compile_re2
from engine.language.context import Context
from engine.language.operators.case import compile_case
from engine.language.operators.comparisons import as_date
from engine.language.operators.conditions import ConditionCompiler
from engine.language.operators.value import Get, Value, as_text, is_empty
from engine.language.paths import compile_path

__all__ = ["TRANSFORMS", "Value", "ValueCompiler", "as_text", "is_empty"]

TRANSFORMS = (
    "field",
    "const",
    "format",
    "join",
    "first_of",
    "lookup",
    "lower",
    "upper",
    "strip",
    "date",
    "related",
    "within",
    "case",
    "as_of",
    "digits",
    "extract",
    "list",
)
_MODIFIERS = {
    "join": {"sep"},
    "lookup": {"table"},
    "date": {"pattern"},
    "related": {"value", "where", "pick"},
    "within": {"value", "where", "pick"},
    "case": {"else"},
    "extract": {"pattern"},
}
_DATE_DIRECTIVES = set("aAbBdHIjmMpSyYZz%")


class ValueCompiler:
    """Compiles the field maps of one document; conditions go to `conditions`."""

    def __init__(self, conditions: ConditionCompiler) -> None:
        self.conditions = conditions
        self.decls = conditions.decls
        self.case_ids: dict[str, JsonPath] = {}

    def fail(self, path: JsonPath, code: str, message: str, at_key: bool = False) -> None:
        self.conditions.fail(path, code, message, at_key=at_key)

    def compile(self, spec: Any, path: JsonPath, source: str, rule: str) -> Value | None:
        """Compile the value `spec` at `path`, read against `source`."""
        if isinstance(spec, str):
            return self._field(spec, path, source)
        if not isinstance(spec, Mapping):
            return None
        kinds = [key for key in spec if key in TRANSFORMS]
        if len(kinds) != 1:
            self._kind_count(spec, path, kinds)
            return None
        kind = kinds[0]
        allowed = {kind, "default"} | _MODIFIERS.get(kind, set())
        stray = [key for key in spec if key not in allowed]
        for key in stray:
            self.fail(
                (*path, key),
                "conflicting-transforms",
                f"{key!r} does not go with "
                f"'{kind}'; it takes: {', '.join(sorted(allowed - {kind}))}",
                at_key=True,
            )
        if stray:
            return None
        if kind == "field":
            value = self._field(spec["field"], (*path, "field"), source)
        else:
            value = getattr(self, f"_{kind}")(spec, path, source, rule)
        return (
            value if value is None or "default" not in spec else _defaulted(value, spec["default"])
        )

    def _kind_count(self, spec: Mapping[str, Any], path: JsonPath, kinds: list[str]) -> None:
        if kinds:
            self.fail(
                (*path, kinds[1]),
                "conflicting-transforms",
                f"{kinds[0]!r} and {kinds[1]!r} are both here; nest one inside the other",
                at_key=True,
            )
        else:
            self.fail(
                path,
                "missing-transform",
                f"this value names no transform; use one of: {', '.join(TRANSFORMS)}",
                at_key=True,
            )

    def _field(self, reference: Any, path: JsonPath, source: str) -> Value | None:
        checked = self.conditions.declared_field(reference, path, source)
        if checked is None:
            return None
        read = compile_path(checked)
        plain = checked if "." not in checked and "[" not in checked else None
        return Value(lambda record, context: read(record), checked, plain, ("field", checked))

    def _items(self, specs: Any, path: JsonPath, source: str, rule: str) -> list[Value] | None:
        values = [
            self.compile(item, (*path, index), source, rule) for index, item in enumerate(specs)
        ]
        checked = [value for value in values if value is not None]
        return checked if len(checked) == len(values) else None

    def _const(self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str) -> Value:
        constant = spec["const"]
        return Value(lambda record, context: constant, repr(constant), shape=("const", constant))

    def _format(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        template = str(spec["format"])
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            self.fail(
                (*path, "format"),
                "bad-format",
                f"{template!r}: {exc}; write literal braces as '{{{{' and '}}}}'",
            )
            return None
        parts: list[tuple[str, Get | None]] = []
        for literal, name, spec_text, conversion in parsed:
            if name is not None and (spec_text or conversion or not name):
                self.fail(
                    (*path, "format"),
                    "bad-format",
                    f"{template!r}: placeholders are "
                    "plain field paths such as {id}; no ':', '!' or empty {}",
                )
                return None
            field = self._field(name, (*path, "format"), source) if name else None
            if name and field is None:
                return None
            parts.append((literal, field.get if field else None))
        return Value(_render(parts), repr(template))

    def _join(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        items = self._items(spec["join"], (*path, "join"), source, rule)
        if items is None:
            return None
        separator = str(spec.get("sep", " "))
        getters = tuple(item.get for item in items)

        def get(record: Any, context: Context) -> Any:
            texts = [as_text(each(record, context)).strip() for each in getters]
            return separator.join(text for text in texts if text) or None

        text = f"join({', '.join(item.text for item in items)})"
        return Value(get, text, shape=("join", separator, *items))

    def _first_of(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        items = self._items(spec["first_of"], (*path, "first_of"), source, rule)
        if items is None:
            return None
        getters = tuple(item.get for item in items)

        def get(record: Any, context: Context) -> Any:
            for each in getters:
                value = each(record, context)
                if not is_empty(value):
                    return value
            return None

        return Value(get, f"first_of({', '.join(item.text for item in items)})")

    def _lookup(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        name = spec.get("table")
        if not isinstance(name, str):
            self.fail(path, "missing-key", "'lookup' needs 'table: NAME'", at_key=True)
            return None
        table = self.decls.tables.get(name)
        if table is None:
            hint = did_you_mean(name, self.decls.tables) or "; declare it under 'tables:'"
            self.fail((*path, "table"), "unknown-table", f"no table {name!r}{hint}")
            return None
        inner = self.compile(spec["lookup"], (*path, "lookup"), source, rule)
        if inner is None:
            return None
        key_of = inner.get
        return Value(
            lambda record, context: _look_up(table, key_of(record, context)),
            f"lookup({inner.text}, {name})",
        )

    def _per_text(
        self,
        kind: str,
        spec: Mapping[str, Any],
        where: tuple[JsonPath, str, str],
        method: Callable[[str], Any],
        shown: str = "",
    ) -> Value | None:
        """`method` applied to the text `spec[kind]` gives (to each text of a list)."""
        path, source, rule = where
        inner = self.compile(spec[kind], (*path, kind), source, rule)
        if inner is None:
            return None
        get = inner.get
        return Value(
            lambda record, context: _apply_text(method, get(record, context)),
            f"{kind}({inner.text}{shown})",
        )

    def _text_case(
        self, kind: str, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        return self._per_text(kind, spec, (path, source, rule), getattr(str, kind))

    def _lower(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        return self._text_case("lower", spec, path, source, rule)

    def _upper(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        return self._text_case("upper", spec, path, source, rule)

    def _strip(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        return self._text_case("strip", spec, path, source, rule)

    def _case(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:

        return compile_case(self, spec, path, source, rule)

    def _as_of(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        pattern = spec["as_of"]
        if not isinstance(pattern, str) or not self._date_pattern(pattern, (*path, "as_of")):
            return None
        self.decls.uses_as_of = True
        return Value(lambda record, context: context.as_of.strftime(pattern), f"as_of({pattern!r})")

    def _digits(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        return self._per_text("digits", spec, (path, source, rule), _only_digits)

    def _extract(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        pattern = spec.get("pattern")
        regex, code, message = (
            compile_re2(pattern)
            if isinstance(pattern, str)
            else (None, "missing-pattern", "'extract' needs 'pattern:', an RE2 expression")
        )
        if regex is None:
            self.fail((*path, "pattern") if isinstance(pattern, str) else path, code, message)
            self.compile(spec["extract"], (*path, "extract"), source, rule)  # its errors too
            return None
        search = regex.search

        def first(text: str) -> Any:
            found = search(text)
            if found is None:
                return None
            groups = [group for group in found.groups() if group is not None]
            return groups[0] if groups else found.group(0)

        return self._per_text("extract", spec, (path, source, rule), first, f", /{pattern}/")

    def _list(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        items = self._items(spec["list"], (*path, "list"), source, rule)
        if items is None:
            return None
        getters = tuple(item.get for item in items)

        def get(record: Any, context: Context) -> Any:
            found: list[Any] = []
            for each in getters:
                value = each(record, context)
                found.extend(value if isinstance(value, list) else [value])
            return [value for value in found if not is_empty(value)]

        return Value(get, f"list({', '.join(item.text for item in items)})")

    def _date_pattern(self, pattern: str, path: JsonPath) -> bool:
        bad = [
            directive
            for directive in re.findall(r"%(.)", pattern)
            if directive not in _DATE_DIRECTIVES
        ]
        if bad or (pattern.endswith("%") and not pattern.endswith("%%")):
            self.fail(
                path,
                "bad-date-format",
                f"{pattern!r} uses "
                f"{', '.join('%' + item for item in bad) or 'a lone %'}; use directives "
                "such as %d, %m, %Y, %H, %M",
            )
            return False
        return True

    def _date(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        pattern = str(spec.get("pattern", "%Y-%m-%d"))
        if not self._date_pattern(pattern, (*path, "pattern")):
            return None
        inner = self.compile(spec["date"], (*path, "date"), source, rule)
        if inner is None:
            return None
        get = inner.get
        return Value(
            lambda record, context: _format_date(get(record, context), pattern),
            f"date({inner.text}, {pattern!r})",
        )

    def _related(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        relation = self.conditions.declared_relation(spec["related"], (*path, "related"), source)
        if relation is None:
            return None
        read = self._read_where(spec, path, "related", relation.target, rule)
        if read is None:
            return None
        return _related_value(relation.id, relation.name, *read, spec.get("pick", "first"))

    def _within(
        self, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
    ) -> Value | None:
        items = self.conditions.declared_list(spec["within"], (*path, "within"), source)
        if items is None:
            return None
        read = self._read_where(spec, path, "within", items.name, rule)
        if read is None:
            return None
        return _within_value(str(spec["within"]), *read, spec.get("pick", "first"))

    def _read_where(
        self, spec: Mapping[str, Any], path: JsonPath, word: str, source: str, rule: str
    ) -> tuple[Value, Callable[[Any, Context], bool] | None] | None:
        """The ``value:`` and optional ``where:`` of a ``related``/``within`` read, compiled
        against the items' source; None (the errors recorded) when either is wrong."""
        if "value" not in spec:
            self.fail(
                path, "missing-key", f"'{word}' needs 'value:' to say what to read", at_key=True
            )
            return None
        inner = self.compile(spec["value"], (*path, "value"), source, rule)
        where = (
            self.conditions.compile(spec["where"], (*path, "where"), source, rule)
            if "where" in spec
            else None
        )
        if inner is None or ("where" in spec and where is None):
            return None
        return inner, where.test if where else None


def _within_value(name: str, inner: Value, where: Any, pick: str) -> Value:
    read_items, read = compile_path(name), inner.get

    def get(record: Any, context: Context) -> Any:
        items = read_items(record)
        return _pick(items if isinstance(items, list) else [], read, where, pick, context)

    return Value(get, f"{pick} within {name}: {inner.text}")


def _pick(items: Iterable[Any], read: Get, where: Any, pick: str, context: Context) -> Any:
    """What `read` gives for the items `where` keeps (empty values skipped): the first, or
    with `pick` ``all`` every one (lists flattened, duplicates dropped, order kept)."""
    found: list[Any] = []
    for item in items:
        if where is not None and not where(item, context):
            continue
        value = read(item, context)
        if not is_empty(value):
            if pick == "first":
                return value
            found.extend(value if isinstance(value, list) else [value])
    return list(dict.fromkeys(found)) if pick == "all" else None


def _render(parts: list[tuple[str, Get | None]]) -> Get:
    def get(record: Any, context: Context) -> Any:
        return "".join(
            literal + (as_text(read(record, context)) if read else "") for literal, read in parts
        )

    return get


def _defaulted(value: Value, default: Any) -> Value:
    inner = value.get

    def get(record: Any, context: Context) -> Any:
        found = inner(record, context)
        return default if is_empty(found) else found

    return Value(get, f"{value.text} or {default!r}", shape=("default", value, default))


def _look_up(table: Mapping[str, Any], key: Any) -> Any:
    return None if key is None else table.get(as_text(key))


def _apply_text(method: Callable[[str], str], value: Any) -> Any:
    if isinstance(value, list):
        return [method(item) if isinstance(item, str) else item for item in value]
    return method(value) if isinstance(value, str) else value


def _only_digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _format_date(value: Any, pattern: str) -> str | None:
    if not isinstance(value, str):
        return None
    moment: date | None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if len(value) > 10 else None
    except ValueError:
        moment = None
    moment = moment or as_date(value)
    return moment.strftime(pattern) if moment else None


def _related_value(relation_id: str, name: str, inner: Value, where: Any, pick: str) -> Value:
    read = inner.get

    def get(record: Any, context: Context) -> Any:
        return _pick(context.related(relation_id, record), read, where, pick, context)

    shape = ("related", relation_id, inner, where, pick)
    return Value(get, f"{pick} related {name}: {inner.text}", shape=shape)
