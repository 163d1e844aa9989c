"""Ruleset tests as data (`simulator.testing`): loading with located errors, the decision,
plan and migration runners, failure texts, coverage and JUnit."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from engine import RulesetErrors, load_ruleset
from simulator.testing import load_tests, run_tests, write_junit
from simulator.testing.coverage import Coverage

ROOT = Path(__file__).resolve().parents[2]
ALTO = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"
JUPIX = ROOT / "rulesets" / "jupix-alto" / "v1.yaml"
DEFAULT = load_ruleset(ALTO)
PROPERTY = {
    "inventoryId": "100001",
    "recordType": "Rent",
    "managementType": "Managed",
    "maintenanceType": "MaintainedByUs",
    "categoryType": "Residential",
    "status": "Let",
    "address": {"nameNo": "10", "street": "High Street", "postcode": "LS6 1AA"},
}


def write(tmp_path: Path, body: str, ruleset: Path = ALTO, name: str = "t.yaml") -> Path:
    path = tmp_path / name
    path.write_text(f"tests_for: {ruleset}\n" + textwrap.dedent(body), "utf-8")
    return path


def flow(record: dict[str, Any]) -> str:
    return yaml.safe_dump(record, default_flow_style=True, width=10_000).strip()


def messages(path: Path) -> list[str]:
    with pytest.raises(RulesetErrors) as caught:
        load_tests(path)
    return [str(error) for error in caught.value.errors]


def test_a_decision_case_that_holds_passes_and_covers_its_rule(tmp_path: Path) -> None:
    """P-01: a sale is skipped by P-01, so the case passes and P-01 is covered."""
    path = write(
        tmp_path,
        """
        cases:
          - name: a sale is not synced
            requirements: [P-01]
            entity: property
            record: {inventoryId: "1", recordType: Sale}
            expect: {skipped_by: P-01}
        """,
    )
    run = run_tests([path])
    assert run.passed
    assert run.results[0].covered == {"rule:P-01"}
    rules = run.coverage[0].kinds()[0]
    assert rules.kind == "rule"
    assert rules.covered == 1
    assert ("P-01", 439) not in rules.uncovered
    assert any(i == "P-02" for i, _ in rules.uncovered)


def test_a_wrong_expectation_fails_at_its_line_with_the_explanation(tmp_path: Path) -> None:
    """P-02: the failure names the file and line, what was expected, what the ruleset did,
    and why (because lines, also in words)."""
    record = flow({**PROPERTY, "managementType": "LetOnly"})
    path = write(
        tmp_path,
        f"""
        cases:
          - name: a let-only property
            entity: property
            record: {record}
            expect:
              skipped_by: P-03
        """,
    )
    run = run_tests([path])
    result = run.results[0]
    assert not run.passed
    assert not result.covered
    assert result.messages() == [
        f"{path}:8: case a let-only property: expected skipped_by 'P-03', got skipped by P-02"
    ]
    assert (
        "because P-02: managementType = 'LetOnly', not in [Managed, FullyManaged, PartManaged]"
        in (result.explanation)
    )
    assert any("in words: management type is LetOnly" in line for line in result.explanation)


def test_fields_are_a_subset_and_each_wrong_one_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"""
        cases:
          - name: a managed property maps
            entity: property
            record: {flow(PROPERTY)}
            expect:
              included: true
              fields:
                ExternalPropertyRef: "100001"
                Address: {{PostCode: LS6 9ZZ, Country: GB}}
        """,
    )
    result = run_tests([path]).results[0]
    assert [f.message() for f in result.failures] == [
        f"{path}:11: case a managed property maps: expected field Address.PostCode "
        "'LS6 9ZZ', got 'LS6 1AA'"
    ]


def test_archive_rules_are_exact_and_branches_are_checked(tmp_path: Path) -> None:
    """T-04: an inactive occupier is archived by T-04 (and T-05: its tenancy is gone)."""
    path = write(
        tmp_path,
        """
        cases:
          - name: an inactive occupier is archived
            entity: occupier
            record: {id: C1, isActive: false, contactType: {persona: [Tenant]}}
            expect: {archived_by: [T-04, T-05]}
          - name: only T-04 is wrong
            entity: occupier
            record: {id: C1, isActive: false, contactType: {persona: [Tenant]}}
            expect: {archived_by: T-04}
        """,
    )
    run = run_tests([path])
    good, bad = run.results
    assert good.passed
    assert good.covered == {"rule:T-04", "rule:T-05"}
    assert bad.failures[0].actual == "T-04, T-05"


def test_a_plan_case_finds_operations_skips_and_warnings(tmp_path: Path) -> None:
    """G-07: the preflight warns; P-01 skips the sale; the let property is created."""
    records = {
        "alto.inventory": [PROPERTY, {"inventoryId": "2", "recordType": "Sale"}],
        "fixflo.agency_settings": [{"AgencyName": "A", "WorkflowType": "Basic"}],
    }
    path = write(
        tmp_path,
        f"""
        cases:
          - name: one created, one skipped
            records: {flow(records)}
            expect:
              operations:
                - {{op: create, entity: property, key: "100001",
                   fields: {{Address.PostCode: LS6 1AA}}}}
              skips: [{{entity: property, key: "2", rule: P-01}}]
              warnings: [G-07.workflow]
          - name: a create that is not planned
            records: {flow(records)}
            expect:
              operations:
                - {{op: update, entity: property, key: "100001"}}
        """,
    )
    good, bad = run_tests([path]).results
    assert good.passed, good.messages()
    assert good.covered == {"rule:P-01", "rule:G-07.workflow"}
    assert bad.messages()[0].startswith(f"{path}:16: case a create that is not planned: expected")
    assert "got create property 100001" in bad.messages()[0]
    assert "planned: skip property 2 by P-01" in bad.explanation


def test_an_empty_list_expects_none_at_all(tmp_path: Path) -> None:
    """G-07: ``warnings: []`` fails while the preflight warns, naming what it warned of;
    ``skips: []`` fails on the sale P-01 skips; both pass once nothing is there."""
    records = {
        "alto.inventory": [PROPERTY, {"inventoryId": "2", "recordType": "Sale"}],
        "fixflo.agency_settings": [{"AgencyName": "A", "WorkflowType": "Basic"}],
    }
    full = [{"AgencyName": "A", "WorkflowType": "Full"}]
    quiet = {"alto.inventory": [PROPERTY], "fixflo.agency_settings": full}
    confirmed = (
        "{fixflo_uploaded_properties_only: true, fixflo_contractor_costs_provided: true, "
        "fixflo_invoice_document_asked: true}"
    )
    path = write(
        tmp_path,
        f"""
        cases:
          - name: warned and skipped
            records: {flow(records)}
            expect: {{warnings: [], skips: []}}
          - name: nothing to say
            settings: {confirmed}
            records: {flow(quiet)}
            expect: {{warnings: [], skips: []}}
        """,
    )
    noisy, clean = run_tests([path]).results
    assert clean.passed, clean.messages()
    failures = noisy.messages()
    assert any("expected skips none, got skip property 2 by P-01" in text for text in failures)
    assert any(
        "expected warnings none, got" in text and "G-07.workflow" in text for text in failures
    )


def test_a_migration_case_checks_written_records_and_branches(tmp_path: Path) -> None:
    """J-11: an estate agent who owns a property migrates as a Client."""
    records = {
        "jupix.contacts": [{"contactID": "C1", "roles": ["estate agent"], "surname": "Lee"}],
        "jupix.properties": [{"propertyID": "P1", "ownerContactIDs": ["C1"]}],
    }
    path = write(
        tmp_path,
        f"""
        as_of: 2025-06-02
        cases:
          - name: an owning agent is a client
            records: {flow(records)}
            expect:
              written: {{alto.contacts: [{{id: C1, contactType: Client}}]}}
              not_written: {{alto.contacts: [C2]}}
              outcomes: [{{source: jupix.contacts, record: C1, outcome: migrated}}]
          - name: the wrong type
            records: {flow(records)}
            expect:
              written: {{alto.contacts: [{{id: C1, contactType: Applicant}}]}}
        """,
        ruleset=JUPIX,
    )
    good, bad = run_tests([path]).results
    assert good.passed, good.messages()
    assert "rule:J-11" in good.covered
    assert (
        "expected alto.contacts record {'id': 'C1', 'contactType': 'Applicant'}"
        in (bad.messages()[0])
    )


def test_every_problem_of_a_file_is_located_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        settings: {paying_part: Tenant}
        cases:
          - name: one
            entity: propety
            record: {inventoryId: "1"}
            expect: {skiped_by: P-01}
          - name: two
            entity: property
            record: {inventoryId: "1", adress: {postcode: X}}
            related: {alto.tenancy: []}
            expect: {skipped_by: P-99, operations: []}
          - name: two
            records: {fixflo.property: []}
            expect: {skips: [{entity: property, rule: P-0l}]}
        """,
    )
    found = messages(path)
    expected = [
        "3:12: unknown-setting: ruleset alto-fixflo declares no setting 'paying_part' "
        "(did you mean 'paying_party'?)",
        "6:13: unknown-entity: ruleset alto-fixflo has no entity 'propety' (did you mean "
        "'property'?)",
        "8:14: unknown-key: unknown key 'skiped_by' (did you mean 'skipped_by'?)",
        "11:33: unknown-field: alto.inventory declares no field 'adress.postcode' (did you "
        "mean 'address.postcode'?)",
        "12:15: unknown-source: ruleset alto-fixflo has no source 'alto.tenancy' (did you "
        "mean 'alto.tenancies'?)",
        "13:26: unknown-rule: entity property has no include rule 'P-99'",
        "13:33: wrong-expectation: 'operations' is no decision expectation",
        "14:11: duplicate-case: another case is named 'two' (line 9)",
        "15:15: unknown-source: ruleset alto-fixflo has no source or target 'fixflo.property'",
        "16:47: unknown-rule: ruleset alto-fixflo has no rule or policy 'P-0l'",
    ]
    assert len(found) == len(expected), found
    for message, wanted in zip(found, expected, strict=True):
        assert message.startswith(f"{path}:{wanted.split(':')[0]}:"), (message, wanted)
        assert wanted.split(": ", 1)[1] in message.split(": ", 1)[1], (message, wanted)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("cases: [\n", "yaml-syntax"),
        ("cases: []\n", "invalid-value"),
        ("summary: no cases\n", "missing-key"),
        ("cases: [{name: x, steps: []}]\n", "invalid-value"),
    ],
)
def test_a_broken_file_is_an_error_never_a_traceback(tmp_path: Path, text: str, code: str) -> None:
    path = write(tmp_path, text)
    assert any(f": {code}: " in message for message in messages(path))


