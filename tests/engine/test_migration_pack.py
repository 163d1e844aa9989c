"""The agency's pack (engine.migration): escaped Markdown, safe CSV, listings grouped (J-14
milestones one table per sale), the reconciliation in words, and the HTML page parsed."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from engine.migration import (
    CSV_COLUMNS,
    SECTIONS,
    Difference,
    MemoryListing,
    MigrationReport,
    Pack,
    csv_cell,
    listing_lines,
    listing_markdown,
    md_text,
    rule_summaries,
    write_listing_csv,
    write_pack,
)
from tests.rulesets.jupix import ruleset, run

HOSTILE = "<script>alert(1)</script> | *Smith* [x](http://evil.example) & Co"


def no_summary(rule: str, entity: str | None) -> str | None:
    return None


def summaries(rule: str, entity: str | None) -> str | None:
    return {"J-14": "Milestones are set up by hand.", "J-17": "Tidy before go-live."}.get(rule)


class Page(HTMLParser):
    """The pack as a tree of what a test asserts: sections by id, the text and the record
    ids (code) in each, headings, tags seen."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.section: str | None = None
        self.texts: dict[str, list[str]] = {}
        self.codes: dict[str, list[str]] = {}
        self.headings: list[tuple[str, str]] = []
        self._in: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag == "section":
            self.section = dict(attrs).get("id")
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self.section = None
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        where = self.section or ""
        self.texts.setdefault(where, []).append(data)
        if self._in and self._in[-1] == "code":
            self.codes.setdefault(where, []).append(data)
        if self._in and self._in[-1] in ("h2", "h3", "h4", "h5"):
            self.headings.append((self._in[-1], data))

    def text(self, section: str) -> str:
        return "".join(self.texts.get(section, []))


class Task:
    def __init__(self, id: str, phase: str, summary: str, detail: str | None = None) -> None:
        self.id, self.phase, self.summary, self.detail = id, phase, summary, detail
        self.rules: tuple[str, ...] = ("J-15",)


MANUAL: list[dict[str, Any]] = [
    {"action": "Remarket", "recordId": "P1", "rule": "J-05", "label": HOSTILE,
     "address": "1 Mill Lane | Flat 2, Bristol BS1 4DJ", "detail": "was On Market"},
    {"action": "Milestone", "recordId": "M2", "rule": "J-14", "saleId": "S10",
     "address": "10 High St, Leeds LS1 1AA", "detail": "Exchange: outstanding"},
    {"action": "Milestone", "recordId": "M1", "rule": "J-14", "saleId": "S9",
     "address": "9 High St, Leeds LS1 1AA", "detail": "Searches Ordered: 2025-03-01"},
    {"action": "Milestone", "recordId": "M3", "rule": "J-14", "saleId": "S9",
     "address": "9 High St, Leeds LS1 1AA", "detail": "Exchange: outstanding"},
]  # fmt: skip
CHECKS: list[dict[str, Any]] = [
    {"check": "=Archive the applicant", "recordId": "A1", "rule": "J-17", "label": "Mr A Ng",
     "detail": "-profile expired 2020-01-01"},
]  # fmt: skip


def pack_html(**parts: Any) -> str:
    out = io.StringIO()
    pack = Pack(
        "jupix-alto",
        date(2025, 6, 2),
        summaries,
        checklist=[
            Task("archive-inactive", "before-export", "Archive inactive records"),
            Task("window", "export-day", "Note the day's changes", "viewings <b>too</b>"),
            Task("opening-balances", "after-go-live", "Enter opening balances"),
        ],
        **parts,
    )
    write_pack(out, pack)
    return out.getvalue()


def test_the_pack_has_its_sections_in_order_with_a_table_of_contents() -> None:
    page = Page(pack_html(manual=MemoryListing("action", MANUAL)))
    titles = [text for tag, text in page.headings if tag == "h2"]
    assert titles == ["Contents"] + [f"{n}. {title}" for n, (_, title) in enumerate(SECTIONS, 1)]
    assert page.tags["section"] == len(SECTIONS)
    assert page.tags["a"] == len(SECTIONS)
    assert page.tags["script"] == page.tags["link"] == page.tags["img"] == 0


