"""`rulebridge store show|adopt --config AGENCY.yaml`: the agency's state store, checked
against the agency and its last run, and rebuilt from the targets when it cannot be trusted."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from engine.store import AgencyIdentity, Store, StoreBinding
from rulebridge._config import load_agency_config
from rulebridge._exits import signal_code
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AGENCY, FORMAT, STORE_TO_BE, default_store, failing_cleanly
from rulebridge.runner import RunLog, RunOptions
from rulebridge.runner.adopt import adopt_store
from rulebridge.runner.home import AgencyHome, Witness, state_home
from rulebridge.runner.stop import Interrupted, signal_name, stopping
from rulebridge.runner.trust import identity_of

__all__ = ["store"]


@click.group("store", context_settings=CONTEXT)
def store() -> None:
    """Show the agency's state store, or rebuild it from what Alto and Fixflo hold.

    A run uses a store only if it belongs to the agency, is the store the agency's last
    run used, and is not behind what its targets hold; otherwise it refuses and names
    `rulebridge store adopt`. See docs/store.md.

    Example:

        \b
        rulebridge store show --config agencies/acme.yaml
        rulebridge store adopt --config agencies/acme.yaml
    """


@store.command("adopt", context_settings=CONTEXT)
@AGENCY
@STORE_TO_BE
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def adopt(config_path: Path, store_path: Path | None, quiet: bool) -> None:
    """Rebuild the agency's state store from what Alto and Fixflo hold, sending nothing.

    For a store that was deleted, emptied, restored from an older backup, found behind,
    or is to replace another store of the agency. It binds the store to the agency, maps
    the records Fixflo already holds, and looks up in Alto the works orders, documents and
    charges the Fixflo issues need: what is there is recorded as done, what is not is left
    for the next run, and what Alto cannot be asked about (charges: Alto documents no
    lookup for them) becomes a dead letter for a person to check, never a second post.
    From then on this file is the agency's store. SIGTERM or Ctrl-C stops it after the
    record in progress (recorded as interrupted; adopt again).

    Exit codes (docs/runner.md): 0 adopted, nothing to record; 2 adopted, records mapped or
    found; 3 adopted, with items for a person (dead letters to check, or the plan's items
    for a person); 1 failure (run it again); 64 usage error; 130/143 interrupted.

    Example:

        rulebridge store adopt --config agencies/acme.yaml --store state/acme.db
    """
    with failing_cleanly():
        config = load_agency_config(config_path)
        path = store_path or default_store(config_path)
        try:
            # library records as the run's lines, like `rulebridge run`
            with stopping(), RunLog() as log:
                outcome = adopt_store(RunOptions(config, path, adopt=True), log)
        except (Interrupted, KeyboardInterrupt) as exc:  # before the run was recorded
            signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
            click.echo(f"interrupted by {signal_name(signum)}: adopt again", err=True)
            sys.exit(signal_code(signum))
    report = outcome.report
    if not quiet:
        _print_adoption(report, path, config_path)
    sys.exit(outcome.exit_code)


def _print_adoption(report: dict[str, Any], path: Path, config_path: Path) -> None:
    run = report["run"]
    if run.get("error"):
        click.echo(f"error: {run['error']}", err=True)
        return
    if run.get("status") == "interrupted":
        click.echo(f"interrupted by {run.get('signal')}: adopt again", err=True)
        return
    outcomes = report.get("issues", {}).get("outcomes", {})
    click.echo(f"{path}: adopted for agency {run['agency']} (run {run['id']})")
    click.echo(f"  id map: {report.get('reference', {}).get('adopted', 0)} records mapped")
    for kind in ("works_order", "document", "charge"):
        counts = outcomes.get(kind, {})
        parts = ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) or "none owed"
        click.echo(f"  {kind.replace('_', ' ')}s: {parts}")
    letters = report.get("dead_letters") or []
    if letters:
        click.echo(
            f"  {len(letters)} for a person to check in Alto: rulebridge deadletters "
            f"--config {config_path} (resolve each --landed if it is there, --retry if not)"
        )
    click.echo(
        f"next: rulebridge run --config {config_path} --store {path} makes, once, what the "
        "targets lack"
    )


@store.command("show", context_settings=CONTEXT)
@AGENCY
@STORE_TO_BE
@FORMAT
def show(config_path: Path, store_path: Path | None, output: str) -> None:
    """Show the agency's store: the agency it is bound to, how far it has got, and what the
    agency's last run recorded of its store.

    Read-only. Exit codes: 0 shown, 1 error (no store at the path, or it cannot be read),
    64 usage error.

    Example:

        rulebridge store show --config agencies/acme.yaml --format json
    """
    with failing_cleanly():
        config = load_agency_config(config_path)
        path = store_path or default_store(config_path)
        identity = identity_of(config)
        witness = AgencyHome(state_home(), identity).witness()
        if not path.exists():
            raise ValueError(f"{path}: no state store here (see `rulebridge store adopt`)")
        with Store.open(path) as opened:
            data = _shown(opened, identity, witness)
    if output == "json":
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key + ':':<12} {value}")


def _shown(opened: Store, identity: AgencyIdentity, witness: Witness | None) -> dict[str, Any]:
    binding: StoreBinding | None = opened.binding()
    progress = opened.progress()
    data: dict[str, Any] = {
        "store": str(opened.path),
        "agency": binding.identity.describe() if binding else "(not bound yet)",
        "config": identity.describe(),
        "store_id": binding.store_id if binding else None,
        "origin": binding.origin if binding else None,
        "bound": binding.bound if binding else None,
        "behind": binding.behind if binding else None,
        "runs": progress.runs,
        "effects": progress.effects,
        "witness": None,
    }
    if witness is not None:
        data["witness"] = (
            f"store {witness.store_id} at {witness.store}: {witness.runs} runs, "
            f"{witness.effects} effects ({witness.written})"
        )
    return data
