"""What the Alto adapter recognises after a lost answer, and where a tenant's charge goes.

- A works order is recognised by its *identity*: the fields of its create body the ruleset
  names (``works_order.identity``, e.g. ``propertyId``, ``reportedDate``, ``summary``),
  compared with what ``GET /inventory/{id}/work-orders`` answers. No marker is written into
  any field agency users read. Dates are compared as instants (Alto answers ``date-time``
  where the request took text: ``2026-11-04T08:00:00Z`` and ``2026-11-04T08:00:00+00:00``
  are the same moment; a date-time without an offset is taken as UTC, the contract naming
  none); every other field as text, exactly.
- A tenancy holding a contact at a property: ``GET /inventory/{id}/tenancies`` (camelCase
  ``nextToken``/``maxResults``, at most 100, contracts/alto.md section 5) gives the
  property's tenancies (no ``propertyId`` in the items: the path says it), and ``GET
  /tenancies/{id}/tenantIds`` each tenancy's places ``{tenantId, contactId}``. The tenancy
  whose places hold the contact, the latest ``startDate`` when several, is the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from adapters._records import ci_get

__all__ = [
    "DATE_FIELDS",
    "Place",
    "latest_holding",
    "matches_identity",
    "orders_in",
    "same_instant",
]

# WorkOrder's date-time fields (contracts/alto.md section 7): compared as instants.
DATE_FIELDS: Final = frozenset({"reportedDate", "startDate", "modifiedDate"})


@dataclass(frozen=True, slots=True)
class Place:
    """One contact's place on one tenancy (``GET /tenancies/{id}/tenantIds``), with the
    tenancy's ``startDate`` from the property's list."""

    tenancy_id: str
    tenant_id: str
    contact_id: str
    start: str | None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def same_instant(left: Any, right: Any) -> bool:
    """Whether two date-times are the same moment (text that is no date-time: equal text).

    Example:
        >>> same_instant("2026-11-04T08:00:00Z", "2026-11-04T09:00:00+01:00")
        True
        >>> same_instant("2026-11-04T08:00:00Z", "2026-11-04T08:00:01Z")
        False
    """
    a, b = _instant(left), _instant(right)
    if a is None or b is None:
        return _text(left) == _text(right)
    return a == b


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def matches_identity(order: Mapping[str, Any], identity: Mapping[str, Any]) -> bool:
    """Whether `order` (a WorkOrder as Alto answers it) has every identity field's value:
    dates (`DATE_FIELDS`) as instants, the rest as text; a None identity value matches an
    absent field. An empty identity matches nothing (it would match every order).

    Example:
        >>> matches_identity({"summary": "Tap", "reportedDate": "2026-11-04T08:00:00+00:00"},
        ...                  {"summary": "Tap", "reportedDate": "2026-11-04T08:00:00Z"})
        True
        >>> matches_identity({"summary": "Tap "}, {"summary": "Tap"})
        False
    """
    if not identity:
        return False
    for name, wanted in identity.items():
        held = ci_get(order, name)
        if name in DATE_FIELDS and wanted is not None and held is not None:
            if not same_instant(held, wanted):
                return False
        elif _text(held) != _text(wanted):
            return False
    return True


def orders_in(body: Any) -> list[Mapping[str, Any]]:
    """The works orders in an answer of ``GET /inventory/{id}/work-orders``: the contract
    types it as one WorkOrder (the real shape is UNCONFIRMED), so a page (``items``), a
    list and a single order are all read."""
    if isinstance(body, Mapping):
        items = ci_get(body, "items")
        body = items if isinstance(items, list) else [body]
    return [item for item in body if isinstance(item, Mapping)] if isinstance(body, list) else []


def latest_holding(places: Iterable[Place], contact_id: str) -> Place | None:
    """The place of `contact_id` on the tenancy with the latest ``startDate`` (a tenancy
    without one counts as the earliest; equal starts: the highest tenancy id, the newer).

    Example:
        >>> old = Place("1", "11", "C1", "2024-01-01T00:00:00Z")
        >>> new = Place("2", "21", "C1", "2025-01-01T00:00:00Z")
        >>> latest_holding([new, old, Place("3", "31", "C2", None)], "C1").tenancy_id
        '2'
    """
    mine = [place for place in places if place.contact_id == str(contact_id)]
    if not mine:
        return None
    floor = datetime.min.replace(tzinfo=UTC)
    return max(mine, key=lambda p: (_instant(p.start) or floor, _number(p.tenancy_id)))


def _number(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (-1, text)
