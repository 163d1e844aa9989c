"""Every report renderer (rich tables, Markdown, HTML) over a full report and over reports
of an older shape: the same sections, every item for a person, dead letters grouped by
reason, and nothing from data ever read as Markdown or HTML."""

from __future__ import annotations

import copy
import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from rulebridge.runner.report import (
    changes_of,
    dead_letter_group,
    iso_time,
    md_escape,
    render_html,
    render_markdown,
    render_report,
    report_sections,
)

HOSTILE = "<script>alert('x')</script> | **bold** [link](javascript:alert(1)) `code` &amp;"

FULL: dict[str, Any] = {
    "run": {
        "id": 12,
        "kind": "night",
        "agency": "acme",
        "ruleset": {"name": "alto-fixflo", "version": "2", "hash": "abcdef0123456789"},
        "dry_run": False,
        "adopt": False,
        "started": "2026-12-06T01:30:00.123456+00:00",
        "finished": "2026-12-06T01:31:02.500000+00:00",
        "seconds": 62.4,
        "status": "succeeded",
        "exit_code": 3,
        "error": None,
        "incomplete": 0,
        "changes": 41,
        "attention": 5,
        "phases": {"apply": 20.0, "snapshot": 30.1, "plan": 2.0, "issues": 10.3},
    },
    "reference": {
        "planned": {
            "property": {"create": 3, "update": 2, "unchanged": 30, "skip": 4, "manual": 2},
            "occupier": {"create": 5, "skip": 1},
        },
        "applied": {"property": {"create": 3, "update": 2}, "occupier": {"create": 3, "dead": 2}},
        "skips_by_rule": {"P-01": 3, "G-03": 1, "P-03": 1},
        "rejected": 1,
        "manual": 3,
        "manual_items": [
            {
                "entity": "property",
                "source_id": "100007",
                "rule": "P-departed",
                "summary": "no longer synced (P-01: recordType = 'Sale', not = 'Rent')",
                "todo": "Fixflo property 10002 is no longer synced but still in Fixflo",
            },
            {
                "entity": "property",
                "source_id": None,
                "rule": "G-05.unmatched",
                "summary": "bears reference 'X9', which no source record has",
                "todo": "archive Fixflo property 77 by hand",
            },
            {
                "entity": "landlord",
                "source_id": "L-1",
                "rule": "G-04.near",
                "summary": HOSTILE,
                "todo": "check | it\nby hand",
            },
        ],
    },
    "drift": {
        "recreated": {"property": 2},
        "links_repaired": 1,
        "items": [
            {
                "entity": "property",
                "source_id": "100001",
                "lost_target_id": "77",
                "target_id": "91",
                "outcome": "recreated",
            }
        ],
    },
    "issues": {
        "read": 4,
        "since": "2026-12-05T01:30:00+00:00",
        "reconciled": 4,
        "outcomes": {"works_order": {"create": 2}},
        "cursor": "c1",
        "handled": {"live": 3, "night": 1},
        "night_ids": ["1042"],
    },
    "webhooks": {"failed": 2, "statuses": {"no answer": 2}},
    "warnings": [{"rule": "G-07", "message": "setting paying_party: Fixflo says Landlord"}],
    "dead_letters": [
        {
            "id": 5,
            "reason": "create occupier 200042: the target refused the record (422): Email",
            "kind": "occupier",
            "op": "create",
            "retryable": False,
            "group": "create occupier {id}: the target refused the record (422): Email",
        },
        {
            "id": 6,
            "reason": "create occupier 200043: the target refused the record (422): Email",
            "kind": "occupier",
            "op": "create",
            "retryable": False,
            "group": "create occupier {id}: the target refused the record (422): Email",
        },
        {
            "id": 7,
            "reason": HOSTILE,
            "kind": "landlord",
            "op": "link",
            "retryable": True,
            "group": HOSTILE,
        },
    ],
    "api": {
        "total": 100,
        "writes": 10,
        "retries": 2,
        "per_endpoint": {"fixflo GET /api/v2/Properties": 90, "fixflo POST /api/v2/Tenant": 10},
        "retries_per_endpoint": {"fixflo GET /api/v2/Properties": 2, "alto POST /token": 1},
        "rate_limit_wait_seconds": {"fixflo": 1.5},
    },
    "alert": {
        "sent": True,
        "to": "url",
        "triggers": ["dead_letters", "for_a_person"],
        "error": None,
    },
}

