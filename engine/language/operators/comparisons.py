"""Comparison leaves: ``{field: F, OP: V}``, compiled into one closure each.

Values compare by kind: text with text, numbers with numbers (never with true/false), ISO
dates with dates (a datetime value compares by its date). Regular expressions use RE2,
which runs in linear time; patterns that would backtrack catastrophically in other engines
(a quantified group that itself holds an unbounded quantifier) are refused anyway, so the
ruleset stays safe wherever it is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.documents.document import Document, JsonPath
from engine.documents.suggest import did_you_mean
from engine.errors import RulesetError
from engine.language._declarations import Declarations
from engine.language._regex import compile_re2
from engine.language.context import Context
from engine.language.paths import Reader, compile_path

__all__ = ["LEAF_OPERATORS", "Leaf", "compile_leaf", "value_key"]

LEAF_OPERATORS = frozenset(
    {
        "eq",
        "ne",
        "in",
        "not_in",
        "present",
        "absent",
        "gt",
        "ge",
        "lt",
        "le",
        "before",
        "after",
        "matches",
    }
)
_NEGATIVE = {"ne": "eq", "not_in": "in", "absent": "present"}
_ORDER = {"gt": ">", "ge": ">=", "lt": "<", "le": "<=", "before": "before", "after": "after"}
_CASE_OPERATORS = {"eq", "ne", "in", "not_in", "matches"}
_SETTING_KINDS = {
    "eq": {"string", "integer", "number", "boolean", "date"},
    "in": {"list"},
    "order": {"integer", "number", "date"},
    "date": {"date"},
}

Predicate = Callable[..., bool]
Test = Callable[[Any, Context], bool]


@dataclass(frozen=True, slots=True)
class Leaf:
    """One compiled comparison, with what the contradiction check needs to know."""

    field: str
    operator: str
    read: Reader
    test: Test
    text: str
    describe: Callable[[Context], str]
    allowed: frozenset[Any] | None
    is_list: bool
    compared: frozenset[Any] | None = None
    """The value keys an eq/in/ne/not_in leaf compares with, negative or not (`allowed` is
    None for a negative leaf); None when it ignores case. The code generator reads it."""


def value_key(value: Any, fold: bool = False) -> Any:
    """A hashable key under which equal values (by rulebridge's rules) meet."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, str):
        return ("s", value.casefold() if fold else value)
    return ("z", None) if value is None else ("x", repr(value))


def as_date(value: Any) -> date | None:
    """The date an ISO date or datetime text names, else None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def compile_leaf(
    document: Document,
    decls: Declarations,
    errors: list[RulesetError],
    path: JsonPath,
    condition: Mapping[str, Any],
    operator: str,
    reference: str,
    source: str,
) -> Leaf | None:
    """Compile ``{field: reference, operator: ...}`` at `path`, or None after an error."""
    builder = _LeafBuilder(document, decls, errors, path, condition, operator)
    built = builder.build()
    if built is None:
        return None
    predicate, text, allowed, dynamic = built
    declared = decls.source(source)
    is_list = declared.is_list(reference) if declared else False
    leaf = _leaf(reference, operator, predicate, text, allowed, dynamic, is_list)
    if builder.strings is not None and "." not in reference and "[" not in reference:
        fast = _text_key_test(
            reference, leaf.read, predicate, builder.strings, operator in _NEGATIVE
        )
        leaf = dataclasses.replace(leaf, test=fast)
    return leaf


class _LeafBuilder:
    def __init__(
        self,
        document: Document,
        decls: Declarations,
        errors: list[RulesetError],
        path: JsonPath,
        condition: Mapping[str, Any],
        operator: str,
    ) -> None:
        self.document, self.decls, self.errors = document, decls, errors
        self.path, self.operator = path, operator
        self.raw = condition[operator]
        self.fold = bool(condition.get("ignore_case", False))
        self.case_given = "ignore_case" in condition
        self.strings: frozenset[str] | None = None  # set for text eq/in: the fast path
        self.suffix = ""

    def fail(self, code: str, message: str, key: str | None = None) -> None:
        self.errors.append(self.document.error((*self.path, key or self.operator), code, message))

    def build(self) -> tuple[Predicate, str, frozenset[Any] | None, bool] | None:
        positive = _NEGATIVE.get(self.operator, self.operator)
        if self.case_given and self.operator not in _CASE_OPERATORS:
            self.fail(
                "invalid-value",
                "'ignore_case' applies to eq, ne, in, not_in and matches only",
                key="ignore_case",
            )
            return None
        value = self.setting_value(positive)
        if value is _BAD:
            return None
        made = getattr(self, f"_{positive}")(value)
        if made is None:
            return None
        predicate, text, allowed, dynamic = made
        if self.fold:
            text, allowed = text + " (ignoring case)", None
        return predicate, text + self.suffix, allowed, dynamic

    def setting_value(self, positive: str) -> Any:
        if not (isinstance(self.raw, Mapping) and "setting" in self.raw):
            return self.raw
        name = str(self.raw["setting"])
        decl = self.decls.settings.get(name)
        if decl is None:
            hint = did_you_mean(name, self.decls.settings) or "; declare it under 'settings:'"
            self.fail("unknown-setting", f"no setting {name!r} is declared{hint}")
            return _BAD
        family = {"eq": "eq", "in": "in", "before": "date", "after": "date"}.get(positive, "order")
        if decl.type not in _SETTING_KINDS[family]:
            self.fail(
                "setting-type",
                f"setting {name!r} is a {decl.type}; '{self.operator}' "
                f"needs a {' or '.join(sorted(_SETTING_KINDS[family]))} setting",
            )
            return _BAD
        self.suffix = f" (setting {name})"
        return self.decls.effective[name]

    def _eq(self, expected: Any) -> tuple[Predicate, str, frozenset[Any] | None, bool]:
        if isinstance(expected, str) and not self.fold:
            self.strings = frozenset({expected})
            predicate: Predicate = lambda item: type(item) is str and item == expected  # noqa: E731
        else:
            key, fold = value_key(expected, self.fold), self.fold
            predicate = lambda item: value_key(item, fold) == key  # noqa: E731
        return predicate, f"= {expected!r}", frozenset({value_key(expected)}), False

    def _in(self, expected: Any) -> tuple[Predicate, str, frozenset[Any] | None, bool]:
        options = list(expected)
        text = f"in [{', '.join(str(option) for option in options)}]"
        if all(isinstance(option, str) for option in options) and not self.fold:
            strings = self.strings = frozenset(options)
            predicate: Predicate = lambda item: type(item) is str and item in strings  # noqa: E731
        else:
            keys, fold = frozenset(value_key(option, self.fold) for option in options), self.fold
            predicate = lambda item: value_key(item, fold) in keys  # noqa: E731
        return predicate, text, frozenset(value_key(option) for option in options), False

    def _present(self, expected: Any) -> tuple[Predicate, str, None, bool] | None:
        if expected is not True:
            self.fail(
                "invalid-value",
                f"write '{self.operator}: true'; for the opposite use "
                f"'{'absent' if self.operator == 'present' else 'present'}: true'",
            )
            return None
        return (lambda item: item is not None and item != "" and item != []), "present", None, False

    def _order(self, expected: Any) -> tuple[Predicate, str, None, bool] | None:
        symbol = _ORDER[self.operator]
        compare = _COMPARE[self.operator]
        if isinstance(expected, (int, float)) and not isinstance(expected, bool):
            return (
                (lambda item: type(item) in (int, float) and compare(item, expected)),
                f"{symbol} {expected}",
                None,
                False,
            )
        when = as_date(expected) if isinstance(expected, str) and len(expected) == 10 else None
        if when is None:
            self.fail(
                "bad-date", f"expected a number or an ISO date (YYYY-MM-DD), got {expected!r}"
            )
            return None
        return _date_predicate(compare, when), f"{symbol} {expected}", None, False

    _gt = _ge = _lt = _le = _order

    def _before(self, expected: Any) -> tuple[Predicate, str, None, bool] | None:
        if expected == "as_of":
            self.decls.uses_as_of = True
            return _COMPARE[self.operator], f"{self.operator} as_of", None, True
        when = as_date(expected) if isinstance(expected, str) and len(expected) == 10 else None
        if when is None:
            self.fail("bad-date", f"expected an ISO date (YYYY-MM-DD) or 'as_of', got {expected!r}")
            return None
        return (
            _date_predicate(_COMPARE[self.operator], when),
            f"{self.operator} {expected}",
            None,
            False,
        )

    _after = _before

    def _matches(self, pattern: Any) -> tuple[Predicate, str, None, bool] | None:
        pattern = str(pattern)
        regex, code, message = compile_re2(pattern, case_sensitive=not self.fold)
        if regex is None:
            self.fail(code, message)
            return None
        search = regex.search
        return (
            (lambda item: type(item) is str and search(item) is not None),
            f"matches /{pattern}/",
            None,
            False,
        )


_BAD = object()
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "before": lambda a, b: a < b,
    "after": lambda a, b: a > b,
}


def _date_predicate(compare: Callable[[Any, Any], bool], when: date) -> Predicate:
    def predicate(item: Any) -> bool:
        value = as_date(item)
        return value is not None and compare(value, when)

    return predicate


def _leaf(
    reference: str,
    operator: str,
    predicate: Predicate,
    text: str,
    allowed: frozenset[Any] | None,
    dynamic: bool,
    is_list: bool,
) -> Leaf:
    read = compile_path(reference)
    negative = operator in _NEGATIVE
    compared = allowed
    if dynamic:
        test = _as_of_test(read, predicate)
    elif "." not in reference and "[" not in reference:
        test = _single_key_test(reference, read, predicate, negative)
    else:
        test = _static_test(read, predicate, negative)
    if negative:
        text = {"ne": "!=", "not_in": "not in", "absent": "absent"}[operator] + (
            text[1:] if operator == "ne" else text[2:] if operator == "not_in" else ""
        )
        allowed = None

    def describe(context: Context) -> str:
        return f"{text} ({context.as_of.isoformat()})" if dynamic else text

    return Leaf(reference, operator, read, test, text, describe, allowed, is_list, compared)


def _text_key_test(
    key: str, read: Reader, predicate: Predicate, strings: frozenset[str], negative: bool
) -> Test:
    """eq/in/ne/not_in with text on a top-level field: the commonest rule, made cheapest."""

    def test(record: Any, context: Context) -> bool:
        value = record.get(key, _MISSING) if type(record) is dict else _MISSING
        if type(value) is str:
            return (value in strings) is not negative
        if value is _MISSING:
            value = read(record)
        held = any(predicate(item) for item in value) if type(value) is list else predicate(value)
        return held is not negative

    return test


def _single_key_test(key: str, read: Reader, predicate: Predicate, negative: bool) -> Test:
    """The common case, a top-level field, read without a reader call (hot path)."""

    def test(record: Any, context: Context) -> bool:
        value = record.get(key, _MISSING) if type(record) is dict else _MISSING
        if value is _MISSING:
            value = read(record)
        held = any(predicate(item) for item in value) if type(value) is list else predicate(value)
        return not held if negative else held

    return test


_MISSING = object()


def _static_test(read: Reader, predicate: Predicate, negative: bool) -> Test:
    def test(record: Any, context: Context) -> bool:
        value = read(record)
        held = any(predicate(item) for item in value) if type(value) is list else predicate(value)
        return not held if negative else held

    return test


def _as_of_test(read: Reader, compare: Callable[[Any, Any], bool]) -> Test:
    def test(record: Any, context: Context) -> bool:
        when = context.as_of
        value = read(record)
        items = value if type(value) is list else [value]
        return any((day := as_date(item)) is not None and compare(day, when) for item in items)

    return test
