"""Scenario `expect:` blocks: the shipped scenarios say what their summaries say, and a
broken expectation fails with a plain message (design 17 section 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from engine import load_ruleset
from engine.errors import RulesetErrors
from simulator.lifecycle import (
    Expect,
    check,
    exercised,
    lifecycle_items,
    load_scenario,
    play,
    play_checked,
)
from simulator.lifecycle.expect import same
from tests.rulesets.lifecycle import RULESET, RULESET_PATH, SCENARIOS

SHIPPED = sorted(path.stem for path in SCENARIOS.glob("*.yaml"))


def _checked(name: str, ruleset: Any = RULESET) -> list[Any]:
    return play_checked(ruleset, load_scenario(SCENARIOS / f"{name}.yaml", ruleset))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_meets_its_expectations(name: str) -> None:
    steps = _checked(name)
    assert [str(m) for step in steps for m in step.mismatches] == []
    assert steps[-1].step.expect is not None, "the last step says where the scenario ends"
    assert all(step.met == step.step.expect.keys for step in steps if step.step.expect)


def test_schema_accepts_every_shipped_scenario() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(
        (RULESET_PATH.parents[2] / "engine/schema/scenario.schema.json").read_text()
    )
    validator = jsonschema.Draft202012Validator(schema)
    for name in SHIPPED:
        data = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text("utf-8"))
        assert [error.message for error in validator.iter_errors(data)] == [], name
    bad = {"scenario": "x", "steps": [{"event": "close", "expect": {"charge": []}}]}
    assert list(validator.iter_errors(bad))


def _edited(tmp_path: Path, rule_id: str, when: dict[str, Any] | None) -> Any:
    """A copy of the shipped ruleset with the charge requirement `rule_id` given the
    condition `when` (None: removed)."""
    data = yaml.safe_load(RULESET_PATH.read_text("utf-8"))
    policy = data["charges"]["maintenance"]
    policy["require"] = [
        rule if rule["id"] != rule_id else {**rule, "when": when}
        for rule in policy["require"]
        if rule["id"] != rule_id or when is not None
    ]
    copy = tmp_path / "v2.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    return load_ruleset(copy)


def test_a_zero_invoice_charge_breaks_the_expectation_plainly(tmp_path: Path) -> None:
    """CH-05 made to let zero through: the zero-invoice close posts a charge, and says so."""
    lets_zero = {"field": "Job.PriceAgencyPayableGross", "ge": 0}
    steps = _checked("zero-invoice", _edited(tmp_path, "CH-05", lets_zero))
    close = steps[-1]
    messages = [str(mismatch) for mismatch in close.mismatches]
    assert messages == [
        "charges: expected none, got 1: property P1 Maintenance 0.00",
        "warnings: expected CH-05, got none",
    ]
    assert {mismatch.line for mismatch in close.mismatches} == {
        close.step.expect.lines["charges"],
        close.step.expect.lines["warnings"],
    }
    assert close.met == ("status", "works_order")


def test_an_expectation_naming_a_removed_rule_is_a_located_error(tmp_path: Path) -> None:
    """CH-05 removed from the ruleset: the scenario naming it no longer loads, and says where."""
    with pytest.raises(RulesetErrors) as caught:
        _checked("zero-invoice", _edited(tmp_path, "CH-05", None))
    (error,) = caught.value.errors
    assert (error.line, error.code) == (15, "unknown-warning")
    assert "no warning 'CH-05'" in error.message


def _expect(**given: Any) -> Expect:
    return Expect(line=1, lines=dict.fromkeys(given, 1), **given)


def test_works_order_fields_compare_as_a_subset_with_numbers_by_value() -> None:
    close = play(RULESET, load_scenario(SCENARIOS / "documented-path.yaml", RULESET))[-1]
    met = _expect(
        works_order={
            "status": "CompleteInvoicingReceived",
            "reporterDetails.type": "Tenant",
            "id": "*",
        }
    )
    assert check(close, met) == []
    wrong = _expect(works_order={"reporterDetails": {"type": "Agency"}, "status": "Cancelled"})
    assert [str(m) for m in check(close, wrong)] == [
        "works_order.reporterDetails.type: expected Agency, got Tenant",
        "works_order.status: expected Cancelled, got CompleteInvoicingReceived",
    ]
    assert [str(m) for m in check(close, _expect(works_order=None))] == [
        "works_order: expected none, got works order WO-1 at CompleteInvoicingReceived"
    ]


def test_charges_are_matched_exactly_each_as_a_subset() -> None:
    close = play(RULESET, load_scenario(SCENARIOS / "documented-path.yaml", RULESET))[-1]
    assert (
        check(close, _expect(charges=({"totalNet": 100, "totalVat": 20.0, "workOrderId": "*"},)))
        == []
    )
    (net,) = check(close, _expect(charges=({"totalNet": 90},)))
    assert str(net) == (
        "charges: expected {totalNet: 90}, got 1: property P1 Maintenance 120.00 "
        "(totalNet 100.0, not 90)"
    )
    two = check(
        close, _expect(charges=({"chargeType": "Maintenance"}, {"chargeType": "Maintenance"}))
    )
    assert [m.what for m in two] == ["charges"]
    assert check(close, _expect(charges=({"supplierId": "*", "quote": "*"},)))  # no such value


def test_documents_warnings_fired_and_operations() -> None:
    close = play(RULESET, load_scenario(SCENARIOS / "zero-invoice.yaml", RULESET))[-1]
    names = ("gas-safety-record-I1.pdf", "issue-I1.pdf", "gas-safety-certificate.pdf")
    assert check(close, _expect(documents=names)) == []
    (missing,) = check(close, _expect(documents=("issue-I1.pdf",)))
    assert "not expected gas-safety-certificate.pdf, gas-safety-record-I1.pdf" in str(missing)
    assert check(close, _expect(warnings=("CH-05",), fired=("W-09", "CH-05"))) == []
    assert [str(m) for m in check(close, _expect(warnings=()))] == [
        "warnings: expected none, got CH-05"
    ]
    operations = (("update", "works_order"), ("attach", "document"))
    assert check(close, _expect(operations=operations)) == []
    assert [m.what for m in check(close, _expect(operations=()))] == ["operations"]


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**52), 2**52),
        st.floats(allow_nan=False),
        st.text(max_size=5),
        st.lists(st.integers(), max_size=3),
    )
)
def test_same_is_reflexive_and_numbers_match_across_int_and_float(value: Any) -> None:
    assert same(value, value)
    if isinstance(value, int) and not isinstance(value, bool):
        assert same(value, float(value))
        assert same(float(value), value)
    if value in (None, "", []):
        assert not same("*", value)
    if isinstance(value, bool):
        assert not same(value, int(value))


TENANT_PAYS = [
    report
    for report in play(RULESET, load_scenario(SCENARIOS / "tenant-pays.yaml", RULESET))
    if report.works_order
]


@given(st.data())
def test_an_expectation_taken_from_the_report_is_met_and_a_changed_one_is_not(
    data: st.DataObject,
) -> None:
    report = data.draw(st.sampled_from(TENANT_PAYS))
    order = report.works_order
    assert order is not None
    names = data.draw(st.lists(st.sampled_from(sorted(order)), min_size=1, unique=True))
    assert check(report, _expect(works_order={name: order[name] for name in names})) == []
    changed = names[0]
    wrong = {name: order[name] for name in names} | {changed: ["not", "this"]}
    assert [m.what for m in check(report, _expect(works_order=wrong))] == [f"works_order.{changed}"]


def test_bad_expectations_are_located_all_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "scenario: bad\n"
        "steps:\n"
        "  - {event: report, expect: {stauts: Reported}}\n"
        "  - event: instruct\n"
        "    expect:\n"
        "      works_order: {status: Instructed, suplierContactId: S1}\n"
        "      charges: [{post: landlord, totalNett: 1}]\n"
        "      warnings: [CH-55]\n"
        "      operations: [{op: delete, kind: charge}]\n",
        "utf-8",
    )
    with pytest.raises(RulesetErrors) as caught:
        load_scenario(path, RULESET)
    found = [(e.line, e.code, e.message) for e in caught.value.errors]
    assert found == [
        (3, "unknown-key", "unknown key 'stauts' (did you mean 'status'?)"),
        (
            6,
            "unknown-works-order-status",
            "no works-order status 'Instructed' (did you mean 'SupplierInstructed'?)",
        ),
        (
            6,
            "unknown-field",
            "no works-order field 'suplierContactId' (did you mean 'supplierContactId'?)",
        ),
        (7, "bad-value", "'post' is property or tenancy"),
        (7, "unknown-field", "no charge field 'totalNett' (did you mean 'totalNet'?)"),
        (8, "unknown-warning", "no warning 'CH-55' (did you mean 'CH-05'?)"),
        (9, "unknown-op", "no op 'delete'; one of attach, create, post, update"),
    ]


def test_exercised_names_events_transitions_statuses_and_attachments() -> None:
    steps = _checked("documented-path")
    assert {"event:report", "transition:(new) --report--> Reported", "status:W-01"} <= steps[
        0
    ].exercised
    assert "transition:QuotesReviewed --instruct--> JobAwarded" in steps[4].exercised
    assert {"attachment:W-09.report", "attachment:W-09.certificates", "status:W-09"} <= steps[
        -1
    ].exercised
    assert "charge:CH-02.landlord" in steps[-1].exercised  # the expected charge went by it
    cancelled = _checked("cancelled-after-award")[-1].exercised
    assert "status:W-09.cancelled" in cancelled
    assert "status:W-09" not in cancelled


def test_a_charge_requirement_counts_only_when_the_step_expects_charges() -> None:
    """CH-05 blocked the zero-invoice charge: covered with `charges:` expected, not without."""
    step = _checked("zero-invoice")[-1]
    assert "charge:CH-05" in step.exercised
    bare = exercised(RULESET, "JobCompleted", step.step, step.report, None)
    assert "charge:CH-05" not in bare
    assert "status:W-09" in bare
    landlord = _checked("landlord-instructed")
    assert "rule:W-05.landlord" in landlord[1].exercised  # supplierContactId asserted
    assert "charge:CH-04.contractor" in landlord[-1].exercised
    assert "warning:W-06" in _checked("agency-invoice-recipient")[1].exercised


def test_lifecycle_items_are_the_rulesets_with_their_lines() -> None:
    items = lifecycle_items(RULESET)
    lines = RULESET_PATH.read_text("utf-8").splitlines()
    assert len(items["transition"]) == 19
    assert set(items["status"]) == {
        "W-01",
        "W-02",
        "W-02.returned",
        "W-02.reviewed",
        "W-03",
        "W-07",
        "W-08",
        "W-09",
        "W-09.cancelled",
    }
    assert set(items["charge"]) == {
        "CH-04.contractor",
        "CH-04",
        "CH-05",
        "W-06.charge",
        "CH-02.tenant",
        "CH-02.landlord",
    }
    for kind in ("charge", "warning", "attachment", "rule", "status"):
        for item, line in items[kind].items():
            assert f"id: {item}" in lines[line - 1], (kind, item, line)
    for name, line in items["event"].items():
        assert lines[line - 1].strip() == f"{name}:"
    for status_id, line in items["status"].items():
        assert f"id: {status_id}" in lines[line - 1]


def test_every_id_a_shipped_scenario_exercises_is_a_declared_item() -> None:
    declared = {f"{kind}:{item}" for kind, ids in lifecycle_items(RULESET).items() for item in ids}
    seen = {item for name in SHIPPED for step in _checked(name) for item in step.exercised}
    assert seen <= declared
    assert len(seen) > 40
