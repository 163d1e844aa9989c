"""What the issue phase adds to an issue before reconciling it, and where its cursor goes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.ports import Attachment
from engine.store import IssueState
from rulebridge.runner.issues import _with_details, next_cursor
from tests.rulesets.lifecycle import RULESET

LIFECYCLE = RULESET.lifecycle
assert LIFECYCLE is not None


class FixfloReads:
    """The two reads the phase may make, counted; answers as the real endpoints give."""

    def __init__(self, invoice: dict[str, Any] | None, documents: list[str]) -> None:
        self.answer, self.documents = invoice, documents
        self.calls: list[str] = []

    async def invoice(self, issue_id: str) -> dict[str, Any] | None:
        self.calls.append(f"invoice {issue_id}")
        return self.answer

    async def completion_documents(self, issue_id: str) -> list[Attachment]:
        self.calls.append(f"documents {issue_id}")
        return [Attachment(name, b"%PDF-1.4") for name in self.documents]


def closed(**extra: Any) -> dict[str, Any]:
    return {"Id": "I1", "Status": "Closed", "Revision": 5, "Job": {"Id": "J1"}, **extra}


def details(reads: FixfloReads, issue: dict[str, Any], held: IssueState) -> dict[str, Any]:
    return asyncio.run(_with_details(LIFECYCLE, reads, issue, held))  # type: ignore[arg-type]


@pytest.mark.req("CH-03", "W-09")
def test_a_closed_issue_without_its_invoice_and_documents_gets_them_from_their_endpoints() -> None:
    reads = FixfloReads(
        {
            "InvoiceNumber": "INV-7",
            "Document": "invoice-INV-7.pdf",
            "LineItems": [
                {"Net": 100.0, "Tax": 20.0, "Total": 120.0},
                {"Net": 10.0, "Tax": 2.0, "Total": 12.0},
            ],
        },
        ["gas-certificate.pdf"],
    )
    issue = details(reads, closed(), IssueState("I1"))
    assert issue["Invoice"] == {
        "InvoiceNumber": "INV-7",
        "TotalNet": 110.0,
        "TotalTax": 22.0,
        "Total": 132.0,
        "Document": "invoice-INV-7.pdf",
    }
    assert issue["CompletionDocuments"] == [{"Name": "gas-certificate.pdf"}]
    assert reads.calls == ["invoice I1", "documents I1"]


def test_nothing_is_read_that_the_issue_carries_or_the_ledger_already_holds() -> None:
    reads = FixfloReads(None, [])
    carried = closed(Invoice={"Total": 5}, CompletionDocuments=[])
    assert details(reads, carried, IssueState("I1")) == carried
    agreed = IssueState("I1", revision=5)
    assert details(reads, closed(), agreed) == closed()
    charged = IssueState("I1", charges=frozenset({"maintenance"}))
    assert "Invoice" not in details(reads, closed(), charged)
    reported = {"Id": "I2", "Status": "Reported", "Revision": 0}
    assert details(reads, reported, IssueState("I2")) == reported
    assert reads.calls == ["documents I1"]  # only the charged one lacked its documents


def test_no_invoice_in_fixflo_leaves_the_issue_without_one() -> None:
    issue = details(FixfloReads(None, []), closed(), IssueState("I1"))
    assert "Invoice" not in issue  # CH-04 then holds the charge back, with a warning


@pytest.mark.parametrize(
    ("since", "passed", "held", "expected"),
    [
        (None, [], [], None),
        (None, ["2026-11-02", "2026-11-03"], [], "2026-11-03"),
        ("2026-11-03", ["2026-11-03"], [], None),  # the boundary issue read again: stay
        ("2026-11-01", ["2026-11-05"], ["2026-11-04", "2026-11-02"], "2026-11-02"),
        ("2026-11-02", ["2026-11-05"], ["2026-11-02"], None),  # never backwards
        ("2026-11-01", ["2026-11-05"], [""], None),  # a held issue without a stamp: stay
        ("2026-11-01", ["2026-11-05"], ["2026-11-04", ""], None),
    ],
)
def test_the_cursor_stops_at_the_first_issue_held_back(
    since: str | None, passed: list[str], held: list[str], expected: str | None
) -> None:
    assert next_cursor(since, passed, held) == expected
