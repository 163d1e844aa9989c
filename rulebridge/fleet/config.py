"""The fleet's config: which agencies, where the queues' database is, caps and the nightly time.

A fleet is a folder. Its agency configs are found by glob patterns (default ``*.yaml`` and
``*/agency.yaml``); each agency's state store is where ``rulebridge run`` keeps it
(``state/<config name>.db`` beside the config). An optional ``fleet.yaml`` in the folder,
checked against ``engine/schema/fleet.schema.json`` with every error located::

    agencies: ["agencies/*.yaml"]
    database_url_env: RULEBRIDGE_FLEET_DATABASE_URL   # postgresql://... (several machines)
    secrets_file: fleet.secrets
    nightly: {at: "01:30", time_zone: Europe/London}
    concurrency: {global: 64, per_worker: 4, issues_per_worker: 8}
    lease_seconds: 30
    batch_size: 500

With no database URL the queues live in a SQLite file, ``state/fleet.sqlite`` in the folder:
one machine, any number of worker processes. The URL is a secret (it may hold a password):
it is read from the environment or the secrets file and never logged
(`rulebridge.runner.ratelimit.redact_url`).

Example::

    fleet = load_fleet(Path("fleet"))
    [agency.name for agency in fleet.agencies]
    # ['acme', 'hart']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.errors import ConfigError
from adapters.secrets import read_secret
from engine.documents.document import load_document
from engine.documents.schema import check_schema
from engine.errors import RulebridgeError, RulesetError, RulesetErrors
from rulebridge._config import AgencyConfig, load_agency_config

__all__ = [
    "DEFAULT_DATABASE_ENV",
    "FLEET_FILE",
    "FleetAgency",
    "FleetConfig",
    "FleetConfigError",
    "load_fleet",
]

FLEET_FILE: Final = "fleet.yaml"
DEFAULT_DATABASE_ENV: Final = "RULEBRIDGE_FLEET_DATABASE_URL"
_DEFAULT_PATTERNS: Final = ("*.yaml", "*/agency.yaml")
_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class FleetConfigError(RulebridgeError):
    """The fleet folder or its config cannot be used (the message names the file and fix)."""


@dataclass(frozen=True, slots=True)
class FleetAgency:
    """One agency of the fleet: its name (the config's ``agency:``, the queue's partition
    key and the first part of each night's workflow id), config and state store."""

    name: str
    config: AgencyConfig
    store_path: Path


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """A checked fleet (see the module docstring)."""

    folder: Path
    agencies: tuple[FleetAgency, ...]
    database_url: str
    nightly_at: str = "01:30"
    time_zone: str = "Europe/London"
    global_concurrency: int = 64
    per_worker: int = 4
    issues_per_worker: int = 8
    lease_seconds: float = 30.0
    batch_size: int = 500

    def agency(self, name: str) -> FleetAgency:
        """The agency called `name`.

        Raises:
            FleetConfigError: no agency of the fleet has that name.
        """
        for agency in self.agencies:
            if agency.name == name:
                return agency
        raise FleetConfigError(
            f"{self.folder}: no agency '{name}' in the fleet; every worker must be started "
            "on the same agencies (the folder's configs)"
        )

    @property
    def on_postgres(self) -> bool:
        """Whether the queues are in Postgres (several machines) rather than SQLite."""
        return self.database_url.startswith(("postgresql:", "postgres:", "postgresql+"))


def load_fleet(folder: Path, *, database_url: str | None = None) -> FleetConfig:
    """The fleet in `folder`: its ``fleet.yaml`` (optional) and agency configs.

    Args:
        folder: the fleet's folder.
        database_url: the queues' database, over what the config names (tests, one-offs).

    Raises:
        FleetConfigError: the folder is missing, holds no agency, two configs name the same
            agency, or the time zone is unknown.
        engine.RulesetErrors: ``fleet.yaml`` or an agency config does not validate (each
            error located as ``file:line:column``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FleetConfigError(f"{folder}: no such folder; give the fleet's folder (--agencies)")
    settings = _settings(folder / FLEET_FILE)
    agencies = _agencies(folder, settings.get("agencies", list(_DEFAULT_PATTERNS)))
    nightly = settings.get("nightly", {})
    zone = nightly.get("time_zone", "Europe/London")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise FleetConfigError(
            f"{folder / FLEET_FILE}: nightly.time_zone '{zone}' is not a known time zone; "
            "give an IANA name such as Europe/London"
        ) from None
    caps = settings.get("concurrency", {})
    per_worker = caps.get("per_worker", 4)
    global_cap = caps.get("global", max(64, per_worker))
    if per_worker > global_cap:
        raise FleetConfigError(
            f"{folder / FLEET_FILE}: concurrency.per_worker ({per_worker}) is above "
            f"concurrency.global ({global_cap}); lower per_worker or raise global"
        )
    return FleetConfig(
        folder=folder,
        agencies=agencies,
        database_url=database_url or _database_url(folder, settings),
        nightly_at=nightly.get("at", "01:30"),
        time_zone=zone,
        global_concurrency=global_cap,
        per_worker=per_worker,
        issues_per_worker=caps.get("issues_per_worker", 8),
        lease_seconds=float(settings.get("lease_seconds", 30)),
        batch_size=settings.get("batch_size", 500),
    )


def _settings(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    document = load_document(path)
    errors, _ = check_schema(document, "fleet")
    if errors:
        raise RulesetErrors(errors)
    data = document.data
    return data if isinstance(data, dict) else {}


def _agencies(folder: Path, patterns: list[str]) -> tuple[FleetAgency, ...]:
    paths = sorted(
        {
            path
            for pattern in patterns
            for path in folder.glob(pattern)
            if path.is_file() and path.name != FLEET_FILE
        }
    )
    if not paths:
        shown = ", ".join(patterns)
        raise FleetConfigError(
            f"{folder}: no agency config matches {shown}; put each agency's config there "
            f"(or list the patterns under 'agencies:' in {FLEET_FILE})"
        )
    found: dict[str, FleetAgency] = {}
    errors: list[RulesetError] = []
    for path in paths:
        try:
            config = load_agency_config(path)
        except RulesetErrors as exc:
            errors.extend(exc.errors)
            continue
        name = config.agency
        if not _NAME.match(name):
            raise FleetConfigError(
                f"{path}: agency '{name}' cannot name a fleet agency; use letters, digits, "
                "'.', '_' and '-' (up to 100)"
            )
        if name in found:
            raise FleetConfigError(
                f"{path}: agency '{name}' is also {found[name].config.path}; each agency of "
                "a fleet has one config"
            )
        store = path.parent / "state" / f"{path.stem}.db"
        found[name] = FleetAgency(name, config, store)
    if errors:
        raise RulesetErrors(errors)
    return tuple(found.values())


def _database_url(folder: Path, settings: dict[str, Any]) -> str:
    name = settings.get("database_url_env", DEFAULT_DATABASE_ENV)
    secrets = settings.get("secrets_file")
    secrets_path = None if secrets is None else folder / secrets
    if os.environ.get(name) or secrets_path is not None:
        try:
            return read_secret(name, secrets_path)
        except ConfigError:
            if name != DEFAULT_DATABASE_ENV or settings.get("database_url_env"):
                raise
    state = folder / "state"
    state.mkdir(mode=0o700, exist_ok=True)
    return f"sqlite:///{(state / 'fleet.sqlite').resolve()}"
