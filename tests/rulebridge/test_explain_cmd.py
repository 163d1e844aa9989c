"""`rulebridge explain` over real snapshot files: one record's whole decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from rulebridge._exits import ExitCode
from rulebridge.cli import main
from simulator.agency import write_agency
from tests.rulesets.alto import RULESET_PATH


@pytest.fixture(scope="module")
def agency(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_agency(tmp_path_factory.mktemp("agency"), size=120, seed=21)


def explain(*args: str | Path) -> Result:
    return CliRunner().invoke(
        main, ["explain", *map(str, args[:2]), "--ruleset", str(RULESET_PATH), *map(str, args[2:])]
    )


def inventory(alto: Path) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(alto.read_text("utf-8"))["inventory"]
    return items


@pytest.mark.req("P-05")
def test_a_commercial_property_shows_every_rule_and_p05_deciding(
    agency: tuple[Path, Path],
) -> None:
    alto, _ = agency
    shop = next(
        item
        for item in inventory(alto)
        if item["categoryType"] == "Commercial" and item["recordType"] == "Rent"
    )
    key = str(shop["inventoryId"])
    done = explain("property", key, "--alto", alto, "--format", "json")
    assert done.exit_code == ExitCode.NOTHING, done.output
    found = json.loads(done.stdout)
    assert found["key"] == key
    assert [rule["id"] for rule in found["include"]] == ["P-01", "P-02", "P-03", "P-05", "P-06"]
    p05 = found["include"][3]
    assert p05["held"] is False
    assert p05["because"][0]["value"] == "Commercial"
    assert found["deciding"] == next(rule["id"] for rule in found["include"] if not rule["held"])
    text = explain("property", key, "--alto", alto)
    assert text.exit_code == ExitCode.NOTHING
    assert f"property {key}: skipped by {found['deciding']}" in text.stdout
    assert "FAILED P-05" in text.stdout
    assert "category type is Commercial" in text.stdout


@pytest.mark.req("P-07")
def test_a_synced_property_shows_its_payload_and_with_fixflo_its_plan(
    agency: tuple[Path, Path],
) -> None:
    alto, fixflo = agency
    listed = {
        p.get("ExternalPropertyRef") for p in json.loads(fixflo.read_text("utf-8"))["properties"]
    }
    synced = next(
        item
        for item in inventory(alto)
        if item["recordType"] == "Rent"
        and item["managementType"] == "Managed"
        and item["maintenanceType"] == "MaintainedByUs"
        and item["categoryType"] == "Residential"
        and item["status"] == "Let"
        and str(item["inventoryId"]) not in listed
    )
    key = str(synced["inventoryId"])
    done = explain("property", key, "--alto", alto, "--fixflo", fixflo, "--format", "json")
    assert done.exit_code == ExitCode.NOTHING, done.output
    found = json.loads(done.stdout)
    assert found["included"] is True
    assert found["payload"]["ExternalPropertyRef"] == key
    assert found["payload"]["Address"]["PostCode"] == synced["address"]["postcode"]
    operations = [item for item in found["planned"] if item["item"] == "Operation"]
    assert [(op["op"], op["source_id"]) for op in operations] == [("create", key)]
    text = explain("property", key, "--alto", alto, "--fixflo", fixflo)
    assert "mapped payload:" in text.stdout
    assert f"ExternalPropertyRef: '{key}'" in text.stdout
    assert "create fixflo.properties" in text.stdout


def test_an_unknown_entity_is_a_usage_error_with_a_suggestion(agency: tuple[Path, Path]) -> None:
    alto, _ = agency
    done = explain("proprety", "100001", "--alto", alto)
    assert done.exit_code == ExitCode.USAGE
    assert "no entity 'proprety' (did you mean 'property'?)" in done.stderr
    assert "Traceback" not in done.output


def test_an_unknown_key_fails_with_a_suggestion(agency: tuple[Path, Path]) -> None:
    alto, _ = agency
    done = explain("property", "10001", "--alto", alto)
    assert done.exit_code == ExitCode.FAILURE
    assert "no property record has the key '10001' in alto.inventory" in done.stderr
    assert "did you mean '100" in done.stderr
    assert "Traceback" not in done.output


def test_a_garbled_snapshot_fails_cleanly(tmp_path: Path) -> None:
    garbage = tmp_path / "alto.json"
    garbage.write_text('{"system": "alto", "inventory": [{"inventoryId": ', "utf-8")
    done = explain("property", "1", "--alto", garbage)
    assert done.exit_code == ExitCode.FAILURE
    assert str(garbage) in done.stderr
    assert "Traceback" not in done.output
