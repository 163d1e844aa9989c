"""Builders of Alto and Fixflo records in the vendors' shapes, and a planner over them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from engine import CompiledRuleset, load_ruleset
from engine.sync.plan import Operation, Plan
from engine.sync.planner import make_plan
from simulator.agency.memory import apply_in_memory

RULESET_PATH = Path(__file__).resolve().parents[2] / "rulesets" / "alto-fixflo" / "v2.yaml"
DEFAULT = load_ruleset(RULESET_PATH)
AS_OF = date(2026, 11, 22)


def prop(pid: str = "P1", **fields: Any) -> dict[str, Any]:
    """An Alto inventory item (Search.InventoryItem) that syncs under the default settings
    unless `fields` say otherwise."""
    record: dict[str, Any] = {
        "inventoryId": pid,
        "branchId": "B1",
        "recordType": "Rent",
        "managementType": "Managed",
        "maintenanceType": "MaintainedByUs",
        "categoryType": "Residential",
        "status": "Let",
        "archived": False,
        "address": {
            "subDwelling": "Flat 2",
            "nameNo": "10",
            "street": "High Street" if pid == "P1" else f"{pid} Road",
            "locality": "Headingley",
            "town": "Leeds",
            "county": "West Yorkshire",
            "postcode": "LS6 1AA",
            "countryCode": "GB",
        },
    }
    record.update(fields)
    return record


def owner(
    property_id: str, contact_id: str, *, owner_type: str = "Landlord", active: bool = True
) -> dict[str, Any]:
    """An Alto Owner: `contact_id` owns `property_id` (as landlord by default)."""
    return {
        "id": f"O-{property_id}-{contact_id}",
        "property": {"id": property_id, "branchId": "B1"},
        "contact": {"id": contact_id, "branchId": "B1"},
        "active": active,
        "type": owner_type,
        "percentageShare": 100,
    }


def details(cid: str, email: str | None = "", *, archived: bool = False) -> dict[str, Any]:
    """An Alto Contact (GET /contacts?id=) with one person; the email defaults to one made
    from the id, None gives the person no email address."""
    address = email or f"{cid.lower()}@example.com"
    return {
        "id": cid,
        "address": {
            "nameNumber": "3",
            "street": "Park Lane",
            "town": "Leeds",
            "postcode": "LS1 2AB",
        },
        "branch": {"id": "B1"},
        "people": [
            {
                "id": f"{cid}-1",
                "title": "Ms",
                "forename": f"F{cid}",
                "surname": f"S{cid}",
                "phoneNumbers": [
                    {"preferenceOrder": 1, "type": "Mobile", "number": "07700 900001"},
                    {"preferenceOrder": 2, "type": "Home", "number": "0113 496 0001"},
                ],
                "emailAddresses": []
                if email is None
                else [{"preferenceOrder": 1, "type": "Personal", "address": address}],
            }
        ],
        "category": "Client",
        "companyName": None,
        "archived": archived,
    }


def contact(
    cid: str,
    persona: str | None = "Tenant",
    email: str | None = "",
    *,
    category: str = "Client",
    archived: bool = False,
    detailed: bool = True,
    **fields: Any,
) -> dict[str, Any]:
    """An Alto ContactListItem (GET /contacts/all) of `category` with `persona`; unless
    `detailed` is false its full Contact (see `details`) rides along for `world`."""
    record: dict[str, Any] = {
        "id": cid,
        "contactType": {"category": category, "persona": [persona] if persona else []},
        "contactInformation": [
            {"title": "Ms", "foreName": f"F{cid}", "surname": f"S{cid}"},
        ],
        "branch": {"id": "B1"},
        "isActive": True,
        "potentialVendor": False,
        "potentialLandlord": False,
        "companyName": None,
    }
    record.update(fields)
    if detailed:
        record[WITH] = {"alto.contact_details": [details(cid, email, archived=archived)]}
    return record


def tenancy(
    tid: int | str, property_id: int | str, *tenants: str, status: str = "Active"
) -> dict[str, Any]:
    """An Alto tenancy at `property_id` held by the contacts `tenants`; the tenantIds items
    that join them to it (``GET /tenancies/{id}/tenantIds``) ride along for `world`. With a
    whole-number `tid` every id is typed as the contract types it (whole numbers), as a
    snapshot must hold them; text ids keep the rule tests readable (relations compare ids
    as text)."""
    typed = isinstance(tid, int)
    places = [
        {
            "tenantId": tid * 100 + n if isinstance(tid, int) else f"{tid}.{n}",
            "contactId": int(cid) if typed else cid,
            "tenancyId": tid,
        }
        for n, cid in enumerate(tenants, 1)
    ]
    return {
        "id": tid,
        "propertyId": int(property_id) if typed else property_id,
        "status": status,
        "startDate": "2025-01-01T00:00:00Z",
        "endDate": "2026-12-31T00:00:00Z",
        "tenants": [
            {"id": str(place["tenantId"]), "forename": f"F{place['contactId']}"} for place in places
        ],
        WITH: {"alto.tenancy_tenants": places},
    }


def supplier(sid: str, *services: str, active: bool | None = True, **fields: Any) -> dict[str, Any]:
    """An Alto Supplier at `services` (plumbing by default); its Supplier contact of the
    same id (isActive = `active`; none when `active` is None) rides along for `world`."""
    record: dict[str, Any] = {
        "id": sid,
        "branchId": "B1",
        "companyName": f"{sid} Ltd",
        "providedServices": list(services or ["Plumbing"]),
        "address": {"nameNo": "5", "street": "Trade Way", "town": "Leeds", "postcode": "LS9 9ZZ"},
        "people": [
            {
                "title": "Mr",
                "forename": f"F{sid}",
                "surname": f"S{sid}",
                "emailAddresses": [f"{sid.lower()}@trades.example"],
                "telephoneNumbers": ["0113 496 0999"],
            }
        ],
        "notes": None,
    }
    record.update(fields)
    if active is not None:
        record[WITH] = {
            "alto.contacts": [
                contact(sid, None, category="Supplier", detailed=False, isActive=active)
            ]
        }
    return record


# Records a builder implies in other collections ride under this key until `world` moves
# them into their own collection (the record itself is left in the vendor's shape).
WITH = "_with"


def world(**collections: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records by source name from keyword names such as ``alto_inventory``; what the
    builders attached under `WITH` is moved into its own collection."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, rows in collections.items():
        found.setdefault(name.replace("_", ".", 1), [])
        for row in rows:
            _add(found, name.replace("_", ".", 1), row)
    return found


def _add(found: dict[str, list[dict[str, Any]]], name: str, row: dict[str, Any]) -> None:
    """Add `row` and what rides with it; an Alto record whose id is there already is read
    once (as the adapter de-duplicates contacts listed twice)."""
    record = {key: value for key, value in row.items() if key != WITH}
    rows = found.setdefault(name, [])
    repeated = "id" in record and any(other.get("id") == record["id"] for other in rows)
    if not (repeated and name.startswith("alto.")):
        rows.append(record)
    for other, extra in (row.get(WITH) or {}).items():
        for item in extra:
            _add(found, other, item)


def plan(records: dict[str, list[dict[str, Any]]], ruleset: CompiledRuleset = DEFAULT) -> Plan:
    """Plan `records` with the shipped ruleset."""
    return make_plan(ruleset, records, as_of=AS_OF)


def ops(made: Plan, kind: str, op: str | None = None) -> dict[str | None, Operation]:
    """The operations of one kind (and action), by source id."""
    return {
        item.source_id: item
        for item in made.operations
        if item.kind == kind and (op is None or item.op == op)
    }


def skipped(made: Plan, kind: str) -> dict[str | None, tuple[str, ...]]:
    """The skipped source records of one kind, by id, with the rules that decided."""
    return {skip.source_id: skip.rules for skip in made.skips if skip.kind == kind}


def applied(
    made: Plan, records: dict[str, list[dict[str, Any]]], ruleset: CompiledRuleset = DEFAULT
) -> dict[str, list[dict[str, Any]]]:
    """`records` with the plan applied to the Fixflo side."""
    fixflo = {name: rows for name, rows in records.items() if name.startswith("fixflo.")}
    return {**records, **apply_in_memory(ruleset, made, fixflo)}
