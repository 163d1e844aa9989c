"""Load-time checks of the `lifecycle:` and `charges:` sections, each error located."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    errors = errors_of(tmp_path, "      sets: [FeedbackGiven, FeedbackRating]\n", "")
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
        "attach: [issue_report, completion_documents]\n      charge: maintenance\n",
        "attach: [issue_reprot, completion_documents]\n      charge: maintenence\n",
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
        "      set: {notes: Job.CompletionNotes}\n    Closed:",
        "      sett: {notes: Job.CompletionNotes}\n    Closed:",
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
