"""What the panes say about a step, without a terminal: the change view of Alto and the
Fixflo issue, money, the Why pane built from the decision, and the Expect pane.

Frames come from `tui.model.session.Session` replaying the shipped scenarios on the fixed
clock the TUI tests use; each test reads the panes' text as a QA person would.
"""

from __future__ import annotations

import copy
import dataclasses
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.text import Text

from engine import load_ruleset
from simulator.lifecycle import Step, load_scenario
from tests.tui.tui_helpers import RULESET, SCENARIOS, fixed_clock
from tui.model.changes import step_changes
from tui.model.rules import rule_index
from tui.model.session import Frame, Session
from tui.render import alto_text, expect_text, explain_text, fixflo_text, money
from tui.render._alto import CHANGED

RULES = load_ruleset(RULESET)
INDEX = rule_index(RULES)


def _played(name: str) -> Session:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml", RULES)
    return Session.replay(RULES, scenario.steps, fixed_clock(), scenario.settings)


def _at(session: Session, event: str) -> tuple[Frame, Frame]:
    """The frame before the first step with `event`, and that step's frame."""
    index = next(
        i for i, frame in enumerate(session.frames) if frame.step and frame.step.event == event
    )
    return session.frames[index - 1], session.frames[index]


def _styled(text: Text, fragment: str) -> set[str]:
    """The styles that cover all of `fragment` of `text` (which must hold it), from its
    spans (one after another) and its own style."""
    start = text.plain.index(fragment)
    wanted = set(range(start, start + len(fragment)))
    covered: dict[str, set[int]] = {}
    for span in text.spans:
        covered.setdefault(str(span.style), set()).update(range(span.start, span.end))
    found = {style for style, places in covered.items() if wanted <= places}
    return found | ({str(text.style)} if str(text.style) else set())


def _without_refusals(plain: str) -> str:
    return plain.replace("no charge posted", "").replace("charge not posted", "")


# --- the Why pane -------------------------------------------------------------------------


@pytest.mark.req("CH-05", "W-09")
def test_the_zero_invoice_close_says_the_charge_was_refused_not_posted() -> None:
    before, closed = _at(_played("zero-invoice"), "close")
    why = explain_text(closed, INDEX).plain
    assert "W-09 applied" in why
    assert "CH-05 refused: no charge posted  (v2.yaml:" in why
    assert "Job.PriceAgencyPayableGross = 0, expected > 0 ✗" in why
    assert "charge posted" not in _without_refusals(why)
    assert "the maintenance charge not posted (CH-05)" in why  # the status says what it decided
    assert "post charge" not in why
    # the rules' summaries are what they are for, not what happened: never printed here
    for rule in ("W-09", "CH-05"):
        assert INDEX[rule].summary.strip() not in why
    # and the Alto pane agrees: nothing charged
    assert "charges: none" in alto_text(closed, "I1", before=before).plain


@pytest.mark.req("W-09", "CH-02")
def test_the_documented_close_says_what_w09_wrote_with_the_charge_in_money() -> None:
    _, closed = _at(_played("documented-path"), "close")
    why = explain_text(closed, INDEX).plain
    block = why.split("W-09 applied", 1)[1].split("\nW-05", 1)[0]
    assert "→ update works_order status -> CompleteInvoicingReceived" in block
    assert "→ attach issue-I1.pdf" in block
    assert "→ post charge Maintenance £120.00 by CH-02.landlord" in block
    assert "the maintenance charge posted" in block
    assert "CH-05 held  (v2.yaml:" in why
    assert "Job.PriceAgencyPayableGross = 120.0, > 0 ✓" in why


@pytest.mark.req("W-05")
def test_a_case_branch_names_only_the_field_it_chose() -> None:
    _, instructed = _at(_played("documented-path"), "instruct")
    why = explain_text(instructed, INDEX).plain
    block = why.split("W-05.reporter-tenant applied", 1)[1].split("\nW-03.job", 1)[0]
    assert "→ create works_order reporterDetails.type = Tenant" in block
    assert "description" not in block


def test_the_start_and_a_lost_webhook_say_no_rule_ran() -> None:
    session = Session(RULES, fixed_clock())
    assert explain_text(session.frame, INDEX).plain == "no step yet"
    session.perform("report")
    before = session.frame
    lost = session.apply(Step("I1", "instruct", deliver=False))
    assert "not delivered" in explain_text(lost, INDEX).plain
    assert "no rule ran" in explain_text(lost, INDEX).plain
    alto = alto_text(lost, "I1", before=before)
    assert alto.plain.splitlines()[0] == "nothing changed in Alto at this step"
    assert _styled(alto, "nothing changed in Alto at this step") == {"dim"}
    # Fixflo moved all the same, and its pane shows it
    assert step_changes(before, lost, "I1").fixflo_field("Status") is not None
    assert "JobAwarded (was Reported)" in fixflo_text(lost, "I1", before=before).plain


