"""A generated agency planned against its fake Fixflo, for the apply suites."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from adapters.fixflo import FixfloAdapter, FixfloAuth
from engine import load_ruleset
from engine.sync.plan import Plan
from engine.sync.planner import make_plan
from rulebridge._snapshots import load_snapshots
from simulator.agency import write_agency
from simulator.fake import FakeFixflo, FakeTransport, Faults, parse_faults
from tests.adapters.fakes import FAST

RULESET = Path(__file__).parents[2] / "rulesets" / "alto-fixflo" / "v2.yaml"
SIZE, SEED = 60, 3
WRITE_PATHS = ("/Property", "/Landlord", "/Tenant", "/Contractor", "/LandlordPropertyJoin")


@dataclass
class World:
    """The plan, the ruleset's hash and the fake Fixflo it was made against."""

    plan: Plan
    ruleset_hash: str
    fake: FakeFixflo


def make_world(tmp: Path, *, faults: str | None = None, seed: int = 11) -> World:
    """Plan the generated agency (SIZE, SEED) against the fake Fixflo holding its records."""
    alto, fixflo = write_agency(tmp / "agency", size=SIZE, seed=SEED)
    ruleset = load_ruleset(RULESET)
    loaded = load_snapshots(alto, fixflo)
    made = make_plan(
        ruleset,
        loaded.records,
        as_of=date.fromisoformat(loaded.headers["alto"].taken_at[:10]),
        inputs=loaded.inputs(),
    )
    chosen = (
        Faults(parse_faults(faults), seed=seed, retry_after=0.001, delay=0.01) if faults else None
    )
    return World(made, ruleset.content_hash, FakeFixflo(SIZE, SEED, faults=chosen))


@contextlib.asynccontextmanager
async def fixflo(fake: FakeFixflo) -> AsyncIterator[FixfloAdapter]:
    """The real Fixflo adapter talking to `fake` in-process, with quick retries."""
    async with httpx.AsyncClient(
        base_url="http://fixflo.test/api/v2",
        transport=FakeTransport(fake.app),
        auth=FixfloAuth(fake.token),
        timeout=5.0,
    ) as client:
        yield FixfloAdapter(client, retry=FAST)


def writes(fake: FakeFixflo) -> int:
    """Write requests the fake has received."""
    return len([entry for entry in fake.log.entries if entry.method == "POST"])


def holders(fake: FakeFixflo, collection: str, key: str, ref: str) -> int:
    """How many of the fake's `collection` records carry `ref` in `key`."""
    return sum(1 for r in fake.store.collections[collection].values() if r.get(key) == ref)
