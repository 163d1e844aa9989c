"""A nightly (or adopt) run's report: what it read, planned, wrote, and how it ended.

`night_report` builds the JSON kept with the run (``rulebridge report RUN``); its ``run``
section carries the exit code of `rulebridge._exits`: interrupted by a signal
(130/143), failed (1), left work for a person (3: the plan's items for a person and the
dead letters the run wrote, counted as ``attention``), changed something (2) or not (0).
``changes`` is the writes the run applied: the one count ``history``, ``report`` and the
demo show. Times carry their offset.

Example::

    report = night_report(night, started, error=None)
    report["run"]["exit_code"]  # 2
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rulebridge._exits import ExitCode, outcome_code, signal_code
from rulebridge.runner._night import Night
from rulebridge.runner.stop import signal_name

__all__ = ["night_report", "with_offset"]


def night_report(
    night: Night, started: float, error: str | None, *, signum: int | None = None
) -> dict[str, Any]:
    """The run's report; its ``run`` section says how it ended and with which exit code
    (`rulebridge._exits`): interrupted by `signum`, failed, left work for a person
    (``attention``: items for a person and dead letters written), changed something."""
    failed = error is not None or night.incomplete > 0
    dead_letters = night.dead_letter_items()
    attention = _for_a_person(night.reference) + len(dead_letters)
    code: ExitCode
    if signum is not None:  # stopped inside a phase: count the effects it recorded
        status, code = "interrupted", signal_code(signum)
        night.changes = max(night.changes, _recorded_effects(night))
    else:
        code = outcome_code(failed=failed, attention=attention > 0, changes=night.changes)
        status = "failed" if failed else "succeeded"
    return {
        "run": {
            "id": night.run.id,
            "agency": night.config.agency,
            "ruleset": {
                "name": night.ruleset.name,
                "version": str(night.ruleset.version),
                "hash": night.ruleset.content_hash,
            },
            "dry_run": night.options.dry_run,
            "adopt": night.options.adopt,
            "kind": "adopt" if night.options.adopt else night.run.kind,
            "started": with_offset(night.run.started),
            "finished": datetime.now(UTC).isoformat(),
            "seconds": round(time.monotonic() - started, 3),
            "status": status,
            "exit_code": int(code),
            "error": error,
            "incomplete": night.incomplete,
            "changes": night.changes,
            "attention": attention,
            **({"signal": signal_name(signum)} if signum is not None else {}),
            "phases": night.phases,
        },
        "reference": night.reference,
        "issues": night.issues,
        "warnings": night.warnings,
        "dead_letters": dead_letters,
        "api": night.calls.to_json(),
        **({"drift": night.drift} if night.drift else {}),
        **({"webhooks": night.webhooks} if night.webhooks else {}),
    }


def _recorded_effects(night: Night) -> int:
    """The effects the store recorded for this run so far (every phase's)."""
    counts = night.store.run(night.run.id).counts
    return sum(n for per_op in counts.values() for n in per_op.values())


def _for_a_person(reference: Mapping[str, Any]) -> int:
    """The plan's items for a person (``manual_items`` listed, else ``manual`` counted)."""
    items = reference.get("manual_items")
    if isinstance(items, list):
        return len(items)
    counted = reference.get("manual", 0)
    return counted if isinstance(counted, int) else 0


def with_offset(stamp: str) -> str:
    """An ISO 8601 time with its offset (a stamp without one is UTC)."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
