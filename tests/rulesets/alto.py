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
    """A property that syncs under the default settings unless `fields` say otherwise."""
    record: dict[str, Any] = {
        "id": pid,
        "oid": f"O{pid}",
        "recordType": "Rent",
        "managementType": "Managed",
        "maintenanceType": "MaintainedByUs",
        "categoryType": "Residential",
        "inventoryStatus": "Let",
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
        "owners": [{"ownerId": "O-L1", "contactId": "L1"}],
    }
    record.update(fields)
    return record


def contact(
    cid: str, contact_type: str = "Tenant", email: str | None = "", **fields: Any
) -> dict[str, Any]:
    """An Alto contact; the email defaults to one made from the id."""
    address = email if email is not None else None
    record: dict[str, Any] = {
        "id": cid,
        "contactType": contact_type,
        "title": "Ms",
        "forename": f"F{cid}",
        "surname": f"S{cid}",
        "companyName": None,
        "emailAddresses": [] if address is None else [address or f"{cid.lower()}@example.com"],
        "phoneNumbers": [
            {"type": "Mobile", "number": "07700 900001"},
            {"type": "Home", "number": "0113 496 0001"},
        ],
        "address": {"nameNo": "3", "street": "Park Lane", "town": "Leeds", "postcode": "LS1 2AB"},
        "archived": False,
        "deleted": False,
    }
    record.update(fields)
    return record


def tenancy(tid: str, property_id: str, *tenants: str, status: str = "Active") -> dict[str, Any]:
    """A tenancy at `property_id` held by `tenants`."""
    return {
        "id": tid,
        "propertyId": property_id,
        "status": status,
        "startDate": "2025-01-01",
        "endDate": "2026-12-31",
        "tenants": [{"id": tenant} for tenant in tenants],
    }


def supplier(sid: str, *services: str, **fields: Any) -> dict[str, Any]:
    """An active supplier at `services` (plumbing by default)."""
    record: dict[str, Any] = {
        "id": sid,
        "oid": f"O{sid}",
        "title": "Mr",
        "forename": f"F{sid}",
        "surname": f"S{sid}",
        "companyName": f"{sid} Ltd",
        "providedServices": list(services or ["Plumbing"]),
        "emailAddresses": [f"{sid.lower()}@trades.example"],
        "phoneNumbers": [{"type": "Work", "number": "0113 496 0999"}],
        "active": True,
        "archived": False,
    }
    record.update(fields)
    return record


def world(**collections: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records by source name from keyword names such as ``alto_inventory``."""
    return {name.replace("_", ".", 1): rows for name, rows in collections.items()}


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
