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
from datetime import UTC, datetime
from typing import Any

from rulebridge._exits import ExitCode, outcome_code, signal_code
from rulebridge.runner._night import Night
from rulebridge.runner.report import changes_of, iso_time
from rulebridge.runner.stop import signal_name

__all__ = ["night_report"]


def night_report(
    night: Night, started: float, error: str | None, *, signum: int | None = None
) -> dict[str, Any]:
    """The run's report; its ``run`` section says how it ended and with which exit code
    (`rulebridge._exits`): interrupted by `signum`, failed, left work for a person
    (``attention``: items for a person and dead letters written), changed something."""
    failed = error is not None or night.incomplete > 0
    dead_letters = night.dead_letter_items()
    attention = night.reference.get("manual", 0) + len(dead_letters)  # the plan's, counted
    code: ExitCode
    if signum is not None:  # stopped inside a phase: count the effects it recorded
        status, code = "interrupted", signal_code(signum)
        recorded = changes_of(None, night.store.run(night.run.id).counts)
        night.changes = max(night.changes, recorded)
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
            "started": iso_time(night.run.started, timespec="auto"),
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
