"""An impact diff as Markdown (for a pull request) or JSON (every changed record).

Both name records by key and label only. Markdown: a heading per entity with a table of
its changes by rule, then each group with at most `limit` sample records; the lifecycle
scenarios that differ. JSON (``format: rulebridge.impact/1``, documented in
docs/impact.md) lists every record of every group, streamed from the groups' spills.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from engine.explain import render_value

if TYPE_CHECKING:
    from engine.sync._impact_model import Change, Group, Impact

__all__ = ["IMPACT_FORMAT", "Writable", "write_json", "write_markdown"]

IMPACT_FORMAT = "rulebridge.impact/1"

_HEADINGS = {
    "created": "created",
    "merged": "now included, already in the target",
    "no_longer_synced": "no longer synced",
    "archived": "archived",
    "unarchived": "no longer archived",
    "fields": "fields",
}


class Writable(Protocol):
    """Anything text can be written to (a file, or standard output through click)."""

    def write(self, text: str, /) -> int:
        """Write `text`."""
        ...


def write_json(impact: Impact, out: Writable) -> None:
    """The whole diff as one JSON document, every changed record listed (streamed)."""
    head = {
        "format": IMPACT_FORMAT,
        "old": impact.old,
        "new": impact.new,
        "as_of": impact.as_of,
        "inputs": impact.inputs,
        "changes": impact.changes,
    }
    out.write(_dumps(head)[:-1] + ', "entities": [')
    for number, entity in enumerate(impact.entities):
        out.write(", " if number else "")
        first = {"entity": entity.name, "read": entity.read, "changed": entity.changed}
        out.write(_dumps(first)[:-1] + ', "groups": [')
        for index, group in enumerate(entity.sorted_groups()):
            out.write(", " if index else "")
            _write_group(group, out)
        out.write("]}")
    lifecycle = {
        "played": impact.scenarios,
        "changed": [change.to_json() for change in impact.lifecycle],
    }
    out.write(f'], "lifecycle": {_dumps(lifecycle)}, "rejected": {_dumps(impact.rejected)}}}')


def _write_group(group: Group, out: Writable) -> None:
    described = {
        "kind": group.kind,
        "rule": group.rule,
        "summary": group.summary,
        "count": group.count,
    }
    out.write(_dumps(described)[:-1] + ', "records": [')
    for index, change in enumerate(group.records()):
        out.write((", " if index else "") + _dumps(change.to_json()))
    out.write("]}")


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def write_markdown(impact: Impact, out: Writable) -> None:
    """The diff for a pull request: counts per entity and rule, a few records per group."""
    for line in _markdown(impact):
        out.write(line + "\n")


def _markdown(impact: Impact) -> Iterable[str]:
    old, new = impact.old, impact.new
    yield f"# Impact of {_named(old)} -> {_named(new)}"
    yield ""
    inputs = ", ".join(f"{system} `{sha[:12]}`" for system, sha in impact.inputs.items())
    yield f"As of {impact.as_of or 'no date'}; snapshots: {inputs or 'none'}."
    yield f"**{impact.changes} change{'s' if impact.changes != 1 else ''}.**"
    for entity in impact.entities:
        yield ""
        yield f"## {entity.name}"
        yield ""
        yield f"{entity.read} source records read; {entity.changed} changed."
        groups = entity.sorted_groups()
        if not groups:
            continue
        yield ""
        yield "| change | rule | what the rule says | records |"
        yield "|---|---|---|---:|"
        for group in groups:
            summary = _cell(group.summary or "")
            yield f"| {_HEADINGS[group.kind]} | `{group.rule}` | {summary} | {group.count} |"
        for group in groups:
            yield from _group(group)
    yield from _lifecycle(impact)
    if impact.rejected:
        yield ""
        count = len(impact.rejected)
        records = "record" if count == 1 else "records"
        yield f"{count} snapshot {records} could not be read (listed in JSON)."


def _group(group: Group) -> Iterable[str]:
    yield ""
    yield f"### {group.entity}: {_HEADINGS[group.kind]} by `{group.rule}` ({group.count})"
    yield ""
    for change in group.samples:
        yield f"- {_record(change)}"
    more = group.count - len(group.samples)
    if more > 0:
        yield f"- ... and {more} more (every record is listed with `--format json`)"


def _record(change: Change) -> str:
    named = f"`{change.key}`" + (f" {_inline(change.label)}" if change.label else "")
    if change.field is not None:
        field = change.field
        return f"{named}: {render_value(field.old)} -> {render_value(field.new)}"
    if change.in_words:
        return f"{named}: {_inline('; '.join(change.in_words))}"
    return named


def _lifecycle(impact: Impact) -> Iterable[str]:
    if not impact.scenarios:
        return
    yield ""
    yield "## lifecycle"
    yield ""
    yield (
        f"{impact.scenarios} scenarios played under both; "
        f"{len(impact.lifecycle)} differ{'s' if len(impact.lifecycle) == 1 else ''}."
    )
    if not impact.lifecycle:
        return
    yield ""
    yield "| scenario | first differing step | what differs |"
    yield "|---|---|---|"
    for change in impact.lifecycle:
        step = f"{change.step}. {change.action}" if change.step else ""
        if change.error:
            what = change.error
        else:
            what = "; ".join(
                f"{item.what}: {render_value(item.old)} -> {render_value(item.new)}"
                for item in change.differences
            )
        yield f"| {_cell(change.scenario)} | {_cell(step)} | {_cell(what)} |"


def _named(described: dict[str, Any]) -> str:
    return f"{described['name']} v{described['version']} (`{described['content_hash'][:12]}`)"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (no pipe, no line break)."""
    return _inline(text).replace("|", "\\|")


def _inline(text: str) -> str:
    return " ".join(str(text).split())
