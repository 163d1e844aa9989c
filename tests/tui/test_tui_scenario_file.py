"""Saving a timeline over the scenario file it came from keeps what the author wrote: a
file saved unchanged is byte-identical; an edited one loads back to exactly the edited
steps, untouched steps' text and the comments kept. Also: atomic writes, a new file's
schema line, and watching a file for changes."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import load_ruleset
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle import Step, load_scenario
from tests.tui.tui_helpers import ROOT, RULESET, SCENARIOS
from tui.model.scenario_file import ScenarioFile, save_text, scenario_text
from tui.model.watch import FileWatch

SHIPPED = sorted(SCENARIOS.glob("*.yaml"))
RULES = load_ruleset(RULESET)
SOURCES = {path: ScenarioFile.read(path, RULES) for path in SHIPPED}


@pytest.fixture(scope="module")
def ruleset() -> CompiledRuleset:
    return RULES


def _same(step: Step) -> tuple[Any, ...]:
    """What a step is, apart from where it is written and its parsed expectations."""
    return (step.issue, step.event, dict(step.details), step.deliver, step.redeliver, step.note)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_a_shipped_scenario_saved_unchanged_is_byte_identical(
    ruleset: CompiledRuleset, path: Path
) -> None:
    source = ScenarioFile.read(path, ruleset)
    scenario = source.scenario
    assert source.render(scenario.steps, scenario.settings, scenario.summary) == source.text
    assert source.text.encode("utf-8") == path.read_bytes()
    # a summary re-typed on one line (the save dialog's input) is the same summary
    flat = " ".join(scenario.summary.split())
    assert source.render(scenario.steps, scenario.settings, flat) == source.text


_DETAILS = st.dictionaries(
    st.sampled_from(["Job.JobberNotes", "Job.PriceAgencyPayableGross", "Title"]),
    st.one_of(st.none(), st.integers(-5, 500), st.booleans(), st.text(max_size=12)),
    max_size=2,
)
_NOTES = st.text(max_size=20)
_EDIT = st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 20)),
    st.tuples(st.just("append"), st.sampled_from(["report", "close", "instruct"]), _NOTES),
    st.tuples(st.just("details"), st.integers(0, 20), _DETAILS),
    st.tuples(st.just("annotate"), st.integers(0, 20), _NOTES),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(SHIPPED),
    edits=st.lists(_EDIT, min_size=1, max_size=4),
    summary=st.one_of(st.none(), st.text(min_size=1, max_size=20).filter(str.strip)),
    tenant=st.booleans(),
)
def test_an_edited_timeline_loads_back_to_exactly_the_edited_steps(
    tmp_path_factory: pytest.TempPathFactory,
    path: Path,
    edits: list[tuple[Any, ...]],
    summary: str | None,
    tenant: bool,
) -> None:
    source = SOURCES[path]
    original = source.scenario
    steps = list(original.steps)
    for edit in edits:
        if edit[0] == "append":
            steps.append(Step(event=edit[1], note=edit[2]))
        elif steps and edit[0] == "drop":
            del steps[edit[1] % len(steps)]
        elif steps and edit[0] == "details":  # the step done again with other details
            at = edit[1] % len(steps)
            old = steps[at]
            steps[at] = Step(old.issue, old.event, edit[2], redeliver=old.redeliver, note=old.note)
        elif steps and edit[0] == "annotate":
            at = edit[1] % len(steps)
            steps[at] = dataclasses.replace(steps[at], note=edit[2])
    if not steps:
        steps.append(Step(event="report"))
    settings_ = {**original.settings, "paying_party": "Tenant"} if tenant else original.settings
    text = source.render(steps, settings_, summary or original.summary)
    target = tmp_path_factory.mktemp("saved") / "saved.yaml"
    save_text(target, text)
    back = load_scenario(target, RULES.lifecycle)  # the lifecycle: no compile per example
    assert [_same(step) for step in back.steps] == [_same(step) for step in steps]
    assert back.settings == settings_
    assert back.summary.split() == (summary or original.summary).split()
    assert back.name == original.name
    items = source.spans.items or ()
    lines = source.text.splitlines(keepends=True)
    for step in steps:
        if step in original.steps:  # untouched: its text as written
            span = items[original.steps.index(step)]
            assert "".join(lines[span.start : span.end]).rstrip("\n") in text


def test_comments_and_the_header_are_kept_when_steps_change(
    ruleset: CompiledRuleset, tmp_path: Path
) -> None:
    path = tmp_path / "commented.yaml"
    path.write_text(
        "# yaml-language-server: $schema=whatever.json\n"
        "# who wrote this and why\n"
        "scenario: commented\n"
        "summary: >\n  Two lines\n  of summary.\n"
        "steps:\n"
        "  # the tenant reports the leak\n"
        "  - {event: report, note: first}   # a trailing comment\n"
        "  # the agent asks for quotes\n"
        "  - event: request_quotes\n"
        "    expect: {status: QuotesRequested}\n"
        "  - {event: quotes_returned}\n"
        "  # the end of the list\n"
        "# the end of the file\n",
        encoding="utf-8",
    )
    source = ScenarioFile.read(path, ruleset)
    first, second, third = source.scenario.steps
    replaced = Step(event="request_quotes")  # done again: keeps the raw expect
    text = source.render([first, replaced, Step(event="review_quotes")], {}, "Other.")
    assert text == (
        "# yaml-language-server: $schema=whatever.json\n"
        "# who wrote this and why\n"
        "scenario: commented\n"
        "summary: Other.\n"
        "steps:\n"
        "  # the tenant reports the leak\n"
        "  - {event: report, note: first}   # a trailing comment\n"
        "  # the agent asks for quotes\n"
        "  - event: request_quotes\n"
        "    expect: {status: QuotesRequested}\n"
        "  - {event: review_quotes}\n"
        "  # the end of the list\n"
        "# the end of the file\n"
    )
    annotated = dataclasses.replace(second, note="asked two firms")
    text = source.render(
        [first, annotated, third], {"paying_party": "Tenant"}, "Two lines of summary."
    )
    assert (
        "summary: >\n  Two lines\n  of summary.\nsettings: {paying_party: Tenant}\nsteps:\n" in text
    )
    assert "  - event: request_quotes\n    note: asked two firms\n    expect: {status: Quot" in text
    again = source.render([Step(event="report"), second, third], {}, "Two lines of summary.")
    assert "  - {event: report, note: first}\n" in again  # done again: the note kept
    cleared = source.render([dataclasses.replace(first, note=""), second], {}, "Two lines.")
    assert "  - {event: report}\n" in cleared  # annotated empty: the note gone
    save_text(path, text)
    back = load_scenario(path, ruleset)
    assert back.steps[1].note == "asked two firms"
    assert back.steps[1].expect is not None
    assert back.steps[1].expect.status == "QuotesRequested"


def test_an_error_while_saving_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kept.yaml"
    path.write_text("scenario: kept\n", encoding="utf-8")
    path.chmod(0o640)

    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="No space left"):
        save_text(path, "scenario: new\n")
    assert path.read_text("utf-8") == "scenario: kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.yaml"]  # no temporary left
    monkeypatch.undo()
    save_text(path, "scenario: new\n")
    assert path.read_text("utf-8") == "scenario: new\n"
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_new_file_names_the_schema_only_inside_the_checkout(tmp_path: Path) -> None:
    steps = [Step(event="report", note="leak")]
    inside = scenario_text("s", "S.", steps, {}, ROOT / "simulator" / "scenarios")
    assert inside.splitlines()[0] == (
        "# yaml-language-server: $schema=../../engine/schema/scenario.schema.json"
    )
    outside = scenario_text("s", "S.", steps, {}, tmp_path)
    assert outside == "scenario: s\nsummary: S.\nsteps:\n- {event: report, note: leak}\n"


def test_a_watched_file_changes_only_when_its_content_does(tmp_path: Path) -> None:
    path = tmp_path / "v2.yaml"
    path.write_text("ruleset: a\n", encoding="utf-8")
    watch = FileWatch(path)
    assert not watch.changed()
    os.utime(path, ns=(1, 1))  # touched: the stat moved, the content did not
    assert not watch.changed()
    path.write_text("ruleset: b\n", encoding="utf-8")
    assert watch.changed()
    assert not watch.changed()  # once per new content
    watch.accept()
    path.unlink()
    assert (watch.changed(), watch.missing) == (False, True)
    path.write_text("ruleset: b\n", encoding="utf-8")  # back as accepted
    assert (watch.changed(), watch.missing) == (False, False)
    path.write_text("ruleset: c\n", encoding="utf-8")
    assert watch.changed()