def test_hostile_data_is_text_on_the_page_never_markup() -> None:
    text = pack_html(manual=MemoryListing("action", MANUAL), snapshot={"agency": "<i>A</i>"})
    page = Page(text)
    assert page.tags["script"] == page.tags["i"] == page.tags["b"] == 0
    assert "<script>" not in text
    after = page.text("after-go-live")
    assert "<script>alert(1)</script> | *Smith* [x](http://evil.example) & Co" in after
    assert "1 Mill Lane | Flat 2, Bristol BS1 4DJ" in after
    assert "<i>A</i>" in page.text("export-day")
    assert "viewings <b>too</b>" in page.text("export-day")
    assert page.tags["a"] == len(SECTIONS), "a link from data became a link"


@pytest.mark.req("J-14")
def test_milestones_are_one_table_per_sale_in_sale_order() -> None:
    page = Page(pack_html(manual=MemoryListing("action", MANUAL)))
    sales = [text for tag, text in page.headings if tag == "h5"]
    assert sales == [
        "Sale S9 at 9 High St, Leeds LS1 1AA",
        "Sale S10 at 10 High St, Leeds LS1 1AA",
    ]
    assert page.tags["table"] >= 2
    assert page.codes["after-go-live"].count("M1") == 1
    after = page.text("after-go-live")
    assert after.index("M1") < after.index("M3") < after.index("M2")
    assert "Searches Ordered: 2025-03-01" in after
    assert "Rule J-14: Milestones are set up by hand." in after


@pytest.mark.req("J-17")
def test_each_item_is_in_its_section_once_with_the_checklist_of_its_phase() -> None:
    page = Page(
        pack_html(
            manual=MemoryListing("action", MANUAL), housekeeping=MemoryListing("check", CHECKS)
        )
    )
    manual = Counter(page.codes["after-go-live"])
    assert all(manual[item["recordId"]] == 1 for item in MANUAL)
    assert Counter(page.codes["before-export"])["A1"] == 1
    assert "A1" not in page.codes["after-go-live"]
    assert "Manual re-entry in Alto (4)" in page.text("after-go-live")
    assert "Housekeeping in Jupix (1)" in page.text("before-export")
    assert "Archive inactive records" in page.text("before-export")
    assert "Note the day's changes" in page.text("export-day")
    assert "Enter opening balances" in page.text("after-go-live")
    assert "Enter opening balances" not in page.text("before-export")


@pytest.mark.req("J-15")
def test_export_day_names_the_export_and_the_go_live_date() -> None:
    snapshot = {"agency": "Acme Lettings", "exported_at": "2025-06-01T18:00:00+00:00"}
    day = Page(pack_html(snapshot=snapshot)).text("export-day")
    assert "2025-06-01T18:00:00+00:00" in day
    assert "2025-06-02" in day
    assert "viewings" in day


def test_what_a_run_did_not_make_is_said_not_left_blank() -> None:
    page = Page(pack_html())
    assert "No readiness summary was made" in page.text("readiness")
    assert "Housekeeping was not evaluated" in page.text("before-export")
    assert "nothing to reconcile" in page.text("reconciliation")


def test_readiness_shows_the_verdict_reasons_and_counts() -> None:
    readiness = {
        "verdict": "NOT READY",
        "ready": False,
        "reasons": [{"kind": "housekeeping", "reason": "2 items due", "fix": "tidy them"}],
        "warnings": ["the export is 3 days old"],
        "export": {"agency": "Acme <b>", "exported_at": "2025-06-01", "days_before": 1},
        "files": [{"file": "contacts.csv", "rows": 7, "unreadable": [{"where": "x"}]}],
        "housekeeping": {"total": 2, "by_check": [{"check": "Archive", "count": 2}]},
    }
    page = Page(pack_html(readiness=readiness))
    text = page.text("readiness")
    assert "Verdict: NOT READY" in text
    assert "2 items due. Fix: tidy them" in text
    assert "Warning: the export is 3 days old" in text
    assert "Acme <b>" in text
    assert page.tags["b"] == 0
    assert "contacts.csv71" in text.replace("\n", ""), "rows and a count of unreadable rows"
    assert "Archive2" in text.replace("\n", "")


