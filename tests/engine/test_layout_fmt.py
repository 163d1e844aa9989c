"""The canonical layout (`rulebridge fmt`): key order, flow or block, comments and blank lines
kept, values never changed, idempotent; Hypothesis over mutated shipped rulesets."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import RulesetErrors
from engine.documents import parse_document
from engine.documents.layout import TOP_ORDER, WIDTH, format_text, kind_of

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [
    ROOT / "rulesets" / "alto-fixflo" / "v2.yaml",
    ROOT / "rulesets" / "jupix-alto" / "v1.yaml",
    ROOT / "rulesets" / "alto-fixflo" / "agency.example.yaml",
    ROOT / "rulesets" / "jupix-alto" / "agency.example.yaml",
]


def data(text: str) -> Any:
    return parse_document(text.encode("utf-8"), "t.yaml").data


def fmt(text: str) -> str:
    return format_text(text, "t.yaml")


def comments(text: str) -> list[str]:
    """Every comment of a file without quoted '#' or block scalars (the shipped files hold
    '#' only in comments), as written."""
    return sorted(line[line.index("#") :].rstrip() for line in text.splitlines() if "#" in line)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.parent.name + "/" + path.name)
def test_the_shipped_files_keep_their_data_and_comments_and_settle(path: Path) -> None:
    text = path.read_text("utf-8")
    formatted = fmt(text)
    assert data(formatted) == data(text)
    assert comments(formatted) == comments(text)
    assert fmt(formatted) == formatted
    if kind_of(data(text)) == "ruleset":
        top = [line.split(":")[0] for line in formatted.splitlines() if re.match(r"\w", line)]
        assert top == [key for key in TOP_ORDER if key in top]


def test_top_level_and_rule_keys_take_the_canonical_order_comments_moving_with_them() -> None:
    text = (
        "# modeline\n"
        "entities:\n"
        "  thing:\n"
        "    include:\n"
        "      - {when: {field: a, eq: 1}, summary: Only ones., id: R-1}\n"
        "      - when: {field: b, eq: 2}\n"
        "        # the id says which requirement\n"
        "        id: R-2\n"
        "    # where it comes from\n"
        "    from: src\n"
        "    summary: Things.\n"
        "\n"
        "ruleset: demo   # its name\n"
        "version: 1\n"
    )
    assert fmt(text) == (
        "# modeline\n"
        "ruleset: demo   # its name\n"
        "version: 1\n"
        "entities:\n"
        "  thing:\n"
        "    summary: Things.\n"
        "    # where it comes from\n"
        "    from: src\n"
        "    include:\n"
        "      - {id: R-1, summary: Only ones., when: {field: a, eq: 1}}\n"
        "      # the id says which requirement\n"
        "      - id: R-2\n"
        "        when: {field: b, eq: 2}\n"
    )


def test_a_flow_collection_with_a_comment_inside_becomes_block() -> None:
    text = "ruleset: x\nsettings:\n  a: {type: list,   # which\n      default: [1, 2]}\n"
    assert fmt(text) == (
        "ruleset: x\nsettings:\n  a:\n    type: list      # which\n    default: [1, 2]\n"
    )


def test_a_long_flow_collection_wraps_between_items_or_becomes_block() -> None:
    words = [f"Word{number:02}" for number in range(30)]
    text = f"ruleset: x\nsources:\n  s:\n    fields: [{', '.join(words)}]\n"
    lines = fmt(text).splitlines()
    assert lines[3].startswith("    fields: [Word00, Word01")
    assert all(len(line) <= WIDTH for line in lines)
    assert all(line.startswith(" " * 13 + "Word") for line in lines[4:])
    long_item = "x" * 120
    text = f"ruleset: x\nsources:\n  s:\n    fields: [a, {long_item}]\n"
    assert fmt(text) == f"ruleset: x\nsources:\n  s:\n    fields:\n      - a\n      - {long_item}\n"


def test_where_the_author_wrapped_a_long_flow_list_the_break_stays() -> None:
    first, second = ", ".join(["aaaaaaaa"] * 3), ", ".join(["bbbbbbbb"] * 8)
    text = f"ruleset: x\nfinal: [{first},\n        {second}]\n"
    assert fmt(text) == text
    assert fmt(f"ruleset: x\nfinal: [{first},\n  {second}]\n") == text
    assert fmt("ruleset: x\nfinal: [a,\n  b]\n") == "ruleset: x\nfinal: [a, b]\n"  # fits: one line


def test_a_flow_mapping_too_long_for_its_key_line_goes_on_the_next() -> None:
    summary = "s" * 70
    head = "ruleset: x\nlifecycle:\n  statuses:\n    Reported:"
    text = f"{head} {{id: W-01, summary: {summary}}}\n"
    assert fmt(text) == f"{head}\n      {{id: W-01, summary: {summary}}}\n"


def test_block_stays_block_and_blank_lines_are_kept_once() -> None:
    text = "ruleset: x\n\n\n\nversion: 1\nsettings:\n  a:\n    type: string\n"
    assert fmt(text) == "ruleset: x\n\nversion: 1\nsettings:\n  a:\n    type: string\n"


def test_scalars_stay_as_written_and_block_scalars_are_reindented() -> None:
    text = (
        "ruleset: 'x'\n"
        'summary: "yes"\n'
        "description: >-\n"
        "        Folded\n"
        "          kept more indented\n"
        "\n"
        "        second paragraph\n"
        "version: 0x1F\n"
    )
    formatted = fmt(text)
    assert formatted == (
        "ruleset: 'x'\n"
        "version: 0x1F\n"
        'summary: "yes"\n'
        "description: >-\n"
        "  Folded\n"
        "    kept more indented\n"
        "\n"
        "  second paragraph\n"
    )
    assert data(formatted) == data(text)


def test_anchors_and_aliases_are_kept() -> None:
    text = "ruleset: x\ntables:\n  a: &one {b: 1}\n  c: *one\n  d: [&two 2, *two]\n"
    assert fmt(text) == text
    assert data(fmt(text))["tables"]["c"] == {"b": 1}


def test_a_settings_file_keeps_its_keys_but_settings_for_comes_first() -> None:
    text = "settings:\n  b: 1\n  a: 2\nsettings_for: alto-fixflo  # the ruleset\n"
    assert fmt(text) == "settings_for: alto-fixflo  # the ruleset\nsettings:\n  b: 1\n  a: 2\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("ruleset: x\nversion: [1\n", "t.yaml:3:1"),
        ("ruleset: x\nsummary: a\nsummary: b\n", "t.yaml:3:1"),
        ("ruleset: x\ndescription: |2\n    text\n", "t.yaml:2:1"),
    ],
)
def test_what_fmt_cannot_lay_out_is_a_located_error(text: str, where: str) -> None:
    with pytest.raises(RulesetErrors) as caught:
        fmt(text)
    assert str(caught.value).startswith(where)


def _sections(path: Path) -> tuple[list[str], list[list[str]]]:
    """The file's header lines and its top-level sections, each with the comment and blank
    lines above it."""
    lines = path.read_text("utf-8").splitlines(keepends=True)
    starts = [number for number, line in enumerate(lines) if re.match(r"\w", line)]
    bounds = []
    for start in starts:
        while start > 0 and (not lines[start - 1].strip() or lines[start - 1].startswith("#")):
            start -= 1
        bounds.append(start)
    bounds[0] = starts[0]
    sections = [lines[a:b] for a, b in zip(bounds, [*bounds[1:], len(lines)], strict=True)]
    return lines[: bounds[0]], sections


def _check_shuffled(which: Path, seed: int) -> None:
    header, sections = _sections(which)
    random.Random(seed).shuffle(sections)
    shuffled = "".join(header + [line for section in sections for line in section])
    assert fmt(shuffled) == fmt(which.read_text("utf-8"))


SHUFFLES = {"which": st.sampled_from(SHIPPED[:2]), "seed": st.integers(0, 2**32 - 1)}


@settings(max_examples=3, deadline=None)
@given(**SHUFFLES)
def test_shuffled_sections_of_a_shipped_ruleset_format_as_the_original(
    which: Path, seed: int
) -> None:
    """Top-level sections in any order, each with its comments: fmt gives the same file."""
    _check_shuffled(which, seed)


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(**SHUFFLES)
def test_many_shuffles_format_as_the_original(which: Path, seed: int) -> None:
    _check_shuffled(which, seed)


def _mutated(value: Any, rng: random.Random) -> Any:
    """The same data with every mapping's keys in a random order."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {key: _mutated(value[key], rng) for key in keys}
    if isinstance(value, list):
        return [_mutated(item, rng) for item in value]
    return value


