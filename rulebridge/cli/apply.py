"""`rulebridge apply PLAN.json --config AGENCY.yaml`: apply exactly a saved plan to Fixflo."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import click
import httpx

from adapters.fixflo import FixfloAdapter
from engine import load_ruleset
from engine.store import Store
from engine.sync.apply import ApplyResult, StalePlanError, apply_plan, check_fresh, read_plan
from engine.sync.plan import Plan
from rulebridge._config import AgencyConfig, load_agency_config
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AGENCY, STORE_TO_BE, default_store, failing_cleanly
from rulebridge.runner.home import AgencyHome, state_home
from rulebridge.runner.lock import AgencyLock
from rulebridge.runner.trust import adopt_hint, identity_of, open_trusted

__all__ = ["apply_command"]

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command("apply", context_settings=CONTEXT)
@click.argument("plan_path", metavar="PLAN.json", type=EXISTING)
@AGENCY
@STORE_TO_BE
@click.option(
    "--format", "output", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def apply_command(plan_path: Path, config_path: Path, store_path: Path | None, output: str) -> None:
    """Apply exactly the saved plan PLAN.json to the agency's Fixflo, each effect once.

    The plan is refused, naming what changed, when the ruleset or the id map changed since
    it was made, the plan's own records included (only its own effects are allowed, so a
    plan applied in part can be applied again); and the store is refused as a run refuses
    it (another agency's, behind, not the one the agency's last run used; see `rulebridge
    store`). Records Fixflo refuses go to dead letters (see `rulebridge deadletters`) and
    the rest go on.
    Exit codes: 0 nothing applied, 2 changes applied, 1 failure (including operations left
    to a later apply: run the same command again).

    Example:

        rulebridge apply plan.json --config agencies/acme.yaml
    """
    with failing_cleanly():
        plan = read_plan(_read_json(plan_path))
        config = load_agency_config(config_path)
        ruleset_hash = _ruleset_hash(config)
        path = store_path or default_store(config_path)
        identity = identity_of(config)
        home = AgencyHome(state_home(), identity)
        with AgencyLock(home, path):
            hint = adopt_hint(config_path, path)
            with open_trusted(path, identity, home, hint, probe=None) as store:
                try:
                    check_fresh(plan, ruleset_hash=ruleset_hash, store=store)
                except StalePlanError as exc:
                    raise ValueError(f"{plan_path}: {exc}") from None
                result, requests = asyncio.run(_apply(plan, config, store, ruleset_hash))
                binding = store.binding()
                if binding is not None:
                    home.write_witness(binding, store.progress(), path)
    _print(result, requests, output)
    for letter in result.dead_letters:
        click.echo(f"warning: dead letter {letter}: see `rulebridge deadletters`", err=True)
    if result.incomplete:
        click.echo(
            f"error: {result.incomplete} operation(s) did not complete; apply the plan again",
            err=True,
        )
        sys.exit(1)
    sys.exit(2 if result.applied else 0)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a plan: the file is not JSON ({exc})") from None


def _ruleset_hash(config: AgencyConfig) -> str:
    if config.ruleset is None:
        raise ValueError(f"{config.path}: no 'ruleset:'; name the ruleset the plan was made with")
    return load_ruleset(config.ruleset, settings=config.settings).content_hash


async def _apply(
    plan: Plan, config: AgencyConfig, store: Store, ruleset_hash: str
) -> tuple[ApplyResult, Counter[str]]:
    """Apply within the agency's rate limit; count HTTP requests per endpoint."""
    requests: Counter[str] = Counter()

    async def count(request: httpx.Request) -> None:
        requests[f"{request.method} {request.url.path}"] += 1

    name, version = plan.ruleset.get("name", ""), plan.ruleset.get("version", "")
    run = store.start_run(str(name), str(version), ruleset_hash)
    status: Literal["succeeded", "failed"] = "failed"
    try:
        async with config.client("fixflo") as client:
            client.event_hooks["request"].append(count)
            limiter, limits = config.limiter("fixflo"), config.limits
            fixflo = FixfloAdapter(client, limiter=limiter, retry=config.retry, limits=limits)
            result = await apply_plan(plan, fixflo, store, run=run)
        status = "failed" if result.incomplete else "succeeded"
    finally:
        store.finish_run(status)
    return result, requests


def _print(result: ApplyResult, requests: Counter[str], output: str) -> None:
    if output == "json":
        data = result.to_json() | {"requests": dict(sorted(requests.items()))}
        click.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    click.echo(f"{'entity':<14} outcomes")
    for kind, counter in sorted(result.counts.items()):
        outcomes = ", ".join(f"{name} {n}" for name, n in sorted(counter.items()))
        click.echo(f"{kind:<14} {outcomes}")
    click.echo(f"API requests: {sum(requests.values())}; operations tried again: {result.retries}")
    for endpoint, n in sorted(requests.items()):
        click.echo(f"  {endpoint:<40} {n}")
