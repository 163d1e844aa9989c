"""Helpers for the adapter suites: one way to reach a fake, in-process or over loopback."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
from starlette.types import ASGIApp

from adapters.http import RetryPolicy
from simulator.fake import FakeTransport, serving

MODES = ("asgi", "loopback")
# Quick retries keep the suites fast; Retry-After is still honoured (tests keep it tiny).
FAST = RetryPolicy(attempts=12, timeout=20.0, wait_initial=0.001, wait_max=0.02, wait_jitter=0.002)


@contextlib.contextmanager
def base_url(mode: str, app: ASGIApp, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """The base URL and transport to reach `app` in `mode`; a real server stops on exit."""
    if mode == "asgi":
        yield "http://fake.test" + prefix, FakeTransport(app)
        return
    with serving(app) as url:
        yield url + prefix, None


@contextlib.asynccontextmanager
async def client(
    url: str, transport: Any, auth: httpx.Auth, **kwargs: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An AsyncClient for a fake, closed on exit."""
    options: dict[str, Any] = {"base_url": url, "auth": auth, "timeout": 5.0} | kwargs
    if transport is not None:
        options["transport"] = transport
    async with httpx.AsyncClient(**options) as made:
        yield made
