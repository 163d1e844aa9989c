"""Property: whatever the fault seed and rate (up to 30%), a read is complete and exact."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.alto import AltoAdapter, AltoAuth
from adapters.fixflo import FixfloAdapter, FixfloAuth
from simulator.fake import FakeAlto, FakeFixflo, Faults, parse_faults
from tests.adapters.fakes import FAST, base_url, client

RATES = st.sampled_from([0.05, 0.1, 0.2, 0.3])


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), rate=RATES, page=st.integers(1, 40))
def test_alto_reads_are_exact_under_any_faults(seed: int, rate: float, page: int) -> None:
    faults = Faults(parse_faults(f"all={rate}"), seed=seed, retry_after=0.001, delay=0.001)
    fake = FakeAlto(12, seed=seed, faults=faults)

    async def run() -> dict[str, list[dict[str, Any]]]:
        with base_url("asgi", fake.app) as (url, transport):
            auth = AltoAuth(url + "/token", fake.client_id, fake.client_secret, fake.agency_ref)
            async with client(url, transport, auth) as http:
                alto = AltoAdapter(http, retry=FAST, page_size=page)
                return {name: [r async for r in alto.read(name)] for name in alto.collections()}

    assert asyncio.run(run()) == fake.world


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), rate=RATES, page=st.integers(1, 40))
def test_fixflo_reads_are_exact_under_any_faults(seed: int, rate: float, page: int) -> None:
    faults = Faults(parse_faults(f"all={rate}"), seed=seed, retry_after=0.001, delay=0.001)
    fake = FakeFixflo(30, seed=seed, faults=faults, page_size=page)
    expected = fake.snapshot_collections()

    async def run() -> dict[str, list[dict[str, Any]]]:
        with base_url("asgi", fake.app, "/api/v2") as (url, transport):
            async with client(url, transport, FixfloAuth(fake.token)) as http:
                fixflo = FixfloAdapter(http, retry=FAST, page_size=page)
                return {name: [r async for r in fixflo.read(name)] for name in fixflo.collections()}

    assert asyncio.run(run()) == expected
