"""Fake Alto and Fixflo servers: ASGI apps serving a generated agency as the vendors do.

Use them in-process through `FakeTransport` (httpx's ASGI transport, with dropped
connections turned into what a socket gives), or for real on 127.0.0.1 with `serving`.
Faults are seeded and set per route (`parse_faults`); every request is in the fake's `log`.

Example::

    import httpx
    from simulator.fake import FakeFixflo, FakeTransport, Faults, parse_faults
    fake = FakeFixflo(size=50, seed=1, faults=Faults(parse_faults("all=0.1"), seed=1))
    client = httpx.AsyncClient(transport=FakeTransport(fake.app),
                               base_url="http://fixflo.test/api/v2")
"""

from __future__ import annotations

from simulator.fake._common import FakeTransport
from simulator.fake._faults import (
    KINDS,
    ConnectionDropped,
    Faults,
    LoggedRequest,
    RequestLog,
    parse_faults,
)
from simulator.fake._serve import LOOPBACK, run, serving
from simulator.fake.alto import FakeAlto
from simulator.fake.fixflo import PDF, FakeFixflo

__all__ = [
    "KINDS",
    "LOOPBACK",
    "PDF",
    "ConnectionDropped",
    "FakeAlto",
    "FakeFixflo",
    "FakeTransport",
    "Faults",
    "LoggedRequest",
    "RequestLog",
    "parse_faults",
    "run",
    "serving",
]
