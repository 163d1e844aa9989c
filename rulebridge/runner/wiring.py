"""The runner's adapters: the one place a run's real clients, limiters and adapters are made.

The phases (`rulebridge.runner.nightly`, `rulebridge.runner.issues`) take the engine's ports
(`engine.ports`, `engine.issues.AltoWriter`); this module builds them from the agency
config for one run. Each system gets an `httpx.AsyncClient` with its base URL, auth and
timeout (`rulebridge._config.AgencyConfig.client`), the run's API call counters
(`rulebridge.runner.calls.ApiCalls`), the agency's limiter and retry policy, and the Alto
or Fixflo adapter over them. Clients are closed when the phase that opened them ends.

The limiter is the agency's shared one whenever its folder of the state home is known, as
it is for every run (`agency_home`): a nightly run and the live server of one agency then
stay within the vendor's limit together. It is kept in a file in that folder
(`rulebridge.runner.ratelimit.SharedLimiter`), or, given a ``postgresql://`` URL (the run's
`rulebridge.runner.RunOptions.rate_url`, a `Wire`'s `rate_url`), in a table of that database
named from the agency's identity (`rulebridge.runner.ratelimit.PostgresLimiter`), which the
workers of a fleet on several machines share. Without a home (a `Wire` given none), each
port gets the config's in-process limiter, which starts drained (`_drained`) after another
phase read the same API a moment ago.

Example::

    async with fixflo_ports(night) as fixflo:
        await apply_plan(plan, fixflo.target, night.store, run=night.run)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final, Protocol

import httpx
from aiolimiter import AsyncLimiter

from adapters.alto import AltoAdapter
from adapters.errors import ConfigError
from adapters.fixflo import ISSUE_PARTS, REFERENCE_LOOKUPS, FixfloAdapter, FixfloDocuments
from adapters.http import Deadline, Limiter
from engine.errors import RecordError
from engine.issues import AltoWriter
from engine.language.ruleset import CompiledRuleset
from engine.ports import DocumentSource, IssueSource, Record, RecordSource, RecordTarget
from rulebridge._config import AgencyConfig
from rulebridge._snapshot_io import Opener
from rulebridge.runner._night import Night
from rulebridge.runner.calls import ApiCalls, TimedLimiter
from rulebridge.runner.home import AgencyHome, state_home
from rulebridge.runner.ratelimit import PostgresLimiter, SharedLimiter, bucket_table
from rulebridge.runner.trust import identity_of

__all__ = [
    "SHARED_WINDOW",
    "FixfloPorts",
    "Wire",
    "Wired",
    "agency_home",
    "alto_writer",
    "check_issue_parts",
    "fixflo_ports",
    "issue_fields",
    "limiter_for",
    "rate_url_of",
    "snapshot_reader",
]


class Wired(Protocol):
    """What the ports are made from: the agency config, and the run's call counters (a
    `rulebridge.runner._night.Night`, or a `Wire` before the run has a store)."""

    @property
    def config(self) -> AgencyConfig:
        """The agency config."""
        ...

    @property
    def calls(self) -> ApiCalls:
        """The run's API call counters."""
        ...


@dataclass(frozen=True, slots=True)
class Wire:
    """A config and call counters, for ports needed before the run's store is open; with
    `home`, the ports share the agency's rate limit (`agency_home`), kept in the database at
    `rate_url` when given (`rate_url_of`)."""

    config: AgencyConfig
    calls: ApiCalls
    home: AgencyHome | None = None
    rate_url: str | None = None


def agency_home(night: Wired) -> AgencyHome | None:
    """The agency's folder in the state home, where its shared rate limits live: a run's
    (`rulebridge.runner._night.Night`: its options' state home, or the default one) or the
    one a `Wire` was given; None otherwise (the ports then limit in-process).

    Example::

        agency_home(night).rate_path("fixflo")
        # PosixPath('/home/ops/.local/state/rulebridge/agencies/3f2a.../rate-fixflo.sqlite')
    """
    if isinstance(night, Wire):
        return night.home
    if isinstance(night, Night):
        return AgencyHome(night.options.state_home or state_home(), identity_of(night.config))
    return None


