"""Load-time checks of the `lifecycle:` and `charges:` sections, each error located."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine import RulesetErrors, load_ruleset

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "rulesets" / "alto-fixflo" / "v2.yaml").read_text("utf-8")


def errors_of(tmp_path: Path, old: str, new: str) -> list[str]:
    assert old in TEXT, old
    path = tmp_path / "v2.yaml"
    path.write_text(TEXT.replace(old, new, 1), "utf-8")
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(path)
    return [str(error) for error in caught.value.errors]


def test_the_shipped_lifecycle_compiles() -> None:
    ruleset = load_ruleset(ROOT / "rulesets" / "alto-fixflo" / "v2.yaml")
    assert ruleset.lifecycle is not None
    assert ruleset.lifecycle.start == "Reported"
    assert list(ruleset.lifecycle.charges) == ["maintenance"]


def test_a_misspelt_status_in_an_event_says_did_you_mean(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "from: [JobAwarded]\n", "from: [JobAwardd]\n")
    (error,) = [e for e in errors if "unknown-status" in e]
    assert "no status 'JobAwardd' (did you mean 'JobAwarded'?)" in error
    assert error.startswith(f"{tmp_path / 'v2.yaml'}:")
    assert any("unreachable-status" in e for e in errors)  # the status it led to is cut off


def test_an_unreachable_status_is_reported_at_its_key(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "      to: AwaitingJobCompletion\n", "      to: JobAwarded\n")
    assert any("unreachable-status" in e and "'AwaitingJobCompletion'" in e for e in errors)


def test_a_dead_end_status_is_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "      from: [JobCompleted]\n      to: Closed\n",
        "      from: [Closed]\n      to: Closed\n",
    )
    assert any(
        ("dead-end-status" in e and "'JobCompleted'" not in e) or "dead-end" in e for e in errors
    )
    assert any("dead-end-status: status 'JobCompleted' is not final" in e for e in errors)


def test_an_event_with_no_effect_is_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path, "      when: {setting: fixflo_feedback_on, eq: true}\n      sets: []\n", ""
    )
    assert any("event-without-effect: event 'give_feedback'" in e for e in errors)


def test_an_unknown_works_order_status_says_did_you_mean(tmp_path: Path) -> None:
    (error,) = errors_of(
        tmp_path, "works_order: CompleteAwaitingInvoice\n", "works_order: CompleteAwaitingInvoise\n"
    )
    assert "unknown-works-order-status" in error
    assert "(did you mean 'CompleteAwaitingInvoice'?)" in error


def test_unknown_attachment_and_charge_are_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "attach: [issue_report, completion_documents, certificates]\n      charge: maintenance\n",
        "attach: [issue_reprot, completion_documents, certificates]\n      charge: maintenence\n",
    )
    assert any("unknown-attachment" in e and "(did you mean 'issue_report'?)" in e for e in errors)
    assert any("unknown-charge" in e and "(did you mean 'maintenance'?)" in e for e in errors)


def test_an_unknown_field_in_a_guard_or_sets_is_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "sets: [CloseReason]\n    close_without_job",
        "sets: [CloseReasn]\n    close_without_job",
    )
    assert any("CloseReasn" in e and "did you mean 'CloseReason'?" in e for e in errors)


def test_a_lifecycle_rule_id_already_used_is_reported(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "- {id: CH-05, summary", "- {id: CH-04, summary")
    assert any("duplicate-rule-id: rule id 'CH-04' is already used" in e for e in errors)


def test_an_unknown_key_in_a_status_is_a_schema_error(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "      set: {notes: {first_of: [CompletionDetails.FeedbackToAgent, Job.JobberNotes]}}\n"
        "    Closed:",
        "      sett: {notes: {first_of: [CompletionDetails.FeedbackToAgent, Job.JobberNotes]}}\n"
        "    Closed:",
    )
    assert any("sett" in e for e in errors)


def test_charges_need_a_lifecycle(tmp_path: Path) -> None:
    start = TEXT.index("\nlifecycle:\n")
    end = TEXT.index("\ncharges:\n")
    path = tmp_path / "v2.yaml"
    path.write_text(TEXT[:start] + TEXT[end:], "utf-8")
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(path)
    assert any("missing-lifecycle" in str(e) for e in caught.value.errors)


def test_an_event_taking_the_works_order_back_is_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "      from: [JobAwarded]\n      to: AwaitingJobCompletion\n",
        "      from: [JobAwarded, JobCompleted]\n      to: AwaitingJobCompletion\n",
    )
    (error,) = errors
    assert "works-order-backwards: event 'set_appointment' leads from 'JobCompleted'" in error


def test_an_event_dropping_the_works_order_is_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "      from: [Reported, QuotesRequested, QuotesAwaitingReview, QuotesReviewed]\n"
        "      to: Closed\n",
        "      from: [Reported, JobAwarded]\n      to: QuotesRequested\n",
    )
    assert any("works-order-backwards: event 'close_without_job'" in e for e in errors)


# Issue 14's language: parts, within, setting in, cases, quiet, identity, routes ----------


def test_an_unknown_part_as_an_attachment_source_says_did_you_mean(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "      from: CompletionDocs\n", "      from: CompletionDoc\n")
    assert any(
        "unknown-document-source: no document source 'CompletionDoc' "
        "(did you mean 'CompletionDocs'?)" in e
        for e in errors
    )


def test_an_invoice_document_from_must_be_a_part(tmp_path: Path) -> None:
    old = (
        "    invoice_document:          # CH-03: the invoice document sent with the charge\n"
        "      from: CompletionDocs\n"
    )
    errors = errors_of(tmp_path, old, old.replace("from: CompletionDocs", "from: IssueReport"))
    assert any("unknown-part: no part 'IssueReport'" in e for e in errors)


def test_a_misspelt_within_list_says_did_you_mean(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "when: {within: CompletionDocs,", "when: {within: CompletionDoc,")
    (error,) = [e for e in errors if "CompletionDoc'" in e]
    assert "unknown-field" in error
    assert "did you mean 'CompletionDocs" in error
    assert f"{tmp_path / 'v2.yaml'}:" in error


def test_within_a_field_that_is_no_list_is_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path, "when: {within: CompletionDocs,", "when: {within: CompletionDetails,"
    )
    assert any("not-a-list" in e and "'CompletionDetails' is not a list" in e for e in errors)


def test_an_item_field_within_a_list_is_checked_against_the_items(tmp_path: Path) -> None:
    old = "any: {field: MediaTypeDescription,"
    errors = errors_of(tmp_path, old, old.replace("MediaTypeDescription", "MediaTypeDesc"))
    assert any("unknown-field" in e and "did you mean 'MediaTypeDescription'" in e for e in errors)


def test_a_setting_condition_takes_eq_or_in_and_a_known_setting(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "when: {setting: invoice_recipient, in: [Agency, Other]}",
        "when: {setting: invoice_recipiant, in: [Agency, Other]}",
    )
    assert any("unknown-setting" in e and "did you mean 'invoice_recipient'" in e for e in errors)


def test_a_route_without_post_is_a_schema_error(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "        post: property\n", "")
    assert any("post" in e for e in errors)


def test_a_tenancy_route_needs_its_tenant(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "        tenant: FixfloTenant.ExternalRef", "        # no tenant")
    assert any("missing-key" in e and "needs 'tenant:'" in e for e in errors)


def test_a_route_after_one_that_always_holds_is_reported(tmp_path: Path) -> None:
    old = "      - id: CH-02.tenant\n"
    new = "      - {id: CH-02.always, post: property}\n" + old
    errors = errors_of(tmp_path, old, new)
    assert any("unreachable-route: route 'CH-02.tenant' is never tried" in e for e in errors)


def test_an_identity_naming_no_works_order_field_says_did_you_mean(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "identity: [propertyId, reportedDate, summary]",
        "identity: [propertyId, reportDate, summary]",
    )
    assert any(
        "no works order map field 'reportDate' (did you mean 'reportedDate'?)" in e for e in errors
    )


def test_a_charge_property_must_be_a_works_order_map_field(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "    property: propertyId", "    property: propertyID")
    assert any("no works order map field 'propertyID'" in e for e in errors)


def test_the_link_field_cannot_also_be_mapped(tmp_path: Path) -> None:
    old = "      chargeType: {const: Maintenance}"
    errors = errors_of(tmp_path, old, old + "\n      workOrderId: Job.id")
    assert any("link-mapped" in e for e in errors)


def test_a_case_naming_an_unknown_works_order_status_is_reported(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "works_order: Cancelled\n", "works_order: Canceled\n")
    assert any("no works order status 'Canceled' (did you mean 'Cancelled'?)" in e for e in errors)


def test_a_case_with_a_duplicate_id_is_reported(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "- id: W-09.cancelled", "- id: W-09.report")
    assert any("duplicate-rule-id: rule id 'W-09.report'" in e for e in errors)


def test_a_part_naming_an_unknown_gap_says_did_you_mean(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "gap: gap.issue-tenant}", "gap: gap.issue-tenants}")
    assert any("unknown-gap: no gap 'gap.issue-tenants'" in e for e in errors)


def test_a_quiet_flag_on_a_warning_is_a_schema_error(tmp_path: Path) -> None:
    """`quiet:` belongs to a `require` rule (works order or charge); a warning that is quiet
    would say nothing at all."""
    old = "when: {setting: invoice_recipient, in: [Agency, Other]}"
    errors = errors_of(tmp_path, old, old + "\n      quiet: true")
    assert any("quiet" in e for e in errors)


def test_a_quiet_charge_requirement_compiles_and_is_known_quiet(tmp_path: Path) -> None:
    old = "when: {field: Job.PriceAgencyPayableGross, gt: 0}}"
    path = tmp_path / "v2.yaml"
    path.write_text(TEXT.replace(old, old[:-1] + ", quiet: true}", 1), "utf-8")
    lifecycle = load_ruleset(path).lifecycle
    assert lifecycle is not None
    assert {"W-03.job", "CH-04.contractor", "CH-05"} <= lifecycle.quiet


@pytest.mark.parametrize("gaps", [7, "none", {"id": "gap.oid"}])
def test_gaps_that_are_not_a_list_are_one_located_error_not_a_crash(
    tmp_path: Path, gaps: object
) -> None:
    """Parts name their gaps: a `gaps:` of the wrong type (found by the mutation fuzzer)
    is the schema's error, and the parts' check does not crash on it."""
    data = yaml.safe_load(TEXT)
    data["gaps"] = gaps
    path = tmp_path / "v2.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    with pytest.raises(RulesetErrors) as caught:
        load_ruleset(path)
    assert any("gaps" in str(error) for error in caught.value.errors)
