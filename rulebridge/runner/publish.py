"""After a run is recorded: its metrics, then its alert (`publish`).

The nightly run calls `publish` once, after the run is finished in the store, whatever
its end (succeeded, failed or interrupted); the live server does at each of its runs' ends
(every 24 hours and at shutdown). With a ``metrics:`` section the agency's
Prometheus textfile is written again (`rulebridge.runner.metrics`); with an ``alerts:``
section the run's triggers are worked out and, if ``on:`` wants one of them, the summary is
sent (`rulebridge.runner.alerts`). What happened goes into the stored report
(``report["metrics"]``, ``report["alert"]``: `engine.store.Store.update_report`) and the
log. Nothing here changes the run's outcome or raises into it: a metrics folder that is
gone, a receiver that is down, even a defect here, is logged and kept in the report.

Dry runs publish nothing: they are a person trying a config, not a night to alert about.

Example::

    publish(config, store, run.id, report, log)
    store.run(run.id).report["alert"]
    # {'sent': True, 'to': 'url', 'triggers': ['dead_letters'], 'error': None}
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from engine.store import Run, Store
from rulebridge._config import AgencyConfig, AlertsConfig
from rulebridge.runner.alerts import send, summary, triggers
from rulebridge.runner.log import RunLog, redact_personal
from rulebridge.runner.metrics import (
    metrics_registry,
    section,
    timestamp,
    write_textfile,
)
from rulebridge.runner.report import kind_of

__all__ = ["RECENT_RUNS", "publish", "report_command"]

RECENT_RUNS = 60
"""How many of the newest runs publishing reads (a month of nights and live runs): the
previous night, and each kind's latest run and last success. A store keeps every run's
report, so reading them all would cost more every night."""


def publish(
    config: AgencyConfig,
    store: Store,
    run_id: int,
    report: MutableMapping[str, Any] | None,
    log: RunLog,
) -> None:
    """Write the metrics and send the alert of finished run `run_id`; never raises.

    Args:
        config: the agency config (its ``metrics:`` and ``alerts:``).
        store: the agency's store, holding the finished run.
        run_id: the run.
        report: the run's report as returned to the caller (it gains ``metrics`` and
            ``alert`` too); None: the stored one.
        log: where what happened is said.
    """
    if config.metrics is None and config.alerts is None:
        return
    try:
        _publish(config, store, run_id, report, log)
    except Exception as exc:  # publishing never changes the run's outcome
        log.event("publish", error=_said(exc))


def report_command(config: AgencyConfig, store_path: Path, run_id: int) -> str:
    """The command that shows run `run_id` in full: by its config when the store is the
    config's default one (``state/<config name>.db`` beside it), else by its store.

    Example:
        >>> from rulebridge._config import AgencyConfig, AlertsConfig
        >>> from adapters.http import RetryPolicy
        >>> config = AgencyConfig(Path("/etc/rb/acme.yaml"), "acme", {}, None, None, None,
        ...                       30, RetryPolicy(1, 1))
        >>> report_command(config, Path("/etc/rb/state/acme.db"), 12)
        'rulebridge report 12 --config /etc/rb/acme.yaml'
    """
    default = config.path.parent / "state" / f"{config.path.stem}.db"
    if store_path.absolute() == default.absolute():
        return f"rulebridge report {run_id} --config {shlex.quote(str(config.path.absolute()))}"
    return f"rulebridge report {run_id} --store {shlex.quote(str(store_path.absolute()))}"


def _publish(
    config: AgencyConfig,
    store: Store,
    run_id: int,
    given: MutableMapping[str, Any] | None,
    log: RunLog,
) -> None:
    run = store.run(run_id)
    report = given if given is not None else dict(run.report or {})
    details = section(report, "run")
    if run.finished is None or not details or details.get("dry_run"):
        return
    runs = store.runs(limit=RECENT_RUNS)
    if config.metrics is not None:
        textfile = config.metrics.textfile
        try:
            report["metrics"] = _metrics(config.agency, textfile, store, runs, report, log)
        except Exception as exc:  # a defect here must not stop the alert
            report["metrics"] = {"textfile": str(textfile), "error": _said(exc)}
            log.event("metrics", textfile=str(textfile), error=report["metrics"]["error"])
    if config.alerts is not None:
        try:
            report["alert"] = _alert(config, config.alerts, store, runs, run, report)
        except Exception as exc:  # the run is recorded: keep why it failed
            report["alert"] = {"sent": False, "to": config.alerts.to, "error": _said(exc)}
        log.event("alert", **report["alert"])
    store.update_report(run_id, report)


def _alert(
    config: AgencyConfig,
    alerts: AlertsConfig,
    store: Store,
    runs: Sequence[Run],
    run: Run,
    report: Mapping[str, Any],
) -> dict[str, Any]:
    """Work out the run's triggers and send the summary if ``on:`` wants one of them."""
    status = str(section(report, "run").get("status") or run.status)
    previous = _previous_night(runs, run.id)
    fired = triggers(report, previous, status=status)
    body = summary(
        report,
        fired,
        previous,
        more=report_command(config, store.path, run.id),
        status=status,
        items=alerts.items,
        open_dead_letters=len(store.dead_letters()),
    )
    return send(alerts, config.secrets_file, fired, body)


def _said(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {redact_personal(str(exc))}"[:300]


def _metrics(
    agency: str,
    path: Path,
    store: Store,
    runs: Sequence[Run],
    report: Mapping[str, Any],
    log: RunLog,
) -> dict[str, Any]:
    """Write the textfile: this run, and the latest finished run of every other kind."""
    registry = metrics_registry(
        agency,
        [report, *_finished_reports(runs)],
        open_dead_letters=len(store.dead_letters()),
        last_success=_last_success(runs),
    )
    try:
        write_textfile(path, registry)
    except OSError as exc:
        error = _said(exc)
        log.event("metrics", textfile=str(path), error=error)
        return {"textfile": str(path), "error": error}
    log.event("metrics", textfile=str(path), written=True)
    return {"textfile": str(path), "error": None}


def _finished_reports(runs: Sequence[Run]) -> Iterator[Mapping[str, Any]]:
    """The reports of finished runs that were not dry runs, newest first."""
    for run in runs:
        report = run.report
        if run.finished is None or not isinstance(report, Mapping):
            continue
        details = report.get("run")
        if isinstance(details, Mapping) and not details.get("dry_run"):
            yield report


def _last_success(runs: Sequence[Run]) -> dict[str, float]:
    """When the latest succeeded run of each kind finished (Unix time)."""
    found: dict[str, float] = {}
    for run in runs:
        if run.status != "succeeded" or run.dry_run:
            continue
        kind = kind_of(run.report, run)
        moment = timestamp(run.finished)
        if moment is not None:
            found.setdefault(kind, moment)
    return found


def _previous_night(runs: Sequence[Run], run_id: int) -> Mapping[str, Any] | None:
    """The report of the agency's latest earlier night (not a dry run, an adopting run or
    the live server) that got as far as listing its items for a person."""
    for run in runs:
        report = run.report
        if run.id >= run_id or run.kind != "night" or not isinstance(report, Mapping):
            continue
        details = section(report, "run")
        reference = section(report, "reference")
        if details.get("dry_run") or kind_of(report) != "night":
            continue
        if isinstance(reference.get("manual_items"), list):
            return report
    return None
