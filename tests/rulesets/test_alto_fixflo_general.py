"""Preflight of Fixflo's settings (G-07), conflicts, and the plan command end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine import CompiledRuleset, load_ruleset
from engine.snapshot import write_snapshot
from rulebridge.cli import main
from tests.rulesets.alto import DEFAULT, RULESET_PATH, contact, ops, plan, prop, tenancy, world

GOOD_SETTINGS = {"AgencyName": "Example Lettings", "WorkflowType": "Full"}
CONFIRMED = {
    "fixflo_uploaded_properties_only": True,
    "fixflo_contractor_costs_provided": True,
    "fixflo_invoice_document_asked": True,
}


def confirmed(**changes: object) -> CompiledRuleset:
    """The ruleset with the operator's G-07 confirmations (some changed)."""
    return load_ruleset(RULESET_PATH, settings={**CONFIRMED, **changes})


@pytest.mark.req("G-07")
def test_preflight_passes_when_fixflo_is_set_up_and_confirmed() -> None:
    assert plan(world(fixflo_agency_settings=[GOOD_SETTINGS]), confirmed()).warnings == ()


@pytest.mark.req("G-07")
def test_preflight_warns_when_the_workflow_is_not_full() -> None:
    records = world(fixflo_agency_settings=[{**GOOD_SETTINGS, "WorkflowType": "Basic"}])
    (warning,) = plan(records, confirmed()).warnings
    assert warning.rule == "G-07.workflow"
    assert str(warning.because[0]) == "G-07.workflow: WorkflowType = 'Basic', not = 'Full'"


@pytest.mark.req("G-07")
@pytest.mark.parametrize(
    ("setting", "rule"),
    [
        ("fixflo_uploaded_properties_only", "G-07.uploaded-only"),
        ("fixflo_contractor_costs_provided", "G-07.contractor-costs"),
        ("fixflo_invoice_document_asked", "G-07.invoice-document"),
    ],
)
def test_preflight_warns_for_each_setting_not_yet_confirmed(setting: str, rule: str) -> None:
    # Fixflo publishes none of the three (gap.fixflo-settings): the operator confirms each.
    records = world(fixflo_agency_settings=[GOOD_SETTINGS])
    (warning,) = plan(records, confirmed(**{setting: False})).warnings
    assert warning.rule == rule
    assert setting in warning.summary
    assert (warning.because[0].field, warning.because[0].value) == (f"setting {setting}", False)


@pytest.mark.req("G-07")
def test_until_confirmed_every_run_warns_of_the_three_settings() -> None:
    warned = {w.rule for w in plan(world(fixflo_agency_settings=[GOOD_SETTINGS])).warnings}
    assert warned == {"G-07.uploaded-only", "G-07.contractor-costs", "G-07.invoice-document"}
    (gap,) = [gap for gap in DEFAULT.gaps if gap.rules == ("G-07",)]
    assert gap.uses[0] == "setting"


@pytest.mark.req("G-07")
def test_preflight_warns_when_the_settings_could_not_be_read() -> None:
    (warning,) = plan(world()).warnings
    assert "were not checked" in warning.summary


def test_two_alto_records_matching_one_fixflo_record_are_a_conflict_for_a_person() -> None:
    same_address = prop("P2", address=prop("P1")["address"])
    made = plan(
        world(
            alto_inventory=[prop("P1"), same_address],
            fixflo_properties=[
                {
                    "id": 5,
                    "ExternalPropertyRef": "P1",
                    "IsDeleted": False,
                    "Address": {
                        "AddressLine1": "Flat 2 10 High Street",
                        "AddressLine2": "Headingley",
                        "Town": "Leeds",
                        "PostCode": "LS6 1AA",
                    },
                }
            ],
        )
    )
    assert "P2" not in ops(made, "property")
    (manual,) = made.manual
    assert (manual.action, manual.source_id, manual.target_id) == ("resolve_conflict", "P2", 5)


def snapshots(
    tmp_path: Path, alto: dict[str, list[Any]], fixflo: dict[str, list[Any]] | None = None
) -> list[str]:
    write_snapshot(tmp_path / "alto.json", "alto", alto, taken_at="2026-11-22T02:00:00Z")
    args = ["plan", "--ruleset", str(RULESET_PATH), "--alto", str(tmp_path / "alto.json")]
    if fixflo is not None:
        write_snapshot(tmp_path / "fixflo.json", "fixflo", fixflo, taken_at="2026-11-22T02:05:00Z")
        args += ["--fixflo", str(tmp_path / "fixflo.json")]
    return args


ALTO = {
    name.split(".", 1)[1]: rows
    for name, rows in world(
        # Ids typed as the contract types them (the snapshot's schema checks them).
        alto_inventory=[prop("100001"), {"recordType": "Rent"}],  # no inventoryId: rejected
        alto_contacts=[contact("500001")],
        alto_tenancies=[tenancy(900001, 100001, "500001")],
    ).items()
}


