"""A 10,000-property agency read over loopback under 10% faults (slow: about a minute)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.alto import AltoAdapter, AltoAuth
from simulator.fake import FakeAlto, Faults, parse_faults
from tests.adapters.fakes import FAST, base_url, client


@pytest.mark.slow
def test_a_large_alto_agency_reads_exactly_over_loopback_under_faults() -> None:
    faults = Faults(parse_faults("all=0.1"), seed=8, retry_after=0.01, delay=0.05)
    fake = FakeAlto(10_000, seed=8, faults=faults)

    async def run() -> dict[str, list[dict[str, Any]]]:
        with base_url("loopback", fake.app) as (url, transport):
            auth = AltoAuth(url + "/token", fake.client_id, fake.client_secret, fake.agency_ref)
            async with client(url, transport, auth, timeout=30.0) as http:
                alto = AltoAdapter(http, retry=FAST, page_size=200)
                return {name: [r async for r in alto.read(name)] for name in alto.collections()}

    assert asyncio.run(run()) == fake.world
    assert sum(fake.log.faults().values()) >= 10
