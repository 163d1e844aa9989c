"""A run's metrics as a Prometheus textfile, for node_exporter's textfile collector.

After every run (failed and interrupted ones too; not dry runs) the agency's ``.prom``
file (``metrics.textfile`` in its config) is written again, whole and atomically
(prometheus_client's ``write_to_textfile``: a temporary file beside it, then a rename), so
a scrape never reads half a file. It holds the latest finished run of each kind (``night``,
``adopt``, ...: the ``kind`` label), so one kind's run never wipes another's series.

Every metric is a gauge of the run it describes (a run is not a counter that grows), and
every label set is bounded: the agency, the kind, entities and actions of the ruleset,
systems, and endpoints with record ids folded (``GET /api/v2/Issue/{id}``,
`rulebridge.runner.calls.ApiCalls.endpoint`). No personal data: counts only.

| metric | labels | value |
|---|---|---|
| ``rulebridge_run_id`` | | the run's id (``rulebridge report ID``) |
| ``rulebridge_run_duration_seconds`` | | how long the run took |
| ``rulebridge_run_exit_code`` | | its exit code (`rulebridge._exits`) |
| ``rulebridge_run_status`` | ``status`` | 1 for the run's status, 0 for the others |
| ``rulebridge_run_started_timestamp_seconds`` | | when it started (Unix time) |
| ``rulebridge_run_finished_timestamp_seconds`` | | when it finished |
| ``rulebridge_last_success_timestamp_seconds`` | | when the kind's latest success ended |
| ``rulebridge_run_changes`` | | writes applied (``run.changes``) |
| ``rulebridge_phase_duration_seconds`` | ``phase`` | seconds per phase |
| ``rulebridge_records_planned`` | ``entity``, ``action`` | the plan's counts |
| ``rulebridge_records_applied`` | ``entity``, ``action`` | what applying did |
| ``rulebridge_issue_effects`` | ``entity``, ``action`` | Alto effects of the issues |
| ``rulebridge_issues_read`` | | Fixflo issues read |
| ``rulebridge_dead_letters_written`` | | dead letters this run wrote |
| ``rulebridge_dead_letters_open`` | | open dead letters in the store (agency only) |
| ``rulebridge_items_for_a_person`` | | items the plan left for a person |
| ``rulebridge_warnings`` | | warnings in the report |
| ``rulebridge_drift_recreated`` | ``entity`` | records re-created, missing from the target |
| ``rulebridge_drift_links_repaired`` | | links whose end was re-created |
| ``rulebridge_drift_items`` | ``outcome`` | drifted records by outcome |
| ``rulebridge_api_requests`` | ``system``, ``endpoint`` | requests made |
| ``rulebridge_api_retries`` | ``system``, ``endpoint`` | requests retried |
| ``rulebridge_rate_limit_wait_seconds`` | ``system`` | seconds waited for the rate limiter |

Every metric but ``rulebridge_dead_letters_open`` also has the labels ``agency`` and
``kind``.

Example::

    registry = metrics_registry("acme", [report], open_dead_letters=3, last_success={})
    write_textfile(Path("/var/lib/node_exporter/textfile/rulebridge-acme.prom"), registry)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from rulebridge.runner.report import kind_of

__all__ = [
    "METRIC_NAMES",
    "STATUSES",
    "metrics_registry",
    "section",
    "timestamp",
    "write_textfile",
]

STATUSES: Final = ("succeeded", "failed", "interrupted")
"""The statuses ``rulebridge_run_status`` has a series for (1 for the run's own)."""

_RUN: Final = ("agency", "kind")
_METRICS: Final[tuple[tuple[str, str, tuple[str, ...]], ...]] = (
    ("run_id", "The run's id: rulebridge report ID.", ()),
    ("run_duration_seconds", "How long the run took.", ()),
    ("run_exit_code", "The run's exit code (docs/runner.md, Exit codes).", ()),
    ("run_status", "1 for the run's status, 0 for the others.", ("status",)),
    ("run_started_timestamp_seconds", "When the run started.", ()),
    ("run_finished_timestamp_seconds", "When the run finished.", ()),
    ("last_success_timestamp_seconds", "When the latest succeeded run finished.", ()),
    ("run_changes", "Writes the run applied.", ()),
    ("phase_duration_seconds", "Seconds the run spent in each phase.", ("phase",)),
    ("records_planned", "Records the plan counts per entity and action.", ("entity", "action")),
    ("records_applied", "Records applied per entity and outcome.", ("entity", "action")),
    ("issue_effects", "Alto effects of the issues per kind and action.", ("entity", "action")),
    ("issues_read", "Fixflo issues the run read.", ()),
    ("dead_letters_written", "Dead letters the run wrote.", ()),
    ("items_for_a_person", "Items the plan left for a person.", ()),
    ("warnings", "Warnings in the run's report.", ()),
    ("drift_recreated", "Records re-created: the target had lost them.", ("entity",)),
    ("drift_links_repaired", "Links repaired: an end had been lost.", ()),
    ("drift_items", "Records found missing from the target, by outcome.", ("outcome",)),
    ("api_requests", "API requests per system and endpoint.", ("system", "endpoint")),
    ("api_retries", "API requests retried per system and endpoint.", ("system", "endpoint")),
    ("rate_limit_wait_seconds", "Seconds waited for the rate limiter.", ("system",)),
)
METRIC_NAMES: Final = (
    *(f"rulebridge_{name}" for name, _, _ in _METRICS),
    "rulebridge_dead_letters_open",
)
"""Every metric a textfile may hold."""


def metrics_registry(
    agency: str,
    reports: Iterable[Mapping[str, Any]],
    *,
    open_dead_letters: int,
    last_success: Mapping[str, float],
) -> CollectorRegistry:
    """A registry holding the metrics of `reports` (one per kind: a later report of a kind
    already seen is left out) and the store's open dead letters.

    Args:
        agency: the ``agency`` label.
        reports: finished runs' reports (`rulebridge.runner.nightly` JSON), newest first.
        open_dead_letters: the dead letters open in the store.
        last_success: per kind, when its latest succeeded run finished (Unix time).

    Example:
        >>> report = {"run": {"id": 4, "kind": "night", "exit_code": 2, "seconds": 1.5}}
        >>> registry = metrics_registry("acme", [report], open_dead_letters=0, last_success={})
        >>> labels = {"agency": "acme", "kind": "night"}
        >>> registry.get_sample_value("rulebridge_run_exit_code", labels)
        2.0
    """
    registry = CollectorRegistry()
    gauges = {
        name: Gauge(f"rulebridge_{name}", text, [*_RUN, *labels], registry=registry)
        for name, text, labels in _METRICS
    }
    seen: set[str] = set()
    for report in reports:
        kind = kind_of(report)
        if kind in seen:
            continue
        seen.add(kind)
        _Run(gauges, {"agency": agency, "kind": kind}).fill(report, last_success.get(kind))
    open_letters = Gauge(
        "rulebridge_dead_letters_open", "Open dead letters in the store.", ["agency"],
        registry=registry,
    )  # fmt: skip
    open_letters.labels(agency=agency).set(open_dead_letters)
    return registry


def write_textfile(path: Path, registry: CollectorRegistry) -> None:
    """Write `registry` to `path` atomically (a temporary file in its folder, then a
    rename: a scrape reads the old file or the new, never half of one), readable by all
    (node_exporter runs as its own user; the file holds counts, no personal data).

    Raises:
        OSError: the folder does not exist or cannot be written (the temporary file is
            removed).
    """
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder of metrics.textfile {path} does not exist")
    write_to_textfile(str(path), registry)
    with suppress(OSError):
        os.chmod(path, 0o644)


def section(report: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    """``report[key]`` when it is a mapping, else an empty one (an old report, or one a
    defect left odd, is read as far as it goes).

    Example:
        >>> section({"run": True}, "run"), section({"run": {"id": 4}}, "run")
        ({}, {'id': 4})
    """
    value = (report or {}).get(key)
    return value if isinstance(value, Mapping) else {}


def timestamp(text: Any) -> float | None:
    """Unix time of an ISO 8601 time (one without an offset is UTC); None if unreadable.

    Example:
        >>> timestamp("2026-12-06T01:30:00+00:00")
        1796520600.0
    """
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class _Run:
    """The gauges of one report, under its agency and kind."""

    def __init__(self, gauges: Mapping[str, Gauge], labels: Mapping[str, str]) -> None:
        self.gauges, self.labels = gauges, labels

    def set(self, name: str, value: Any, **labels: str) -> None:
        """Set gauge `name` when `value` is a number (a missing key sets nothing)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        self.gauges[name].labels(**self.labels, **labels).set(value)

    def table(self, name: str, counts: Any, first: str, second: str) -> None:
        """A two-level ``{entity: {action: n}}`` table."""
        for outer, inner in _items(counts):
            for action, n in _items(inner):
                self.set(name, n, **{first: outer, second: action})

    def fill(self, report: Mapping[str, Any], last_success: float | None) -> None:
        """Every gauge the report has a value for."""
        run = section(report, "run")
        self.set("run_id", run.get("id"))
        self.set("run_duration_seconds", run.get("seconds"))
        self.set("run_exit_code", run.get("exit_code"))
        status = str(run.get("status") or ("failed" if run.get("exit_code") == 1 else ""))
        for name in {*STATUSES, status} - {""}:
            self.set("run_status", int(name == status), status=name)
        self.set("run_started_timestamp_seconds", timestamp(run.get("started")))
        self.set("run_finished_timestamp_seconds", timestamp(run.get("finished")))
        self.set("last_success_timestamp_seconds", last_success)
        self.set("run_changes", run.get("changes"))
        for phase, seconds in _items(run.get("phases")):
            self.set("phase_duration_seconds", seconds, phase=phase)
        self._work(report)
        self._api(section(report, "api"))

    def _work(self, report: Mapping[str, Any]) -> None:
        reference = section(report, "reference")
        self.table("records_planned", reference.get("planned"), "entity", "action")
        self.table("records_applied", reference.get("applied"), "entity", "action")
        issues = section(report, "issues")
        self.table("issue_effects", issues.get("outcomes"), "entity", "action")
        self.set("issues_read", issues.get("read"))
        self.set("dead_letters_written", len(_list(report.get("dead_letters"))))
        manual = reference.get("manual_items")
        self.set("items_for_a_person", reference.get("manual", len(_list(manual))))
        self.set("warnings", len(_list(report.get("warnings"))))
        drift = section(report, "drift")
        for entity, n in _items(drift.get("recreated")):
            self.set("drift_recreated", n, entity=entity)
        self.set("drift_links_repaired", drift.get("links_repaired"))
        outcomes: dict[str, int] = {}
        for item in _list(drift.get("items")):
            if isinstance(item, Mapping):
                outcome = str(item.get("outcome"))
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        for outcome, n in outcomes.items():
            self.set("drift_items", n, outcome=outcome)

    def _api(self, api: Mapping[str, Any]) -> None:
        for name, n in _items(api.get("per_endpoint")):
            system, _, endpoint = name.partition(" ")
            self.set("api_requests", n, system=system, endpoint=endpoint)
        for name, n in _items(api.get("retries_per_endpoint")):
            system, _, endpoint = name.partition(" ")
            self.set("api_retries", n, system=system, endpoint=endpoint)
        for system, seconds in _items(api.get("rate_limit_wait_seconds")):
            self.set("rate_limit_wait_seconds", seconds, system=system)


def _items(value: Any) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in value.items()] if isinstance(value, Mapping) else []


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []
