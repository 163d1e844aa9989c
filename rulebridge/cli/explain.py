"""`rulebridge explain`: one record's whole decision, every rule of it (`engine.trace`).

The snapshots are read as `rulebridge plan` reads them (file-backed tables in a private
temporary folder, removed afterwards); the record is found by its key in its entity's
source and traced against the records it relates to.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import click

from engine import CompiledRuleset, RulebridgeError, load_ruleset
from engine.documents import did_you_mean
from engine.explain import in_words, render_value
from engine.language.paths import flatten
from engine.sync.plan import PlanItem, PlanWarning
from engine.sync.planner import plan_into
from engine.trace import RuleTrace, Trace, trace
from rulebridge._exits import ExitCode
from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import AS_OF, EXISTING, failing_cleanly
from rulebridge.cli._plan_input import SpilledSnapshots, spilled_snapshots

__all__ = ["explain", "render_trace"]


@click.command("explain", context_settings=CONTEXT)
@click.argument("entity_name", metavar="ENTITY")
@click.argument("record_id", metavar="ID")
@click.option("--ruleset", "ruleset_path", required=True, type=EXISTING, help="The ruleset file.")
@click.option("--alto", required=True, type=EXISTING, help="An Alto snapshot (JSON).")
@click.option("--fixflo", type=EXISTING, help="A Fixflo snapshot: also show the planned operation.")
@click.option("--settings", type=EXISTING, help="The agency's settings file.")
@AS_OF
@click.option(
    "--format", "output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def explain(
    entity_name: str,
    record_id: str,
    ruleset_path: Path,
    alto: Path,
    fixflo: Path | None,
    settings: Path | None,
    as_of: Any,
    output: str,
) -> None:
    """Explain one record's decision: every rule in order, what it read, held or failed.

    The record of ENTITY (e.g. property) whose key is ID, found in the entity's source:
    every include rule (the one that decided marked), every archive rule, the case branches
    chosen, the mapped payload and the fields sent on create; with --fixflo, what the plan
    does with it. Exit codes: 0 shown, 1 no such record or an error, 64 usage error (an
    unknown entity).

    Example:

        rulebridge explain property 100006 --ruleset rulesets/alto-fixflo/v2.yaml --alto alto.json
    """
    with failing_cleanly(), tempfile.TemporaryDirectory(prefix="rulebridge-explain-") as folder:
        ruleset = load_ruleset(ruleset_path, settings=settings)
        if entity_name not in ruleset.entities:
            hint = did_you_mean(entity_name, ruleset.entities)
            click.echo(
                f"error: ruleset {ruleset.name} has no entity {entity_name!r}{hint}; "
                f"it has {', '.join(ruleset.entities)}",
                err=True,
            )
            sys.exit(ExitCode.USAGE)
        with spilled_snapshots(alto, fixflo, Path(folder)) as loaded:
            when = loaded.run_date(as_of)
            found = _traced(ruleset, entity_name, record_id, loaded, when)
            if fixflo is not None:
                found = _with_plan(found, ruleset, loaded, when)
    if output == "json":
        click.echo(json.dumps(found.to_json(), indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(render_trace(found), nl=False)
    sys.exit(ExitCode.NOTHING)


def _traced(
    ruleset: CompiledRuleset, name: str, key: str, loaded: SpilledSnapshots, when: date
) -> Trace:
    """The trace of the record of entity `name` whose key is `key`.

    Raises:
        RulebridgeError: no record of the entity's source has that key.
    """
    entity = ruleset.entities[name]
    records = {n: rows for n, rows in loaded.records.items() if n in ruleset.sources}
    context = ruleset.context(records, as_of=when)
    keys: list[str] = []
    for record in records.get(entity.source, ()):
        found = entity.key_of(record)
        if found == key:
            return trace(ruleset, name, record, context)
        if found is not None:
            keys.append(found)
    raise RulebridgeError(
        f"no {name} record has the key {key!r} in {entity.source} "
        f"({len(keys)} records read){did_you_mean(key, keys)}"
    )


def _with_plan(
    found: Trace, ruleset: CompiledRuleset, loaded: SpilledSnapshots, when: date
) -> Trace:
    """`found` with what planning the agency decides for its record."""
    sink = _Mine(found.entity, found.key)
    plan_into(ruleset, loaded.records, sink, as_of=when)
    return replace(found, planned=tuple(sink.items))


class _Mine:
    """A plan sink keeping the items about one record of one entity."""

    def __init__(self, entity: str, key: str | None) -> None:
        self.entity, self.key = entity, key
        self.items: list[dict[str, Any]] = []

    def add(self, item: PlanItem) -> None:
        if isinstance(item, PlanWarning):
            return
        if item.kind == self.entity and item.source_id == self.key:
            self.items.append({"item": type(item).__name__, **item.to_json()})


def render_trace(found: Trace) -> str:
    """A trace as plain text for a terminal.

    Example::

        click.echo(render_trace(trace(ruleset, "property", record, context)), nl=False)
    """
    named = f"{found.entity} {found.key}" + (f" ({found.label})" if found.label else "")
    verdict = "included" if found.included else f"skipped by {found.deciding}"
    lines = [f"{named}: {verdict}", "", "include rules, in order:"]
    lines += _rules(found.include) or ["  (none declared)"]
    lines += ["", "archive rules (they act on a skipped record only):"]
    lines += _rules(found.archive) or ["  (none declared)"]
    if found.branches:
        lines += ["", "case branches chosen:"]
        lines += [
            f"  {item.path}: {item.rule} -> {render_value(item.value)}" for item in found.branches
        ]
    lines += _fields("mapped payload", found.payload)
    lines += _fields("sent on create only", found.on_create)
    if found.planned:
        lines += ["", "planned (against the Fixflo snapshot):"]
        lines += [f"  {_planned(item)}" for item in found.planned]
    return "\n".join(lines) + "\n"


def _rules(rules: Iterable[RuleTrace]) -> list[str]:
    lines = []
    for rule in rules:
        mark = "held  " if rule.held else "FAILED"
        decided = "  <- decided" if rule.deciding else ""
        summary = " ".join(rule.summary.split())
        lines.append(f"  {mark} {rule.id} (line {rule.line}): {summary}{decided}")
        for because in rule.because:
            lines.append(f"         read {because}")
            lines.append(f"         in words: {in_words(because)}")
    return lines


def _fields(title: str, fields: Mapping[str, Any] | None) -> list[str]:
    if fields is None or not fields:
        return []
    return ["", f"{title}:"] + [
        f"  {path}: {render_value(value)}" for path, value in flatten(fields)
    ]


def _planned(item: Mapping[str, Any]) -> str:
    kind = item["item"]
    if kind == "Operation":
        target = f" {item.get('target_id')}" if item.get("target_id") is not None else ""
        return f"{item['op']} {item['target']}{target}: {', '.join(_flat_keys(item['fields']))}"
    if kind == "Skip":
        return f"skip ({', '.join(item['rules'])})"
    if kind == "MergeDecision":
        return f"merge into {item['target_id']} by {item['rule']}"
    return f"manual {item['action']} ({item['rule']}): {item['reason']}"


def _flat_keys(fields: Mapping[str, Any]) -> list[str]:
    return [path for path, _ in flatten(fields)] or ["no fields"]
