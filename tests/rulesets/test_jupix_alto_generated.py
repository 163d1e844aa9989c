"""The J rules' invariants over whole generated exports (Hypothesis: random seeds and sizes).

Whatever the export, Alto must never be left with an active tenancy on a property that is
not Let (J-04, J-05), a re-statused property the reconciliation does not explain, or a
contact typed Applicant that has no searching profile (or the reverse, J-01).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.jupix import JupixExport
from adapters.jupix.records import export_records
from engine.errors import RecordError
from engine.migration import Migration, migrate
from simulator.jupix import write_jupix_export
from tests.rulesets.jupix import AS_OF, ruleset

pytestmark = pytest.mark.filterwarnings("error")


def _migrated(size: int, seed: int) -> tuple[Migration, dict[str, list[dict[str, Any]]]]:
    with tempfile.TemporaryDirectory() as folder:
        write_jupix_export(folder, size, seed)
        export = JupixExport(Path(folder))
        compiled = ruleset()
        result = migrate(compiled, export_records(export, compiled.sources), as_of=AS_OF)
        rows = {
            table: [row for row in export.iter_rows(table) if not isinstance(row, RecordError)]
            for table in ("properties", "applicants")
        }
    return result, rows


def _searching(profile: dict[str, Any]) -> bool:
    expiry = profile["profileExpiryDate"]
    return not profile["archived"] and (expiry is None or date.fromisoformat(expiry) > AS_OF)


@pytest.mark.req("J-01", "J-04", "J-05")
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(size=st.integers(min_value=1, max_value=60), seed=st.integers(0, 2**32 - 1))
def test_generated_exports_keep_the_j_rule_invariants(size: int, seed: int) -> None:
    result, rows = _migrated(size, seed)
    inventory = {item["id"]: item for item in result.records.get("alto.inventory", [])}
    assert len(inventory) == size
    for tenancy in result.records.get("alto.tenancies", []):
        if tenancy["status"] in ("Active", "Periodic"):
            assert inventory[tenancy["propertyId"]]["inventoryStatus"] == "Let", tenancy

    explained = {item.record for item in result.reconciliation.differences if item.rule == "J-05"}
    restatused = {
        row["propertyID"]
        for row in rows["properties"]
        if inventory[row["propertyID"]]["inventoryStatus"] == "Let"
        and (row["crmStatus"] != "Let" or row["archived"])
    }
    assert restatused == explained
    listed = {item["recordId"] for item in result.manual if item["rule"].startswith("J-05.")}
    assert listed <= explained

    searching = {row["contactID"] for row in rows["applicants"] if _searching(row)}
    profiled = {row["contactID"] for row in rows["applicants"]}
    types = {item["id"]: item["clientType"] for item in result.records["alto.contacts"]}
    # typed Applicant exactly when a profile is searching, unless an owner's type comes first
    owner_types = {"Landlord", "Vendor", "Potential landlord"}
    for contact, client_type in types.items():
        if contact in searching:
            assert client_type == "Applicant" or client_type in owner_types, contact
        else:
            assert client_type != "Applicant", contact
    lapsed = {
        item.record for item in result.reconciliation.differences if item.rule == "J-01.contact"
    }
    assert lapsed == {c for c in profiled - searching if types[c] not in owner_types}
