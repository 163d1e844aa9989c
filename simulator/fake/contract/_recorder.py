"""The recorder: ASGI middleware that checks every exchange of a fake against the contract.

`recorded(app, "alto")` wraps a fake's app. Each request body is read whole before the app
sees it (replayed to the app as it came, so streaming and multipart bodies work) and each
answer is collected as it is sent; when the answer ends, `check_exchange` judges the pair and
the violations go to the recorder's `ContractLog` (``.violations``). Every log is also kept
in a module registry (`journal_position`, `violations_since`) so a pytest fixture can find
what any recorder created during a test logged. Every violation counts: nothing is
pending (issue 14 moved the lifecycle onto the contracts).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Final
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulator.fake.contract._check import Exchange, Violation, check_exchange

__all__ = [
    "ContractLog",
    "Recorder",
    "journal_position",
    "recorded",
    "violations_since",
]

_JOURNAL: Final[list[Violation]] = []
_LOCK: Final = threading.Lock()


def journal_position() -> int:
    """How many violations every recorder of this process has logged so far."""
    return len(_JOURNAL)


def violations_since(position: int) -> list[Violation]:
    """Every violation any recorder logged after `position` (from `journal_position`)."""
    with _LOCK:
        return _JOURNAL[position:]


class ContractLog:
    """The violations one recorder saw, in order (every one fails a test)."""

    def __init__(self) -> None:
        self.entries: list[Violation] = []

    def add(self, violation: Violation) -> None:
        """Log one violation here and in the process-wide journal."""
        with _LOCK:
            self.entries.append(violation)
            _JOURNAL.append(violation)

    def __iter__(self) -> Iterator[Violation]:
        return iter(list(self.entries))

    def __len__(self) -> int:
        return len(self.entries)


class Recorder:
    """ASGI middleware checking `app`'s exchanges against `system`'s contract.

    Args:
        app: the fake's ASGI app.
        system: ``alto`` or ``fixflo``.
        prefix: the path before the contract's templates (``/api/v2`` for Fixflo).
    """

    def __init__(self, app: ASGIApp, system: str, *, prefix: str = "") -> None:
        self.app, self.system, self.prefix = app, system, prefix
        self.violations = ContractLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body, replay = await _read_body(receive)
        answer = _Answer(send)
        await self.app(scope, replay, answer.send)
        if answer.complete:
            self._check(scope, body, answer)

    def _check(self, scope: Scope, body: bytes, answer: _Answer) -> None:
        exchange = Exchange(
            method=scope["method"],
            path=scope["path"],
            query=tuple(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)),
            headers=_headers(scope.get("headers", [])),
            body=body,
            status=answer.status,
            response_headers=answer.headers,
            response_body=b"".join(answer.chunks),
        )
        for violation in check_exchange(self.system, exchange, prefix=self.prefix):
            self.violations.add(violation)


def recorded(app: ASGIApp, system: str, *, prefix: str = "") -> Recorder:
    """`app` behind a contract `Recorder` (its log is ``.violations``).

    Example::

        self.app = FaultInjector(recorded(Starlette(routes=...), "alto"), faults, log)
    """
    return Recorder(app, system, prefix=prefix)


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw}


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a receive that hands the app the same messages."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay


class _Answer:
    """Passes an answer on while keeping its status, headers and body."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.complete = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = _headers(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        await self._send(message)