@pytest.mark.req("J-16")
def test_the_reconciliation_summary_counts_differences_by_rule(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        contacts=[{"contactID": "C1"}, {"contactID": "C2"}],
        applicants=[
            {"applicantID": "A1", "contactID": "C1", "email": "x@example.com"},
            {"applicantID": "A2", "contactID": "C2", "email": "X@example.com"},
            {"applicantID": "A3", "contactID": "C2", "profileExpiryDate": "2020-01-01"},
        ],
    )
    report = result.reconciliation
    counts = {(entity, rule): size for entity, rule, _, size in report.difference_counts()}
    assert counts[("applicant", "J-02")] == 1
    assert counts[("applicant", "J-01")] == 1
    out = io.StringIO()
    compiled = ruleset()
    write_pack(out, Pack("jupix-alto", date(2025, 6, 2), rule_summaries(compiled),
                         reconciliation=report))  # fmt: skip
    text = Page(out.getvalue()).text("reconciliation")
    assert f"Differences by rule ({sum(counts.values())})" in text
    assert compiled.rules["J-01"].summary in text


@pytest.mark.req("J-16")
def test_reconciliation_markdown_names_rules_with_their_summaries(tmp_path: Path) -> None:
    report = MigrationReport("jupix-alto", date(2025, 6, 2))
    report.add_difference(
        Difference("applicant", "J-01", "A3", "not migrated", "J-01: x = 1, not 2", words="expired")
    )
    markdown = report.to_markdown(lambda rule, entity: f"summary of {rule} for {entity}")
    assert "J-01: summary of J-01 for applicant" in markdown
    assert "- `A3`: expired" in markdown
    assert "!=" not in markdown
    assert " = " not in markdown


def test_a_listing_as_markdown_groups_and_names_each_rule() -> None:
    text = "".join(listing_lines(MemoryListing("action", MANUAL), "Manual", summaries))
    assert text.startswith("# Manual (4)\n")
    assert "## Milestone (3)" in text
    assert "### Sale S9 at 9 High St, Leeds LS1 1AA" in text
    assert "| Searches Ordered: 2025-03-01 | `M1` |" in text
    assert "- **\\<script\\>alert(1)\\</script\\> \\| \\*Smith\\*" in text
    assert listing_markdown("Manual", MANUAL, "action") == "".join(
        listing_lines(MemoryListing("action", MANUAL), "Manual", no_summary)
    )


def test_a_listing_as_csv_reads_back_with_every_cell_safe() -> None:
    out = io.StringIO(newline="")
    assert write_listing_csv(out, MemoryListing("check", CHECKS + CHECKS), summaries) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert list(rows[0]) == ["check", *CSV_COLUMNS]
    assert rows[0]["check"] == "'=Archive the applicant"
    assert rows[0]["detail"] == "'-profile expired 2020-01-01"
    assert rows[0]["rule summary"] == "Tidy before go-live."
    assert rows[0]["name"] == "Mr A Ng"
    assert rows[0]["record id"] == "A1"


@given(st.text().filter(str.strip))
def test_any_text_renders_as_itself_never_as_markup(text: str) -> None:
    rendered = (
        MarkdownIt("commonmark", {"html": False})
        .enable("table")
        .render(f"- **{md_text(text)}**\n\n| a |\n|---|\n| {md_text(text)} |\n")
    )
    page = Page(rendered)
    expected = " ".join(text.replace("\x00", "\ufffd").split())  # CommonMark replaces NUL
    assert set(page.tags) <= {"ul", "li", "strong", "table", "thead", "tbody", "tr", "th", "td"}
    assert page.tags["td"] == 1
    if expected:
        assert "".join(page.texts[""]).count(expected) >= 2


@given(st.text())
def test_any_cell_reads_back_and_never_starts_a_formula(text: str) -> None:
    cell = csv_cell(text)
    out = io.StringIO(newline="")
    csv.writer(out).writerow([cell])
    [[back]] = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert back == cell
    assert not back.startswith(("=", "+", "-", "@"))
    assert back.removeprefix("'") == text or back == text
