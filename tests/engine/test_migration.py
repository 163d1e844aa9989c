"""`engine.migration`: outcomes, streaming, and properties over generated Jupix exports."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.jupix import JupixExport
from adapters.jupix.records import export_records
from engine import EvaluationError, RecordError, load_ruleset
from engine.migration import fingerprint, migrate
from simulator.jupix import write_jupix_export
from tests.engine.rulesets import ruleset_data, write
from tests.rulesets.jupix import AS_OF, ROOT, ruleset

SCHEMA = json.loads((ROOT / "engine" / "schema" / "alto-migration.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
BAD_ROW = "T999,P1,C1,Moved out,2020-01-01,,12,,£900\n"


def demo(tmp_path: Path) -> Any:
    data = ruleset_data(
        [{"id": "R1", "when": {"field": "kind", "eq": "rent"}}],
        map_={"id": "id", "kind": {"upper": "kind"}},
    )
    data["entities"]["thing"]["to"] = "alto.out"
    data["entities"]["part"]["role"] = "manual"
    return load_ruleset(write(tmp_path, data))


def test_every_record_has_one_outcome(tmp_path: Path) -> None:
    things = [
        {"id": "1", "kind": "rent"},
        {"id": "2", "kind": "sale"},
        RecordError("things.csv:4", "3", "kind is bad"),
    ]
    result = migrate(
        demo(tmp_path), {"alto.things": things, "alto.parts": [{"id": "p"}]}, as_of=AS_OF
    )
    outcomes = {(item.source, item.record): item.outcome for item in result.reconciliation.outcomes}
    assert outcomes == {
        ("alto.things", "1"): "migrated",
        ("alto.things", "2"): "not migrated",
        ("alto.things", "3"): "unreadable",
        ("alto.parts", "p"): "manual",
    }
    assert result.records == {"alto.out": [{"id": "1", "kind": "RENT"}]}
    assert [item.rule for item in result.reconciliation.differences] == ["R1"]
    assert result.manual == [{"entity": "part"}]


def test_emit_streams_the_records_instead_of_keeping_them(tmp_path: Path) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    result = migrate(
        demo(tmp_path),
        {"alto.things": iter([{"id": "1", "kind": "rent"}])},
        as_of=AS_OF,
        emit=lambda target, record: seen.append((target, record)),
    )
    assert seen == [("alto.out", {"id": "1", "kind": "RENT"})]
    assert result.records == {}


def test_an_undeclared_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(EvaluationError, match=r"did you mean 'alto\.things'"):
        migrate(demo(tmp_path), {"alto.thing": []}, as_of=AS_OF)


def test_fingerprint_ignores_key_order() -> None:
    assert fingerprint({"a": 1, "b": [2]}) == fingerprint({"b": [2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def generated(folder: Path, size: int, seed: int, bad: bool) -> JupixExport:
    write_jupix_export(folder, size, seed)
    if bad:
        with (folder / "tenancies.csv").open("a", encoding="utf-8") as stream:
            stream.write(BAD_ROW)
    return JupixExport(folder)


def run(export: JupixExport) -> Any:
    compiled = ruleset()
    return migrate(compiled, export_records(export, compiled.sources), as_of=AS_OF)


@settings(max_examples=12, deadline=None)
@given(size=st.integers(1, 40), seed=st.integers(0, 10**6), bad=st.booleans())
def test_generated_exports_migrate_deterministically_and_account_for_every_record(
    size: int, seed: int, bad: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        export = generated(Path(folder), size, seed, bad)
        first, second = run(export), run(export)
        assert first.records == second.records
        assert first.reconciliation.to_json() == second.reconciliation.to_json()
        for table in export.tables():
            rows = list(export.iter_rows(table))
            outcomes = [
                item for item in first.reconciliation.outcomes if item.source == f"jupix.{table}"
            ]
            assert len(outcomes) == len(rows)
            keys = Counter(item.record for item in outcomes)
            assert all(count == 1 for count in keys.values()), keys.most_common(3)
        unreadable = [
            item for item in first.reconciliation.outcomes if item.outcome == "unreadable"
        ]
        lines = (export.folder / "tenancies.csv").read_text("utf-8").count("\n")
        assert [item.where for item in unreadable] == ([f"tenancies.csv:{lines}"] if bad else [])
        collections = {
            target.split(".", 1)[1]: records for target, records in first.records.items()
        }
        errors = [error.message for error in VALIDATOR.iter_errors(collections)]
        assert errors == []


@pytest.mark.req("J-16")
def test_a_source_relations_reach_is_replayed_in_order_from_its_file(tmp_path: Path) -> None:
    """Tenancies (a relation target) are written to a private table and read back for their
    own entities: the same outcomes in the same order, the unreadable row in its place, and
    the same records as a one-shot stream of the same rows (held in memory)."""
    properties = [{"propertyID": "P1", "crmStatus": "Instructed - On Market", "archived": False,
                   "department": "Lettings", "displayAddress": "1 Mill Lane"}]  # fmt: skip
    tenancies: list[Any] = [
        {"tenancyID": "T1", "propertyID": "P1", "status": "Moved Out", "tenantContactIDs": []},
        RecordError("tenancies.csv:3", "T2", "status 'Moved out' is not allowed"),
        {"tenancyID": "T3", "propertyID": "P1", "status": "Active", "tenantContactIDs": []},
        RecordError("tenancies.csv:5", "T4", "rent is not a number"),
    ]
    replayed = migrate(
        ruleset(),
        {"jupix.properties": properties, "jupix.tenancies": tenancies},
        as_of=AS_OF,
    )
    once = migrate(
        ruleset(),
        {"jupix.properties": iter(properties), "jupix.tenancies": iter(tenancies)},
        as_of=AS_OF,
    )
    order = [
        (item.record, item.outcome)
        for item in replayed.reconciliation.outcomes
        if item.source == "jupix.tenancies"
    ]
    assert order == [
        ("T1", "migrated"),
        ("T2", "unreadable"),
        ("T3", "migrated"),
        ("T4", "unreadable"),
    ]
    assert replayed.records == once.records
    assert replayed.reconciliation.outcomes == once.reconciliation.outcomes
    # J-05: the active tenancy, read back from the table through the relation, makes P1 Let
    assert replayed.records["alto.inventory"][0]["inventoryStatus"] == "Let"
