"""A report as sections of sentences and tables: what every renderer draws, so the terminal,
Markdown and HTML say the same things in the same order.

A report of an older shape (a key missing, a section empty) gives fewer sections, never an
error: every read of the report is a ``.get`` with a default.

Example:
    >>> [s.title for s in report_sections({"run": {"id": 3, "agency": "acme"}})]
    ['Run 3 for acme: -, exit code -, 0.0 s']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from rulebridge._exits import ExitCode
from rulebridge.runner.report._items import (
    changes_of,
    dead_letter_group,
    iso_time,
    kind_of,
)

__all__ = ["EXIT_MEANINGS", "Grid", "Section", "exit_words", "report_sections"]

EXIT_MEANINGS: Final = {
    ExitCode.NOTHING: "succeeded, nothing changed",
    ExitCode.FAILURE: "failed: run it again, it resumes",
    ExitCode.CHANGES: "succeeded, changes applied",
    ExitCode.ATTENTION: "succeeded, with items for a person or dead letters",
    ExitCode.USAGE: "the command line was wrong, nothing was done",
    ExitCode.INTERRUPTED: "interrupted by SIGINT, the next run resumes",
    ExitCode.TERMINATED: "stopped by SIGTERM, the next run resumes",
}
"""What each exit code of `rulebridge._exits.ExitCode` means, in a report's words."""

_PHASES: Final = {
    name: n for n, name in enumerate(("preflight", "snapshot", "plan", "apply", "issues"))
}
_ACTIONS: Final = ("create", "update", "archive", "link", "unlink", "skip", "unchanged", "manual")
_KINDS: Final = {"live": "Live run", "apply": "Apply run", "adopt": "Adopt run"}
_WARNINGS_SHOWN: Final = 200


