"""Libyaml and the pure-Python loader give the same documents and the same errors.

`parse_document` composes with libyaml where PyYAML has it and falls back to the pure loader
for the texts the two read differently. These tests run both and compare everything a caller
sees: the data, the position of every key and value, and the error messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.documents import document
from engine.documents.document import parse_document
from engine.errors import RulesetErrors

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    [*ROOT.glob("rulesets/*/*.yaml"), *ROOT.glob("simulator/scenarios/*.yaml")],
    key=str,
)
LIBYAML = yaml.__with_libyaml__
needs_libyaml = pytest.mark.skipif(not LIBYAML, reason="PyYAML was built without libyaml")

Outcome = tuple[object, ...]


@contextlib.contextmanager
def loader(name: str) -> Iterator[None]:
    """Compose with libyaml where it can (the default), or with the pure loader only."""
    if name == "pure":
        with mock.patch.object(document, "_LIBYAML", None):
            yield
    else:
        yield


def outcome(raw: bytes) -> Outcome:
    """Everything `parse_document` shows a caller, in a form that compares."""
    try:
        doc = parse_document(raw, "x.yaml")
    except RulesetErrors as exc:
        return ("errors", str(exc))
    return ("document", repr(doc.data), dict(doc.values), dict(doc.keys), doc.sha256)


def both(raw: bytes) -> tuple[Outcome, Outcome]:
    with loader("libyaml"):
        fast = outcome(raw)
    with loader("pure"):
        pure = outcome(raw)
    return fast, pure


# Texts that libyaml alone reads differently (an empty value placed elsewhere, a text
# accepted that the pure loader refuses): `parse_document` must hand them to the pure loader.
DIVERGENT = [
    "? a\n? b",  # no line break at the end
    "? a\n  ",
    "[a\tb]\n",
    "---\n\ufeff\n",
    "[a?b]\n",
    "[a ?b]\n",
    "a: |#c\n",
    "a: >-#c\n  x\n",
    "!\n",
    "a: &x !\n",
    "[!'q'!!? a]\n",
    "{root: }\n",
    "[a: ,b]\n",
    "{a: #c\n}\n",
]


@needs_libyaml
@pytest.mark.parametrize("text", DIVERGENT)
def test_texts_libyaml_reads_differently_go_to_the_pure_loader(text: str) -> None:
    libyaml = yaml.CSafeLoader
    assert not document._libyaml_can_compose(text, libyaml)
    fast, pure = both(text.encode())
    assert fast == pure


@needs_libyaml
def test_each_divergent_text_does_differ_without_the_fallback() -> None:
    """The list above is not folklore: libyaml alone would give another outcome for each."""
    always = mock.patch.object(document, "_libyaml_can_compose", return_value=True)
    for text in DIVERGENT:
        with loader("pure"):
            pure = outcome(text.encode())
        with always:
            libyaml_alone = outcome(text.encode())
        assert libyaml_alone != pure, text


@needs_libyaml
@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_files_are_composed_by_libyaml_to_the_same_document(path: Path) -> None:
    text = path.read_text("utf-8")
    assert document._libyaml_can_compose(text, yaml.CSafeLoader)
    fast, pure = both(path.read_bytes())
    assert fast[0] == "document"
    assert fast == pure


BAD = [
    b"",
    b"# only a comment\n---\n",
    "a: 1\nb: caf\u00e9\n".encode("latin-1"),
    b"a: &x [1, *x]\n",
    b"a: 1\nb: 2\na: 3\n",
    b"a:\n\tb: 1\n",
    b"a: !!python/object:os.system [ls]\n",
    b"a: !custom 1\n",
    b"base: &b {x: 1}\nc:\n  <<: *b\n",
    b"a: [1, 2\nb: 3\n",
    b"a: 1\n---\nb: 2\n",
    b"a: \x07\n",
    b"a: " + b"[" * 100 + b"]" * 100 + b"\n",
    b"a: *nowhere\n",
    b"a: &x 1\nb: &x 2\n",
    b"a: 'open\n",
    b'a: "\\q"\n',
    b"a:\n  - b\n c: 1\n",
    b"%YAML 2.0\n---\na: 1\n",
    b"- a\nb: c\n",
    b"{a: 1, a: 2}\n",
    b"[a, b]]\n",
    b"a: b: c\n",
]


@needs_libyaml
@pytest.mark.parametrize("raw", BAD)
def test_bad_files_give_the_same_errors(raw: bytes) -> None:
    fast, pure = both(raw)
    assert fast[0] == "errors"
    assert fast == pure


@pytest.mark.parametrize("name", ["libyaml", "pure"])
def test_positions_with_either_loader(name: str) -> None:
    if name == "libyaml" and not LIBYAML:
        pytest.skip("PyYAML was built without libyaml")
    with loader(name):
        doc = parse_document("a: 1\nb:\n  - x\n  - {c: d, é: [1, 2.5, ~, yes]}\n".encode(), "x")
    assert doc.data == {"a": 1, "b": ["x", {"c": "d", "é": [1, 2.5, None, "yes"]}]}  # YAML 1.2
    assert doc.where(("b", 1, "c")) == (4, 9)
    assert doc.key_where(("b", 1, "é")) == (4, 12)
    assert doc.where(("b", 1, "é", 3)) == (4, 27)


@needs_libyaml
def test_deep_nesting_is_not_composed_by_libyaml() -> None:
    """Libyaml composes recursively in C: 100,000 levels would crash the interpreter."""
    libyaml = yaml.CSafeLoader
    deep = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert not document._libyaml_can_compose(deep, libyaml)
    wide = "".join(f"- {{k{n}: [{n}]}}\n" for n in range(1_300))  # many brackets, shallow
    assert document._libyaml_can_compose(wide, libyaml)
    fast, pure = both(wide.encode())
    assert fast[0] == "document"
    assert fast == pure
    assert document._shallow("- [x]\n" * 3_000 + "]\n", libyaml)  # composing says what is wrong


# Generated texts: soups of YAML's significant pieces (mostly errors, many odd documents)
# and real documents dumped in several styles, some then damaged by a character or two.
PIECES = [
    *["a", "b", "é", "😀", "1", "0x1f", "~", "null", "yes", "2019-01-01", "1.5e3", ".inf"],
    *[":", ": ", " ", "  ", "\n", "\n", "\n  ", "\r\n", "\r", "\x85", "\u2028", "\xa0"],
    *["- ", "-", "[", "]", "{", "}", ", ", ",", "? ", "?", "#c", " #c", "|", ">", "|-", ">2"],
    *["&x ", "*x", "&x", "*y", "!", "! ", "!!str ", "!t ", "!<!> ", "<<: ", "%YAML 1.1\n"],
    *["'q'", "'", "''", '"d"', '"', '"\\t"', '"\\x41"', "\\", "---\n", "...\n", "\t", "\ufeff"],
]
soups = st.lists(st.sampled_from(PIECES), min_size=1, max_size=25).map("".join)
endings = st.sampled_from(["", "\n"])
words = st.text(st.sampled_from("ab é😀:-#'\"\\\n\r\t ,[]{}?!&*|>%@`~0123.eE+"), max_size=8)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | words,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(words, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def dumped(draw: st.DrawFn) -> str:
    text = yaml.safe_dump(
        {"root": draw(values)},
        default_flow_style=draw(st.sampled_from([True, False, None])),
        allow_unicode=draw(st.booleans()),
        width=draw(st.sampled_from([20, 80, 1000])),
        indent=draw(st.sampled_from([2, 4])),
    )
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        damage = draw(st.sampled_from(["", " ", "\n", ":", "-", "?", "!", "#", "'", "[", "}"]))
        text = text[:at] + damage + text[at + (damage == "") :]
    return text


@needs_libyaml
@settings(max_examples=max(300, settings().max_examples))
@given(st.one_of(st.tuples(soups, endings).map("".join), dumped()))
@example("a: 1\n")
@example("? \n")
@example("{a: 1}\n")
def test_both_loaders_agree_on_generated_texts(text: str) -> None:
    fast, pure = both(text.encode("utf-8"))
    assert fast == pure
