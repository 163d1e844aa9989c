"""Records as the vendors send them: keys in any case, fields added without notice.

`normalise` maps a record's keys case-insensitively onto the snapshot schema's names for its
collection and drops the keys the schema does not know, so a vendor's ``id`` and ``Id``,
``Firstname`` and ``FirstName`` read the same and a new field changes nothing.

`listed` turns the items of an API list into snapshot records and reports each item that
cannot be one (not an object, no id, a field of the wrong type, too large) as a
`RecordError` naming the endpoint and the item's index, e.g.
``GET /owners#items[41] (record 2000041): missing "id": add ...``; the listing goes
on without it. Nothing is dropped silently, and nothing the snapshot reader would refuse is
written.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from functools import cache
from typing import Any, Final

from adapters.http import nested_deeper_than
from engine.documents.schema import load_schema
from engine.errors import RecordError
from engine.snapshot import RecordLimits
from engine.snapshot.schema import CollectionSchema, collection_schema

__all__ = ["ci_get", "listed", "normalise", "with_key"]

_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False)

_DEFINITIONS: Final = {
    ("alto", "inventory"): "alto_inventory",
    ("alto", "owners"): "alto_owner",
    ("alto", "contacts"): "alto_contact",
    ("alto", "contact_details"): "alto_contact_detail",
    ("alto", "tenancies"): "alto_tenancy",
    ("alto", "tenancy_tenants"): "alto_tenancy_tenant",
    ("alto", "suppliers"): "alto_supplier",
    ("fixflo", "properties"): "fixflo_property",
    ("fixflo", "landlords"): "fixflo_landlord",
    ("fixflo", "tenants"): "fixflo_tenant",
    ("fixflo", "contractors"): "fixflo_contractor",
    ("fixflo", "landlord_properties"): "fixflo_landlord_property",
    ("fixflo", "tenant_properties"): "fixflo_tenant_property",
    ("fixflo", "agency_settings"): "fixflo_agency_settings",
}


def ci_get(record: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """`record[key]` with the key matched case-insensitively.

    Example:
        >>> ci_get({"id": 7}, "Id")
        7
    """
    if key in record:
        return record[key]
    folded = key.casefold()
    for name, value in record.items():
        if name.casefold() == folded:
            return value
    return default


@cache
def _names(system: str, collection: str) -> Mapping[str, str]:
    definition = load_schema("snapshot")["$defs"][_DEFINITIONS[(system, collection)]]
    return {name.casefold(): name for name in definition["properties"]}


def normalise(system: str, collection: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with its known keys in the schema's casing and unknown keys dropped.

    Example:
        >>> normalise("fixflo", "landlords", {"ID": "3", "Firstname": "Ann", "NewField": 1})
        {'id': '3', 'FirstName': 'Ann'}
    """
    names = _names(system, collection)
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = names.get(key.casefold()) if isinstance(key, str) else None
        if name is not None and name not in out:
            out[name] = value
    return out


async def listed(
    system: str,
    collection: str,
    items: AsyncIterator[Any],
    *,
    where: str,
    rejected: list[RecordError],
    limits: RecordLimits | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """The items of a listing as normalised records; each bad item goes to `rejected`.

    Args:
        system: ``alto`` or ``fixflo``.
        collection: the snapshot collection the items belong to.
        items: the listing's items, in order (`adapters._paging`).
        where: the endpoint and the list's key, e.g. ``GET /Landlords#Items``; an item's
            index is added to it.
        rejected: where bad items are reported.
        limits: the largest record a snapshot reader accepts (its default).
    """
    checks, bounds = collection_schema(system, collection), limits or RecordLimits()
    index = 0
    async for item in items:
        record = normalise(system, collection, item) if isinstance(item, Mapping) else item
        problem = _problem(record, checks, bounds)
        if problem is None:
            yield record
        else:
            error = RecordError(f"{where}[{index}]", checks.record_id(record), problem)
            rejected.append(error)
        index += 1


def _problem(record: object, checks: CollectionSchema, limits: RecordLimits) -> str | None:
    """Why `record` cannot go into a snapshot, or None if it can."""
    if not isinstance(record, dict):
        return f"{_kind(record)}, not a record (an object); left out of the snapshot"
    if not checks.is_valid(record):
        return checks.explain(record) + "; left out of the snapshot"
    try:
        text = _ENCODER.encode(record)
    except ValueError:
        return "holds a number JSON cannot write (NaN or infinity); left out of the snapshot"
    if len(text) > limits.max_bytes:
        return (
            f"is {len(text):,} characters long, more than a snapshot record may be "
            f"({limits.max_bytes:,}); left out of the snapshot"
        )
    if nested_deeper_than(text.encode(), limits.max_depth):
        return (
            f"nests more than {limits.max_depth} levels deep, more than a snapshot record "
            "may; left out of the snapshot"
        )
    return None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    names = {bool: "true or false", str: "a string", list: "a list"}
    return names.get(type(value), "a number")


async def with_key(items: AsyncIterator[Any], key: str, value: Any) -> AsyncIterator[Any]:
    """Each object of `items` with `key` set to `value`, anything else as it came (for
    `listed` to report): the parent a per-parent read was made under, e.g. the tenancy of
    ``GET /tenancies/{id}/tenantIds`` or the tenant of ``GET /Tenant/{Id}/Properties``."""
    async for item in items:
        yield {**item, key: value} if isinstance(item, Mapping) else item
