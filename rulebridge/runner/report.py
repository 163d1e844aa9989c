"""A run's report: what it read, planned, wrote, skipped and left for a person.

The report is plain JSON, kept in the state store with its run (``rulebridge report RUN``
reads it back) and printed at the end of ``rulebridge run``. Its sections:

- ``run``: id, agency, ruleset (name, version, hash), start, end, seconds, status, exit code;
- ``reference``: the plan's counts per entity and action, the outcomes applied, skips by
  rule, records the readers rejected, items for a person;
- ``issues``: Fixflo issues read and reconciled into Alto, outcomes per kind, the cursor;
- ``warnings``: each with its rule id (G-07 settings, W-06, issues the ruleset cannot read);
- ``dead_letters``: those this run wrote, with their reasons;
- ``api``: requests per system and endpoint, writes, retries;
- ``phases``: seconds per phase.

Example::

    render_report(report, Console())
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["render_report"]

_PHASES = {name: order for order, name in enumerate(("snapshot", "plan", "apply", "issues"))}


def render_report(report: Mapping[str, Any], console: Console) -> None:
    """Print `report` as tables: the run, counts, warnings, dead letters, API calls."""
    _header(report.get("run", {}), console)
    _reference(report.get("reference", {}), console)
    _issues(report.get("issues", {}), console)
    _webhooks(report.get("webhooks") or {}, console)
    _warnings(report.get("warnings", []), console)
    _dead_letters(report.get("dead_letters", []), console)
    _api(report.get("api", {}), console)


def _print(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False)


def _header(run: Mapping[str, Any], console: Console) -> None:
    ruleset = run.get("ruleset", {})
    mode = " (dry run: nothing written)" if run.get("dry_run") else ""
    kind = "Live run" if run.get("kind") == "live" else "Run"
    _print(
        console,
        f"{kind} {run.get('id')} for {run.get('agency')}: {run.get('status')}{mode}, "
        f"exit code {run.get('exit_code')}, {run.get('seconds', 0):.1f} s",
    )
    _print(
        console,
        f"  ruleset {ruleset.get('name')} v{ruleset.get('version')} "
        f"({str(ruleset.get('hash', ''))[:12]}); started {run.get('started')}, "
        f"finished {run.get('finished')}",
    )
    phases = run.get("phases") or {}
    if phases:
        ordered = sorted(phases.items(), key=lambda item: _PHASES.get(item[0], len(_PHASES)))
        _print(console, "  phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in ordered))
    if run.get("error"):
        _print(console, f"  error: {run['error']}")


def _reference(section: Mapping[str, Any], console: Console) -> None:
    planned: Mapping[str, Mapping[str, int]] = section.get("planned") or {}
    if not planned:
        return
    applied: Mapping[str, Mapping[str, int]] = section.get("applied") or {}
    actions = ("create", "update", "archive", "link", "unlink", "skip", "unchanged", "manual")
    table = Table(title="Reference data, Alto -> Fixflo", title_justify="left")
    table.add_column("entity")
    for action in actions:
        table.add_column(action, justify="right")
    table.add_column("applied")
    for kind, counts in planned.items():
        done = applied.get(kind) or {}
        outcome = ", ".join(f"{name} {n}" for name, n in sorted(done.items()) if n)
        table.add_row(kind, *(str(counts.get(action, 0)) for action in actions), outcome or "-")
    console.print(table)
    skips: Mapping[str, int] = section.get("skips_by_rule") or {}
    if skips:
        _print(console, "Skipped, by the rule that decided:")
        for rule, count in sorted(skips.items(), key=lambda item: (-item[1], item[0])):
            _print(console, f"  {rule:<28} {count}")
    for key, label in (("rejected", "records the readers rejected"), ("manual", "for a person")):
        if section.get(key):
            _print(console, f"{label}: {section[key]}")


def _issues(section: Mapping[str, Any], console: Console) -> None:
    if not section:
        return
    _print(
        console,
        f"Fixflo issues -> Alto: {section.get('read', 0)} read since "
        f"{section.get('since') or 'the beginning'}, {section.get('reconciled', 0)} "
        f"reconciled, {section.get('parked', 0)} parked on dead letters, "
        f"{section.get('held', 0)} held back; cursor now {section.get('cursor') or '-'}",
    )
    for kind, counts in sorted((section.get("outcomes") or {}).items()):
        outcome = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
        _print(console, f"  {kind:<14} {outcome}")
    _handled(section, console)


def _handled(section: Mapping[str, Any], console: Console) -> None:
    """Which issues the live server handled and which only this night (its safety net)."""
    handled: Mapping[str, int] = section.get("handled") or {}
    if handled.get("live") or handled.get("night"):
        night_ids = ", ".join(map(str, section.get("night_ids") or []))
        _print(
            console,
            f"  handled live by `rulebridge serve`: {handled.get('live', 0)}; only tonight: "
            f"{handled.get('night', 0)}" + (f" (issues {night_ids})" if night_ids else ""),
        )
    left = section.get("left_to_live") or []
    if left:
        _print(console, f"  left to the live server (it held them): {', '.join(map(str, left))}")
    for item in section.get("live_dead") or []:
        state = "done tonight" if item.get("cleared") else "still open"
        _print(
            console,
            f"  the live server gave up on issue {item.get('issue_id')} "
            f"({item.get('last_error')}): {state}",
        )
    live: Mapping[str, Any] = section.get("live") or {}
    latency: Mapping[str, Any] = live.get("latency_seconds") or {}
    if latency.get("count"):
        _print(
            console,
            f"  webhook-to-Alto latency: p50 {latency.get('p50')} s, p99 {latency.get('p99')} s "
            f"over {latency.get('count')} reconciles",
        )


def _webhooks(section: Mapping[str, Any], console: Console) -> None:
    """Fixflo's failed deliveries (``GET /Webhook/Activity``) since the last night began."""
    if not section:
        return
    statuses = ", ".join(
        f"{code}: {n}" for code, n in sorted((section.get("statuses") or {}).items())
    )
    _print(
        console,
        f"Fixflo's failed webhook deliveries: {section.get('failed', 0)}"
        + (f" (answers {statuses})" if statuses else ""),
    )


def _warnings(warnings: list[Mapping[str, Any]], console: Console) -> None:
    if warnings:
        _print(console, f"Warnings ({len(warnings)}):")
        for item in warnings[:50]:
            _print(console, f"  {item.get('rule')}: {item.get('message')}")
        if len(warnings) > 50:
            more = len(warnings) - 50
            _print(console, f"  ... and {more} more (rulebridge report RUN --format json)")


def _dead_letters(letters: list[Mapping[str, Any]], console: Console) -> None:
    if letters:
        _print(console, f"Dead letters ({len(letters)}; see `rulebridge deadletters`):")
        for item in letters[:50]:
            _print(console, f"  #{item.get('id')}: {item.get('reason')}")


def _api(api: Mapping[str, Any], console: Console) -> None:
    if not api:
        return
    _print(
        console,
        f"API requests: {api.get('total', 0)} ({api.get('writes', 0)} writes, "
        f"{api.get('retries', 0)} retried or unanswered)",
    )
    for endpoint, count in (api.get("per_endpoint") or {}).items():
        _print(console, f"  {endpoint:<58} {count}")