@dataclass(frozen=True, slots=True)
class Grid:
    """A table: column names, rows of text, the columns aligned right (numbers), and
    whether the column names are shown (a table of fields and values has none)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = frozenset()
    header: bool = True


@dataclass(frozen=True, slots=True)
class Section:
    """One part of a report: a title, sentences, at most one table, then notes."""

    key: str
    title: str
    lines: tuple[str, ...] = ()
    grid: Grid | None = None
    notes: tuple[str, ...] = ()


def report_sections(
    report: Mapping[str, Any], counts: Mapping[str, Mapping[str, int]] | None = None
) -> list[Section]:
    """The sections of `report`, in order: the run, reference data, skips, items for a
    person, drift, issues, webhooks, warnings, dead letters, API calls, the alert. Sections
    with nothing to say are left out. `counts` are the store's effects of the run (for the
    changes of a report older than ``run.changes``)."""
    parts = [
        _run(report, counts),
        _reference(_dict(report.get("reference"))),
        _skips(_dict(report.get("reference"))),
        _manual(_dict(report.get("reference"))),
        _drift(_dict(report.get("drift"))),
        _issues(_dict(report.get("issues"))),
        _webhooks(_dict(report.get("webhooks"))),
        _warnings(_list(report.get("warnings"))),
        _dead_letters(_list(report.get("dead_letters"))),
        _api(_dict(report.get("api"))),
        _alert(_dict(report.get("alert"))),
    ]
    return [part for part in parts if part is not None]


def exit_words(code: Any) -> str:
    """``2 (succeeded, changes applied)``; the code alone when it is not in the table."""
    try:
        return f"{int(code)} ({EXIT_MEANINGS[ExitCode(int(code))]})"
    except (TypeError, ValueError, KeyError):
        return str(code if code is not None else "-")


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _seconds(value: Any) -> str:
    return f"{value:.1f} s" if isinstance(value, int | float) else "-"


def _fields(rows: Sequence[tuple[str, Any]]) -> Grid:
    shown = tuple((name, str(value)) for name, value in rows if value not in (None, ""))
    return Grid(("field", "value"), shown, header=False)


def _run(report: Mapping[str, Any], counts: Mapping[str, Mapping[str, int]] | None) -> Section:
    run = _dict(report.get("run"))
    kind = kind_of(report)
    mode = " (dry run: nothing written)" if run.get("dry_run") else ""
    title = (
        f"{_KINDS.get(kind, 'Run')} {run.get('id')} for {run.get('agency')}: "
        f"{run.get('status') or '-'}{mode}, exit code {run.get('exit_code', '-')}, "
        f"{_seconds(run.get('seconds', 0.0))}"
    )
    ruleset = _dict(run.get("ruleset"))
    phases = _dict(run.get("phases"))
    ordered = sorted(phases.items(), key=lambda item: _PHASES.get(item[0], len(_PHASES)))
    attention = run.get("attention")
    rows: list[tuple[str, Any]] = [
        ("kind", kind),
        ("status", f"{run.get('status') or '-'}{mode}"),
        ("exit code", exit_words(run.get("exit_code"))),
        ("changes", changes_of(report, counts)),
        ("for a person or dead letters", attention if isinstance(attention, int) else None),
        ("signal", run.get("signal")),
        ("error", run.get("error")),
        (
            "ruleset",
            f"{ruleset.get('name')} v{ruleset.get('version')} "
            f"({str(ruleset.get('hash') or '')[:12]})"
            if ruleset
            else None,
        ),
        ("started", iso_time(run.get("started"))),
        ("finished", iso_time(run.get("finished"))),
        ("seconds", run.get("seconds")),
        ("phases", ", ".join(f"{name} {_seconds(s)}" for name, s in ordered)),
        ("plan", run.get("plan")),
    ]
    return Section("run", title, grid=_fields(rows))


def _reference(section: Mapping[str, Any]) -> Section | None:
    planned = _dict(section.get("planned"))
    if not planned:
        return None
    applied = _dict(section.get("applied"))
    extra = sorted({a for c in planned.values() for a in _dict(c)} - set(_ACTIONS) - {"merge"})
    actions = (*_ACTIONS, *extra)
    rows = []
    for kind, per in planned.items():
        done = _dict(applied.get(kind))
        outcome = ", ".join(f"{name} {n}" for name, n in sorted(done.items()) if n)
        rows.append(
            (str(kind), *(str(_dict(per).get(a, 0)) for a in actions), outcome or "-"),
        )
    notes = []
    if section.get("rejected"):
        notes.append(f"records the readers rejected: {section['rejected']}")
    if section.get("adopted"):
        notes.append(f"id-map entries adopted: {section['adopted']}")
    grid = Grid(("entity", *actions, "applied"), tuple(rows), frozenset(range(1, len(actions) + 1)))
    return Section("reference", "Reference data, Alto -> Fixflo", grid=grid, notes=tuple(notes))


def _skips(section: Mapping[str, Any]) -> Section | None:
    skips = _dict(section.get("skips_by_rule"))
    if not skips:
        return None
    ordered = sorted(skips.items(), key=lambda item: (-_num(item[1]), str(item[0])))
    rows = tuple((str(rule), str(n)) for rule, n in ordered)
    return Section(
        "skips",
        "Skipped, by the rule that decided",
        grid=Grid(("rule", "records"), rows, frozenset({1})),
    )


def _manual(section: Mapping[str, Any]) -> Section | None:
    items = _list(section.get("manual_items"))
    count = section.get("manual") or len(items)
    if not count:
        return None
    title = f"For a person ({count})"
    if not items:
        return Section(
            "manual",
            title,
            (
                f"for a person: {count} (this report is older than the list of items; "
                "`rulebridge plan` against the same snapshots lists them)",
            ),
        )
    columns = ("entity", "Alto record", "rule", "what is wrong", "what to do")
    rows = tuple(
        tuple(
            str(item.get(key) or "-") for key in ("entity", "source_id", "rule", "summary", "todo")
        )
        for item in items
    )
    return Section("manual", title, grid=Grid(columns, rows))


def _drift(section: Mapping[str, Any]) -> Section | None:
    recreated = _dict(section.get("recreated"))
    items = _list(section.get("items"))
    repaired = section.get("links_repaired") or 0
    if not (items or repaired or any(recreated.values())):
        return None
    made = ", ".join(f"{entity} {n}" for entity, n in sorted(recreated.items()) if n) or "none"
    line = f"re-created in Fixflo: {made}; links repaired: {repaired}"
    columns = ("entity", "Alto record", "lost Fixflo id", "Fixflo id now", "outcome")
    keys = ("entity", "source_id", "lost_target_id", "target_id", "outcome")
    rows = tuple(tuple(str(item.get(key) or "-") for key in keys) for item in items)
    title = "Drift: records the store held but Fixflo lacked"
    return Section("drift", title, (line,), Grid(columns, rows) if rows else None)


def _issues(section: Mapping[str, Any]) -> Section | None:
    if not section:
        return None
    line = (
        f"Fixflo issues -> Alto: {section.get('read', 0)} read since "
        f"{section.get('since') or 'the beginning'}, {section.get('reconciled', 0)} "
        f"reconciled, {section.get('parked', 0)} parked on dead letters, "
        f"{section.get('held', 0)} held back; cursor now {section.get('cursor') or '-'}"
    )
    outcomes = sorted(_dict(section.get("outcomes")).items())
    rows = tuple(
        (str(kind), ", ".join(f"{name} {n}" for name, n in sorted(_dict(per).items())))
        for kind, per in outcomes
    )
    grid = Grid(("kind", "outcomes"), rows) if rows else None
    return Section("issues", "Fixflo issues -> Alto", (line,), grid, tuple(_handled(section)))


def _handled(section: Mapping[str, Any]) -> list[str]:
    """Which issues the live server handled and which only this night (its safety net)."""
    notes = []
    handled = _dict(section.get("handled"))
    if handled.get("live") or handled.get("night"):
        night_ids = ", ".join(map(str, section.get("night_ids") or []))
        notes.append(
            f"handled live by `rulebridge serve`: {handled.get('live', 0)}; only tonight: "
            f"{handled.get('night', 0)}" + (f" (issues {night_ids})" if night_ids else "")
        )
    left = section.get("left_to_live") or []
    if left:
        notes.append(f"left to the live server (it held them): {', '.join(map(str, left))}")
    for item in _list(section.get("live_dead")):
        state = "done tonight" if item.get("cleared") else "still open"
        notes.append(
            f"the live server gave up on issue {item.get('issue_id')} "
            f"({item.get('last_error')}): {state}"
        )
    latency = _dict(_dict(section.get("live")).get("latency_seconds"))
    if latency.get("count"):
        notes.append(
            f"webhook-to-Alto latency: p50 {latency.get('p50')} s, p99 {latency.get('p99')} s "
            f"over {latency.get('count')} reconciles"
        )
    return notes


def _webhooks(section: Mapping[str, Any]) -> Section | None:
    """Fixflo's failed deliveries (``GET /Webhook/Activity``) since the last night began."""
    if not section:
        return None
    statuses = ", ".join(
        f"{code}: {n}" for code, n in sorted(_dict(section.get("statuses")).items())
    )
    line = f"Fixflo's failed webhook deliveries: {section.get('failed', 0)}" + (
        f" (answers {statuses})" if statuses else ""
    )
    return Section("webhooks", "Fixflo's webhook deliveries", (line,))