@pytest.mark.req("W-07")
def test_setting_an_appointment_changes_nothing_in_alto() -> None:
    before, appointed = _at(_played("documented-path"), "set_appointment")
    changes = step_changes(before, appointed, "I1")
    assert changes.nothing
    alto = alto_text(appointed, "I1", before=before).plain
    assert alto.startswith("nothing changed in Alto at this step\n")
    assert "(was" not in alto
    why = explain_text(appointed, INDEX).plain
    assert "W-07 applied" in why
    assert "→ nothing written" in why
    assert "left as it is once it exists" in why


# --- the change view ----------------------------------------------------------------------


@pytest.mark.req("W-09", "CH-02")
def test_the_close_lists_the_status_change_documents_and_the_charge() -> None:
    before, closed = _at(_played("documented-path"), "close")
    changes = step_changes(before, closed, "I1")
    status = changes.field("status")
    assert status is not None
    assert (status.kind, status.before, status.after) == (
        "changed",
        "CompleteAwaitingInvoice",
        "CompleteInvoicingReceived",
    )
    assert [doc["fileName"] for doc in changes.documents_added] == [
        "issue-I1.pdf",
        "gas-safety-certificate.pdf",
        "gas-safety-record-I1.pdf",
    ]
    [posted] = changes.charges
    assert posted.route == "CH-02.landlord"
    alto = alto_text(closed, "I1", before=before)
    first = alto.plain.splitlines()[0]
    assert first == (
        "changed at this step: works order status CompleteAwaitingInvoice -> "
        "CompleteInvoicingReceived; 3 documents; charge £120.00"
    )
    assert "CompleteInvoicingReceived (was CompleteAwaitingInvoice)" in alto.plain
    assert CHANGED in _styled(alto, "CompleteInvoicingReceived (was CompleteAwaitingInvoice)")
    assert (
        "charge CH-1: Maintenance £120.00 (net £100.00 + VAT £20.00) POST /inventory/P1/charges, "
        "not raised immediately, works order WO-1, invoice invoice-I1.pdf (route CH-02.landlord)"
    ) in alto.plain
    assert CHANGED in _styled(alto, "issue-I1.pdf (WorkOrder WO-1)")
    # without the frame before, the pane shows Alto as it is, nothing highlighted
    plain = alto_text(closed, "I1")
    assert "changed at this step" not in plain.plain
    assert not [span for span in plain.spans if str(span.style) == CHANGED]


@pytest.mark.req("W-03")
def test_instructing_creates_the_works_order_and_says_so() -> None:
    before, instructed = _at(_played("documented-path"), "instruct")
    changes = step_changes(before, instructed, "I1")
    assert changes.works_order_created
    assert {change.path for change in changes.works_order} >= {"reporterDetails.type", "quote"}
    alto = alto_text(instructed, "I1", before=before).plain
    assert alto.splitlines()[0] == "changed at this step: works order created at SupplierInstructed"
    assert "  quote: £120.00\n" in alto
    assert "  reporterDetails.type: Tenant\n" in alto


def test_the_tenant_pays_charge_goes_to_the_tenancy_with_its_tenant() -> None:
    before, closed = _at(_played("tenant-pays"), "close")
    alto = alto_text(closed, "I1", before=before).plain
    assert "POST /tenancies/TY1/charges tenant TT1" in alto


@pytest.mark.req("W-08")
def test_completing_the_job_lists_the_fixflo_changes() -> None:
    before, done = _at(_played("documented-path"), "complete_job")
    changes = step_changes(before, done, "I1")
    added = {change.path for change in changes.fixflo if change.kind == "added"}
    assert {"Job.JobCompleted", "Job.JobInvoiceNumber", "Job.PriceAgencyPayableGross"} <= added
    status = changes.fixflo_field("Status")
    assert status is not None
    assert (status.before, status.after) == ("AwaitingJobCompletion", "JobCompleted")
    docs = changes.fixflo_list("CompletionDocs")
    assert docs is not None
    assert (docs.before, docs.after) == (0, 2)
    assert docs.added == ("gas-safety-certificate.pdf", "invoice-I1.pdf")
    fixflo = fixflo_text(done, "I1", before=before)
    assert "JobCompleted (was AwaitingJobCompletion)" in fixflo.plain
    assert "  PriceAgencyPayableGross: £120.00\n" in fixflo.plain
    assert CHANGED in _styled(fixflo, "  JobCompleted: 2026-11-02T")
    assert CHANGED in _styled(fixflo, "CompletionDocs: gas-safety-certificate.pdf")
    # unchanged lines stay plain
    assert CHANGED not in _styled(fixflo, "Reporter: Ann Occupier")
    # and Alto: the status, the notes copied
    alto = alto_text(done, "I1", before=before).plain
    assert alto.splitlines()[0] == (
        "changed at this step: works order status SupplierInstructed -> "
        "CompleteAwaitingInvoice; notes added"
    )


