"""The contract model: every operation of facts.json, read once into typed shapes.

`load_contract` reads facts.json (the committed copy beside this module by default) into a
`Contract`: per system, `Operation`s with their method and path template, query parameters,
request body shape and content type, response shape, error shape and paging names. Prose
values (``"Envelope {...} Entity=Property"``, ``"PrevNextPager {...} T=Tenant"``,
``"same as inventory_filter"``...) are read by explicit patterns; an operation whose facts
match none raises `FactsError` naming the operation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Final

from simulator.fake.contract._named import NAMED, OPEN
from simulator.fake.contract._shapes import (
    ANY,
    AllOf,
    Arr,
    Binary,
    Context,
    FactsError,
    Field,
    NoBody,
    Obj,
    OneOf,
    Patch,
    Ref,
    Scalar,
    Shape,
    parse_fields,
    parse_inline,
)

__all__ = ["FACTS", "Contract", "Operation", "load_contract"]

FACTS: Final = Path(__file__).with_name("facts.json")
"""The committed copy of ../shared/contracts/facts.json."""

SYSTEMS: Final = ("alto", "fixflo")
_TOKEN_PARAMS: Final = ("next-token", "max-results", "nextToken", "maxResults")


@dataclass(frozen=True, slots=True, eq=False)
class Operation:
    """One operation of a vendor's contract.

    Attributes:
        system, key: where it is in facts.json (``alto``, ``inventory_filter``).
        method, path: the HTTP method and the path template, in the spec's casing.
        query: the query parameters by name (an `Arr` shape may repeat).
        request: the body's shape, None when the operation takes none.
        media_type: the request content type the contract gives, None without a body.
        response: the shape of a 2xx answer's body.
        errors: the error body's shape name (``ProblemDetails``, ``ErrorsResponse``,
            ``Envelope``), None where the contract does not say.
        headers: request headers the contract requires (lower case).
        paging: the paging parameter names (``next-token``, ``pg``...).
        confirmed: False when facts.json marks the source as secondary.
    """

    system: str
    key: str
    method: str
    path: str
    query: Mapping[str, Field]
    request: Shape | None
    media_type: str | None
    response: Shape
    errors: str | None
    headers: tuple[str, ...]
    paging: tuple[str, ...]
    confirmed: bool
    pattern: re.Pattern[str] = field(repr=False)

    @property
    def label(self) -> str:
        """``alto inventory_filter (GET /inventory/filter)``."""
        return f"{self.system} {self.key} ({self.method} {self.path})"


@dataclass(frozen=True, slots=True, eq=False)
class Contract:
    """Both vendors' operations and named types. Build with `load_contract`."""

    operations: Mapping[str, Mapping[str, Operation]]
    types: Mapping[tuple[str, str], Shape]

    def operation(self, system: str, key: str) -> Operation:
        """The operation `key` of `system` (KeyError naming it when there is none)."""
        try:
            return self.operations[system][key]
        except KeyError:
            raise KeyError(f"facts.json has no {system} operation {key!r}") from None

    def candidates(self, system: str, path: str) -> list[Operation]:
        """The operations whose path template matches `path`, most literal first."""
        found = [op for op in self.operations[system].values() if op.pattern.fullmatch(path)]
        return sorted(found, key=lambda op: op.path.count("{"))

    def match(self, system: str, method: str, path: str) -> Operation | None:
        """The operation serving `method` `path`, None when the contract has none."""
        return next((op for op in self.candidates(system, path) if op.method == method), None)

    def resolve(self, ref: Ref) -> Shape:
        """The shape a named type stands for."""
        return self.types[(ref.system, ref.name)]

    def __iter__(self) -> Iterator[Operation]:
        for ops in self.operations.values():
            yield from ops.values()


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching the paths of a template: each ``{name}`` one non-empty segment."""
    parts = re.split(r"\{[^{}/]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


@cache
def load_contract(path: Path = FACTS) -> Contract:
    """Read facts.json into a `Contract` (cached per path).

    Raises:
        FactsError: naming the operation and value facts.json holds that cannot be read.

    >>> contract = load_contract()
    >>> contract.match("alto", "GET", "/inventory/filter").key
    'inventory_filter'
    >>> contract.match("fixflo", "GET", "/Tenant/12/Properties").paging
    ()
    """
    facts = json.loads(path.read_text("utf-8"))
    types: dict[tuple[str, str], Shape] = {}
    operations = {system: _system(system, facts[system], types) for system in SYSTEMS}
    contract = Contract(operations, types)
    _check_refs(contract)
    return contract


def _system(
    system: str, facts: Mapping[str, Any], types: dict[tuple[str, str], Shape]
) -> dict[str, Operation]:
    reader = _Reader(system, facts)
    ops = {key: reader.operation(key) for key in facts if not key.startswith("_")}
    for name, spec in NAMED[system].items():
        types[(system, name)] = reader.named(name, spec, ops)
    types.update({(system, name): shape for name, shape in reader.envelopes.items()})
    return ops


def _check_refs(contract: Contract) -> None:
    """Every named type an operation uses must exist (found at load, not at check time)."""
    seen: set[int] = set()

    def walk(shape: Shape, where: str) -> None:
        if id(shape) in seen:
            return
        seen.add(id(shape))
        if isinstance(shape, Ref) and (shape.system, shape.name) not in contract.types:
            raise FactsError(f"{where}: the named type {shape.name!r} is not defined")
        for child in _children(shape):
            walk(child, where)

    for op in contract:
        for shape in (op.request, op.response, *(f.shape for f in op.query.values())):
            if shape is not None:
                walk(shape, op.label)
    for (system, name), shape in contract.types.items():
        walk(shape, f"{system} type {name}")


def _children(shape: Shape) -> Iterator[Shape]:
    if isinstance(shape, Obj):
        yield from (member.shape for member in shape.fields.values())
    elif isinstance(shape, Arr):
        yield shape.item
    elif isinstance(shape, OneOf | AllOf):
        yield from shape.options


_ENVELOPE_RESPONSE: Final = re.compile(
    r"^Envelope \{[^}]*\} \(errors may arrive with HTTP 200\) Entity=(\w+)$"
)
_PAGER: Final = re.compile(r"^PrevNextPager \{[^}]*\} T=(\w+)(\{[^}]*\})?(?: \(.*\))?$")
_MEDIA: Final = re.compile(r"^([\w.+-]+/[\w.+*-]+)")


class _Reader:
    """Reads one system's operations; keeps its enums, envelopes and named types."""

    def __init__(self, system: str, facts: Mapping[str, Any]) -> None:
        self.system, self.facts = system, facts
        self.global_ = facts["_global"]
        self.global_enums: Mapping[str, object] = facts["_enums"]
        self.types = frozenset(NAMED[system])
        self.envelopes = self._envelopes()
        self.types |= frozenset(self.envelopes)
        self.done: dict[str, Operation] = {}

    def context(self, key: str, enums: Mapping[str, object] | None = None) -> Context:
        return Context(
            self.system, f"{self.system}.{key}", {**self.global_enums, **(enums or {})}, self.types
        )

    def _envelopes(self) -> dict[str, Shape]:
        """Alto's `_global.envelopes` and Fixflo's envelope and pager, items open."""
        ctx = Context(self.system, f"{self.system}._global", {}, frozenset({"T"}))
        if self.system == "fixflo":
            return {
                "Envelope": _generic(self.global_["envelope"], ctx),
                "PrevNextPager": _generic(self.global_["pager"], ctx),
            }
        shapes: dict[str, Shape] = {
            name: _generic(text, ctx) for name, text in self.global_["envelopes"].items()
        }
        for name, text in self.global_["error_shapes"].items():
            shape = _generic(text, ctx)
            # alto.md section 0: ProblemDetails has additionalProperties {} (extensions).
            shapes[name] = Obj(shape.fields, open=name == "ProblemDetails")
        return shapes

    def operation(self, key: str) -> Operation:
        if key not in self.done:
            self.done[key] = self._operation(key)
        return self.done[key]

    def _operation(self, key: str) -> Operation:
        facts = self.facts[key]
        ctx = self.context(key, facts.get("enums"))
        try:
            media, request = self._request(facts, ctx)
            return Operation(
                system=self.system,
                key=key,
                method=facts["method"],
                path=_path(facts["path"]),
                query=self._query(facts["query_params"], ctx),
                request=request,
                media_type=media,
                response=self._response(facts["response_fields"], ctx),
                errors=self._errors(facts),
                headers=_headers(facts.get("headers", {})),
                paging=self._paging(facts),
                confirmed=bool(facts["confirmed"]),
                pattern=template_pattern(_path(facts["path"])),
            )
        except KeyError as exc:
            raise FactsError(f"{self.system}.{key}: facts.json lacks {exc}") from None

    def _query(self, facts: object, ctx: Context) -> dict[str, Field]:
        if isinstance(facts, dict):
            return parse_fields(facts, ctx.at("query")).fields  # type: ignore[return-value]
        if isinstance(facts, str) and "none declared in spec" in facts:
            # GET /Landlord: the spec declares none; a secondary client uses these.
            return {name: Field(Scalar("string")) for name in re.findall(r"\?(\w+)=", facts)}
        raise FactsError(f"{ctx.where}: cannot read query_params {facts!r}")

    def _request(self, facts: Mapping[str, Any], ctx: Context) -> tuple[str | None, Shape | None]:
        declared = str(facts.get("content_type", ""))
        fields = facts["request_fields"]
        form = facts.get("headers", {}).get("Content-Type")
        if "JSON Patch" in declared or "json-patch" in declared:
            return _media(declared), _patch(fields, ctx)
        if form == "application/x-www-form-urlencoded" and isinstance(fields, dict):
            literals = {
                name: Field(Scalar("string", (value,)), True) for name, value in fields.items()
            }
            return form, Obj(literals)
        if fields == {}:
            return None, None
        media = _media(declared) if declared else "application/json"
        if isinstance(fields, dict):
            return media, parse_fields(fields, ctx.at("request"))
        return media, _prose_request(str(fields), ctx)

    def _response(self, facts: object, ctx: Context) -> Shape:
        if isinstance(facts, dict):
            return parse_fields(facts, ctx.at("response"))
        text = str(facts)
        for pattern, build in _PROSE_RESPONSES:
            if (found := re.match(pattern, text)) is not None:
                return build(self, found, ctx)
        raise FactsError(f"{ctx.where}: cannot read response_fields {text!r}")

    def _errors(self, facts: Mapping[str, Any]) -> str | None:
        if self.system == "fixflo":
            return "Envelope"
        declared = str(facts.get("errors", ""))
        for shape in ("ProblemDetails", "ErrorsResponse"):
            if shape in declared:
                return shape
        area = _area(facts["path"])
        for shape, text in self.global_["error_shapes"].items():
            listed = re.search(r"\(([^)]*)\)\s*$", text)
            if listed and area in [part.strip() for part in listed.group(1).split(",")]:
                return str(shape)
        return None

    def _paging(self, facts: Mapping[str, Any]) -> tuple[str, ...]:
        paging = facts.get("paging", {})
        named = tuple(paging[k] for k in ("token_param", "size_param", "page_param") if k in paging)
        if named:
            return named
        query = facts["query_params"]
        known = [*self.global_.get("page_params", {}), *_TOKEN_PARAMS]
        return tuple(name for name in known if isinstance(query, dict) and name in query)

    def named(self, name: str, spec: object, ops: Mapping[str, Operation]) -> Shape:
        ctx = self.context(f"type {name}")
        if spec == OPEN:
            return Obj(open=True)
        if isinstance(spec, dict):
            return parse_fields(spec, ctx)
        if isinstance(spec, tuple) and spec[0] == "op":
            return self._part(ops[spec[1]], spec[2], ctx)
        raise FactsError(f"{ctx.where}: cannot read {spec!r}")

    def _part(self, op: Operation, part: str, ctx: Context) -> Shape:
        shape = op.request if part == "request" else op.response
        if part == "items":
            shape = _items(shape, ctx)
        if shape is None:
            raise FactsError(f"{ctx.where}: {op.label} has no {part}")
        return shape


