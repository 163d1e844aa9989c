"""The Alto adapter: an async client for Alto's API (Zoopla / Houseful).

Reads the snapshot collections, each through its endpoint's own paging names
(`adapters.alto._reads`), creates and updates works orders exactly once, uploads documents
and posts charges, and finds a works order or document a lost answer may have left
(`find_charge` always raises NotOfferedError: Alto's contract has no read of charges).
Failures are `adapters.errors`.

Example::

    import httpx
    from adapters.alto import AltoAdapter, AltoAuth
    auth = AltoAuth("https://alto.test/token", "client-id", "secret", "agency-guid")
    async def main() -> None:
        async with httpx.AsyncClient(base_url="https://alto.test", auth=auth) as client:
            async for record in AltoAdapter(client).read("inventory"):
                print(record["inventoryId"])
"""

from __future__ import annotations

from adapters.alto._adapter import COLLECTIONS, AltoAdapter
from adapters.alto._auth import AltoAuth

__all__ = ["COLLECTIONS", "AltoAdapter", "AltoAuth"]
