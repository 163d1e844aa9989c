"""The Alto adapter: an async client for Alto's API (Zoopla / Houseful).

Reads the snapshot collections (cursor pagination), creates and updates works orders
exactly once, uploads documents and posts charges, and finds a document or charge a lost
answer may have left (`find_document`, `find_charge`: unconfirmed endpoints, NotOfferedError
where Alto lacks them). Failures are `adapters.errors`.

Example::

    import httpx
    from adapters.alto import AltoAdapter, AltoAuth
    auth = AltoAuth("https://alto.test/token", "client-id", "secret", "agency-guid")
    async def main() -> None:
        async with httpx.AsyncClient(base_url="https://alto.test", auth=auth) as client:
            async for record in AltoAdapter(client).read("inventory"):
                print(record["id"])
"""

from __future__ import annotations

from adapters.alto._adapter import COLLECTIONS, AltoAdapter
from adapters.alto._auth import AltoAuth

__all__ = ["COLLECTIONS", "AltoAdapter", "AltoAuth"]
