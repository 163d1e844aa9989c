"""Loading YAML: positions kept, and every kind of bad file gives one located error."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.documents.document import MAX_FILE_BYTES, load_document, parse_document
from engine.errors import RulesetErrors


def only_error(raw: bytes, name: str = "x.yaml") -> str:
    with pytest.raises(RulesetErrors) as caught:
        parse_document(raw, name)
    assert len(caught.value.errors) == 1
    return str(caught.value.errors[0])


def test_positions_of_keys_and_values_are_kept() -> None:
    doc = parse_document(b"a: 1\nb:\n  - x\n  - {c: d}\n", "x.yaml")
    assert doc.data == {"a": 1, "b": ["x", {"c": "d"}]}
    assert doc.where(("b", 1, "c")) == (4, 9)
    assert doc.key_where(("b", 1, "c")) == (4, 6)
    assert doc.where(("b", 7)) == (3, 3)  # falls back to the nearest known ancestor


def test_keys_stay_text_and_dates_stay_iso_text() -> None:
    doc = parse_document(b"on: 2019-01-01\nno: yes\nyes: true\n", "x.yaml")
    assert doc.data == {"on": "2019-01-01", "no": "yes", "yes": True}  # YAML 1.2 core values


def test_empty_file() -> None:
    assert (
        only_error(b"") == "x.yaml:1:1: empty-file: the file is empty; a ruleset starts "
        "with 'ruleset:', 'version:' and 'summary:'"
    )
    assert "empty-file" in only_error(b"# only a comment\n---\n")


def test_binary_garbage() -> None:
    assert "binary-file" in only_error(bytes(range(256)) * 4)


def test_not_utf8_names_line_and_column() -> None:
    assert (
        only_error("a: 1\nb: caf\u00e9\n".encode("latin-1"))
        == "x.yaml:2:7: not-utf8: byte 0xe9 is not UTF-8; save the file as UTF-8"
    )


def test_alias_bomb_is_bounded() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 9)]
    message = only_error("\n".join(lines).encode())
    assert "too-large" in message
    assert "alias" in message


def test_recursive_alias() -> None:
    assert "recursive-alias" in only_error(b"a: &x [1, *x]\n")


def test_duplicate_key_is_an_error_not_last_wins() -> None:
    assert (
        only_error(b"a: 1\nb: 2\na: 3\n")
        == "x.yaml:3:1: duplicate-key: key 'a' is already set on line 1; keep one"
    )


def test_tab_indentation() -> None:
    assert (
        only_error(b"a:\n\tb: 1\n")
        == "x.yaml:2:1: yaml-syntax: a tab is used for indentation; YAML indents with spaces only"
    )


@pytest.mark.parametrize(
    "tag", ["!!python/object:os.system [ls]", "!!binary aGk=", "!custom 1", "!!set {a: null}"]
)
def test_object_tags_are_refused(tag: str) -> None:
    assert "tag-not-allowed" in only_error(f"a: {tag}\n".encode())


def test_merge_keys_are_refused() -> None:
    assert "merge-key" in only_error(b"base: &b {x: 1}\nc:\n  <<: *b\n")


def test_syntax_error_is_located() -> None:
    assert only_error(b"a: [1, 2\nb: 3\n").startswith("x.yaml:2:2: yaml-syntax:")


def test_several_documents_are_refused() -> None:
    assert "yaml-syntax" in only_error(b"a: 1\n---\nb: 2\n")


def test_control_characters_are_refused() -> None:
    assert (
        only_error(b"a: \x07\n")
        == "x.yaml:1:4: yaml-syntax: character U+0007 is not allowed in YAML text; remove it"
    )


def test_huge_file_is_refused_by_size_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    with pytest.raises(RulesetErrors) as caught:
        load_document(big)
    assert str(caught.value) == (
        f"{big}:1:1: too-large: the file is 50.0 MiB; a ruleset may be "
        f"at most {MAX_FILE_BYTES // 1024 // 1024} MiB (is this the right file?)"
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RulesetErrors) as caught:
        load_document(tmp_path / "nope.yaml")
    assert "unreadable" in str(caught.value)


def test_deep_nesting_is_bounded() -> None:
    assert "too-deep" in only_error(b"a: " + b"[" * 100 + b"]" * 100 + b"\n")
