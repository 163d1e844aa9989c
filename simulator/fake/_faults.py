"""Fault injection for the fake servers: seeded, per route, and a log of every request.

A fault spec is a comma-separated list of ``KIND=RATE`` or ``KIND@ROUTE=RATE`` items, where
ROUTE is ``METHOD /path-prefix``, ``/path-prefix`` or ``METHOD``, and KIND one of:

- ``429``: Too Many Requests with ``Retry-After`` (nothing applied)
- ``500``, ``502``, ``503``: a server error (nothing applied)
- ``slow``: the answer comes after a delay
- ``drop``: the connection is dropped before anything is applied
- ``errors``: Fixflo's HTTP 200 with ``Errors`` in the envelope (writes; nothing applied)
- ``lost``: the write is applied, then the connection drops before the answer
- ``all``: the rate shared evenly by every kind above that fits the request

and three that ``all`` never picks, since a client cannot get past them by retrying:

- ``trickle``: the answer's body comes one byte at a time, a byte every ``trickle_interval``
  seconds (0.1 by default): no read ever waits long, but the answer takes for ever
- ``loop``: a list answers with a link back to the page just asked for (Alto's
  ``meta.nextToken`` is the token of the request, Fixflo's ``NextURL`` the request's URL)
- ``junk``: a list page (``items`` or ``Items``) gets one bad item at its end, the next of
  `Faults.junk` in turn: a vendor answering outside its contract. Injected outside the
  contract recorder, like every fault, so the fake itself stays on the contract

Example: ``all=0.1`` (10% of requests fail somehow), ``429=0.05,lost@POST /work-orders=0.2``,
``trickle@GET /inventory=1``, ``junk@GET /suppliers=1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "JUNK",
    "KINDS",
    "UNRETRIABLE",
    "ConnectionDropped",
    "FaultInjector",
    "FaultRule",
    "Faults",
    "LoggedRequest",
    "RequestLog",
    "fault_rate",
    "parse_faults",
]

KINDS: Final = ("429", "500", "502", "503", "slow", "drop", "errors", "lost")
UNRETRIABLE: Final = ("trickle", "loop", "junk")
JUNK: Final[tuple[Any, ...]] = (["not", "a", "record"], "text", 42, None, {})
"""The bad items a ``junk`` fault adds by default: none of them a record of any contract."""
_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ConnectionDropped(Exception):
    """Raised by the injector to drop the connection (the transports turn it into a drop)."""


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One kind of fault at a rate, on the requests whose route matches."""

    kind: str
    rate: float
    method: str | None = None
    prefix: str = "/"

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        if self.method is not None and self.method != method:
            return False
        if self.kind in ("errors", "lost") and method not in _WRITES:
            return False
        if self.kind in ("loop", "junk") and method != "GET":
            return False
        return path.startswith(self.prefix)

    def kinds_for(self, method: str) -> tuple[str, ...]:
        """The kinds this rule can inject into a request with `method`."""
        if self.kind != "all":
            return (self.kind,)
        return (
            KINDS if method in _WRITES else tuple(k for k in KINDS if k not in ("errors", "lost"))
        )


def parse_faults(spec: str) -> tuple[FaultRule, ...]:
    """Parse a fault spec (see the module docstring).

    Raises:
        ValueError: an unknown kind, a bad route or a rate outside 0..1, saying which.

    Example:
        >>> parse_faults("429=0.1")[0].rate
        0.1
    """
    rules: list[FaultRule] = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        head, sep, rate_text = item.rpartition("=")
        if not sep:
            raise ValueError(f"fault {item!r}: write KIND=RATE, such as 429=0.05")
        kind, _, route = head.partition("@")
        rate = fault_rate(item, rate_text)
        method, prefix = _route(item, route.strip())
        if kind != "all" and kind not in KINDS + UNRETRIABLE:
            kinds = ", ".join(("all", *KINDS, *UNRETRIABLE))
            raise ValueError(f"fault {item!r}: unknown kind {kind!r}; use one of {kinds}")
        rules.append(FaultRule(kind, rate, method, prefix))
    return tuple(rules)


