"""A whole agency on loopback for the nightly job: fake Alto and Fixflo, a config, issues.

`fake_agency` serves a generated agency from a fake Alto (whose works orders, documents
and charges land in a lifecycle `AltoWorld`) and a fake Fixflo (whose issues come from a
lifecycle `FixfloWorld`), both on 127.0.0.1 in background threads, and writes an agency
config plus an owner-only secrets file for them, so ``rulebridge run --config`` (in this
process or another) reaches them exactly as it reaches the real APIs.

`play_issues` then plays issue lifecycles in the Fixflo world, on properties, occupiers and
contractors the first night synced, as people would in Fixflo's UI. `agreement` says
whether Alto agrees with every issue as the ruleset requires, using the state store's
ledger. The demo, the crash harness and the run benchmark share them.

Example::

    with fake_agency(Path("out/night"), size=300, seed=1) as agency:
        subprocess.run(["rulebridge", "run", "--config", str(agency.config_path)])
        play_issues(agency, 6)
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from engine import load_ruleset
from engine.store import Store
from simulator.fake import FakeAlto, FakeFixflo, Faults, parse_faults, serving
from simulator.lifecycle import AltoWorld, FixfloWorld, Simulation, violations
from simulator.lifecycle.worlds import LedgerEntry

__all__ = ["FakeAgency", "agreement", "fake_agency", "play_issues"]

ROOT: Final = Path(__file__).resolve().parents[2]
RULESET: Final = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
SETTINGS: Final = ROOT / "rulesets" / "alto-fixflo" / "agency.example.yaml"
_ENV: Final = {
    "alto_id": "RULEBRIDGE_DEMO_ALTO_CLIENT_ID",
    "alto_secret": "RULEBRIDGE_DEMO_ALTO_CLIENT_SECRET",
    "fixflo": "RULEBRIDGE_DEMO_FIXFLO_TOKEN",
}
# The paths an issue takes, as events with their details' overrides (None: the defaults).
_PATHS: Final[tuple[tuple[str, ...], ...]] = (
    ("report", "instruct", "set_appointment", "complete_job", "close"),
    ("report", "request_quotes", "quotes_returned", "review_quotes", "instruct", "complete_job"),
    ("report", "instruct:landlord", "complete_job", "close"),
    ("report", "close_without_job"),
    ("report", "instruct", "set_appointment"),
    ("report",),
)


@dataclass
class FakeAgency:
    """The served agency: where its config and store are, and the fakes behind them."""

    folder: Path
    config_path: Path
    store_path: Path
    alto: FakeAlto
    fixflo: FakeFixflo
    simulation: Simulation
    alto_url: str
    fixflo_url: str


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
    )
    ruleset = load_ruleset(RULESET, settings=SETTINGS)
    simulation = Simulation(ruleset, fixflo=fixflo_world, alto=alto_world)
    with serving(alto.app) as alto_url, serving(fixflo.app) as fixflo_base:
        fixflo_url = fixflo_base + "/api/v2"
        urls = (alto_url, fixflo_url)
        config_path = _write_config(folder, alto, fixflo, urls, per_minute, attempts)
        yield FakeAgency(
            folder,
            config_path,
            folder / "state" / "agency.db",
            alto,
            fixflo,
            simulation,
            alto_url,
            fixflo_url,
        )


def _write_config(
    folder: Path,
    alto: FakeAlto,
    fixflo: FakeFixflo,
    urls: tuple[str, str],
    rate: int,
    attempts: int,
) -> Path:
    alto_url, fixflo_url = urls
    secrets = folder / "agency.secrets"
    secrets.touch(mode=0o600)
    os.chmod(secrets, 0o600)
    secrets.write_text(
        f"{_ENV['alto_id']}={alto.client_id}\n"
        f"{_ENV['alto_secret']}={alto.client_secret}\n"
        f"{_ENV['fixflo']}={fixflo.token}\n",
        "utf-8",
    )
    config = folder / "agency.yaml"
    config.write_text(
        "# The embedded default: a generated agency on the fake servers (127.0.0.1).\n"
        "agency: demo\n"
        "secrets_file: agency.secrets\n"
        f"ruleset: {RULESET}\n"
        f"settings: {SETTINGS}\n"
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
        f"  rate_limit: {{per_minute: {rate}}}\n",
        "utf-8",
    )
    return config


def play_issues(agency: FakeAgency, count: int, *, seed: int = 0) -> list[str]:
    """Play `count` new issues in the Fixflo world along varied paths; returns their ids.

    Issues are on properties the first night synced (bearing an ``ExternalPropertyRef``),
    reported by an occupier of the property when it has one, and instructed to a synced
    contractor; nothing is delivered to Alto (the next run reads the issues).
    """
    rng = random.Random(seed)  # noqa: S311 - made-up repairs, not secrets
    store = agency.fixflo.store
    properties = [p for p in store.collections["properties"].values() if _ref(p)]
    contractors = [c for c in store.collections["contractors"].values() if c.get("ExternalRef")]
    if not properties:
        raise ValueError("no synced property in the fake Fixflo: run the nightly job first")
    occupiers = _occupiers(store.join_records()[1])
    made = []
    start = len(agency.simulation.fixflo.issues)
    for number in range(start + 1, start + count + 1):
        issue_id = f"I{number}"
        prop = rng.choice(properties)
        contractor = rng.choice(contractors).get("ExternalRef") if contractors else None
        who = {
            "ExternalPropertyRef": _ref(prop),
            "TenantRef": occupiers.get(str(_ref(prop))),
        }
        for step in _PATHS[(number - 1) % len(_PATHS)]:
            event, _, variant = step.partition(":")
            details = _details(event, variant, who, contractor, issue_id)
            agency.simulation.perform(event, issue_id, details, deliver=False)
        made.append(issue_id)
    return made


def _ref(record: Mapping[str, Any]) -> Any:
    return record.get("ExternalPropertyRef")


def _occupiers(links: list[dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for link in links:
        prop, tenant = link.get("PropertyExternalRef"), link.get("TenantExternalRef")
        if prop and tenant:
            found.setdefault(str(prop), str(tenant))
    return found


def _details(
    event: str, variant: str, who: Mapping[str, Any], contractor: Any, issue_id: str
) -> dict[str, Any]:
    if event == "report":
        return dict(who)
    if event == "instruct" and variant == "landlord":
        return {"Job.AssignedTo": "Landlord", "Job.PayingParty": "Landlord"}
    if event == "instruct":
        paying = "Tenant" if who.get("TenantRef") and issue_id.endswith("7") else "Landlord"
        return {"Job.ContractorRef": contractor, "Job.PayingParty": paying}
    return {}


def agreement(agency: FakeAgency, store_path: Path | None = None) -> list[str]:
    """Every way Alto disagrees with the Fixflo issues as the ruleset requires (empty: none).

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
    judged = AltoWorld(alto.works_orders, alto.documents, alto.charges, ledger, alto.keys)
    return violations(agency.simulation.fixflo, judged)