OLD: dict[str, Any] = {  # a report written before items, groups, kinds and changes
    "run": {
        "id": 3,
        "agency": "acme",
        "started": "2026-11-01T01:00:00",
        "finished": "2026-11-01T01:02:00",
        "seconds": 120.0,
        "status": "succeeded",
        "exit_code": 2,
        "error": None,
    },
    "reference": {
        "planned": {"property": {"create": 2}},
        "applied": {"property": {"create": 2}},
        "manual": 35,
    },
    "dead_letters": [
        {"id": 1, "reason": "create property 100001: refused (422)"},
        {"id": 2, "reason": "create property 100002: refused (422)"},
    ],
    "api": {"total": 3, "writes": 2, "retries": 0, "per_endpoint": {"fixflo GET /x": 1}},
}


class _Page(HTMLParser):
    """What a browser would make of the page: tags opened, tables, cells' text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.cells: list[str] = []
        self.texts: list[str] = []
        self.title = ""
        self._cell: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("td", "th"):
            self._cell = []
        self._in_title = tag == "title"
        if tag == "meta" and ("charset", "utf-8") in attrs:
            self.tags.append("charset")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data
        self.texts.append(data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _terminal(report: dict[str, Any]) -> str:
    shown = io.StringIO()
    render_report(report, Console(file=shown, width=400))
    return shown.getvalue()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _md_rows(markdown: str, title: str) -> list[str]:
    """The body rows of the table under the heading that starts with `title`."""
    section = markdown.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return rows[2:]  # the header and the alignment row


def test_every_renderer_draws_the_same_sections() -> None:
    titles = [section.title for section in report_sections(FULL)]
    assert [s.key for s in report_sections(FULL)] == [
        "run",
        "reference",
        "skips",
        "manual",
        "drift",
        "issues",
        "webhooks",
        "warnings",
        "dead_letters",
        "api",
        "alert",
    ]
    terminal, markdown, page = _terminal(FULL), render_markdown(FULL), _page(render_html(FULL))
    headings = "".join(page.texts)
    for title in titles:
        assert title in terminal
        assert md_escape(title) in markdown
        assert title in headings
    assert page.title == titles[0]
    assert titles[0] == "Run 12 for acme: succeeded, exit code 3, 62.4 s"


def test_the_run_header_says_what_the_exit_code_means_and_times_have_offsets() -> None:
    cells = _page(render_html(FULL)).cells
    assert "3 (succeeded, with items for a person or dead letters)" in cells
    assert "2026-12-06T01:30:00+00:00" in cells
    assert "41" in cells  # run.changes
    assert "snapshot 30.1 s, plan 2.0 s, apply 20.0 s, issues 10.3 s" in cells
    assert "alto-fixflo v2 (abcdef012345)" in cells


def test_every_item_for_a_person_is_listed_with_what_to_do() -> None:
    items = FULL["reference"]["manual_items"]
    markdown = render_markdown(FULL)
    assert len(_md_rows(markdown, "For a person (3)")) == len(items)
    cells = _page(render_html(FULL)).cells
    terminal = _one_line(_terminal(FULL))
    for item in items:
        assert _one_line(item["summary"]) in cells
        assert _one_line(item["todo"]) in cells
        assert _one_line(item["todo"]) in terminal


def test_dead_letters_are_grouped_by_reason_with_their_ids() -> None:
    markdown = render_markdown(FULL)
    rows = _md_rows(markdown, "Dead letters (3, 2 reasons")
    assert len(rows) == 2
    cells = _page(render_html(FULL)).cells
    assert "create occupier {id}: the target refused the record (422): Email" in cells
    assert "#5, #6" in cells
    assert "#7" in cells
    assert HOSTILE in cells  # shown as text, once, in its own group
    terminal = _terminal(FULL)
    assert "#5, #6" in terminal


def test_data_never_becomes_html_markdown_or_terminal_control() -> None:
    html = render_html(FULL)
    page = _page(html)
    assert "script" not in page.tags
    assert not {"a", "strong", "em", "code"} & set(page.tags)
    assert "<script>" not in html
    assert {"table", "charset", "title", "style"} <= set(page.tags)
    assert page.tags.count("table") == 9  # every section but the webhooks' and the alert's
    markdown = render_markdown(FULL)
    assert "<script>" not in markdown
    for row in _md_rows(markdown, "Dead letters"):  # a | in a reason draws no cell edge
        assert len(re.findall(r"(?<!\\)\|", row)) == 6
    report = copy.deepcopy(FULL)
    report["dead_letters"][2]["group"] = "gone\x1b[2J\x07 away"
    assert "\x1b" not in _terminal(report)
    assert "gone [2J away" in _terminal(report)


def test_drift_retries_per_endpoint_waits_and_the_alert_are_shown() -> None:
    cells = _page(render_html(FULL)).cells
    at = cells.index("100001") - 1
    assert cells[at : at + 5] == ["property", "100001", "77", "91", "recreated"]
    at = cells.index("alto POST /token")  # retried, never counted as a request
    assert cells[at : at + 3] == ["alto POST /token", "0", "1"]
    text = _one_line(_terminal(FULL))
    assert "re-created in Fixflo: property 2; links repaired: 1" in text
    assert "waited for the rate limit: fixflo 1.5 s" in text
    assert "alert sent to the URL (triggers: dead_letters, for_a_person)" in text
    assert "handled live by `rulebridge serve`: 3; only tonight: 1 (issues 1042)" in text
    assert "Fixflo's failed webhook deliveries: 2 (answers no answer: 2)" in text


@pytest.mark.parametrize("report", [OLD, {}, {"run": None, "reference": [], "api": "?"}])
def test_a_report_of_an_older_shape_renders_in_every_format(report: dict[str, Any]) -> None:
    terminal, markdown, html = _terminal(report), render_markdown(report), render_html(report)
    assert _page(html).tags.count("html") == 1
    assert markdown.startswith("# ")
    assert terminal


def test_an_old_report_falls_back_to_counts_reasons_and_utc() -> None:
    text = _one_line(_terminal(OLD))
    assert "for a person: 35" in text  # counted, not listed: the report predates the list
    rows = _md_rows(render_markdown(OLD), "Dead letters")
    assert len(rows) == 1  # grouped by the reason without its record ids
    assert "create property {id}: refused (422)" in rows[0]
    assert "#1, #2" in rows[0]
    cells = _page(render_html(OLD)).cells
    assert "2026-11-01T01:00:00+00:00" in cells  # the store writes UTC
    assert "2" in cells  # changes: the applied writes
    assert changes_of(OLD) == 2
    assert changes_of(OLD, {"property": {"create": 2, "update": 1}}) == 3
    assert changes_of(FULL, {"property": {"create": 1}}) == 41


def test_groups_drop_record_ids_but_keep_status_codes() -> None:
    assert dead_letter_group("create tenant 100042: refused (422)") == (
        "create tenant {id}: refused (422)"
    )
    assert dead_letter_group("link L-7 to P-7: 404", ids=["L-7", "P-7"]) == (
        "link {id} to {id}: 404"
    )
    assert dead_letter_group("doc 3f2a9c0d-11aa-4b2c-9d1e-0a1b2c3d4e5f gone") == "doc {id} gone"
    assert iso_time("2026-12-06T01:30:00Z") == "2026-12-06T01:30:00+00:00"
    assert iso_time("garbage") == "garbage"
    assert iso_time(None) == "-"


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


@given(
    items=st.lists(st.tuples(_TEXT, _TEXT, _TEXT), min_size=1, max_size=5),
    reasons=st.lists(_TEXT, min_size=1, max_size=5),
)
def test_any_text_from_data_stays_text(
    items: list[tuple[str, str, str]], reasons: list[str]
) -> None:
    report = copy.deepcopy(FULL)
    report["reference"]["manual_items"] = [
        {"entity": entity, "source_id": "1", "rule": "r", "summary": summary, "todo": todo}
        for entity, summary, todo in items
    ]
    report["reference"]["manual"] = len(items)
    report["dead_letters"] = [
        {"id": n, "reason": reason, "group": reason} for n, reason in enumerate(reasons)
    ]
    page = _page(render_html(report))
    allowed = {"html", "head", "meta", "charset", "title", "style", "body", "h1", "h2", "p"}
    assert set(page.tags) <= allowed | {"table", "thead", "tbody", "tr", "th", "td", "ul", "li"}
    rows = _md_rows(render_markdown(report), f"For a person ({len(items)})")
    assert len(rows) == len(items)
    for _entity, summary, todo in items:
        for text in (summary, todo):
            assert (_one_line(text) or "-") in page.cells
    for reason in reasons:
        assert (_one_line(reason) or "-") in page.cells
