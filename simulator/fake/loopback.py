"""A whole agency on loopback for the nightly job: fake Alto and Fixflo, a config, issues.

`fake_agency` serves a generated agency from a fake Alto (whose works orders, documents
and charges land in a lifecycle `AltoWorld`) and a fake Fixflo (whose issues come from a
lifecycle `FixfloWorld`), both on 127.0.0.1 in background threads, and writes an agency
config plus an owner-only secrets file for them, so ``rulebridge run --config`` (in this
process or another) reaches them exactly as it reaches the real APIs.

With ``webhooks=True`` the fake Fixflo also sends webhooks (each save of an issue in its
world is a delivery to every subscription, with the seeded ``webhook_faults``), and the
config gains a ``webhook:`` section for ``rulebridge serve``: it listens on a free loopback
port and its secret (32 random characters) is in the secrets file. With
``fixflo_rate_limit`` the fake Fixflo lets at most that many requests a minute through
(429 with ``Retry-After`` beyond), and the config's Fixflo rate limit is no higher.

`play_issues` then plays contract-true issue lifecycles in the Fixflo world, on properties,
occupiers and contractors the first night synced, as people would in Fixflo's UI: the
issue's ``Address`` is its property's, ``FixfloProperty``, ``FixfloTenant`` and
``Job.Contractor`` are the fake Fixflo's own records (so the adapter finds them through
their endpoints), and the paths include a landlord-instructed job and a job cancelled
after it was awarded. The fake Alto's world holds the generated agency's tenancies (a
tenant's charge goes to one of them). `agreement` says whether Alto agrees with every
issue as the ruleset requires (`simulator.lifecycle.violations`, with the agency's
settings), using the state store's ledger. The demo, the crash harness and the run
benchmark share them.

Example::

    with fake_agency(Path("out/night"), size=300, seed=1) as agency:
        subprocess.run(["rulebridge", "run", "--config", str(agency.config_path)])
        play_issues(agency, 6)
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import secrets
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from adapters.fixflo import ISSUE_EVENTS
from engine import load_ruleset
from engine.documents import dump_yaml
from engine.store import Store
from simulator.fake import LOOPBACK, FakeAlto, FakeFixflo, Faults, parse_faults, serving
from simulator.lifecycle import AltoWorld, FixfloWorld, Simulation, violations
from simulator.lifecycle.worlds import LedgerEntry

__all__ = ["PATHS", "FakeAgency", "agreement", "fake_agency", "play_issues"]

ROOT: Final = Path(__file__).resolve().parents[2]
RULESET: Final = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
SETTINGS: Final = ROOT / "rulesets" / "alto-fixflo" / "agency.example.yaml"
_ENV: Final = {
    "alto_id": "RULEBRIDGE_DEMO_ALTO_CLIENT_ID",
    "alto_secret": "RULEBRIDGE_DEMO_ALTO_CLIENT_SECRET",
    "fixflo": "RULEBRIDGE_DEMO_FIXFLO_TOKEN",
    "webhook": "RULEBRIDGE_DEMO_WEBHOOK_SECRET",
}
# The paths an issue takes (``instruct:landlord``: a job without a contractor, the landlord
# doing it, gap.job-assignee); every other detail is the event's default.
PATHS: Final[tuple[tuple[str, ...], ...]] = (
    ("report", "instruct", "set_appointment", "complete_job", "close"),
    ("report", "request_quotes", "quotes_returned", "review_quotes", "instruct", "complete_job"),
    ("report", "instruct:landlord", "complete_job", "close"),
    ("report", "close_without_job"),
    ("report", "instruct", "set_appointment", "cancel_job"),
    ("report", "instruct", "set_appointment"),
    ("report",),
)
_REPAIRS: Final = (
    "Dripping kitchen tap", "Boiler not heating", "Broken window latch", "Blocked drain",
    "Faulty extractor fan", "Leaking shower tray", "Loose stair rail",
)  # fmt: skip


@dataclass
class FakeAgency:
    """The served agency: where its config and store are, the fakes behind them, and the
    agency's settings (those its settings file gives).

    With webhooks, `webhook_url` is the config's ``webhook.public_url`` (where the server
    listens) and `webhook_secret` the secret the secrets file holds; both None otherwise.
    """

    folder: Path
    config_path: Path
    store_path: Path
    alto: FakeAlto
    fixflo: FakeFixflo
    simulation: Simulation
    alto_url: str
    fixflo_url: str
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    webhook_url: str | None = None
    webhook_secret: str | None = dataclasses.field(default=None, repr=False)


@contextlib.contextmanager
def fake_agency(
    folder: Path,
    *,
    size: int = 300,
    seed: int = 1,
    faults: str = "",
    per_minute: int = 100_000,
    fixflo_page_size: int = 50,
    lookups: bool = True,
    attempts: int = 8,
    settings: Mapping[str, Any] | None = None,
    webhooks: bool = False,
    webhook_port: int = 0,
    webhook_faults: str = "",
    fixflo_rate_limit: int | None = None,
    agency: str = "demo",
) -> Iterator[FakeAgency]:
    """Serve a generated agency of `size` properties; write its config into `folder`.

    Args:
        folder: where ``agency.yaml``, ``agency.secrets`` and ``state/`` go.
        size: properties in the generated agency.
        seed: the agency's seed (the same seed, the same agency).
        faults: faults to inject in both fakes, e.g. ``"all=0.05"`` (`parse_faults`).
        per_minute: the config's rate limits (the fakes have none; the real default is 500).
        fixflo_page_size: records on a page of the fake Fixflo's lists.
        lookups: whether the fake Alto serves the document lookup, ``GET /documents``
            (without it, a lost answer to a document becomes a dead letter; a charge's
            always does: Alto's contract has no read of charges).
        attempts: the config's retry attempts per request.
        settings: agency settings over the example's (``{"paying_party": "Tenant"}``),
            written to ``agency.settings.yaml`` in `folder`.
        webhooks: write the config's ``webhook:`` section and its secret.
        webhook_port: the port the server is to listen on (0: a free one now).
        webhook_faults: the fake Fixflo's delivery faults, such as ``"drop=0.1,forge=0.05"``
            (`simulator.fake._webhook_sender.parse_webhook_faults`, seeded with `seed`).
        fixflo_rate_limit: the fake Fixflo's requests per token in any 60 s (None: no
            limit); the config's Fixflo ``per_minute`` is at most this.
        agency: the config's ``agency:`` (a fleet's agencies need names of their own).

    Raises:
        ValueError: a bad fault spec (`faults` or `webhook_faults`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rules = parse_faults(faults)
    fixflo_world, alto_world = FixfloWorld(), AltoWorld()
    alto = FakeAlto(
        size,
        seed,
        faults=Faults(rules, seed=seed, retry_after=0.01),
        alto_world=alto_world,
        lookups=lookups,
    )
    fixflo = FakeFixflo(
        size,
        seed,
        faults=Faults(rules, seed=seed + 1, retry_after=0.01),
        page_size=fixflo_page_size,
        world=fixflo_world,
        webhook_faults=webhook_faults,
        rate_limit=fixflo_rate_limit,
    )
    settings_path, chosen = _write_settings(folder, settings or {})
    ruleset = load_ruleset(RULESET, settings=settings_path)
    simulation = Simulation(ruleset, fixflo=fixflo_world, alto=alto_world)
    hook = _Webhook.chosen(webhook_port) if webhooks else None
    limits = (per_minute, min(per_minute, fixflo_rate_limit or per_minute), attempts)
    try:
        with serving(alto.app) as alto_url, serving(fixflo.app) as fixflo_base:
            fixflo_url = fixflo_base + "/api/v2"
            urls = (alto_url, fixflo_url)
            config_path = _write_config(folder, alto, fixflo, urls, limits, hook, agency)
            yield FakeAgency(
                folder,
                config_path,
                folder / "state" / "agency.db",
                alto,
                fixflo,
                simulation,
                alto_url,
                fixflo_url,
                chosen,
                None if hook is None else hook.url,
                None if hook is None else hook.secret,
            )
    finally:
        fixflo.close()


@dataclass(frozen=True)
class _Webhook:
    """Where ``rulebridge serve`` is to listen, and the subscription's secret."""

    port: int
    secret: str = dataclasses.field(repr=False)

    @classmethod
    def chosen(cls, port: int) -> _Webhook:
        """`port`, or a port free now when 0; a new random 32-character secret."""
        if port == 0:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.bind((LOOPBACK, 0))
                port = int(probe.getsockname()[1])
        return cls(port, secrets.token_hex(16))

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def section(self) -> str:
        """The config's ``webhook:`` section (design section 5)."""
        events = ", ".join(ISSUE_EVENTS)
        return (
            "webhook:\n"
            f"  listen: {LOOPBACK}:{self.port}\n"
            f"  public_url: {self.url}\n"
            f"  secret_env: {_ENV['webhook']}\n"
            "  signature: hmac-sha256\n"
            f"  events: [{events}]\n"
        )


def _write_settings(folder: Path, given: Mapping[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The example settings with `given` over them, written beside the config (the example
    itself when nothing is given); returns the file and the settings it gives."""
    example = yaml.safe_load(SETTINGS.read_text("utf-8"))
    chosen = {**example.get("settings", {}), **given}
    if not given:
        return SETTINGS, chosen
    path = folder / "agency.settings.yaml"
    path.write_text(dump_yaml({**example, "settings": chosen}, sort_keys=False), "utf-8")
    return path, chosen


def _write_config(
    folder: Path,
    alto: FakeAlto,
    fixflo: FakeFixflo,
    urls: tuple[str, str],
    limits: tuple[int, int, int],
    hook: _Webhook | None,
    agency: str = "demo",
) -> Path:
    alto_url, fixflo_url = urls
    rate, fixflo_rate, attempts = limits
    kept = folder / "agency.secrets"
    kept.touch(mode=0o600)
    os.chmod(kept, 0o600)
    kept.write_text(
        f"{_ENV['alto_id']}={alto.client_id}\n"
        f"{_ENV['alto_secret']}={alto.client_secret}\n"
        f"{_ENV['fixflo']}={fixflo.token}\n"
        + ("" if hook is None else f"{_ENV['webhook']}={hook.secret}\n"),
        "utf-8",
    )
    config = folder / "agency.yaml"
    config.write_text(
        "# The embedded default: a generated agency on the fake servers (127.0.0.1).\n"
        f"agency: {agency}\n"
        "secrets_file: agency.secrets\n"
        f"ruleset: {RULESET}\n"
        f"settings: {_settings_of(folder)}\n"
        "timeout_seconds: 10\n"
        f"retry: {{attempts: {attempts}, total_seconds: 60}}\n"
        "alto:\n"
        f"  base_url: {alto_url}\n"
        f"  agency_ref: {alto.agency_ref}\n"
        f"  client_id_env: {_ENV['alto_id']}\n"
        f"  client_secret_env: {_ENV['alto_secret']}\n"
        f"  rate_limit: {{per_minute: {rate}}}\n"
        "fixflo:\n"
        f"  base_url: {fixflo_url}\n"
        f"  token_env: {_ENV['fixflo']}\n"
        f"  rate_limit: {{per_minute: {fixflo_rate}}}\n" + ("" if hook is None else hook.section()),
        "utf-8",
    )
    return config


def _settings_of(folder: Path) -> Path:
    written = folder / "agency.settings.yaml"
    return written if written.exists() else SETTINGS


def play_issues(agency: FakeAgency, count: int, *, seed: int = 0) -> list[str]:
    """Play `count` new issues in the Fixflo world along `PATHS` in turn; returns their ids.

    Each issue is at a property the first night synced (bearing an ``ExternalPropertyRef``,
    its ``Address`` the property's; one with an occupier linked when there is any),
    reported by an occupier linked to the property when it has one (``TenantId`` and
    ``FixfloTenant`` the fake's tenant; else none), and instructed
    to a synced contractor (``Job.Contractor`` the fake's record) or, on the landlord path,
    to nobody. Nothing is delivered to Alto: the next run reads the issues.

    Raises:
        ValueError: the fake Fixflo holds no synced property (run the nightly job first).
    """
    rng = random.Random(seed)  # noqa: S311 - made-up repairs, not secrets
    store = agency.fixflo.store
    properties = [p for p in store.collections["properties"].values() if _ref(p)]
    contractors = [c for c in store.collections["contractors"].values() if c.get("ExternalRef")]
    if not properties:
        raise ValueError("no synced property in the fake Fixflo: run the nightly job first")
    occupiers = _occupiers(store.join_records()[1], store.collections["tenants"].values())
    occupied = [p for p in properties if str(_ref(p)) in occupiers]
    properties = occupied or properties  # an occupier reports (a tenant may pay, CH-02)
    made = []
    start = len(agency.simulation.fixflo.issues)
    for number in range(start + 1, start + count + 1):
        issue_id = str(number)
        prop = rng.choice(properties)
        contractor = rng.choice(contractors) if contractors else None
        reported = _reported(prop, occupiers.get(str(_ref(prop))), _REPAIRS[number % 7])
        for step in PATHS[(number - 1) % len(PATHS)]:
            event, _, variant = step.partition(":")
            details = _details(event, variant, reported, contractor)
            agency.simulation.perform(event, issue_id, details, deliver=False)
        made.append(issue_id)
    return made


def _ref(record: Mapping[str, Any]) -> Any:
    return record.get("ExternalPropertyRef")


def _occupiers(links: list[dict[str, Any]], tenants: Any) -> dict[str, Mapping[str, Any]]:
    """The first tenant linked to each property, by the property's external reference."""
    by_ref = {str(t.get("ExternalRef")): t for t in tenants if t.get("ExternalRef")}
    found: dict[str, Mapping[str, Any]] = {}
    for link in links:
        prop, tenant = (
            link.get("PropertyExternalRef"),
            by_ref.get(str(link.get("TenantExternalRef"))),
        )
        if prop and tenant is not None:
            found.setdefault(str(prop), tenant)
    return found


def _reported(
    prop: Mapping[str, Any], tenant: Mapping[str, Any] | None, title: str
) -> dict[str, Any]:
    """The report's details on the fake Fixflo's own records."""
    address = dict(prop.get("Address") or {})
    details: dict[str, Any] = {
        "Title": title,
        "Address": address,
        "FixfloProperty": {"id": prop["id"], "ExternalPropertyRef": _ref(prop), "Address": address},
        "TenantId": None,
        "FixfloTenant": None,
    }
    if tenant is not None:
        details |= {
            "TenantId": str(tenant["id"]),
            "FixfloTenant": {key: tenant.get(key) for key in ("id", "ExternalRef", "EmailAddress")},
            "Firstname": tenant.get("FirstName"),
            "Surname": tenant.get("Surname"),
            "EmailAddress": tenant.get("EmailAddress"),
        }
    return details


def _details(
    event: str, variant: str, reported: Mapping[str, Any], contractor: Mapping[str, Any] | None
) -> dict[str, Any]:
    if event == "report":
        return dict(reported)
    if event == "instruct" and (variant == "landlord" or contractor is None):
        return {"Job.Contractor": None}
    if event == "instruct":
        keys = ("Id", "ExternalRef", "DisplayName", "CompanyName")
        return {"Job.Contractor": {key: contractor.get(key) for key in keys}}  # type: ignore[union-attr]
    return {}


def agreement(agency: FakeAgency, store_path: Path | None = None) -> list[str]:
    """Every way Alto disagrees with the Fixflo issues as the ruleset requires, under the
    agency's settings (empty: none).

    The ledger comes from the state store (`store_path`, by default the agency's): Alto is
    judged against the issue revision the runner last agreed with, so an issue changed
    after the last run is not a disagreement.
    """
    alto = agency.simulation.alto
    ledger = {}
    path = store_path or agency.store_path
    if path.exists():
        with Store.open(path) as store:
            for issue_id in agency.simulation.fixflo.issues:
                state = store.issue_state(issue_id)
                ledger[issue_id] = LedgerEntry(
                    state.works_order_id, set(state.documents), set(state.charges), state.revision
                )
    judged = dataclasses.replace(alto, ledger=ledger)
    return violations(agency.simulation.fixflo, judged, agency.settings)
