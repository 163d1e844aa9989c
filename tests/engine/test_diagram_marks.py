"""`diagram.text` marks the current status and the last transition in plain text (the TUI's
lifecycle screen styles them); without marks it is exactly `rulebridge graph --format text`."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from engine import load_ruleset
from engine.language.diagram import CURRENT, LAST, text
from engine.language.lifecycle import Lifecycle

ROOT = Path(__file__).resolve().parents[2]
_LOADED = load_ruleset(ROOT / "rulesets" / "alto-fixflo" / "v2.yaml").lifecycle
assert _LOADED is not None
LIFECYCLE: Lifecycle = _LOADED
PLAIN = text(LIFECYCLE)


def _marked(drawn: str, mark: str) -> list[str]:
    return [line for line in drawn.splitlines() if line.startswith(mark)]


def test_the_current_status_and_the_last_transition_are_marked() -> None:
    drawn = text(LIFECYCLE, current="Closed", last=("JobCompleted", "close"))
    assert _marked(drawn, CURRENT) == [
        "▶ Closed (W-09): Alto works order CompleteInvoicingReceived; docs + charge  ◀ now"
    ]
    assert _marked(drawn, LAST) == ["» close              --> Closed  « last step"]
    # the mark sits in the block of the status left: JobCompleted's
    block = drawn.split("\n\nJobCompleted (W-08)")[1].split("\n\n")[0]
    assert "» close              --> Closed  « last step" in block.splitlines()


def test_only_the_transition_from_that_status_is_marked() -> None:
    # `instruct` leaves four statuses; only the one left is marked
    drawn = text(LIFECYCLE, last=("QuotesReviewed", "instruct"))
    assert len(_marked(drawn, LAST)) == 1
    block = drawn.split("\n\nQuotesReviewed (W-02.reviewed)")[1].split("\n\n")[0]
    assert any(line.startswith(LAST + "instruct") for line in block.splitlines())


def test_an_event_creating_the_issue_is_marked_in_the_new_block() -> None:
    drawn = text(LIFECYCLE, current="Reported", last=(None, "report"))
    new_block = drawn.split("\n\n(new)\n")[1].split("\n\n")[0]
    assert new_block.startswith("» report")
    assert _marked(drawn, CURRENT)[0].startswith("▶ Reported (W-01)")


def test_no_marks_gives_the_graph_commands_text() -> None:
    assert text(LIFECYCLE, None, None) == PLAIN
    assert not _marked(PLAIN, CURRENT)
    assert not _marked(PLAIN, LAST)


@given(
    st.one_of(st.none(), st.sampled_from([*LIFECYCLE.statuses, "Nowhere"])),
    st.one_of(st.none(), st.sampled_from([*LIFECYCLE.statuses, "Nowhere"])),
    st.sampled_from([*LIFECYCLE.events, "no_event"]),
)
def test_marks_change_only_the_marked_lines(
    current: str | None, source: str | None, event: str
) -> None:
    drawn = text(LIFECYCLE, current=current, last=(source, event))
    unmarked = [line.removeprefix(CURRENT).removesuffix("  ◀ now") for line in drawn.splitlines()]
    unmarked = [
        "  " + line.removeprefix(LAST).removesuffix("  « last step")
        if line.startswith(LAST)
        else line
        for line in unmarked
    ]
    assert unmarked == PLAIN.splitlines()
    assert len(_marked(drawn, CURRENT)) == (current in LIFECYCLE.statuses)
    legal = event in LIFECYCLE.events and source in (LIFECYCLE.events[event].sources or (None,))
    assert len(_marked(drawn, LAST)) == legal