def test_tests_for_a_missing_ruleset_says_what_is_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "v2.yaml").write_text("x: 1\n", "utf-8")
    path = tmp_path / "t.yaml"
    path.write_text("tests_for: v3.yaml\ncases: [{name: a, entity: e, record: {}}]\n", "utf-8")
    assert messages(path) == [
        f"{path}:1:12: unknown-ruleset: no ruleset file 'v3.yaml' next to this file "
        f"(looked for {tmp_path / 'v3.yaml'}) (did you mean 'v2.yaml'?)"
    ]


def test_a_case_that_cannot_run_is_an_error_result(tmp_path: Path) -> None:
    """A migration without a date cannot run: a clear error, not an exception."""
    path = write(
        tmp_path,
        """
        cases:
          - name: no date
            records: {jupix.contacts: [{contactID: C1}]}
            expect: {outcomes: [{record: C1}]}
        """,
        ruleset=JUPIX,
    )
    result = run_tests([path]).results[0]
    assert not result.passed
    assert result.messages() == [
        f"{path}:4: case no date: error: a migration case needs 'as_of:' (here or in the file)"
    ]


def test_settings_of_the_file_and_the_case_are_applied(tmp_path: Path) -> None:
    """P-05: Commercial properties sync only when the agency chooses them."""
    record = flow({**PROPERTY, "categoryType": "Commercial"})
    path = write(
        tmp_path,
        f"""
        settings: {{property_categories: [Commercial]}}
        cases:
          - name: commercial syncs when chosen
            entity: property
            record: {record}
            expect: {{included: true}}
          - name: not when residential only
            settings: {{property_categories: [Residential]}}
            entity: property
            record: {record}
            expect: {{skipped_by: P-05}}
        """,
    )
    run = run_tests([path])
    assert run.passed, [r.messages() for r in run.results]