def rate_url_of(night: Wired) -> str | None:
    """Where the agency's shared rate limits are kept: the ``postgresql://`` URL of a run's
    options (`rulebridge.runner.RunOptions.rate_url`) or of a `Wire`; None for the file in
    its folder of the state home (`agency_home`).

    Example::

        rate_url_of(Wire(config, ApiCalls(), home, rate_url="postgresql://fleet@db/fleet"))
        # 'postgresql://fleet@db/fleet'
    """
    if isinstance(night, Wire):
        return night.rate_url
    if isinstance(night, Night):
        return night.options.rate_url
    return None


@dataclass(frozen=True, slots=True)
class FixfloPorts:
    """Fixflo as the write phases use it, through one client.

    Attributes:
        target: where the plan is applied (it also offers `engine.sync.RecordLookup`).
        issues: the issues changed since the cursor.
        documents: the issues' files, each issue's read at most once in the run.
        lookups: the collections of `target` Fixflo documents a lookup by external
            reference for (`adapters.fixflo.REFERENCE_LOOKUPS`).
    """

    target: RecordTarget
    issues: IssueSource
    documents: DocumentSource
    lookups: frozenset[str] = frozenset()


def snapshot_reader(
    night: Wired,
    system: str,
    *,
    deadline: Deadline | None = None,
    rejected: list[RecordError] | None = None,
    places: Iterable[Record] = (),
) -> Opener:
    """An opener for `rulebridge._snapshot_io.take_snapshot`: on the snapshot's own event
    loop it opens a client of `system` and hands its adapter to ``use``.

    Args:
        night: the run.
        system: ``alto`` or ``fixflo``.
        deadline: when the snapshot phase must be over (`adapters.errors.DeadlineError`).
        rejected: where the listings' unusable items are reported (endpoint and index).
        places: Alto tenancy places read before (`AltoAdapter.remember_places`).

    Raises:
        adapters.errors.ConfigError: a secret of `system` is not set (raised here, before
            anything is read, naming the variable).
    """
    night.config.auth(system)
    kind = AltoAdapter if system == "alto" else FixfloAdapter
    config = night.config

    async def open_source(use: Callable[[RecordSource], Awaitable[None]]) -> None:
        async with _client(night, system) as client, limiter_for(night, system) as limiter:
            source = kind(
                client,
                limiter=limiter,
                retry=config.retry,
                limits=config.limits,
                deadline=deadline,
                rejected=rejected,
            )
            if isinstance(source, AltoAdapter):
                source.remember_places(places)
            await use(source)

    return open_source


def check_issue_parts(ruleset: CompiledRuleset) -> None:
    """Refuse a ruleset whose lifecycle declares an issue part the Fixflo adapter does not
    read, or reads with another request than the ruleset's ``read:`` says.

    Raises:
        adapters.errors.ConfigError: naming the part, the ruleset file and line, what the
            adapter reads and the parts it knows (raised before anything is read).
    """
    lifecycle = ruleset.lifecycle
    if lifecycle is None:
        return
    known = ", ".join(f"{name} ({read})" for name, read in ISSUE_PARTS.items())
    for name, part in lifecycle.parts.items():
        reads = ISSUE_PARTS.get(name)
        where = f"{ruleset.path}:{part.line}"
        if reads is None:
            raise ConfigError(
                f"{where}: the source {lifecycle.source} declares part {name!r}, which the "
                f"Fixflo adapter does not read; the parts it reads are {known}. Remove the "
                "part or name one of these"
            )
        if reads != part.read:
            raise ConfigError(
                f"{where}: part {name!r} says read: {part.read!r}, but the Fixflo adapter "
                f"reads it with {reads!r}; write that (the parts it reads are {known})"
            )


def issue_fields(ruleset: CompiledRuleset | None) -> tuple[str, ...] | None:
    """The fields the lifecycle's source declares, as the Fixflo adapter takes them (a
    list marked ``[]``: ``Quotes[].id``, ``InvoiceDetails[].LineItems[].Net``); the adapter
    reads exactly these. None without a lifecycle.

    Example:
        >>> from engine import load_ruleset
        >>> fields = issue_fields(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
        >>> "Quotes[].id" in fields, "InvoiceDetails[].LineItems[].Net" in fields
        (True, True)
    """
    lifecycle = None if ruleset is None else ruleset.lifecycle
    if ruleset is None or lifecycle is None or lifecycle.source not in ruleset.sources:
        return None
    source = ruleset.sources[lifecycle.source]
    return tuple(_marked(name, source.list_fields) for name in source.fields)


def _marked(name: str, lists: frozenset[str]) -> str:
    steps = name.split(".")
    return ".".join(
        step + ("[]" if ".".join(steps[: at + 1]) in lists else "") for at, step in enumerate(steps)
    )


