"""A ruleset fuzzer: mutated rulesets and settings give located errors, never a traceback.

Each mutation starts from a shipped file and breaks it the ways people and tools do: lines
lost, repeated, swapped or re-indented, a token misspelt, the file cut short, and snippets
dropped in (deep flow nesting, huge numbers, tags, anchors, merge keys, quotes, tabs, byte
order marks, NUL bytes, invalid UTF-8). `check_paths` (what ``rulebridge validate`` runs)
must answer every one with results whose every error is located inside the file, with a code
and a message, and must never raise.

The default run tries Hypothesis's examples; ``-m slow`` runs 10,000 seeded mutations and
prints how long the slowest took.
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import check_paths
from engine.errors import RulesetError

ROOT = Path(__file__).resolve().parents[2]
SOURCES = (
    ROOT / "rulesets" / "alto-fixflo" / "v2.yaml",
    ROOT / "rulesets" / "jupix-alto" / "v1.yaml",
    ROOT / "rulesets" / "alto-fixflo" / "agency.example.yaml",
)
TEXTS = {path.name + path.parent.name: path.read_bytes() for path in SOURCES}
CODE = re.compile(r"^[a-z][a-z0-9-]*$")
SLOWEST_SECONDS = 5.0
"""No single file may take longer to check (a hang would show here)."""

SNIPPETS: tuple[bytes, ...] = (
    b"[" * 600 + b"]" * 600,
    b"{a: " * 300 + b"1" + b"}" * 300,
    b"- " * 200 + b"x",
    b"9" * 5000,
    b"'x[" + b"9" * 5000 + b"]'",
    b"!!float abc",
    b"!!int x",
    b"!!bool maybe",
    b"!!python/object/apply:os.system ['true']",
    b"!custom value",
    b"&anchor",
    b"*anchor",
    b"<<: *anchor",
    b"? complex key",
    b'"',
    b"'",
    b"\t",
    b"\xef\xbb\xbf",
    b"\x00",
    b"\xff\xfe",
    b"%YAML 1.1\n---",
    b"\n---\n",
    b"|#",
    b"{a: }",
    b": :",
    b"ruleset: again",
    b"include: [{id: P-01, when: {field: recordTyp, eq: Rent}}]",
    b"when: {matches: '(a+)+$', field: id}",
)


def mutate(text: bytes, rng: random.Random) -> bytes:
    """`text` broken in one to three ways drawn from `rng`."""
    for _ in range(rng.randint(1, 3)):
        text = _MUTATIONS[rng.randrange(len(_MUTATIONS))](text, rng)
    return text


def _lines(text: bytes) -> list[bytes]:
    return text.split(b"\n")


def _drop_line(text: bytes, rng: random.Random) -> bytes:
    lines = _lines(text)
    del lines[rng.randrange(len(lines))]
    return b"\n".join(lines)


def _repeat_line(text: bytes, rng: random.Random) -> bytes:
    lines = _lines(text)
    at = rng.randrange(len(lines))
    lines.insert(at, lines[at])
    return b"\n".join(lines)


def _swap_lines(text: bytes, rng: random.Random) -> bytes:
    lines = _lines(text)
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return b"\n".join(lines)


def _reindent(text: bytes, rng: random.Random) -> bytes:
    lines = _lines(text)
    at = rng.randrange(len(lines))
    lines[at] = b" " * rng.choice([0, 1, 3, 5, 9]) + lines[at].lstrip(b" ")
    return b"\n".join(lines)


def _misspell(text: bytes, rng: random.Random) -> bytes:
    words = list(re.finditer(rb"[A-Za-z_]{3,}", text))
    if not words:
        return text
    word = words[rng.randrange(len(words))]
    cut = rng.randrange(word.start(), word.end())
    return text[:cut] + text[cut + 1 :]


def _cut(text: bytes, rng: random.Random) -> bytes:
    return text[: rng.randrange(len(text) + 1)]


def _insert(text: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(text) + 1)
    return text[:at] + rng.choice(SNIPPETS) + text[at:]


def _replace_value(text: bytes, rng: random.Random) -> bytes:
    values = list(re.finditer(rb": ([^\n{}\[\],]+)", text))
    if not values:
        return text
    found = values[rng.randrange(len(values))]
    return text[: found.start(1)] + rng.choice(SNIPPETS) + text[found.end(1) :]


_MUTATIONS = (
    _drop_line,
    _repeat_line,
    _swap_lines,
    _reindent,
    _misspell,
    _cut,
    _insert,
    _replace_value,
)


def check_one(folder: Path, name: str, text: bytes) -> tuple[int, float]:
    """Check one mutated file; the number of errors it got, and how long it took."""
    path = folder / f"{name}.yaml"
    path.write_bytes(text)
    lines = text.count(b"\n") + 1
    started = time.perf_counter()
    results = check_paths([path])
    elapsed = time.perf_counter() - started
    [result] = results
    for error in result.errors:
        assert isinstance(error, RulesetError)
        assert error.path == str(path)
        assert 1 <= error.line <= lines + 1, error
        assert error.column >= 1, error
        assert CODE.match(error.code), error
        assert error.message.strip(), error
    assert elapsed < SLOWEST_SECONDS, f"{elapsed:.1f}s for one file"
    return len(result.errors), elapsed


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(source=st.sampled_from(sorted(TEXTS)), seed=st.integers(0, 2**32 - 1))
def test_a_mutated_file_gets_located_errors_never_a_traceback(
    tmp_path: Path, source: str, seed: int
) -> None:
    check_one(tmp_path, "mutant", mutate(TEXTS[source], random.Random(seed)))


@pytest.mark.parametrize("snippet", SNIPPETS, ids=lambda s: repr(s[:20]))
@pytest.mark.parametrize(
    "where",
    [
        "summary: @",
        "version: @",
        "@: x",
        "sources: @",
        "sources: {alto.inventory: {key: @, fields: [id]}}",
    ],
)
def test_every_snippet_alone_is_located(tmp_path: Path, snippet: bytes, where: str) -> None:
    line = where.encode().replace(b"@", snippet)
    text = b"ruleset: x\nversion: 1\nsummary: s\n" + line + b"\n"
    check_one(tmp_path, "v1", text)


def test_a_source_key_with_a_huge_list_position_is_located(tmp_path: Path) -> None:
    text = TEXTS["v2.yamlalto-fixflo"]
    key = b"key: id\n"
    assert key in text
    huge = b"key: 'id[" + b"9" * 5000 + b"]'\n"
    path = tmp_path / "v2.yaml"
    path.write_bytes(text.replace(key, huge, 1))
    [result] = check_paths([path])  # once a ValueError from the path reader
    assert "invalid-value" in [error.code for error in result.errors]


def test_three_mistakes_give_three_errors(tmp_path: Path) -> None:
    """A duplicate key no longer hides the schema and semantic errors after it."""
    text = TEXTS["v2.yamlalto-fixflo"].replace(b"version: 2\n", b"version: 2\nversion: 2\n", 1)
    text = text.replace(b"field: managementType", b"field: managementTyp", 1)
    text = text.replace(b"summary:", b"sumary:", 1)
    path = tmp_path / "v2.yaml"
    path.write_bytes(text)
    [result] = check_paths([path])
    assert sorted(error.code for error in result.errors) == [
        "duplicate-key",
        "unknown-field",
        "unknown-key",  # 'sumary' (did you mean 'summary'?): no "missing key 'summary'" too
    ]


def test_validate_of_a_folder_reports_every_file(tmp_path: Path) -> None:
    bad = {
        "tag.yaml": b"ruleset: a\nversion: !!float abc\nsummary: s\n",
        "deep.yaml": b"ruleset: b\nversion: 1\nsummary: " + b"[" * 3000 + b"]" * 3000 + b"\n",
        "huge.yaml": b"ruleset: c\nversion: " + b"9" * 5000 + b"\nsummary: s\n",
        "tabbed.yaml": b'ruleset: d\nversion: 1\nsummary: "a\tb"\nx: '
        + b"[" * 3000
        + b"]" * 3000
        + b"\n",
    }
    for name, text in bad.items():
        (tmp_path / name).write_bytes(text)
    results = check_paths([tmp_path])
    codes = {Path(result.path).name: [error.code for error in result.errors] for result in results}
    assert codes["tag.yaml"] == ["bad-value"]
    assert "too-deep" in codes["deep.yaml"]
    assert codes["huge.yaml"] == ["bad-value"]
    assert codes["tabbed.yaml"] == ["too-deep"]


@pytest.mark.slow
def test_ten_thousand_mutations(tmp_path: Path) -> None:
    rng = random.Random(20261206)
    names = sorted(TEXTS)
    slowest, errors = 0.0, 0
    for number in range(10_000):
        source = names[number % len(names)]
        found, elapsed = check_one(tmp_path, "v1", mutate(TEXTS[source], rng))
        slowest, errors = max(slowest, elapsed), errors + found
    print(f"10,000 mutations: 0 tracebacks, {errors} located errors, slowest {slowest:.2f}s")
