"""Records as the vendors send them: keys in any case, fields added without notice.

`Canon` maps a record's keys case-insensitively onto the snapshot schema's names for its
collection and drops the keys the schema does not know, so a vendor's ``id`` and ``Id``,
``Firstname`` and ``FirstName`` read the same and a new field changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any, Final

from engine.documents.schema import load_schema

__all__ = ["ci_get", "normalise"]

_DEFINITIONS: Final = {
    ("alto", "inventory"): "alto_inventory",
    ("alto", "contacts"): "alto_contact",
    ("alto", "tenancies"): "alto_tenancy",
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
        >>> normalise("fixflo", "landlords", {"id": 3, "Firstname": "Ann", "NewField": 1})
        {'Id': 3, 'FirstName': 'Ann'}
    """
    names = _names(system, collection)
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = names.get(key.casefold()) if isinstance(key, str) else None
        if name is not None and name not in out:
            out[name] = value
    return out
