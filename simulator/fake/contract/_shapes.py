"""Shapes of the contract's values, and the reader of facts.json's type notation.

facts.json writes a field's type as a short string (``"string?"``, ``"int32 1..250 default
50"``, ``"InventoryStatus"``, ``"Persona[]?"``, ``"{code,name}?"``, ``"REQUIRED 1..2 x
{surname REQUIRED<=50,...}"``) and an object as a mapping whose keys may end in ``[]`` (an
array of objects). `parse_fields` and `parse_type` read that notation into shapes; anything
they cannot read raises `FactsError` naming where it is, so a contract nobody understood is
never silently accepted.

Scalars are not type-checked (ids are int32 in some schemas and strings in others, and the
fakes are judged on names and enums); an object or array where the contract has a scalar is.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, TypeAlias

__all__ = [
    "ANY",
    "AllOf",
    "Arr",
    "Binary",
    "Context",
    "FactsError",
    "Field",
    "NoBody",
    "Obj",
    "OneOf",
    "Patch",
    "Ref",
    "Scalar",
    "Shape",
    "field_names",
    "parse_fields",
    "parse_inline",
    "parse_type",
]


class FactsError(ValueError):
    """facts.json holds something the contract model cannot read (the message says where)."""


@dataclass(frozen=True, slots=True)
class Scalar:
    """A scalar value: `kind` is the contract's word (``string``, ``int32``, ``any``...);
    `enum` the allowed values when the contract enumerates them; `low`/`high` an integer
    range (query parameters such as ``max-results``)."""

    kind: str
    enum: tuple[str | int, ...] | None = None
    enum_name: str | None = None
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Field:
    """One named member of an object: its shape and whether the contract requires it."""

    shape: Shape
    required: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Obj:
    """An object with the listed fields; `open` when the contract lets others through
    (``(others)`` in facts.json, or a type whose members it does not list)."""

    fields: Mapping[str, Field] = field(default_factory=dict)
    open: bool = False


@dataclass(frozen=True, slots=True, eq=False)
class Arr:
    """An array whose every item has the shape `item`."""

    item: Shape


@dataclass(frozen=True, slots=True, eq=False)
class OneOf:
    """Any of `options` (the contract leaves the choice UNCONFIRMED, e.g. object or array)."""

    options: tuple[Shape, ...]


@dataclass(frozen=True, slots=True, eq=False)
class AllOf:
    """Every member of every object of `options`, as one object (``allOf(Envelope, X)``)."""

    options: tuple[Shape, ...]


@dataclass(frozen=True, slots=True)
class Ref:
    """A named type (``Address``, ``Contact``...), resolved through the contract's table."""

    system: str
    name: str


@dataclass(frozen=True, slots=True)
class NoBody:
    """The contract gives no body for this answer (``204``, ``201 no body``)."""


@dataclass(frozen=True, slots=True)
class Binary:
    """A file or stream: the contract gives no schema to check."""


@dataclass(frozen=True, slots=True)
class Patch:
    """A JSON Patch array: `ops` the allowed ``op`` values and `paths` the allowed paths
    (compared case-insensitively), each None where the contract does not say."""

    ops: frozenset[str] | None
    paths: frozenset[str] | None


Shape: TypeAlias = Scalar | Obj | Arr | OneOf | AllOf | Ref | NoBody | Binary | Patch

ANY: Final = Scalar("any")