def _path(text: str) -> str:
    """The path of a facts ``path`` (an absolute URL for Alto's token)."""
    return re.sub(r"^https?://[^/]+", "", text)


def _area(text: str) -> str:
    """The area of an Alto path as `_global.error_shapes` names them (``work orders``)."""
    path = _path(text)
    if "/charges" in path:
        return "charges"
    return path.strip("/").split("/")[0].replace("-", " ")


def _headers(facts: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(name.lower() for name, text in facts.items() if "required" in text)


def _media(declared: str) -> str:
    found = _MEDIA.match(declared.strip())
    if found is None:
        raise FactsError(f"cannot read the content type {declared!r}")
    return found.group(1)


def _items(shape: Shape | None, ctx: Context) -> Shape:
    items = shape.fields.get("items") if isinstance(shape, Obj) else None
    if items is not None and isinstance(items.shape, Arr):
        return items.shape.item
    raise FactsError(f"{ctx.where}: no items[] to take")


def _generic(text: str, ctx: Context) -> Obj:
    """An envelope from prose, ``Name {a:int, Items:T[], meta:{nextToken?}, items[]}``."""
    found = re.search(r"\{.*\}", text)
    if found is None:
        raise FactsError(f"{ctx.where}: cannot read the envelope {text!r}")
    shape = parse_inline(found.group(0), ctx)
    return Obj({name: Field(_concrete(m.shape), m.required) for name, m in shape.fields.items()})


def _concrete(shape: Shape) -> Shape:
    """The generic ``T`` of an envelope as any value until an operation fills it in."""
    if isinstance(shape, Ref) and shape.name == "T":
        return ANY
    if isinstance(shape, Arr) and isinstance(shape.item, Ref) and shape.item.name == "T":
        return Arr(ANY)
    return shape


def _with(envelope: Shape, name: str, shape: Shape) -> Obj:
    """`envelope` with its generic member `name` given `shape` (items stay arrays)."""
    assert isinstance(envelope, Obj)
    member = envelope.fields[name]
    typed = Arr(shape) if isinstance(member.shape, Arr) else shape
    return Obj({**envelope.fields, name: Field(typed, member.required)}, envelope.open)


def _patch(fields: object, ctx: Context) -> Patch:
    if isinstance(fields, dict):
        ops = fields.get("ops")
        paths = fields.get("paths")
        return Patch(
            frozenset(str(ops).split("|")) if ops else None,
            frozenset(p.lower() for p in paths) if isinstance(paths, list) else None,
        )
    if isinstance(fields, str) and "UNCONFIRMED" in fields:
        return Patch(None, None)
    raise FactsError(f"{ctx.where}: cannot read the JSON Patch request {fields!r}")


def _prose_request(text: str, ctx: Context) -> Shape:
    if text == "JSON string":
        return Scalar("string")
    if (named := re.match(r"^(\w+) \(.*\)$", text)) is not None and named.group(1) in ctx.types:
        return Ref(ctx.system, named.group(1))
    raise FactsError(f"{ctx.where}: cannot read request_fields {text!r}")


def _ref_or_inline(reader: _Reader, name: str, inline: str | None, ctx: Context) -> Shape:
    if inline:
        return parse_inline(inline, ctx)
    if name == "string":
        return Scalar("string")
    if name not in reader.types:
        raise FactsError(f"{ctx.where}: {name!r} is not a named type")
    return Ref(reader.system, name)


def _envelope(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    entity = _ref_or_inline(reader, found.group(1), None, ctx)
    return _with(reader.envelopes["Envelope"], "Entity", entity)


def _pager(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    item = _ref_or_inline(reader, found.group(1), found.group(2), ctx)
    return _with(reader.envelopes["PrevNextPager"], "Items", item)


def _paged_results(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return _with(reader.envelopes["PM PagedResults"], "items", Ref(reader.system, found.group(1)))


def _same_as(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return reader.operation(found.group(1)).response


def _ref(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return _ref_or_inline(reader, found.group(1), None, ctx)


def _object_or_array(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    single = _ref_or_inline(reader, found.group(1), None, ctx)
    return OneOf((single, Arr(single)))


def _object_array_or_page(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    single = _ref_or_inline(reader, found.group(1), None, ctx)
    page = _with(reader.envelopes["PM PagedResults"], "items", single)
    return OneOf((single, Arr(single), page))


def _array(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return Arr(_ref_or_inline(reader, found.group(1), None, ctx))


def _either(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return OneOf(tuple(Ref(reader.system, name) for name in found.groups()))


def _tenancy_light(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    item = _items(reader.operation("tenancies_list").response, ctx)
    assert isinstance(item, Obj)
    dropped = {name.strip() for name in found.group(1).split(",")}
    return Obj({k: v for k, v in item.fields.items() if k not in dropped}, item.open)


def _charge_plus(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    base = reader.operation("charge_property").response
    assert isinstance(base, Obj)
    extra = parse_inline("{" + found.group(1) + "}", ctx)
    return Obj({**base.fields, **extra.fields}, base.open)


def _document_paged(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return _with(reader.envelopes["Document Paged"], "items", Ref(reader.system, "DocumentItem"))


def _envelope_and(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    """``allOf(Envelope, TenantProperty)``: both objects' members at the top level."""
    return AllOf((reader.envelopes["Envelope"], Ref(reader.system, found.group(1))))


def _unnamed_pager(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    # The spec names the array property '' (a defect); read as the pager's Items.
    return _with(reader.envelopes["PrevNextPager"], "Items", Ref(reader.system, found.group(1)))


def _json_items(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return Arr(parse_fields(json.loads(found.group(1)), ctx))


def _pages_of(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    item = parse_inline(found.group(1), ctx)
    return OneOf((_with(reader.envelopes["PrevNextPager"], "Items", item), Arr(item)))


def _no_body(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return NoBody()


def _unchecked(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return Binary()


def _empty(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return Obj()


def _inline_array(reader: _Reader, found: re.Match[str], ctx: Context) -> Shape:
    return Arr(parse_inline(found.group(1), ctx))


_Build = Callable[[_Reader, re.Match[str], Context], Shape]


_PROSE_RESPONSES: Final[tuple[tuple[str, _Build], ...]] = (
    (r"^same as (\w+)$", _same_as),
    (r"^(?:204|201 no body.*)$", _no_body),
    (r"^(?:200|200 no schema)$", _unchecked),
    (r"^\{\}$", _empty),
    (_ENVELOPE_RESPONSE.pattern, _envelope),
    (r"^Envelope \(no Entity\)$", lambda reader, _, __: reader.envelopes["Envelope"]),
    (_PAGER.pattern, _pager),
    (r"^allOf\(PrevNextPager, \{'': (\w+)\[\]\}\)", _unnamed_pager),
    (r"^allOf\(Envelope, (\w+)\)$", _envelope_and),
    (
        r"^(\w+) \(single schema in spec; array-vs-object for multiple ids UNCONFIRMED\)$",
        _object_or_array,
    ),
    (r"^spec: single (\w+) \(array/page UNCONFIRMED\)$", _object_array_or_page),
    (r"^20[01] (\w+)(?:;.*)?$", _ref),
    (r"^PagedResults<(\w+)>$", _paged_results),
    (r"^TenancyListItem minus (.*) \(TenancyLight\)$", _tenancy_light),
    (r"^PropertyCharge fields \+ (.*) \(no raised/status flag\)$", _charge_plus),
    (r"^(?:binary|application/pdf binary) \(no schema\)$|^stream$", _unchecked),
    (r"^DocumentPagedResults$", _document_paged),
    (r"^(\w+)\[\](?: \(bare array\))?$", _array),
    (r"^json: (\w+) / xml: (\w+) \(spec inconsistent\)$", _either),
    (r"^(\w+) \(bare\)$", _ref),
    (r"^\[(\{[\w,]+\})\]$", _inline_array),
    (r"^pages of 20 \w+(\{.*\})$", _pages_of),
    (r"^InvoiceDetails\[\] \(array\): (\{.*\})$", _json_items),
)
