"""`engine.migration`: the catch-up after go-live (J-16) and the `excluded` hook it uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.jupix.records import export_records
from engine.migration import Difference, migrate
from tests.rulesets.jupix import AS_OF, ruleset, write_export


def test_excluded_hook_names_the_would_be_id_rule_and_reason(tmp_path: Path) -> None:
    """J-01: an applicant a rule leaves out is reported with the id it would have had."""
    export = write_export(
        tmp_path / "export",
        contacts=[{"contactID": "C1"}, {"contactID": "C2"}],
        applicants=[
            {"applicantID": "A1", "contactID": "C1", "profileExpiryDate": "2025-03-01"},
            {"applicantID": "A2", "contactID": "C2", "profileExpiryDate": "2026-03-01"},
        ],
        properties=[{"propertyID": "P1", "archived": True}],
    )
    compiled = ruleset()
    seen: list[tuple[str, str | None, Difference]] = []

    def excluded(target: str, record_id: str | None, difference: Difference) -> None:
        seen.append((target, record_id, difference))

    result = migrate(
        compiled, export_records(export, compiled.sources), as_of=AS_OF, excluded=excluded
    )
    found = {(target, record_id): item for target, record_id, item in seen}
    applicant = found[("alto.applicants", "A1")]
    assert (applicant.entity, applicant.rule, applicant.record) == ("applicant", "J-01", "A1")
    assert "2025-03-01" in applicant.detail
    # the would-be id is the entity's id map, not the source key: media ids are "media/P1"
    assert found[("alto.media", "media/P1")].rule == "J-07"
    assert ("alto.applicants", "A2") not in found
    # every difference the hook saw is the reconciliation's own, once
    assert sorted(map(_key, (item for *_, item in seen))) == sorted(
        _key(item)
        for item in result.reconciliation.differences
        if item.change == "not migrated"
    )
    # listed entities (manual actions) are never reported as excluded
    assert all(not target.startswith("manual.") for target, *_ in seen)


def _key(item: Difference) -> Any:
    return (item.entity, item.rule, item.record)