def test_a_field_removed_and_a_document_removed_are_shown_with_what_they_were() -> None:
    _, closed = _at(_played("documented-path"), "close")
    alto = copy.deepcopy(closed.sim.alto)
    order = alto.works_orders["WO-1"]
    del order["notes"]
    order["priority"] = "1"
    alto.documents.pop(0)
    sim = dataclasses.replace(closed.sim, alto=alto)
    after = Frame(closed.step, sim, closed.result, ())
    changes = step_changes(closed, after, "I1")
    assert [(c.path, c.kind) for c in changes.works_order] == [
        ("priority", "changed"),
        ("notes", "removed"),
    ]
    assert [doc["fileName"] for doc in changes.documents_removed] == ["issue-I1.pdf"]
    text = alto_text(after, "I1", before=closed).plain
    assert "  priority: 1 (was 3)\n" in text
    assert "  notes: removed (was Replaced the washer; the tap no longer drips.)\n" in text
    assert "(issue-I1.pdf removed)" in text
    assert "1 document removed" in text.splitlines()[0]


def test_a_refused_frame_changed_nothing() -> None:
    before, closed = _at(_played("documented-path"), "close")
    refused = cast("Frame", SimpleNamespace(**_fields(closed), refused="no event 'close' here"))
    changes = step_changes(before, refused, "I1")
    assert changes.nothing
    assert changes.refused == "no event 'close' here"
    assert "refused here" in explain_text(refused, INDEX).plain
    first = alto_text(refused, "I1", before=before).plain.splitlines()[0]
    assert first == "step refused here, nothing changed: no event 'close' here"


def _fields(frame: Frame) -> dict[str, Any]:
    return {name: getattr(frame, name) for name in ("step", "sim", "result", "problems")}


# --- money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1234.5, "£1,234.50"),
        ("1234.5", "£1,234.50"),
        (Decimal("120.00"), "£120.00"),
        (120, "£120.00"),
        (-5, "-£5.00"),
        ("-5.00", "-£5.00"),
        (0.125, "£0.13"),  # half up, from the float's shortest text
        (2.675, "£2.68"),
        (-0.001, "£0.00"),
        (None, "None"),
        ("about 40", "about 40"),
        (True, "True"),
        (float("nan"), "nan"),
        ("1e100000", "1e100000"),
    ],
)
def test_money(value: Any, shown: str) -> None:
    assert money(value) == shown


@given(st.decimals(min_value=-(10**12), max_value=10**12, allow_nan=False, places=4))
def test_money_reads_back_as_the_amount_rounded_half_up(value: Decimal) -> None:
    shown = money(value)
    sign = -1 if shown.startswith("-") else 1
    digits = shown.lstrip("-").removeprefix("£").replace(",", "")
    assert shown.lstrip("-").startswith("£")
    assert len(digits.split(".")[1]) == 2
    expected = value.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert sign * Decimal(digits) == expected
    # text, as the fake Alto stores a charge's form, reads alike
    assert money(str(value)) == shown


@given(st.one_of(st.text(), st.floats(), st.integers(), st.none(), st.lists(st.integers())))
def test_money_never_raises(value: Any) -> None:
    assert isinstance(money(value), str)


# --- the Expect pane ----------------------------------------------------------------------


def test_expectations_met_are_listed_with_where_they_are_written() -> None:
    _, closed = _at(_played("zero-invoice"), "close")
    text = expect_text(closed, "zero-invoice.yaml")
    lines = text.plain.splitlines()
    assert lines[0] == "expectations: 4 of 4 met"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "✓ status",
        "✓ works_order",
        "✓ charges",
        "✓ warnings",
    ]
    assert "✓ warnings: CH-05  (zero-invoice.yaml:" in text.plain
    assert "green" in _styled(text, "✓ status: Closed")
    reported = _played("zero-invoice").frames[1]
    assert expect_text(reported, "z.yaml").plain == "no expectations at this step"


def test_an_unmet_expectation_says_expected_got_and_its_line(tmp_path: Path) -> None:
    text = (SCENARIOS / "documented-path.yaml").read_text("utf-8")
    path = tmp_path / "wrong.yaml"
    path.write_text(text.replace("notes: Replaced the washer;", "notes: Replaced the tap;"))
    scenario = load_scenario(path, RULES)
    session = Session.replay(RULES, scenario.steps, fixed_clock(), scenario.settings)
    _, done = _at(session, "complete_job")
    pane = expect_text(done, path.name)
    line = next(number for number, row in enumerate(text.splitlines(), 1) if "notes:" in row)
    works_line = line - 1  # the works_order key the notes belong to
    assert pane.plain.splitlines()[0] == "expectations: 2 of 3 met"
    assert (
        "✗ works_order.notes: expected Replaced the tap; the tap no longer drips., "
        f"got Replaced the washer; the tap no longer drips.  (wrong.yaml:{works_line})"
    ) in pane.plain
    assert "bold red" in _styled(pane, "✗ works_order.notes")
    assert "✓ status: JobCompleted" in pane.plain


@pytest.mark.req("W-06")
def test_a_warning_is_warned_with_its_message() -> None:
    session = Session(RULES, fixed_clock(), {"invoice_recipient": "Agency"})
    session.perform("report")
    why = explain_text(session.perform("instruct"), INDEX)
    assert "W-06 warned  (v2.yaml:" in why.plain
    assert "⚠ setting invoice_recipient = 'Agency': in ['Agency', 'Other']" in why.plain
    assert "it can never reach Alto" in why.plain  # a warning's summary is what it tells
    assert "bold yellow" in _styled(why, "warned")
