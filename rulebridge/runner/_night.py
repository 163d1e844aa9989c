"""One run in progress: its inputs, store, log, and what it has learnt for the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from engine import RulebridgeError
from engine.language.ruleset import CompiledRuleset
from engine.store import Run, Store
from rulebridge._config import AgencyConfig
from rulebridge.runner.calls import ApiCalls
from rulebridge.runner.log import RunLog
from rulebridge.runner.report import dead_letter_item

__all__ = ["Night", "RunFailedError", "RunOptions"]

T = TypeVar("T")


class RunFailedError(RulebridgeError):
    """The run could not go on (the message says why and what to do)."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What to run: the agency, its state store and how.

    Attributes:
        config: the agency config (`rulebridge._config.load_agency_config`).
        store_path: the agency's state store.
        dry_run: plan and reconcile, but write nothing to Alto, Fixflo or the cursor.
        plan_out: also save the stamped plan there (for ``rulebridge apply``).
        as_of: the date the rules compare with (default: today, UTC).
        keep_runs: snapshots of this many latest runs are kept beside the store.
        state_home: the per-user state folder holding each agency's lock and witness
            (default: `rulebridge.runner.home.state_home`).
        adopt: rebuild the store from what the targets hold instead of writing to them
            (``rulebridge store adopt``; `rulebridge.runner.adopt`).
        rate_url: a ``postgresql://`` URL keeping the agency's rate limits in that database
            (`rulebridge.runner.ratelimit.PostgresLimiter`); None: a file in its state home.
        batch_size: operations per apply batch (`rulebridge.runner.steps.NightSteps`:
            each batch is one step an engine may run in another process).
    """

    config: AgencyConfig
    store_path: Path
    dry_run: bool = False
    plan_out: Path | None = None
    as_of: date | None = None
    keep_runs: int = 7
    state_home: Path | None = None
    adopt: bool = False
    rate_url: str | None = None
    batch_size: int = 500


@dataclass
class Night:
    """One run in progress: what it has learnt so far, for the report."""

    options: RunOptions
    ruleset: CompiledRuleset
    store: Store
    run: Run
    log: RunLog
    calls: ApiCalls = field(default_factory=ApiCalls)
    phases: dict[str, float] = field(default_factory=dict)
    reference: dict[str, Any] = field(default_factory=dict)
    issues: dict[str, Any] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[int] = field(default_factory=list)
    webhooks: dict[str, Any] = field(default_factory=dict)
    drift: dict[str, Any] = field(default_factory=dict)
    changes: int = 0
    incomplete: int = 0

    @property
    def config(self) -> AgencyConfig:
        """The agency config."""
        return self.options.config

    @property
    def folder(self) -> Path:
        """Where this run's snapshots go: ``<store>-runs/<run id>``."""
        base = self.options.store_path
        return base.with_name(base.stem + "-runs") / f"{self.run.id:06d}"

    def warn(self, rule: str, message: str) -> None:
        """A warning for the report, under the rule that raised it."""
        self.warnings.append({"rule": rule, "message": message})

    def dead_letter_items(self) -> list[dict[str, Any]]:
        """The dead letters this run wrote, for its report: id, reason (personal data
        masked), kind, op, retryable and group (`rulebridge.runner.report.dead_letter_item`)."""
        letters = {letter.id: letter for letter in self.store.dead_letters(include_retried=True)}
        return [dead_letter_item(letters[key]) for key in self.dead_letters if key in letters]

    def timed(self, name: str, step: Callable[[], T]) -> T:
        """Run `step`, adding its seconds to phase `name`."""
        started = time.monotonic()
        try:
            return step()
        finally:
            self.add_time(name, time.monotonic() - started)

    def add_time(self, name: str, seconds: float) -> None:
        """Add `seconds` to phase `name`."""
        self.phases[name] = round(self.phases.get(name, 0.0) + seconds, 3)
