"""What a report holds beside its counts: items for a person, dead letters, the run's kind,
its changes and its times, built the same way for every kind of run.

Example:
    >>> dead_letter_group("create tenant 100042: the target refused the record (422)")
    'create tenant {id}: the target refused the record (422)'
    >>> iso_time("2026-12-06T01:30:00.5")
    '2026-12-06T01:30:00+00:00'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from engine.store import DeadLetter, Run
from engine.sync.plan import ManualAction
from rulebridge.runner.log import redact_personal

__all__ = [
    "WRITES",
    "changes_of",
    "dead_letter_group",
    "dead_letter_item",
    "iso_time",
    "kind_of",
    "manual_item",
]

WRITES: Final = ("create", "update", "archive", "link", "unlink")
"""The outcomes of an applied operation that wrote to the target (a run's changes)."""

# What is left of a record id once known ids are gone: long numbers, hex or uuid-like runs.
_NUMBER: Final = re.compile(r"(?<![\w{])\d{4,}(?![\w}])")
_HEXISH: Final = re.compile(r"(?<![\w{])(?=[0-9a-fA-F-]*\d)[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]+)*\b")

_NOT_WRITES: Final = frozenset(
    {"skipped", "dead", "failed", "unknown", "verified", "adopted", "absent", "held", "parked"}
)
"""Issue outcomes that wrote nothing to Alto."""

_TODO: Final = {
    "resolve_conflict": (
        "two Alto records match Fixflo {entity} {target}: correct the one that is not it in "
        "Alto (the fields its rule {rule} matches by), so that one record matches; the next "
        "night syncs it"
    ),
    "no_longer_synced": (
        "Fixflo {entity} {target} is no longer synced but still in Fixflo: archive it in "
        "Fixflo by hand, or change the Alto record {source} so that it syncs again"
    ),
    "archive_by_hand": (
        "Fixflo {entity} {target} matches no Alto record: archive it in Fixflo by hand if it "
        "should go, or give it the external reference of its Alto record"
    ),
    "merge_by_hand": (
        "Fixflo {entity} {target} looks like Alto record {source} but does not match it "
        "exactly: if it is the same, make the fields the rule {rule} compares alike in Fixflo "
        "or Alto; if not, leave it"
    ),
}


def manual_item(action: ManualAction) -> dict[str, Any]:
    """One item for a person, as the report lists it (``reference.manual_items``): entity,
    source id, rule, what is wrong (personal data masked) and what to do.

    Example::

        manual_item(plan.manual[0])["todo"]
        # 'Fixflo property 77 matches no Alto record: archive it in Fixflo by hand ...'
    """
    target = "-" if action.target_id in (None, "") else str(action.target_id)
    source = action.source_id or "-"
    template = _TODO.get(
        action.action,
        "look at Fixflo {entity} {target} (Alto record {source}): the plan left it to a "
        "person ({action})",
    )
    todo = template.format(
        entity=action.kind, target=target, source=source, rule=action.rule, action=action.action
    )
    return {
        "entity": action.kind,
        "source_id": action.source_id,
        "rule": action.rule,
        "summary": redact_personal(action.reason),
        "todo": redact_personal(todo),
    }


def dead_letter_group(reason: str, ids: Iterable[Any] = ()) -> str:
    """`reason` with record ids replaced by ``{id}``, so letters that failed for the same
    reason group together: the `ids` given first, then long numbers and hex or uuid-like
    runs (a status code such as 422 stays)."""
    text = reason
    for known in sorted({str(i) for i in ids if i not in (None, "")}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w{{]){re.escape(known)}(?![\w}}])", "{id}", text)
    text = _HEXISH.sub("{id}", text)
    return _NUMBER.sub("{id}", text)


def dead_letter_item(letter: DeadLetter) -> dict[str, Any]:
    """A dead letter as the report lists it: id, reason (personal data masked), the
    operation's kind and op, whether retrying may help, and its group."""
    operation = letter.operation
    ids = (
        operation.get(key)
        for key in ("source_id", "target_id", "target_ref", "issue_id", "key")
        if isinstance(operation.get(key), str | int)
    )
    reason = redact_personal(letter.reason)
    return {
        "id": letter.id,
        "reason": reason,
        "kind": operation.get("kind"),
        "op": operation.get("op"),
        "retryable": letter.retryable,
        "group": dead_letter_group(reason, ids),
    }


def kind_of(report: Mapping[str, Any] | None, run: Run | None = None) -> str:
    """The kind of run a report (or the stored run) is: night, live, apply or adopt (a
    report of an odd shape is read as far as it goes)."""
    head = (report or {}).get("run")
    if not isinstance(head, Mapping):
        head = {}
    kind = head.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    if head.get("adopt"):
        return "adopt"
    return run.kind if run is not None else "night"


def changes_of(
    report: Mapping[str, Any] | None, counts: Mapping[str, Mapping[str, int]] | None = None
) -> int:
    """The run's changes: ``run.changes`` when the report has it (writes applied by the
    run); for an older report the effects the store recorded (`counts`), else the writes
    among its applied outcomes and issue outcomes."""
    head = (report or {}).get("run") or {}
    changes = head.get("changes")
    if isinstance(changes, int) and not isinstance(changes, bool):
        return changes
    if counts is not None:
        return sum(n for per in counts.values() for n in per.values() if isinstance(n, int))
    reference = (report or {}).get("reference") or {}
    applied = reference.get("applied") or {}
    written = sum(_int(per.get(action)) for per in applied.values() for action in WRITES)
    issues = ((report or {}).get("issues") or {}).get("outcomes") or {}
    return written + sum(
        _int(n) for per in issues.values() for name, n in per.items() if name not in _NOT_WRITES
    )


def iso_time(value: Any, timespec: str = "seconds") -> str:
    """A stored time as ISO 8601 with its offset, to the second (or `timespec`, as
    `datetime.isoformat` takes it; a time stored without one is UTC: the store writes
    UTC); ``-`` for none, the text itself when unreadable."""
    if not isinstance(value, str) or not value:
        return "-"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec=timespec)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