SECTIONS = [
    (path, key)
    for path in SHIPPED[:2]
    for key in yaml.safe_load(path.read_text("utf-8"))
    if key not in ("ruleset", "version")
]


def _check_mutated(section: tuple[Path, str], seed: int, flow: bool | None, width: int) -> None:
    path, key = section
    original = yaml.safe_load(path.read_text("utf-8"))
    document = {"ruleset": original["ruleset"], "version": 1, key: original[key]}
    text = yaml.safe_dump(
        _mutated(document, random.Random(seed)),
        sort_keys=False,
        default_flow_style=flow,
        width=width,
        allow_unicode=True,
    )
    formatted = fmt(text)
    assert data(formatted) == data(text) == document
    assert fmt(formatted) == formatted
    assert formatted.startswith("ruleset: ")


MUTATIONS = {
    "section": st.sampled_from(SECTIONS),
    "seed": st.integers(0, 2**32 - 1),
    "flow": st.sampled_from([None, True, False]),
    "width": st.sampled_from([40, 80, 100, 160, 4096]),
}


@settings(max_examples=6, deadline=None)
@given(**MUTATIONS)
def test_mutated_sections_keep_their_data_and_settle(
    section: tuple[Path, str], seed: int, flow: bool | None, width: int
) -> None:
    """A shipped ruleset's section with its keys shuffled and its styles flipped (all flow,
    all block, or flow for the innermost collections) at various widths."""
    _check_mutated(section, seed, flow, width)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(**MUTATIONS)
def test_many_mutated_sections_keep_their_data_and_settle(
    section: tuple[Path, str], seed: int, flow: bool | None, width: int
) -> None:
    _check_mutated(section, seed, flow, width)