@asynccontextmanager
async def fixflo_ports(
    night: Wired, *, drained: bool = True, ruleset: CompiledRuleset | None = None
) -> AsyncIterator[FixfloPorts]:
    """Fixflo's ports for the write phases, through the agency's shared limiter (or an
    in-process one starting drained, `_drained`, unless nothing read Fixflo a moment
    ago: `drained`). With `ruleset`, its issue parts are checked
    (`check_issue_parts`) and issues are read with the fields its lifecycle's source
    declares.

    Raises:
        adapters.errors.ConfigError: the ruleset declares a part the adapter does not read.
    """
    if ruleset is not None:
        check_issue_parts(ruleset)
    async with (
        _client(night, "fixflo") as client,
        limiter_for(night, "fixflo", drained=drained) as limiter,
    ):
        config = night.config
        fixflo = FixfloAdapter(
            client,
            limiter=limiter,
            retry=config.retry,
            limits=config.limits,
            issue_fields=issue_fields(ruleset),
        )
        yield FixfloPorts(fixflo, fixflo, FixfloDocuments(fixflo), REFERENCE_LOOKUPS)


@asynccontextmanager
async def alto_writer(night: Wired, *, drained: bool = True) -> AsyncIterator[AltoWriter]:
    """Alto's writer for the issue phase (with its lookups), through the agency's shared
    limiter (or an in-process one starting drained unless nothing read Alto a moment ago)."""
    async with (
        _client(night, "alto") as client,
        limiter_for(night, "alto", drained=drained) as limiter,
    ):
        config = night.config
        yield AltoAdapter(client, limiter=limiter, retry=config.retry, limits=config.limits)


@asynccontextmanager
async def _client(night: Wired, system: str) -> AsyncIterator[httpx.AsyncClient]:
    """The agency's client for `system`, its calls counted for the report; closed on exit."""
    async with night.config.client(system) as client:
        yield night.calls.attach(client, system)


@asynccontextmanager
async def limiter_for(
    night: Wired, system: str, *, drained: bool = False
) -> AsyncIterator[Limiter]:
    """The limiter for `system`'s calls: the agency's shared one (closed on exit) when its
    home is known (`_shared`); else the config's in-process one, drained first when asked.
    Either way timed: its waits count in the run's ``rate_limit_wait_seconds``
    (`rulebridge.runner.calls.TimedLimiter`)."""
    home = agency_home(night)
    if home is None:
        limiter = night.config.limiter(system)
        limiter = await _drained(limiter) if drained else limiter
        yield TimedLimiter(limiter, night.calls, system)
        return
    shared = await _shared(night, home, system)
    try:
        yield TimedLimiter(shared, night.calls, system)
    finally:
        if isinstance(shared, PostgresLimiter):  # closing joins its pool's threads
            await asyncio.to_thread(shared.close)
        else:
            shared.close()


SHARED_WINDOW: Final = 61.0
"""Seconds the shared limit counts its ``per_minute`` over. The vendor counts a request when
it arrives, we when we send it: counting over one second more than its minute keeps any
60 s of the vendor's within the limit while a request takes under a second to arrive
(measured: over exactly 60 s, 40 nights at 500 a minute drew twelve 429s from the fake
Fixflo's window, `bench/fleet_bench.py`)."""


async def _shared(night: Wired, home: AgencyHome, system: str) -> SharedLimiter | PostgresLimiter:
    """The agency's shared limiter for `system`: in the database at `rate_url_of` (its table
    named from the agency's identity, `bucket_table`; connected off the event loop), else
    in the file in its folder of the state home."""
    per_minute, url = night.config.api(system).per_minute, rate_url_of(night)
    if url is not None:
        table = bucket_table(home.identity, system)
        return await asyncio.to_thread(
            PostgresLimiter, url, table, per_minute, period=SHARED_WINDOW
        )
    home.prepare()
    return SharedLimiter(home.rate_path(system), per_minute, period=SHARED_WINDOW)


async def _drained(limiter: AsyncLimiter) -> AsyncLimiter:
    """`limiter` with its burst spent. The snapshot read the same API a moment ago through
    a limiter of its own (another event loop); starting this one empty keeps any minute
    spanning both within the agency's limit (`adapters.http.make_limiter`)."""
    await limiter.acquire(limiter.max_rate)
    return limiter
