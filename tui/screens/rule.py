"""A rule in full (Enter on a rule in the browser): its id, group and ``file:line``, its
summary, its condition in words, what it depends on and what depends on it.

The condition comes from the compiled ruleset, never from the summary: an entity rule's
`Rule.text`; a status's works order, fields set, attachments, charge and each case's
``when``; a ``require`` or warning's check; an attachment's names; a charge route's ``when``.
What it depends on is `CompiledRuleset.dependencies` (the rules, entities and settings it
reads, a setting with the value this session runs under); "used by" is its reverse.

Example::

    app.push_screen(RuleScreen(app.rules["T-01"], app.session.ruleset))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.text import Text

from engine.explain import condition_in_words
from engine.language.lifecycle import Lifecycle, StatusCase, StatusSpec
from engine.language.ruleset import CompiledRuleset
from tui.model.rules import RuleInfo
from tui.screens.dialogs import TextDialog

__all__ = ["RuleScreen", "condition_lines", "rule_text"]


def rule_text(info: RuleInfo, ruleset: CompiledRuleset) -> Text:
    """Everything the rule screen shows for `info`, styled."""
    shown = Text()
    shown.append(f"{info.id}", style="bold").append(f"  {info.group}  ")
    shown.append(info.where, style="bold cyan").append("\n\n")
    summary = " ".join(info.summary.split()) or "(no summary declared)"
    shown.append(summary + "\n\n")
    shown.append("Condition\n", style="bold underline")
    for line in condition_lines(info.id, ruleset) or ["(none: it always applies)"]:
        shown.append(f"  {line}\n")
    shown.append("\nDepends on\n", style="bold underline")
    reads = ruleset.dependencies.get(info.id, ())
    for read in reads:
        shown.append(f"  {read}", style="bold").append(f"  {_about(read, ruleset)}\n")
    if not reads:
        shown.append("  nothing: no other rule, entity or setting\n", style="dim")
    shown.append("\nUsed by\n", style="bold underline")
    users = ruleset.dependents(info.id)
    for user in users:
        shown.append(f"  rule:{user}", style="bold").append(
            f"  {_about(f'rule:{user}', ruleset)}\n"
        )
    if not users:
        shown.append("  no other rule reads it\n", style="dim")
    shown.rstrip()
    return shown


def _about(read: str, ruleset: CompiledRuleset) -> str:
    kind, _, name = read.partition(":")
    if kind == "setting":
        value = ruleset.settings.get(name)
        return f"= {value!r} in this session"
    if kind == "entity":
        entity = ruleset.entities.get(name)
        return _brief(entity.summary if entity else "")
    return _brief(ruleset.rule_summary(name) or _lifecycle_summary(name, ruleset.lifecycle))


def _lifecycle_summary(rule_id: str, lifecycle: Lifecycle | None) -> str:
    """The summary of a lifecycle part (a status, case, warning, require, attachment or
    charge route), "" for none."""
    if lifecycle is None:
        return ""
    parts: list[Any] = [*lifecycle.statuses.values(), *lifecycle.warnings]
    parts += [case for status in lifecycle.statuses.values() for case in status.cases]
    parts += [*lifecycle.works_order_require, *lifecycle.attachments.values()]
    for policy in lifecycle.charges.values():
        parts += [*policy.require, *policy.routes]
    return next((str(part.summary) for part in parts if part.id == rule_id), "")


def _brief(text: str, width: int = 70) -> str:
    words = " ".join(text.split())
    return words if len(words) <= width else words[: width - 1] + "…"


def condition_lines(rule_id: str, ruleset: CompiledRuleset) -> list[str]:
    """The rule's condition in words, a line each (an empty list: none found).

    Example:
        >>> from engine import load_ruleset
        >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
        >>> condition_lines("CH-05", ruleset)
        ['the maintenance charge is posted only when Job.PriceAgencyPayableGross > 0']
    """
    rule = ruleset.rules.get(rule_id)
    if rule is not None:
        words = condition_in_words(rule.text)
        found = [f"holds when {rule.text}"]
        return found if words == rule.text else [*found, f"in words: {words}"]
    lifecycle = ruleset.lifecycle
    return [] if lifecycle is None else list(_lifecycle_lines(rule_id, lifecycle))


def _lifecycle_lines(rule_id: str, lifecycle: Lifecycle) -> Iterator[str]:
    for status in lifecycle.statuses.values():
        if status.id == rule_id:
            yield from _status_lines(status)
        for case in status.cases:
            if case.id == rule_id:
                yield f"a case of status {status.name}: applies when {case.check.text}"
                yield f"then Alto gets: {_case_gives(status, case)}"
    for warning in lifecycle.warnings:
        if warning.id == rule_id:
            yield f"warns at {', '.join(sorted(warning.at))} when {warning.check.text}"
    for rule in lifecycle.works_order_require:
        if rule.id == rule_id:
            yield f"an Alto works order is made only when {rule.text}"
    for attachment in lifecycle.attachments.values():
        if attachment.id == rule_id:
            yield f"attachment {attachment.name}: {attachment.names.text} (from {attachment.from_})"
    for name, policy in lifecycle.charges.items():
        for rule in policy.require:
            if rule.id == rule_id:
                yield f"the {name} charge is posted only when {rule.text}"
        for route in policy.routes:
            if route.id == rule_id:
                when = "otherwise" if route.check is None else f"when {route.check.text}"
                yield f"the {name} charge is posted to the {route.post} {when}"


def _status_lines(status: StatusSpec) -> Iterator[str]:
    yield f"at status {status.name}, Alto gets: {_gives(status.works_order, status.unchanged)}"
    if status.set:
        yield "sets " + ", ".join(f"{path} = {value.text}" for path, value in status.set)
    if status.attach:
        yield f"attaches {', '.join(status.attach)}"
    yield f"posts the {status.charge} charge" if status.charge else "posts no charge"
    for case in status.cases:
        yield f"case {case.id} when {case.check.text}: {_case_gives(status, case)}"


def _gives(works_order: str | None, unchanged: bool = False) -> str:
    if works_order is None:
        return "no works order"
    kept = " (an existing one left as it is)" if unchanged else ""
    return f"works order {works_order}{kept}"


def _case_gives(status: StatusSpec, case: StatusCase) -> str:
    changes: dict[str, Any] = dict(case.changes)
    parts = [_gives(changes.get("works_order", status.works_order))]
    attach = changes.get("attach", status.attach)
    parts.append(f"attaches {', '.join(attach)}" if attach else "attaches nothing")
    charge = changes.get("charge", status.charge)
    parts.append(f"the {charge} charge" if charge else "no charge")
    return ", ".join(parts)


class RuleScreen(TextDialog):
    """One rule in full, scrollable; escape closes it.

    Args:
        info: the rule as the browser lists it.
        ruleset: the compiled ruleset it belongs to (the session's).
    """

    def __init__(self, info: RuleInfo, ruleset: CompiledRuleset) -> None:
        super().__init__(f"{info.id}  {info.where}", rule_text(info, ruleset))
        self.info = info
