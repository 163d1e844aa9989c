"""Level-triggered reconcile: skipped, repeated and out-of-order deliveries of contract-true
issues converge on what the latest snapshot asks of Alto (Hypothesis over random lives)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import EvaluationError, load_ruleset
from engine.issues.reconcile import IssueOps, reconcile
from engine.language.ruleset import CompiledRuleset
from engine.ports import AltoHolding
from tests.engine.rulesets import ruleset_data, write
from tests.rulesets.lifecycle import (
    RULESET,
    appointed,
    awarded,
    cancelled,
    closed,
    completed,
    reported,
    ruleset_with,
)

RULESETS = {party: ruleset_with(paying_party=party) for party in ("Landlord", "Tenant")}


@dataclass
class Alto:
    """What Alto holds for one issue, changed only by the operations reconcile gives."""

    order: dict[str, Any] | None = None
    documents: set[str] = field(default_factory=set)
    charges: dict[str, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)
    revision: Any = None
    writes: int = 0

    def holding(self) -> AltoHolding:
        return AltoHolding(
            self.order, frozenset(self.documents), frozenset(self.charges), self.revision
        )

    def apply(self, result: IssueOps) -> None:
        for op in result.operations:
            self.writes += 1
            if op.op == "create":
                assert self.order is None, "a second works order"
                self.order = dict(op.fields)
            elif op.op == "update":
                assert self.order is not None
                self.order |= dict(op.fields)
            elif op.op == "attach":
                assert op.name not in self.documents, "a document twice"
                self.documents.add(str(op.name))
            else:
                assert op.name not in self.charges, "a charge twice"
                self.charges[str(op.name)] = (dict(op.fields), dict(op.target))
        if not result.stale:
            self.revision = result.revision

    def state(self) -> tuple[Any, ...]:
        return (self.order, self.documents, self.charges)


@st.composite
def lives(draw: st.DrawFn) -> list[dict[str, Any]]:
    """The snapshots of one issue's life in order, each a contract-true issue."""
    contractor = draw(st.booleans())
    invoice = draw(st.booleans())
    gross = draw(st.sampled_from([0.0, 120.0, 250.0]))
    quotes = draw(
        st.lists(st.sampled_from(["QuotesRequested", "QuotesAwaitingReview"]), max_size=2)
    )
    life = [reported(), *(reported(Status=status) for status in quotes)]
    ending = draw(st.sampled_from(["done", "cancelled", "no_job"]))
    if ending != "no_job":
        life.append(awarded(contractor=contractor))
        if draw(st.booleans()):
            life.append(appointed())
    if ending == "done":
        life.append(completed(contractor=contractor, gross=gross, invoice_document=invoice))
        life.append(closed(contractor=contractor, gross=gross, invoice_document=invoice))
    elif ending == "cancelled":
        life.append(cancelled())
    else:
        life.append(reported(Status="Closed", CloseReason="Duplicate"))
    for hour, snapshot in enumerate(life):  # every status change a later instant
        snapshot["StatusChanged"] = f"2026-11-04T{8 + hour:02d}:00:00Z"
    return life


def deliver(ruleset: CompiledRuleset, snapshots: list[dict[str, Any]]) -> Alto:
    alto = Alto()
    for snapshot in snapshots:
        alto.apply(reconcile(ruleset, snapshot, alto.holding()))
    return alto


@pytest.mark.req("W-01", "W-03", "W-09", "CH-02")
@given(
    life=lives(),
    party=st.sampled_from(sorted(RULESETS)),
    data=st.data(),
)
def test_any_deliveries_ending_with_the_latest_converge(
    life: list[dict[str, Any]], party: str, data: st.DataObject
) -> None:
    ruleset = RULESETS[party]
    expected = deliver(ruleset, [life[-1]]).state()
    earlier = data.draw(st.lists(st.sampled_from(life), max_size=8), label="deliveries")
    late = data.draw(st.lists(st.sampled_from(life), max_size=3), label="late")
    assert deliver(ruleset, [*earlier, life[-1], *late]).state() == expected


@pytest.mark.req("W-01")
@given(life=lives(), party=st.sampled_from(sorted(RULESETS)))
def test_the_step_by_step_life_equals_the_jump_and_a_repeat_changes_nothing(
    life: list[dict[str, Any]], party: str
) -> None:
    ruleset = RULESETS[party]
    stepwise = deliver(ruleset, life)
    assert stepwise.state() == deliver(ruleset, [life[-1]]).state()
    again = reconcile(ruleset, life[-1], stepwise.holding())
    assert again.operations == ()


def test_operations_carry_stable_idempotency_keys_and_reasons() -> None:
    first = reconcile(RULESET, awarded(), AltoHolding())
    second = reconcile(RULESET, awarded(), AltoHolding())
    assert [op.idempotency_key for op in first.operations] == [
        op.idempotency_key for op in second.operations
    ]
    (create,) = first.operations
    assert create.to_json()["because"][0]["rule"] == "W-03"


def test_a_ruleset_without_a_lifecycle_cannot_reconcile(tmp_path: Path) -> None:
    ruleset = load_ruleset(write(tmp_path, ruleset_data()))
    with pytest.raises(EvaluationError, match="declares no 'lifecycle:'"):
        reconcile(ruleset, {"Id": "I1", "Status": "Reported"}, AltoHolding())


def test_an_undeclared_status_is_an_evaluation_error() -> None:
    with pytest.raises(EvaluationError, match="'Cancelled' is not declared"):
        reconcile(RULESET, {"Id": "I1", "Status": "Cancelled"}, AltoHolding())


def _status_reason(result: IssueOps) -> str:
    """The status's own reason: the first rule `fired` names."""
    return result.fired[0].expected


@pytest.mark.req("CH-05", "W-09")
def test_a_zero_invoice_close_says_the_charge_was_not_posted() -> None:
    result = reconcile(RULESET, closed(gross=0.0), AltoHolding())
    reason = _status_reason(result)
    assert reason.endswith("; the maintenance charge not posted (CH-05)")
    assert "charge posted" not in reason.replace("charge not posted", "")
    assert [op.kind for op in result.operations if op.kind == "charge"] == []
    # every operation's reasons carry the same, decided, status reason
    for op in result.operations:
        if op.because and op.because[0].rule == "W-09":
            assert op.because[0].expected == reason


@pytest.mark.req("W-09")
def test_a_close_whose_charge_is_posted_still_says_posted() -> None:
    result = reconcile(RULESET, closed(), AltoHolding())
    assert _status_reason(result).endswith("; the maintenance charge posted")
    assert [op.name for op in result.operations if op.kind == "charge"] == ["maintenance"]


@pytest.mark.req("W-03", "W-05")
def test_an_unknown_property_says_no_works_order_was_made() -> None:
    issue = awarded(FixfloProperty=None)
    result = reconcile(RULESET, issue, AltoHolding())
    assert result.operations == ()
    assert _status_reason(result) == (
        "no works order made (W-05.property); the status asks for one at SupplierInstructed"
    )


def test_a_tenancy_charge_without_an_occupier_names_its_route() -> None:
    ruleset = ruleset_with(paying_party="Tenant")
    issue = closed() | {"TenantId": None, "FixfloTenant": None}
    result = reconcile(ruleset, issue, AltoHolding(works_order=dict(_ORDER)))
    reason = _status_reason(result)
    assert "the maintenance charge not posted (CH-02." in reason, reason
    assert not [op for op in result.operations if op.kind == "charge"]


_ORDER = {"id": "WO-1", "status": "CompleteAwaitingInvoice", "propertyId": "P1"}