def test_plan_command_json_and_exit_code_2_for_changes(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*snapshots(tmp_path, ALTO), "--format", "json"])
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "rulebridge.plan/1"
    assert data["ruleset"]["name"] == "alto-fixflo"
    assert data["as_of"] == "2026-11-22"
    assert data["summary"]["property"]["create"] == 1
    assert set(data["inputs"]) == {"alto"}
    create = next(op for op in data["operations"] if op["kind"] == "property")
    assert set(create) >= {
        "op",
        "kind",
        "source_id",
        "target_ref",
        "fields",
        "idempotency_key",
        "because",
    }
    assert create["because"][0] == {
        "rule": "P-01",
        "field": "recordType",
        "value": "Rent",
        "expected": "= 'Rent'",
        "held": True,
    }
    (rejected,) = data["rejected"]
    assert rejected["where"].endswith("alto.json#inventory[1]")
    assert "inventory[1]" in result.stderr


def test_plan_after_apply_exits_0(tmp_path: Path) -> None:
    args = snapshots(tmp_path, ALTO)
    first = json.loads(CliRunner().invoke(main, [*args, "--format", "json"]).stdout)
    fixflo: dict[str, list[Any]] = {
        "properties": [],
        "tenants": [],
        "tenant_properties": [],
        "agency_settings": [GOOD_SETTINGS],
    }
    for number, op in enumerate(first["operations"], 1):
        name = op["target"].split(".", 1)[1]
        # Fixflo's keys: a property's id is a number, a person's id text, a join's Id text.
        made = {op.get("key") or "Id": number if name == "properties" else str(number)}
        fixflo[name].append({**op["fields"], **made})
    settings = tmp_path / "agency.yaml"
    settings.write_text(json.dumps({"settings_for": "alto-fixflo", "settings": CONFIRMED}))
    args = [*snapshots(tmp_path, ALTO, fixflo), "--settings", str(settings)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "No changes." in result.stdout
    assert "Warnings" not in result.stdout


def test_plan_table_counts_first_then_details(tmp_path: Path) -> None:
    out = tmp_path / "plan.txt"
    result = CliRunner().invoke(main, [*snapshots(tmp_path, ALTO), "--out", str(out)])
    assert result.exit_code == 2
    text = out.read_text("utf-8")
    assert text.index("Summary") < text.index("create property (1)") < text.index("Skipped")
    assert "Records that could not be read" in text


@pytest.mark.parametrize(
    ("ruleset", "message"),
    [
        ("ruleset: broken\n", "missing-key"),
        (
            "ruleset: x\nversion: 1\nsummary: no targets\nsources: {a.b: {key: id, fields: [id]}}\n"
            "entities: {e: {from: a.b, include: []}}\n",
            "needs a declared target",
        ),
    ],
)
def test_plan_errors_exit_1(tmp_path: Path, ruleset: str, message: str) -> None:
    args = snapshots(tmp_path, ALTO)
    bad = tmp_path / "v1.yaml"
    bad.write_text(ruleset, "utf-8")
    args[args.index("--ruleset") + 1] = str(bad)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_plan_with_a_snapshot_that_is_not_json_exits_1(tmp_path: Path) -> None:
    args = snapshots(tmp_path, ALTO)
    (tmp_path / "alto.json").write_text("{not json", "utf-8")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "alto.json" in result.stderr


@pytest.mark.req("G-04")
def test_a_value_given_up_by_one_person_can_be_taken_by_another_in_the_same_run() -> None:
    records = world(
        alto_inventory=[prop("P1")],
        alto_tenancies=[tenancy("T1", "P1", "C1", "C3")],
        alto_contacts=[contact("C1", email="b@x.com"), contact("C3", email="a@x.com")],
        fixflo_tenants=[
            {"id": "100", "ExternalRef": "C1", "EmailAddress": "a@x.com", "IsDeleted": False}
        ],
    )
    made = plan(records)
    assert ops(made, "occupier", "update")["C1"].fields["EmailAddress"] == "b@x.com"
    assert "C3" in ops(made, "occupier", "create")
    kinds = [op.op for op in made.operations if op.kind == "occupier"]
    assert kinds.index("update") < kinds.index("create")


@pytest.mark.req("G-04")
def test_two_new_people_with_one_email_are_a_conflict_not_two_creates() -> None:
    records = world(
        alto_inventory=[prop("P1")],
        alto_tenancies=[tenancy("T1", "P1", "C1", "C2")],
        alto_contacts=[contact("C1", email="same@x.com"), contact("C2", email="same@x.com")],
    )
    made = plan(records)
    assert set(ops(made, "occupier", "create")) == {"C1"}
    (manual,) = [m for m in made.manual if m.kind == "occupier"]
    assert (manual.action, manual.source_id) == ("resolve_conflict", "C2")
    assert "source record C1 will create" in manual.reason


def test_plan_with_bad_agency_settings_exits_1_with_the_place(tmp_path: Path) -> None:
    settings = tmp_path / "agency.yaml"
    settings.write_text(
        "settings_for: alto-fixflo\nsettings:\n  property_categories: [Residental]\n", "utf-8"
    )
    result = CliRunner().invoke(main, [*snapshots(tmp_path, ALTO), "--settings", str(settings)])
    assert result.exit_code == 1
    assert (
        f"{settings}:3:24: bad-setting: setting 'property_categories': 'Residental' is not "
        "allowed" in result.stderr
    )
    assert "did you mean 'Residential'?" in result.stderr
