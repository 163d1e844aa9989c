"""`rulebridge apply PLAN.json --config AGENCY.yaml`: apply exactly a saved plan to Fixflo.

The apply is a run of the state store like a night: it keeps a report of the nightly
report's shape (``run.kind`` ``apply``; `rulebridge report`) and exits through the one
table of exit codes (`rulebridge._exits`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal as signal_module
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from adapters.fixflo import FixfloAdapter
from engine import RulebridgeError, load_ruleset
from engine.store import Run, Store
from engine.store.records import RunStatus
from engine.sync.apply import ApplyResult, StalePlanError, apply_plan, check_fresh, read_plan
from engine.sync.plan import ManualAction, Plan
from rulebridge._config import AgencyConfig, load_agency_config
from rulebridge._exits import ExitCode, outcome_code, signal_code
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AGENCY, STORE_TO_BE, default_store, failing_cleanly
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.home import AgencyHome, state_home
from rulebridge.runner.lock import AgencyLock
from rulebridge.runner.log import redact_personal
from rulebridge.runner.report import WRITES, dead_letter_item, manual_item, render_report
from rulebridge.runner.stop import Interrupted, checkpoint, signal_name, stopping
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
@click.option("--quiet", is_flag=True, help="Print no report at the end (it is stored anyway).")
def apply_command(
    plan_path: Path, config_path: Path, store_path: Path | None, output: str, quiet: bool
) -> None:
    """Apply exactly the saved plan PLAN.json to the agency's Fixflo, each effect once.

    The plan is refused, naming what changed, when the ruleset or the id map changed since
    it was made, the plan's own records included (only its own effects are allowed, so a
    plan applied in part can be applied again); and the store is refused as a run refuses
    it (another agency's, behind, not the one the agency's last run used; see `rulebridge
    store`). Records Fixflo refuses go to dead letters (see `rulebridge deadletters`) and
    the rest go on. The apply is kept as a run with its report (`rulebridge report
    latest`), printed at the end (as JSON with --format json).
    Exit codes: 0 nothing applied, 2 changes applied, 3 applied but records Fixflo
    refused are left as dead letters, 1 failure (including operations left to a later
    apply: run the same command again), 64 usage error, 130/143 interrupted by SIGINT or
    SIGTERM (after the operation in progress; apply the plan again).

    Example:

        rulebridge apply plan.json --config agencies/acme.yaml
    """
    with failing_cleanly():
        data = _read_json(plan_path)
        plan = read_plan(data)
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
                applied = _Applied(plan, plan_path, config, ruleset_hash, plan_notes(data))
                try:
                    with stopping():  # SIGTERM or Ctrl-C: stop between two operations
                        asyncio.run(applied.run(store))
                except (Interrupted, KeyboardInterrupt) as exc:
                    signum = exc.signum if isinstance(exc, Interrupted) else signal_module.SIGINT
                    click.echo(
                        f"interrupted by {signal_name(signum)}: every effect made so far is "
                        "recorded; apply the plan again to go on",
                        err=True,
                    )
                    sys.exit(signal_code(signum))
                finally:
                    binding = store.binding()
                    if binding is not None:
                        home.write_witness(binding, store.progress(), path)
    report = applied.report
    if not quiet:
        _print(report, output)
    for letter in report["dead_letters"]:
        click.echo(f"warning: dead letter {letter['id']}: see `rulebridge deadletters`", err=True)
    if report["run"]["incomplete"]:
        click.echo(
            f"error: {report['run']['incomplete']} operation(s) did not complete; apply the "
            "plan again",
            err=True,
        )
    sys.exit(report["run"]["exit_code"])


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a plan: the file is not JSON ({exc})") from None


def _ruleset_hash(config: AgencyConfig) -> str:
    if config.ruleset is None:
        raise ValueError(f"{config.path}: no 'ruleset:'; name the ruleset the plan was made with")
    return load_ruleset(config.ruleset, settings=config.settings).content_hash


@dataclass
class _Applied:
    """One apply as a recorded run: the plan applied within the agency's rate limit, its
    requests counted per endpoint, and its report (the nightly report's shape)."""

    plan: Plan
    plan_path: Path
    config: AgencyConfig
    ruleset_hash: str
    notes: dict[str, Any]
    result: ApplyResult = field(default_factory=ApplyResult)
    calls: ApiCalls = field(default_factory=ApiCalls)
    report: dict[str, Any] = field(default_factory=dict)

    async def run(self, store: Store) -> None:
        """Start a run, apply the plan, finish the run with its report (also when the
        apply fails or is interrupted: then the error is raised again)."""
        name, version = self.plan.ruleset.get("name", ""), self.plan.ruleset.get("version", "")
        run = store.start_run(str(name), str(version), self.ruleset_hash)
        started = time.monotonic()
        try:
            async with self.config.client("fixflo") as client:
                self.calls.attach(client, "fixflo")
                fixflo = FixfloAdapter(
                    client,
                    limiter=self.config.limiter("fixflo"),
                    retry=self.config.retry,
                    limits=self.config.limits,
                )
                self.result = await apply_plan(
                    self.plan, fixflo, store, run=run, checkpoint=checkpoint
                )
        except (RulebridgeError, ValueError) as exc:
            self._finish(store, run, started, error=redact_personal(str(exc)))
            raise
        except (Interrupted, KeyboardInterrupt, asyncio.CancelledError) as exc:  # a signal
            name = exc.name if isinstance(exc, Interrupted) else "SIGINT"
            self._finish(store, run, started, error=f"interrupted by {name}", signal=name)
            raise
        except BaseException as exc:  # a defect: recorded, then raised
            self._finish(store, run, started, error=f"interrupted by {type(exc).__name__}")
            raise
        self._finish(store, run, started)

    def _finish(
        self,
        store: Store,
        run: Run,
        started: float,
        *,
        error: str | None = None,
        signal: str | None = None,
    ) -> None:
        letters = {letter.id: letter for letter in store.dead_letters(include_retried=True)}
        dead = [dead_letter_item(letters[i]) for i in self.result.dead_letters if i in letters]
        manual = self.notes["manual_items"]
        changes = self.result.total(*WRITES)
        incomplete = self.result.incomplete
        # The plan's items for a person are listed, but they are the attention of the run
        # that made the plan; what this apply leaves for a person is its dead letters.
        code = outcome_code(
            failed=error is not None or incomplete > 0, attention=bool(dead), changes=changes
        )
        status: RunStatus = "failed" if code == ExitCode.FAILURE else "succeeded"
        if signal is not None:
            code, status = signal_code(signal_module.Signals[signal]), "interrupted"
        self.report = {
            "run": {
                "id": run.id,
                "kind": "apply",
                "agency": self.config.agency,
                "ruleset": {
                    "name": str(self.plan.ruleset.get("name", "")),
                    "version": str(self.plan.ruleset.get("version", "")),
                    "hash": self.ruleset_hash,
                },
                "plan": str(self.plan_path),
                "dry_run": False,
                "adopt": False,
                "started": run.started,
                "finished": datetime.now(UTC).isoformat(),
                "seconds": round(time.monotonic() - started, 3),
                "status": status,
                "exit_code": int(code),
                "error": error,
                "incomplete": incomplete,
                "changes": changes,
                "attention": len(dead),
                "phases": {"apply": round(time.monotonic() - started, 3)},
                **({"signal": signal} if signal else {}),
            },
            "reference": {
                "planned": self.notes["planned"] or self.plan.summary(),
                "applied": {kind: dict(c) for kind, c in self.result.counts.items()},
                "calls": dict(self.result.calls),
                "retried_operations": self.result.retries,
                "skips_by_rule": self.notes["skips_by_rule"],
                "rejected": self.notes["rejected"],
                "manual": len(manual),
                "manual_items": manual,
            },
            "issues": {},
            "warnings": self.notes["warnings"],
            "dead_letters": dead,
            "api": self.calls.to_json(),
        }
        store.finish_run(status, report=self.report)


def plan_notes(data: Any) -> dict[str, Any]:
    """What a saved plan says for people, for the apply's report: its counts per entity
    and action, skips by rule, items for a person (`manual_item`), warnings and rejected
    records. `read_plan` reads back only the operations; a part of this that is malformed
    is left out (it is never applied)."""
    planned = data.get("summary")
    skips = [s for s in _listed(data, "skips") if s.get("rules")]
    manual = []
    for item in _listed(data, "manual"):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            manual.append(
                manual_item(
                    ManualAction(
                        str(item["kind"]),
                        str(item["action"]),
                        str(item["rule"]),
                        item.get("target_id"),
                        None if item.get("source_id") is None else str(item["source_id"]),
                        str(item["reason"]),
                    )
                )
            )
    return {
        "planned": planned if _counts(planned) else {},
        "skips_by_rule": dict(Counter(str(skip["rules"][0]) for skip in skips)),
        "manual_items": manual,
        "warnings": [
            {"rule": str(w.get("rule")), "message": redact_personal(str(w.get("summary")))}
            for w in _listed(data, "warnings")
        ],
        "rejected": len(_listed(data, "rejected")),
    }


def _listed(data: Any, key: str) -> list[dict[str, Any]]:
    items = data.get(key) if isinstance(data, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _counts(value: Any) -> bool:
    """`value` is counts per entity and action (a plan's ``summary``)."""
    return isinstance(value, dict) and all(
        isinstance(per, dict) and all(isinstance(n, int) for n in per.values())
        for per in value.values()
    )


def _print(report: dict[str, Any], output: str) -> None:
    if output == "json":
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    console = Console()
    render_report(report, console if console.is_terminal else Console(width=140))
