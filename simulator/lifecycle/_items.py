"""The lifecycle's coverage items, each with the line of the ruleset that declares it."""

from __future__ import annotations

from collections.abc import Callable

from engine.documents.document import Document, JsonPath, load_document
from engine.errors import RulebridgeError
from engine.language.lifecycle import Event, Fields, Lifecycle
from engine.language.operators.case import CaseValue
from engine.language.ruleset import CompiledRuleset

__all__ = ["ITEM_KINDS", "lifecycle_items", "transition"]

ITEM_KINDS = ("event", "transition", "status", "charge", "warning", "attachment", "rule")
NEW = "(new)"
"""The 'from' of a creating event's transition."""


def transition(before: str | None, event: Event) -> str:
    """``FROM --event--> TO``; ``(new)`` as FROM for a creating event.

    Example:
        >>> from engine import load_ruleset
        >>> events = load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle.events
        >>> transition(None, events["report"]), transition("JobCompleted", events["close"])
        ('(new) --report--> Reported', 'JobCompleted --close--> Closed')
    """
    source = NEW if event.creates or before is None else before
    return f"{source} --{event.name}--> {event.to}"


def lifecycle_items(ruleset: CompiledRuleset) -> dict[str, dict[str, int]]:
    """The lifecycle's coverage items by kind, each id to its line in the ruleset:
    ``event`` (each event), ``transition`` (one per from-status and event; a creating event
    from ``(new)``), ``status`` (each status id and status-case id), ``charge`` (each charge
    `require` id and route id), ``warning`` (each lifecycle warning id), ``attachment``
    (each attachment id) and ``rule`` (works-order `require` ids and the lifecycle's
    ``case`` branch ids). Empty kinds for a ruleset without a lifecycle.

    Example:
        >>> from engine import load_ruleset
        >>> items = lifecycle_items(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
        >>> from pathlib import Path
        >>> lines = Path("rulesets/alto-fixflo/v2.yaml").read_text().splitlines()
        >>> lines[items["status"]["W-09.cancelled"] - 1].strip()
        '- id: W-09.cancelled'
        >>> len(items["transition"]), items["transition"]["(new) --report--> Reported"] > 0
        (19, True)
    """
    items: dict[str, dict[str, int]] = {kind: {} for kind in ITEM_KINDS}
    lifecycle = ruleset.lifecycle
    if lifecycle is None:
        return items
    line = _liner(ruleset.path)
    at = ("lifecycle",)
    for name, event in lifecycle.events.items():
        items["event"][name] = line((*at, "events", name))
        if event.creates:
            items["transition"][transition(None, event)] = line((*at, "events", name))
        for index, source in enumerate(event.sources):
            place = line((*at, "events", name, "from", index))
            items["transition"][transition(source, event)] = place
    for name, spec in lifecycle.statuses.items():
        items["status"][spec.id] = line((*at, "statuses", name, "id"))
        for index, case in enumerate(spec.cases):
            items["status"][case.id] = line((*at, "statuses", name, "cases", index, "id"))
    for policy in lifecycle.charges.values():
        for rule in policy.require:
            items["charge"][rule.id] = rule.line
        for index, route in enumerate(policy.routes):
            items["charge"][route.id] = line(("charges", policy.name, "to", index, "id"))
    for index, warning in enumerate(lifecycle.warnings):
        items["warning"][warning.id] = line((*at, "warnings", index, "id"))
    for name, attachment in lifecycle.attachments.items():
        items["attachment"][attachment.id] = line((*at, "attachments", name, "id"))
    for rule in lifecycle.works_order_require:
        items["rule"][rule.id] = rule.line
    items["rule"].update(_branch_lines(lifecycle, line))
    return items


def _branch_lines(lifecycle: Lifecycle, line: Callable[[JsonPath], int]) -> dict[str, int]:
    """Each case branch id's line (of the branch in the map, set or case that holds it)."""
    groups: list[tuple[JsonPath, Fields]] = [
        (("lifecycle", "works_order", "map"), lifecycle.works_order_fields)
    ]
    for status, spec in lifecycle.statuses.items():
        groups.append((("lifecycle", "statuses", status, "set"), spec.set))
        for index, case in enumerate(spec.cases):
            at_case: JsonPath = ("lifecycle", "statuses", status, "cases", index, "set")
            groups.append((at_case, dict(case.changes).get("set", ())))
    groups += [
        (("charges", name, "map"), policy.fields) for name, policy in lifecycle.charges.items()
    ]
    found: dict[str, int] = {}
    for place, fields in groups:
        for name, value in fields:
            if isinstance(value, CaseValue):
                for index, branch in enumerate(value.branches):
                    if branch.id is not None:
                        found[branch.id] = line((*place, name, "case", index, "id"))
    return found


def _liner(path: str) -> Callable[[JsonPath], int]:
    """Line of a path's key in the ruleset file (1 when the file cannot be read again)."""
    try:
        document: Document | None = load_document(path)
    except RulebridgeError:
        document = None

    def line(where: JsonPath) -> int:
        return 1 if document is None else document.key_where(where)[0]

    return line