def test_the_ruleset_override_runs_the_same_cases_against_a_copy(tmp_path: Path) -> None:
    """P-01 removed from a copy: the case that expects P-01 fails and names it."""
    data = yaml.safe_load(ALTO.read_text("utf-8"))
    include = data["entities"]["property"]["include"]
    data["entities"]["property"]["include"] = [r for r in include if r["id"] != "P-01"]
    copy = tmp_path / "copy.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    path = write(
        tmp_path,
        """
        cases:
          - name: a sale is not synced
            entity: property
            record: {inventoryId: "1", recordType: Sale}
            expect: {skipped_by: P-01}
        """,
    )
    assert run_tests([path]).passed
    run = run_tests([path], ruleset=copy)
    assert not run.errors, run.errors
    assert not run.passed
    assert "expected skipped_by 'P-01', got skipped by P-02" in run.results[0].messages()[0]


def test_junit_is_valid_xml_with_one_testcase_per_case(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        cases:
          - name: passes
            requirements: [P-01]
            entity: property
            record: {inventoryId: "1", recordType: Sale}
            expect: {skipped_by: P-01}
          - name: fails <&> "quoted"
            entity: property
            record: {inventoryId: "1", recordType: Sale}
            expect: {included: true}
        """,
    )
    broken = tmp_path / "sub" / "broken.yaml"
    broken.parent.mkdir()
    broken.write_text(
        f"tests_for: {ALTO}\n"
        "cases: [{name: x, entity: nope, record: {}, expect: {included: true}}]\n"
    )
    out = write_junit(run_tests([tmp_path]), tmp_path / "out" / "junit.xml")
    root = ET.parse(out).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "1", "1")
    cases = root.findall("./testsuite/testcase")
    assert [case.get("name") for case in cases] == ["passes", 'fails <&> "quoted"', "load"]
    assert cases[0].find("properties/property").get("value") == "P-01"  # type: ignore[union-attr]
    failure = cases[1].find("failure")
    assert failure is not None
    assert "expected included True, got skipped by P-01" in (failure.get("message") or "")
    assert "because P-01" in (failure.text or "")
    assert cases[0].get("classname") == str(path)
    seconds = [float(case.get("time") or "nan") for case in cases]
    assert all(0 <= second < 60 for second in seconds)  # each case timed, in seconds
    assert "unknown-entity" in (cases[2].find("error").get("message") or "")  # type: ignore[union-attr]


def test_coverage_lists_each_item_with_its_ruleset_line() -> None:
    ruleset = load_ruleset(JUPIX)
    coverage = Coverage.of(ruleset, {"rule:J-05", "rule:nonsense"})
    rules = coverage.kinds()[0]
    assert len(coverage.covered) == 1
    assert rules.total == coverage.total
    lines = dict(rules.uncovered)
    text = JUPIX.read_text("utf-8").splitlines()
    for item in ("J-02", "J-11", "J-01", "J-17.archived-media"):
        assert item in text[lines[item] - 1], item


@given(
    record_type=st.sampled_from(["Rent", "Sale", None]),
    management=st.sampled_from(["Managed", "LetOnly", "PartManaged"]),
    category=st.sampled_from(["Residential", "Commercial"]),
    expected=st.sampled_from([None, "P-01", "P-02", "P-03", "P-05", "P-06"]),
)
def test_a_case_passes_exactly_when_its_expectation_is_the_decision(
    tmp_path_factory: pytest.TempPathFactory,
    record_type: str | None,
    management: str,
    category: str,
    expected: str | None,
) -> None:
    record = {**PROPERTY, "managementType": management, "categoryType": category}
    if record_type is not None:
        record["recordType"] = record_type
    else:
        del record["recordType"]
    decision = DEFAULT.evaluate("property", record)
    actual = None if decision.included else decision.deciding_rules[0]
    expect = "{included: true}" if expected is None else f"{{skipped_by: {expected}}}"
    path = write(
        tmp_path_factory.mktemp("h"),
        f"""
        cases:
          - name: random
            entity: property
            record: {flow(record)}
            expect: {expect}
        """,
    )
    assert run_tests([path]).passed == (expected == actual)


def test_a_lifecycle_case_checks_each_steps_expectations(tmp_path: Path) -> None:
    """CH-02: with paying_party Tenant the charge goes to the tenancy, not the property."""
    path = write(
        tmp_path,
        """
        cases:
          - name: the tenant pays
            settings: {paying_party: Tenant}
            steps:
              - {event: report}
              - {event: instruct, expect: {works_order: {status: SupplierInstructed}}}
              - {event: complete_job}
              - {event: close, expect: {charges: [{post: tenancy, totalNet: 100}]}}
              - {event: report, issue: I2}
              - {event: request_quotes, issue: I2}
          - name: the property pays
            settings: {paying_party: Tenant}
            steps:
              - {event: report}
              - {event: instruct}
              - {event: complete_job}
              - {event: close, expect: {charges: [{post: property}]}}
        """,
    )
    good, bad = run_tests([path]).results
    assert good.passed, good.messages()
    assert {"charge:CH-02.tenant", "status:W-09", "transition:(new) --report--> Reported"} <= (
        good.covered
    )
    assert "event:request_quotes" not in good.covered  # after the last expect: block
    assert bad.messages() == [
        f"{path}:19: case the property pays: expected step 4 (close) charges "
        "{post: property}, got 1: tenancy TY1 Maintenance 120.00 (post tenancy, not property)"
    ]
    assert any(line.startswith("step 4: close on I1: fixflo Closed") for line in bad.explanation)


def test_a_scenario_file_case_fails_at_the_scenario_line(tmp_path: Path) -> None:
    scenario = tmp_path / "scenarios" / "zero.yaml"
    scenario.parent.mkdir()
    scenario.write_text(
        "scenario: zero\nsteps:\n  - {event: report}\n"
        "  - {event: instruct, expect: {status: Closed}}\n",
        "utf-8",
    )
    path = write(
        tmp_path,
        """
        cases:
          - name: from a file
            scenario: scenarios/zero.yaml
          - name: missing
            scenario: scenarios/zer.yaml
        """,
    )
    assert messages(path) == [
        f"{path}:7:15: unknown-scenario: no scenario file 'scenarios/zer.yaml' (looked for "
        f"{tmp_path / 'scenarios' / 'zer.yaml'}) (did you mean 'zero.yaml'?)"
    ]
    path.write_text(path.read_text("utf-8").split("  - name: missing")[0], "utf-8")
    result = run_tests([path]).results[0]
    assert result.messages() == [
        f"{scenario}:4: case from a file: expected step 2 (instruct) status Closed, got JobAwarded"
    ]


def test_bad_steps_are_located_in_the_test_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        cases:
          - name: bad
            steps:
              - {event: reprt, expect: {status: Reportd, works_ordr: none}}
        """,
    )
    found = [message.split(": ", 2)[:2] for message in messages(path)]
    assert found == [
        [f"{path}:6:17", "unknown-event"],
        [f"{path}:6:41", "unknown-status"],
        [f"{path}:6:50", "unknown-key"],
    ]
