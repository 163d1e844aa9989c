"""Build small Jupix exports in the reader's format and migrate them with the real ruleset."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from adapters.jupix import JupixExport, write_manifest
from adapters.jupix.records import export_records
from engine import CompiledRuleset, load_ruleset
from engine.migration import Migration, migrate
from simulator.jupix._sink import ExportSink

ROOT = Path(__file__).resolve().parents[2]
RULESET_PATH = ROOT / "rulesets" / "jupix-alto" / "v1.yaml"
AS_OF = date(2025, 6, 2)

_RULESET: list[CompiledRuleset] = []

DEFAULTS: dict[str, dict[str, Any]] = {
    "properties": {"branchID": "B1", "department": "Lettings", "addressStreet": "Mill Lane",
                   "displayAddress": "Mill Lane, Bristol", "price": 950.0, "availability": 5,
                   "dateLastModified": "2025-01-02", "crmStatus": "Let", "archived": False},
    "contacts": {"surname": "Smith", "roles": ["applicant"], "archived": False,
                 "dateCreated": "2020-01-01T10:00:00"},
    "applicants": {"department": "Lettings", "dateRegistered": "2024-01-01", "archived": False},
    "tenancies": {"status": "Active", "startDate": "2024-07-01", "endDate": "2025-06-30",
                  "rent": 950.0},
    "tenancy_applications": {"status": "Offer Pending", "dateCreated": "2025-05-01"},
    "offers": {"amount": 250000, "status": "Pending", "date": "2025-05-01"},
    "sales": {"status": "Current", "agreedDate": "2025-04-01"},
    "property_notes": {"date": "2024-01-01", "priority": False, "text": "A note"},
    "maintenance_notes": {"ownerType": "property", "date": "2024-01-01", "text": "Boiler"},
    "todo_notes": {"userID": "U1", "text": "Ring the landlord"},
    "sale_chain_notes": {"date": "2025-05-01", "text": "Chain note"},
    "progression_milestones": {"name": "Searches Ordered"},
}  # fmt: skip


def ruleset() -> CompiledRuleset:
    """The real jupix-alto ruleset, compiled once per test session."""
    if not _RULESET:
        _RULESET.append(load_ruleset(RULESET_PATH))
    return _RULESET[0]


def write_export(folder: Path, **tables: list[dict[str, Any]]) -> JupixExport:
    """An export whose tables hold `tables` rows (defaults fill the required cells)."""
    folder.mkdir(parents=True, exist_ok=True)
    with ExportSink(folder) as sink:
        for row in tables.get("properties", []):
            sink.write_property({**DEFAULTS["properties"], **row}, {})
        for name, rows in tables.items():
            if name != "properties":
                for row in rows:
                    sink.write(name, **{**DEFAULTS[name], **row})
    write_manifest(folder, agency="Acme Lettings", exported_at=datetime(2025, 6, 1, 18))
    return JupixExport(folder)


def run(folder: Path, *, check: bool = False, **tables: list[dict[str, Any]]) -> Migration:
    """Write an export of `tables` to `folder` and migrate it as of `AS_OF`."""
    export = write_export(folder, **tables)
    compiled = ruleset()
    return migrate(compiled, export_records(export, compiled.sources), as_of=AS_OF, check=check)


def by_id(result: Migration, target: str) -> dict[str, dict[str, Any]]:
    """The records written to `target`, by id."""
    return {record["id"]: record for record in result.records.get(target, [])}


def outcome(result: Migration, source: str, record: str) -> Any:
    """The one outcome of a source record (fails if there is not exactly one)."""
    found = [
        item
        for item in result.reconciliation.outcomes
        if item.source == source and item.record == record
    ]
    assert len(found) == 1, found
    return found[0]


def differences(result: Migration, rule: str) -> dict[str | None, str]:
    """The differences a rule explains, by record id."""
    return {
        item.record: item.change for item in result.reconciliation.differences if item.rule == rule
    }
