"""What a step of a night records of what it learnt, and the night rebuilt from those records.

Each step of `rulebridge.runner.steps.NightSteps` works on a `Night` of its own and records
the fields it changed (`step_record`): phase seconds, reference, issues, warnings, dead
letters, drift, webhooks, changes, incomplete and its API calls. `rebuild` adds the records
of a run's steps, in the order they were recorded, into the night the report is made from:
counts and seconds add up (the apply batches' ``applied`` and ``calls`` too), lists are
joined, the rest is set by the step that found it. So a night whose steps ran in several
processes reports what one process would have.

Example::

    store.record_step(run.id, "plan", step_record(night, seconds=1.5))
    rebuild(report_night, store.step_results(run.id))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from rulebridge.runner._night import Night
from rulebridge.runner.calls import ApiCalls

__all__ = ["calls_record", "rebuild", "step_record", "step_seconds"]

_SUMMED_REFERENCE: Final = frozenset({"applied", "calls"})  # per apply batch: added up


def calls_record(calls: ApiCalls) -> dict[str, Any]:
    """The counters of `calls`, as JSON that `rebuild` adds back."""
    return {
        "requests": dict(calls.requests),
        "answers": dict(calls.answers),
        "retried": dict(calls.retried),
        "waited": dict(calls.waited),
    }


def step_record(night: Night, *, seconds: float) -> dict[str, Any]:
    """What a step's `night` learnt (its non-empty fields) and the step's `seconds`."""
    fields: dict[str, Any] = {
        "phases": night.phases,
        "reference": night.reference,
        "issues": night.issues,
        "warnings": night.warnings,
        "dead_letters": night.dead_letters,
        "drift": night.drift,
        "webhooks": night.webhooks,
        "changes": night.changes,
        "incomplete": night.incomplete,
    }
    record = {name: value for name, value in fields.items() if value}
    record["calls"] = calls_record(night.calls)
    record["seconds"] = round(seconds, 3)
    return record


def step_seconds(results: Mapping[str, Mapping[str, Any]]) -> float:
    """The seconds the recorded steps took, added up."""
    return sum(float(result.get("seconds", 0.0)) for result in results.values())


def rebuild(night: Night, results: Mapping[str, Mapping[str, Any]]) -> None:
    """Add the recorded `results` of a run's steps (in their order) into `night`."""
    for result in results.values():
        for name, seconds in (result.get("phases") or {}).items():
            night.add_time(name, float(seconds))
        for key, value in (result.get("reference") or {}).items():
            if key in _SUMMED_REFERENCE and key in night.reference:
                night.reference[key] = _added(night.reference[key], value)
            else:
                night.reference[key] = value
        night.issues.update(result.get("issues") or {})
        night.warnings.extend(result.get("warnings") or [])
        night.dead_letters.extend(result.get("dead_letters") or [])
        if result.get("drift"):
            night.drift = _drift(night.drift, result["drift"])
        night.webhooks.update(result.get("webhooks") or {})
        night.changes += int(result.get("changes", 0))
        night.incomplete += int(result.get("incomplete", 0))
        _add_calls(night.calls, result.get("calls") or {})


def _added(left: Any, right: Any) -> Any:
    """Nested counts added up key by key (``{kind: {outcome: n}}``)."""
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        merged = dict(left)
        for key, value in right.items():
            merged[key] = _added(merged[key], value) if key in merged else value
        return merged
    return left + right


def _drift(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    """Two batches' drift sections (`engine.sync.apply.ApplyResult.drift_report`) as one."""
    if not left:
        return dict(right)
    recreated = Counter(left.get("recreated") or {}) + Counter(right.get("recreated") or {})
    return {
        "recreated": dict(sorted(recreated.items())),
        "links_repaired": left.get("links_repaired", 0) + right.get("links_repaired", 0),
        "items": [*left.get("items", []), *right.get("items", [])],
    }


def _add_calls(calls: ApiCalls, record: Mapping[str, Any]) -> None:
    calls.requests.update(record.get("requests") or {})
    calls.answers.update(record.get("answers") or {})
    calls.retried.update(record.get("retried") or {})
    for system, seconds in (record.get("waited") or {}).items():
        calls.add_wait(system, float(seconds))
