"""Load-time checks of a lifecycle's state machine.

- every status is reachable from the start (guards are ignored: they depend on the record);
- every status that is not final has an event leading out of it (no dead ends);
- every event has an effect: it changes the status or sets at least one field;
- no event takes the works order backwards (to an earlier works order status, or from a
  status with a works order to one without): the reconcile never undoes Alto's side, so such
  a move would be silently ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.language.lifecycle import Event, StatusSpec

if TYPE_CHECKING:
    from engine.language.compiler._state import Compiling

__all__ = ["check_graph", "check_progress", "reachable"]


def reachable(start: str, events: Mapping[str, Event]) -> set[str]:
    """The statuses reachable from `start` (and from events that create a record).

    Example:
        >>> sorted(reachable("A", {"go": Event("go", "", ("A",), "B", None, ())}))
        ['A', 'B']
    """
    seen = {start} | {event.to for event in events.values() if event.creates}
    frontier = list(seen)
    while frontier:
        status = frontier.pop()
        for event in events.values():
            if status in event.sources and event.to not in seen:
                seen.add(event.to)
                frontier.append(event.to)
    return seen


def check_graph(
    compiler: Compiling,
    spec: Mapping[str, Any],
    statuses: Mapping[str, StatusSpec],
    events: Mapping[str, Event],
) -> None:
    """Report unreachable statuses, dead ends and events with no effect."""
    start = spec["start"]
    final = set(spec.get("final", []))
    if start in statuses:
        seen = reachable(start, events)
        for name in statuses:
            if name not in seen:
                compiler.fail(
                    ("lifecycle", "statuses", name),
                    "unreachable-status",
                    f"no event leads to status {name!r} from {start!r}; "
                    "add an event whose 'to' is it, or remove the status",
                    at_key=True,
                )
    for name in statuses:
        leaves = any(name in event.sources and event.to != name for event in events.values())
        if name not in final and not leaves:
            compiler.fail(
                ("lifecycle", "statuses", name),
                "dead-end-status",
                f"status {name!r} is not final but no event leaves it; "
                "add an event from it or list it under 'final:'",
                at_key=True,
            )
    for name, event in events.items():
        # A guarded event may change only what the source's contract cannot show (Fixflo's
        # feedback, W-08): its guard says when it happens.
        if (
            event.sources
            and set(event.sources) == {event.to}
            and not event.sets
            and not event.guard
        ):
            compiler.fail(
                ("lifecycle", "events", name),
                "event-without-effect",
                f"event {name!r} leads from {event.to!r} back to it and sets nothing; "
                "give it a 'sets:' list, a 'when:' guard or a different 'to'",
                at_key=True,
            )


def check_progress(
    compiler: Compiling,
    statuses: Mapping[str, StatusSpec],
    events: Mapping[str, Event],
    order: tuple[str, ...],
) -> None:
    """Report events that would take the works order back."""
    for name, event in events.items():
        after = statuses.get(event.to)
        for source in event.sources:
            before = statuses.get(source)
            if before is None or after is None or before.works_order is None:
                continue
            if _backwards(before.works_order, after.works_order, order):
                compiler.fail(
                    ("lifecycle", "events", name, "to"),
                    "works-order-backwards",
                    f"event {name!r} leads from {source!r} (works order "
                    f"{before.works_order}) to {event.to!r} (works order "
                    f"{after.works_order or 'none'}); Alto's works order is never undone, so "
                    "give the new status the same or a later works order status",
                )


def _backwards(before: str, after: str | None, order: tuple[str, ...]) -> bool:
    return after is None or (
        after in order and before in order and order.index(after) < order.index(before)
    )