def _warnings(warnings: list[Mapping[str, Any]]) -> Section | None:
    if not warnings:
        return None
    shown = warnings[:_WARNINGS_SHOWN]
    rows = tuple((str(w.get("rule") or "-"), str(w.get("message") or "")) for w in shown)
    more = len(warnings) - len(shown)
    notes = (f"... and {more} more (rulebridge report RUN --format json)",) if more > 0 else ()
    grid = Grid(("rule", "warning"), rows)
    return Section("warnings", f"Warnings ({len(warnings)})", grid=grid, notes=notes)


def _dead_letters(letters: list[Mapping[str, Any]]) -> Section | None:
    if not letters:
        return None
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for letter in letters:
        group = letter.get("group") or dead_letter_group(str(letter.get("reason") or ""))
        groups.setdefault(str(group), []).append(letter)
    rows = []
    for group, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        ops = sorted({f"{m.get('op')} {m.get('kind')}" for m in members if m.get("op")})
        retry = {bool(m.get("retryable")) for m in members if "retryable" in m}
        rows.append(
            (
                group or "-",
                ", ".join(ops) or "-",
                str(len(members)),
                ", ".join(f"#{m.get('id')}" for m in members),
                {frozenset({True}): "yes", frozenset({False}): "no"}.get(frozenset(retry), "-"),
            )
        )
    title = (
        f"Dead letters ({len(letters)}, {_plural(len(groups), 'reason')}; "
        "see `rulebridge deadletters`)"
    )
    columns = ("reason", "operations", "letters", "ids", "retrying may help")
    return Section("dead_letters", title, grid=Grid(columns, tuple(rows), frozenset({2})))


def _api(api: Mapping[str, Any]) -> Section | None:
    if not api:
        return None
    line = (
        f"API requests: {api.get('total', 0)} ({api.get('writes', 0)} writes, "
        f"{api.get('retries', 0)} retried or unanswered)"
    )
    requests = _dict(api.get("per_endpoint"))
    retries = _dict(api.get("retries_per_endpoint"))
    endpoints = [*requests, *sorted(set(retries) - set(requests))]
    rows = tuple((str(e), str(requests.get(e, 0)), str(retries.get(e, 0))) for e in endpoints)
    waits = _dict(api.get("rate_limit_wait_seconds"))
    notes = (
        ("waited for the rate limit: " + ", ".join(f"{s} {_seconds(n)}" for s, n in waits.items()),)
        if waits
        else ()
    )
    grid = Grid(("endpoint", "requests", "retries"), rows, frozenset({1, 2})) if rows else None
    return Section("api", "API calls", (line,), grid, notes)


def _alert(alert: Mapping[str, Any]) -> Section | None:
    if not alert:
        return None
    to = "the URL" if alert.get("to") == "url" else f"the {alert.get('to') or 'hook'}"
    triggers = ", ".join(map(str, alert.get("triggers") or [])) or "none"
    state = "sent to" if alert.get("sent") else "not sent to"
    line = f"alert {state} {to} (triggers: {triggers})"
    if alert.get("error"):
        line += f": {alert['error']}"
    return Section("alert", "Alert", (line,))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _num(value: Any) -> float:
    return value if isinstance(value, int | float) else 0
