"""The checker: one request and its answer against the contract, as a list of violations.

What is a violation (each names the operation, the part and where in it):

- no operation of the contract has this method and path template (spec casing; Fixflo under
  the fake's ``/api/v2`` prefix, Alto at the root);
- a query parameter the operation does not list (``nextToken`` where it says
  ``next-token``), one given twice that is not an array, a value outside its enum or range,
  a REQUIRED parameter missing; a required header (Alto's ``AgencyRef``) missing;
- a request body of another content type than the contract's, a field it does not list (JSON
  objects recursively, multipart and form field names), a REQUIRED field missing, an enum
  value outside the contract, a JSON Patch op or path it does not allow;
- in a 2xx answer, a field the contract does not list for the operation (recursively, list
  items too), an enum value outside it, a body where it gives none, a body that is not JSON
  where it gives a JSON shape. A fake must never send an unknown field (an adapter ignores
  them). Error answers with a JSON body are held to the operation's error shape
  (ProblemDetails, ErrorsResponse, Fixflo's Envelope); non-JSON error bodies pass. A
  Fixflo write (an operation with a request body) answered HTTP 200 with an Envelope whose
  ``Errors`` is not empty is a refusal (fixflo.md section 0: "errors may arrive with HTTP
  200"), held to the Envelope shape even where a success has another shape
  (``POST /Webhook/Subscribe`` gives ``{id}``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import Final
from urllib.parse import parse_qsl

from simulator.fake.contract._facts import Contract, Operation, load_contract
from simulator.fake.contract._shapes import (
    AllOf,
    Arr,
    Binary,
    NoBody,
    Obj,
    OneOf,
    Patch,
    Ref,
    Scalar,
    Shape,
)

__all__ = ["Exchange", "Violation", "check_exchange"]

_NO_HEADERS: Final[Mapping[str, str]] = {}


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer as the wire carried them.

    `query` keeps every item in order (a name may repeat); header names are lower case.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    status: int = 200
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: bytes = b""


@dataclass(frozen=True, slots=True)
class Violation:
    """One way an exchange left the contract.

    Attributes:
        system, method, path: the request (path as sent, prefix included).
        operation: the facts.json key it matched, None when none matched.
        part: ``request query``, ``request header``, ``request body``, ``response body``
            or ``operation``.
        where: the parameter or field (``items[3].address.flat``), empty for the whole part.
        what: what is wrong and, where one is close, the name the contract has.
    """

    system: str
    method: str
    path: str
    operation: str | None
    part: str
    where: str
    what: str

    @property
    def field(self) -> str:
        """The last name in `where` (``flat`` for ``items[3].address.flat``)."""
        return self.where.rsplit(".", 1)[-1].split("[", 1)[0]

    def __str__(self) -> str:
        op = self.operation or "no operation"
        at = f" {self.where}" if self.where else ""
        return f"{self.system} {self.method} {self.path} [{op}] {self.part}{at}: {self.what}"


def check_exchange(
    system: str, exchange: Exchange, *, prefix: str = "", contract: Contract | None = None
) -> list[Violation]:
    """The violations of one exchange with `system`'s contract (empty when it keeps it).

    Args:
        system: ``alto`` or ``fixflo``.
        exchange: the request and answer.
        prefix: the part of the path before the contract's templates (``/api/v2``).
        contract: the contract (the committed facts.json by default).

    >>> bad = Exchange("GET", "/inventory/filter", (("nextToken", "x"),),
    ...                {"agencyref": "a"}, response_body=b'{"meta": {}, "items": []}')
    >>> [str(v) for v in check_exchange("alto", bad)]  # doctest: +NORMALIZE_WHITESPACE
    ["alto GET /inventory/filter [inventory_filter] request query nextToken: not a parameter
      of this operation (did you mean 'next-token'?)"]
    """
    contract = contract or load_contract()
    path = exchange.path.removeprefix(prefix) if exchange.path.startswith(prefix) else None
    op = contract.match(system, exchange.method, path) if path is not None else None

    def violation(part: str, where: str, what: str) -> Violation:
        key = op.key if op else None
        return Violation(system, exchange.method, exchange.path, key, part, where, what)

    if op is None:
        return [violation("operation", "", _no_operation(contract, system, exchange, path))]
    return [
        *(violation("request query", w, m) for w, m in _query(op, exchange.query)),
        *(violation("request header", w, m) for w, m in _headers(op, exchange.headers)),
        *(violation("request body", w, m) for w, m in _request(contract, op, exchange)),
        *(violation("response body", w, m) for w, m in _response(contract, op, exchange)),
    ]


def _no_operation(contract: Contract, system: str, exchange: Exchange, path: str | None) -> str:
    if path is None:
        return "outside the vendor's API prefix"
    others = sorted({op.method for op in contract.candidates(system, path)})
    if others:
        return f"the contract has no {exchange.method} here (only {', '.join(others)})"
    return f"no operation of {system}'s contract has this path"


def _did_you_mean(name: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _query(op: Operation, items: tuple[tuple[str, str], ...]) -> Iterator[tuple[str, str]]:
    given: dict[str, list[str]] = {}
    for name, value in items:
        given.setdefault(name, []).append(value)
    for name, values in given.items():
        param = op.query.get(name)
        if param is None:
            yield name, "not a parameter of this operation" + _did_you_mean(name, op.query)
            continue
        shape = param.shape
        if not isinstance(shape, Arr) and len(values) > 1:
            yield name, f"given {len(values)} times; the contract takes one value"
        scalar = shape.item if isinstance(shape, Arr) else shape
        if isinstance(scalar, Scalar):
            for value in values:
                yield from ((name, what) for what in _query_value(scalar, value))
    for name, param in op.query.items():
        if param.required and name not in given:
            yield name, "missing; the contract requires it"


def _query_value(scalar: Scalar, value: str) -> Iterator[str]:
    if scalar.enum is not None and value not in [str(item) for item in scalar.enum]:
        yield _enum_message(value, scalar)
    if scalar.low is not None and scalar.high is not None:
        if not value.lstrip("-").isdigit():
            yield f"{value!r} is not a whole number"
        elif not scalar.low <= int(value) <= scalar.high:
            yield f"{value} is outside {scalar.low}..{scalar.high}"


def _enum_message(value: object, scalar: Scalar) -> str:
    name = scalar.enum_name or "the contract's values"
    listed = ", ".join(str(item) for item in (scalar.enum or ()))
    return f"{value!r} is not a value of {name} ({listed})"


def _headers(op: Operation, headers: Mapping[str, str]) -> Iterator[tuple[str, str]]:
    for name in op.headers:
        if name not in headers and name != "authorization":
            yield name, "missing; the contract requires this header"


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _request(contract: Contract, op: Operation, exchange: Exchange) -> Iterator[tuple[str, str]]:
    if op.request is None:
        if exchange.body.strip():
            yield "", "the contract takes no request body here"
        return
    media = _media_type(exchange.headers)
    if op.media_type is not None and media != op.media_type:
        yield "content-type", f"{media or 'none'} where the contract takes {op.media_type}"
        return
    parsed = _parse_body(media, exchange.headers.get("content-type", ""), exchange.body)
    if isinstance(parsed, _Unreadable):
        yield "", parsed.reason
        return
    yield from _walk(contract, parsed, op.request, "", request=True)


@dataclass(frozen=True, slots=True)
class _Unreadable:
    reason: str


def _parse_body(media: str, content_type: str, body: bytes) -> object:
    """The body as JSON, or a form's fields as a mapping (file parts as their bytes)."""
    if media == "multipart/form-data":
        return _multipart(content_type, body)
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return _Unreadable("the body is not JSON")


def _multipart(content_type: str, body: bytes) -> object:
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    message = BytesParser().parsebytes(head + body)
    if not message.is_multipart():
        return _Unreadable("the multipart body has no parts")
    fields: dict[str, object] = {}
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")  # type: ignore[union-attr]
        if not isinstance(name, str):
            return _Unreadable("a multipart part has no name")
        payload = part.get_payload(decode=True)  # type: ignore[union-attr]
        is_file = part.get_param("filename", header="content-disposition")  # type: ignore[union-attr]
        text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        fields[name] = None if is_file else text
    return fields


def _response(contract: Contract, op: Operation, exchange: Exchange) -> Iterator[tuple[str, str]]:
    body = exchange.response_body
    if not 200 <= exchange.status < 300:
        yield from _error_response(contract, op, body)
        return
    shape = op.response
    if isinstance(shape, Binary):
        return
    if isinstance(shape, NoBody):
        if body.strip():
            yield "", "a body where the contract gives none"
        return
    try:
        value = json.loads(body)
    except ValueError:
        yield "", "the answer is not JSON"
        return
    if _refused_write(op, value):
        yield from _error_response(contract, op, body)
        return
    yield from _walk(contract, value, shape, "", request=False)


def _refused_write(op: Operation, value: object) -> bool:
    """Whether a 2xx answer is Fixflo refusing a write: an Envelope listing Errors."""
    return (
        op.errors == "Envelope"
        and op.request is not None
        and isinstance(value, dict)
        and isinstance(value.get("Errors"), list)
        and bool(value["Errors"])
        and "HttpStatusCode" in value
    )


def _error_response(contract: Contract, op: Operation, body: bytes) -> Iterator[tuple[str, str]]:
    if op.errors is None or not body.strip():
        return
    try:
        value = json.loads(body)
    except ValueError:
        return  # prose errors (a proxy's text page): lenient
    shape = contract.resolve(Ref(op.system, op.errors))
    for where, what in _walk(contract, value, shape, "", request=False):
        yield where, f"{what} (error shape {op.errors})"


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _walk(
    contract: Contract, value: object, shape: Shape, where: str, *, request: bool
) -> Iterator[tuple[str, str]]:
    """The violations of `value` against `shape`, each with where it is."""
    while isinstance(shape, Ref):
        shape = contract.resolve(shape)
    if value is None or isinstance(shape, Binary | NoBody):
        return
    if isinstance(shape, Scalar):
        yield from _scalar(value, shape, where)
    elif isinstance(shape, Obj):
        yield from _object(contract, value, shape, where, request=request)
    elif isinstance(shape, Arr):
        if not isinstance(value, list):
            yield where, f"a {type(value).__name__} where the contract has an array"
            return
        for index, item in enumerate(value):
            yield from _walk(contract, item, shape.item, f"{where}[{index}]", request=request)
    elif isinstance(shape, OneOf):
        yield from _one_of(contract, value, shape, where, request=request)
    elif isinstance(shape, AllOf):
        yield from _object(contract, value, _merge(contract, shape), where, request=request)
    else:
        yield from _patch(value, shape, where)


def _scalar(value: object, shape: Scalar, where: str) -> Iterator[tuple[str, str]]:
    if shape.kind == "any":
        return
    if isinstance(value, dict | list):
        kind = "an object" if isinstance(value, dict) else "an array"
        yield where, f"{kind} where the contract has a {shape.kind}"
    elif shape.enum is not None and value not in shape.enum:
        yield where, _enum_message(value, shape)


def _object(
    contract: Contract, value: object, shape: Obj, where: str, *, request: bool
) -> Iterator[tuple[str, str]]:
    if not isinstance(value, dict):
        yield where, f"a {type(value).__name__} where the contract has an object"
        return
    for name, item in value.items():
        member = shape.fields.get(name)
        if member is None:
            if not shape.open:
                side = "takes" if request else "gives"
                hint = _did_you_mean(name, shape.fields)
                yield _at(where, name), f"a field the contract never {side} here{hint}"
            continue
        yield from _walk(contract, item, member.shape, _at(where, name), request=request)
    if request:
        for name, member in shape.fields.items():
            if member.required and name not in value:
                yield _at(where, name), "missing; the contract requires it"


def _one_of(
    contract: Contract, value: object, shape: OneOf, where: str, *, request: bool
) -> Iterator[tuple[str, str]]:
    tried = [
        list(_walk(contract, value, option, where, request=request)) for option in shape.options
    ]
    if not all(tried):
        return
    # The option the value is shaped like explains it best, even with more violations deep
    # inside it (e.g. fields pending issue 14): first the options that fail at the root
    # (an object for an array) rank last, then those with unknown fields on the value itself.
    yield from min(tried, key=lambda found: _misfit(found, where))


def _misfit(found: list[tuple[str, str]], where: str) -> tuple[bool, int, int]:
    """How badly an option fits: fails at `where` itself, how many violations are on its
    own fields (one level down), how many in all."""
    own = sum(1 for at, _ in found if at != where and not _deeper(at[len(where) :]))
    return any(at == where for at, _ in found), own, len(found)


def _deeper(rest: str) -> bool:
    """Whether a path below a value (``.a``, ``[0]``, ``a``) goes further than one step."""
    rest = rest.lstrip(".")
    return "." in rest or "[" in rest


def _merge(contract: Contract, shape: AllOf) -> Obj:
    fields: dict[str, object] = {}
    is_open = False
    for option in shape.options:
        while isinstance(option, Ref):
            option = contract.resolve(option)
        if isinstance(option, Obj):
            fields.update(option.fields)
            is_open = is_open or option.open
    return Obj(fields, is_open)  # type: ignore[arg-type]


def _patch(value: object, shape: Patch, where: str) -> Iterator[tuple[str, str]]:
    if not isinstance(value, list):
        yield where, "a JSON Patch must be an array of operations"
        return
    for index, item in enumerate(value):
        at = f"{where}[{index}]"
        if not isinstance(item, dict) or not {"op", "path"} <= item.keys():
            yield at, "a JSON Patch operation needs op and path"
            continue
        if shape.ops is not None and item["op"] not in shape.ops:
            yield (
                f"{at}.op",
                f"{item['op']!r} is not an op the contract allows ({', '.join(sorted(shape.ops))})",
            )
        if shape.paths is not None and str(item["path"]).lower() not in shape.paths:
            yield f"{at}.path", f"{item['path']!r} is not a path the contract allows"