def fault_rate(item: str, text: str, *, what: str = "fault") -> float:
    """The rate of fault spec `item` (``KIND=RATE``) from its `text`, from 0 to 1.

    Raises:
        ValueError: not a number, or outside 0..1, naming `what` and the item.

    Example:
        >>> fault_rate("429=0.1", "0.1")
        0.1
    """
    try:
        rate = float(text)
    except ValueError:
        raise ValueError(f"{what} {item!r}: the rate {text!r} is not a number") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"{what} {item!r}: the rate must be from 0 to 1")
    return rate


def _route(item: str, route: str) -> tuple[str | None, str]:
    if not route:
        return None, "/"
    if route.isalpha():
        return route.upper(), "/"
    method, _, prefix = route.rpartition(" ")
    if not prefix.startswith("/"):
        raise ValueError(f"fault {item!r}: a route is 'METHOD /path', '/path' or 'METHOD'")
    return (method.upper() or None), prefix


@dataclass
class Faults:
    """The fault rules of one server and its seeded dice.

    Args:
        rules: from `parse_faults`.
        seed: the same seed and the same requests give the same faults.
        retry_after: the seconds a 429 asks for.
        delay: how long a ``slow`` answer takes.
        trickle_interval: the seconds between two bytes of a ``trickle`` answer.
        junk: the bad items ``junk`` faults add, one a page, in turn (then from the start).
    """

    rules: tuple[FaultRule, ...] = ()
    seed: int = 0
    retry_after: float = 1.0
    delay: float = 0.5
    trickle_interval: float = 0.1
    junk: tuple[Any, ...] = JUNK
    _rng: random.Random = field(init=False, repr=False)
    _junked: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311 - fault dice, not secrets

    def pick(self, method: str, path: str) -> str | None:
        """The fault for this request, or None."""
        roll = self._rng.random()
        for rule in self.rules:
            if rule.matches(method, path):
                if roll < rule.rate:
                    return self._rng.choice(rule.kinds_for(method))
                roll -= rule.rate
        return None

    def next_junk(self) -> Any:
        """The bad item the next ``junk`` fault adds."""
        item = self.junk[self._junked % len(self.junk)]
        self._junked += 1
        return item


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request the fake received: what, when it arrived, the status sent, any fault."""

    method: str
    path: str
    query: str
    status: int | None
    fault: str | None
    at: float


@dataclass
class RequestLog:
    """Every request a fake server received, in order."""

    entries: list[LoggedRequest] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.entries)

    def matching(self, method: str, prefix: str = "/") -> list[LoggedRequest]:
        """The entries with this method whose path starts with `prefix`."""
        return [e for e in self.entries if e.method == method and e.path.startswith(prefix)]

    def faults(self) -> dict[str, int]:
        """How many of each fault were injected."""
        counts: dict[str, int] = {}
        for entry in self.entries:
            if entry.fault:
                counts[entry.fault] = counts.get(entry.fault, 0) + 1
        return counts


class FaultInjector:
    """ASGI middleware: logs every request and injects the faults `faults` picks.

    Args:
        app: the fake API.
        faults: the rules and dice.
        log: where requests are recorded.
        envelope_errors: answer ``errors`` faults with a Fixflo envelope (else a 500).
    """

    def __init__(
        self, app: ASGIApp, faults: Faults, log: RequestLog, *, envelope_errors: bool = False
    ) -> None:
        self.app, self.faults, self.log = app, faults, log
        self.envelope_errors = envelope_errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        fault = self.faults.pick(method, path)
        status: list[int] = []
        arrived = time.monotonic()

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            if fault != "lost":
                await send(message)

        try:
            await self._serve(fault, scope, receive, send, record)
        finally:
            query = scope.get("query_string", b"").decode("latin-1")
            code = status[0] if status and fault not in ("drop", "lost") else None
            self.log.entries.append(LoggedRequest(method, path, query, code, fault, arrived))

    async def _serve(
        self, fault: str | None, scope: Scope, receive: Receive, send: Send, record: Send
    ) -> None:
        if fault in ("429", "500", "502", "503") or (
            fault == "errors" and not self.envelope_errors
        ):
            await _answer(send, *self._failure(fault or "500"))
            return
        if fault == "errors":
            await _answer(send, 200, {}, _envelope_errors())
            return
        if fault == "drop":
            await _drop(send)
        if fault == "slow":
            await asyncio.sleep(self.faults.delay)
        if fault == "trickle":
            record = _trickling(record, receive, self.faults.trickle_interval)
        if fault == "loop":
            record = _rewriting(record, lambda body: _loop_back(body, scope))
        if fault == "junk":
            record = _rewriting(record, lambda body: _with_junk(body, self.faults.next_junk))
        await self.app(scope, receive, record)
        if fault == "lost":
            await _drop(send)

    def _failure(self, kind: str) -> tuple[int, dict[str, str], Any]:
        if kind == "429":
            headers = {"Retry-After": f"{self.faults.retry_after:g}"}
            return 429, headers, {"title": "Too Many Requests", "status": 429}
        status = int(kind) if kind.isdigit() else 500
        return status, {}, {"title": "Server error", "status": status, "detail": "injected"}


def _envelope_errors() -> dict[str, Any]:
    return {
        "HttpStatusCode": 200,
        "HttpStatusCodeDesc": "OK",
        "Errors": ["An unexpected error occurred; please try again"],
        "Messages": [],
        "Entity": None,
    }


async def _answer(send: Send, status: int, headers: dict[str, str], body: Any) -> None:
    raw = json.dumps(body).encode()
    pairs = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    pairs += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": pairs})
    await send({"type": "http.response.body", "body": raw})


async def _drop(send: Send) -> None:
    """Start an answer and break it off: a real server then closes the connection."""
    headers: Iterable[tuple[bytes, bytes]] = [(b"content-length", b"1000")]
    await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
    raise ConnectionDropped("injected: connection dropped")


def _trickling(send: Send, receive: Receive, interval: float) -> Send:
    """`send` with every body sent a byte at a time, `interval` seconds apart, until the
    client goes away (a real server would otherwise trickle on to no one)."""

    async def trickle(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
            return
        body, more = message.get("body", b""), message.get("more_body", False)
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            for index in range(len(body)):
                if gone.done():
                    return
                last = index == len(body) - 1
                chunk = {"type": "http.response.body", "body": body[index : index + 1]}
                await send(chunk | {"more_body": more or not last})
                await asyncio.sleep(interval)
            if not body:
                await send(message)
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await gone

    return trickle


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _rewriting(send: Send, rewrite: Callable[[bytes], bytes]) -> Send:
    """`send` with the whole answer body held back and passed through `rewrite`."""
    held: list[Message] = []

    async def rewritten(message: Message) -> None:
        if message["type"] == "http.response.start":
            held.append(message)
            return
        held.append(message)
        if message.get("more_body", False):
            return
        start, *parts = held
        body = b"".join(part.get("body", b"") for part in parts)
        new = rewrite(body)
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(new)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": new})

    return rewritten


def _with_junk(body: bytes, junk: Callable[[], Any]) -> bytes:
    """A list page's body with the next `junk` item after its items (other bodies as
    they are, taking no junk)."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    for key in ("items", "Items"):
        if isinstance(data, dict) and isinstance(data.get(key), list):
            data[key].append(junk())
            return json.dumps(data).encode()
    return body


def _loop_back(body: bytes, scope: Scope) -> bytes:
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if not isinstance(data, dict):
        return body
    query = scope.get("query_string", b"").decode("latin-1")
    if isinstance(data.get("meta"), dict):
        token = _query_value(query, ("nextToken", "next-token"))
        if token:
            data["meta"]["nextToken"] = token
    elif "NextURL" in data:
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
        url = f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}{scope['path']}"
        data["NextURL"] = url + (f"?{query}" if query else "")
    return json.dumps(data).encode()


def _query_value(query: str, names: tuple[str, ...]) -> str | None:
    for key, value in parse_qsl(query):
        if key in names:
            return value
    return None
