"""The routes a Starlette app serves, as (method, path template) pairs."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Mount, Route

__all__ = ["served_operations"]

_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def served_operations(app: Any) -> set[tuple[str, str]]:
    """Every (method, path template) `app` serves, through Mount prefixes.

    Middleware is looked through by its ``app`` attribute (starlette's convention, the
    fakes' `FaultInjector` and the contract `Recorder`) down to the Starlette app; path
    converters are dropped (``{id:int}`` is ``{id}``); HEAD, which Starlette adds to every
    GET, is left out.

    >>> from starlette.applications import Starlette
    >>> async def ok(request): ...
    >>> api = Starlette(routes=[Mount("/api/v2", routes=[Route("/Tenant/{id:int}", ok)])])
    >>> sorted(served_operations(api))
    [('GET', '/api/v2/Tenant/{id}')]
    """
    while not hasattr(app, "routes") and hasattr(app, "app"):
        app = app.app
    return set(_walk(app.routes, ""))


def _walk(routes: list[Any], prefix: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in routes:
        if isinstance(route, Mount):
            found += _walk(list(route.routes), prefix + route.path)
        elif isinstance(route, Route):
            path = _CONVERTER.sub(r"{\1}", prefix + route.path)
            found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found