_SCALARS: Final = {
    "string": "string",
    "int": "int",
    "int32": "int",
    "int64": "int",
    "number": "number",
    "double": "number",
    "float": "number",
    "bool": "bool",
    "date-time": "string",
    "date": "string",
    "uuid": "string",
    "uri": "string",
    "JWT": "string",
    "binary": "binary",
    "ro": "any",
    "IGNORED": "any",
}
_REQUIRED: Final = re.compile(r"\bREQUIRED\b|\[Required\]")
_NOTE: Final = re.compile(r"\(([^()]*)\)")
_TOKEN: Final = re.compile(r"^([A-Za-z][\w.-]*(?:\|[A-Za-z][\w.-]*)*)(\[\])?(\?)?")
_ARRAY_OF: Final = re.compile(r"^\d+\.\.\d+ x (\{.*\})")
_RANGE: Final = re.compile(r"\b(\d+)\.\.(\d+)\b")
_DIGIT_ENUM: Final = re.compile(r"^string '(\d+)'\.\.'(\d+)'")
_MEMBER: Final = re.compile(r"^(\w+)(\[\])?(\?)?(?::([A-Za-z][\w\[\]?-]*))?(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Context:
    """Where a type is read: `where` names it in errors; `enums` maps enum names to their
    facts (a list, a prose string or a mapping); `types` the named types of `system`."""

    system: str
    where: str
    enums: Mapping[str, object]
    types: frozenset[str]

    def at(self, name: str) -> Context:
        """The same context one member deeper (for error messages)."""
        return Context(self.system, f"{self.where}.{name}", self.enums, self.types)


def parse_type(text: str, ctx: Context) -> tuple[Shape, bool]:
    """Read one type string; returns the shape and whether it is REQUIRED.

    >>> ctx = Context("alto", "op", {"Persona": ["Tenant"]}, frozenset())
    >>> parse_type("Persona[]?", ctx)[0]
    Arr(item=Scalar(kind='string', enum=('Tenant',), enum_name='Persona', low=None, high=None))
    >>> parse_type("int32 1..250 default 50", ctx)[0]
    Scalar(kind='int', enum=None, enum_name=None, low=1, high=250)
    >>> parse_type("string REQUIRED minLen1", ctx)[1]
    True
    """
    required = bool(_REQUIRED.search(text))
    bare = _REQUIRED.sub("", text)
    notes = " ".join(_NOTE.findall(bare))
    body = _NOTE.sub("", bare).strip()
    return _shape_of(body, notes, ctx), required


def _shape_of(body: str, notes: str, ctx: Context) -> Shape:
    if body in ("", "?", "[]", "[]?"):
        return Arr(ANY) if body.startswith("[]") else ANY
    if body.startswith("[{"):
        return Arr(parse_inline(_braced(body[1:], ctx), ctx))
    if (many := _ARRAY_OF.match(body)) is not None:
        return Arr(parse_inline(_braced(many.group(1), ctx), ctx))
    if body.startswith("{"):
        return parse_inline(_braced(body, ctx), ctx)
    token = _TOKEN.match(body)
    if token is None:
        raise FactsError(f"{ctx.where}: cannot read the type {body!r}")
    name, array = token.group(1), token.group(2) is not None
    shape = _named(name, body[token.end() :], ctx)
    if "object" in notes and isinstance(shape, Scalar):
        shape = ANY  # "string in spec (... object per third-party client)": either is fine
    return Arr(shape) if array else shape


def _named(name: str, rest: str, ctx: Context) -> Shape:
    if "|" in name:
        return Scalar("string", tuple(name.split("|")))
    if name == "object":
        return Obj(open=True)
    if name in _SCALARS:
        kind = _SCALARS[name]
        span = _RANGE.search(rest) if kind == "int" else None
        if span is None:
            return Scalar(kind)
        return Scalar(kind, low=int(span.group(1)), high=int(span.group(2)))
    if name in ctx.enums:
        return _enum(name, ctx.enums[name], ctx)
    if name in ctx.types:
        return Ref(ctx.system, name)
    raise FactsError(f"{ctx.where}: {name!r} is neither a type, an enum nor a named type")


def _enum(name: str, facts: object, ctx: Context) -> Scalar:
    """An enum from its facts: a list of values, a mapping of int codes, or prose."""
    if isinstance(facts, list) and all(isinstance(value, str) for value in facts):
        return Scalar("string", tuple(facts), name)
    if isinstance(facts, dict) and all(key.isdigit() for key in facts):
        return Scalar("int", tuple(int(key) for key in facts), name)
    if isinstance(facts, str):
        if (digits := _DIGIT_ENUM.match(facts)) is not None:
            low, high = int(digits.group(1)), int(digits.group(2))
            return Scalar("string", tuple(str(code) for code in range(low, high + 1)), name)
        if ("UNCONFIRMED" in facts and "no enum" in facts) or "plain string" in facts:
            return Scalar("string", None, name)
    raise FactsError(f"{ctx.where}: cannot read the enum {name} = {facts!r}")


def _braced(text: str, ctx: Context) -> str:
    """The first balanced ``{...}`` of `text`, braces included."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0 and char == "}":
            return text[: index + 1]
    raise FactsError(f"{ctx.where}: unbalanced braces in {text!r}")


def _split_members(inner: str) -> list[str]:
    members, depth, start = [], 0, 0
    for index, char in enumerate(inner):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            members.append(inner[start:index])
            start = index + 1
    members.append(inner[start:])
    return [member.strip() for member in members if member.strip()]


def parse_inline(text: str, ctx: Context) -> Obj:
    """Read an inline object, ``{a, b?:int32, c?{d,e}, f?<=4 {g REQUIRED}}``.

    A member's ``:type`` is read by `parse_type`; a nested ``{...}`` is an object, an array
    of objects when a count bound ``<=N`` comes before it; members without a type are
    scalars of any kind.

    >>> sorted(parse_inline("{source?{code,name},id?}", Context("a", "x", {}, frozenset())).fields)
    ['id', 'source']
    """
    if not (text.startswith("{") and text.endswith("}")):
        raise FactsError(f"{ctx.where}: expected an inline object, got {text!r}")
    fields: dict[str, Field] = {}
    for member in _split_members(text[1:-1]):
        match = _MEMBER.match(member)
        if match is None:
            raise FactsError(f"{ctx.where}: cannot read the member {member!r}")
        name, array, typed, rest = match.group(1), match.group(2), match.group(4), match.group(5)
        fields[name] = _member(name, bool(array), typed, rest, ctx.at(name))
    return Obj(fields)


def _member(name: str, array: bool, typed: str | None, rest: str, ctx: Context) -> Field:
    required = bool(_REQUIRED.search(rest))
    shape: Shape = ANY
    if typed is not None:
        shape, _ = parse_type(typed, ctx)
    if "{" in rest:
        head = rest[: rest.index("{")]
        nested = parse_inline(_braced(rest[rest.index("{") :], ctx), ctx)
        shape = Arr(nested) if re.search(r"<=\d+|\[", head) else nested
    return Field(Arr(shape) if array else shape, required)


def field_names(key: str) -> tuple[tuple[str, ...], bool]:
    """The names a facts.json key stands for, and whether it is an array (``x[]``).

    Brace groups expand (``Price{Net,Tax}`` is ``PriceNet`` and ``PriceTax``); a trailing
    TAB, literal or escaped as ``\\t`` (a defect of Fixflo's spec on ``EmailCC``/``Address``),
    is dropped: rulebridge uses the names without it.

    >>> field_names("Price{Payable,Receivable}{Net,Tax}")[0]
    ('PricePayableNet', 'PricePayableTax', 'PriceReceivableNet', 'PriceReceivableTax')
    >>> field_names("items[]")
    (('items',), True)
    """
    name = key.removesuffix("\\t").rstrip("\t")
    array = name.endswith("[]")
    name = name.removesuffix("[]")
    parts = re.split(r"(\{[^{}]*\})", name)
    choices = [part[1:-1].split(",") if part.startswith("{") else [part] for part in parts]
    return tuple("".join(combo) for combo in itertools.product(*choices)), array


def parse_fields(spec: Mapping[str, object], ctx: Context) -> Obj:
    """Read a facts.json object: keys are field names, values type strings or objects.

    The key ``(others)`` makes the object open (the contract summarises further fields in
    prose). Any other value than a string or an object raises `FactsError`.
    """
    fields: dict[str, Field] = {}
    is_open = False
    for key, value in spec.items():
        if key == "(others)":
            is_open = True
            continue
        names, array = field_names(key)
        inner = ctx.at(names[0])
        if isinstance(value, str):
            shape, required = parse_type(value, inner)
        elif isinstance(value, dict):
            shape, required = parse_fields(value, inner), False
        else:
            raise FactsError(f"{inner.where}: cannot read {value!r} (a type string or object)")
        for name in names:
            fields[name] = Field(Arr(shape) if array else shape, required)
    return Obj(fields, is_open)
