"""YAML values are read by the YAML 1.2 core schema, alike under libyaml and the pure loader.

Before, PyYAML's YAML 1.1 reading turned ``default: NO`` (Norway) into ``false`` and
``on``/``yes`` into booleans. Now only ``true``/``false`` are booleans; every shipped file
means what it meant (none of them relied on YAML 1.1's readings).
"""

from __future__ import annotations

import contextlib
import datetime
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from engine import load_ruleset
from engine.canonical import content_hash
from engine.documents import document
from engine.documents.document import dump_yaml, load_document, parse_document
from engine.errors import RulesetErrors
from tests.engine.rulesets import ruleset_data, write

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    path
    for pattern in ("rulesets/**/*.yaml", "simulator/scenarios/*.yaml", "docs/**/*.yaml")
    for path in ROOT.glob(pattern)
)
RULESETS = sorted(ROOT.glob("rulesets/*/v*.yaml"))


@contextlib.contextmanager
def loader(name: str) -> Iterator[None]:
    if name == "pure":
        with mock.patch.object(document, "_LIBYAML", None):
            yield
    else:
        yield


LOADERS = pytest.mark.parametrize("name", ["libyaml", "pure"])

# (plain scalar, value) from the YAML 1.2.2 core schema, section 10.3.2.
CORE = [
    *[(word, word) for word in ["yes", "no", "on", "off", "y", "n", "Y", "N", "NO", "Yes", "OFF"]],
    *[(word, True) for word in ["true", "True", "TRUE"]],
    *[(word, False) for word in ["false", "False", "FALSE"]],
    *[(word, None) for word in ["null", "Null", "NULL", "~"]],
    *[("nULL", "nULL"), ("tRUE", "tRUE")],
    ("0", 0),
    ("-0", 0),
    ("+12", 12),
    ("017", 17),  # decimal in 1.2 (octal 15 in 1.1)
    ("0o17", 15),
    ("0x1F", 31),
    ("0x1f", 31),
    ("0b101", "0b101"),  # no binary in 1.2 core
    ("1_000", "1_000"),  # no underscores
    ("1:30", "1:30"),  # no sexagesimal
    ("-0x1F", "-0x1F"),  # hex and octal carry no sign
    ("0o8", "0o8"),
    ("1.5", 1.5),
    ("1e3", 1000.0),  # a float in 1.2 (text in 1.1, which wants a dot)
    ("-.5E-2", -0.005),
    ("1.", 1.0),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    ("+.INF", math.inf),
    ("2019-01-01", "2019-01-01"),  # dates stay text (the engine reads them itself)
    ("=", "="),
    ("<<", "<<"),
    ("1.2.3", "1.2.3"),
    ("12 monkeys", "12 monkeys"),
]


@LOADERS
@pytest.mark.parametrize(("text", "value"), CORE, ids=[text for text, _ in CORE])
def test_plain_values_follow_the_yaml_12_core_schema(name: str, text: str, value: Any) -> None:
    with loader(name):
        data = parse_document(f"a: {text}\nb: [{text}]\n".encode(), "x.yaml").data
    assert data["a"] == value
    assert type(data["a"]) is type(value)
    assert data["b"] == [value]


@LOADERS
def test_nan_empty_values_and_quotes(name: str) -> None:
    with loader(name):
        data = parse_document(b"a: .NaN\nb:\nc: 'true'\nd: \"NO\"\nyes: on\n", "x.yaml").data
    assert math.isnan(data["a"])
    assert data["b"] is None
    assert data["c"] == "true"
    assert data["d"] == "NO"
    assert data["yes"] == "on"  # keys are always the text written


@LOADERS
@pytest.mark.parametrize(
    ("text", "value"),
    [("!!int '0x10'", 16), ("!!float 1", 1.0), ("!!bool 'false'", False), ("!!str 12", "12")],
)
def test_explicit_core_tags(name: str, text: str, value: Any) -> None:
    with loader(name):
        data = parse_document(f"a: {text}\n".encode(), "x.yaml").data
    assert data["a"] == value
    assert type(data["a"]) is type(value)


@LOADERS
@pytest.mark.parametrize(
    "text", ["!!bool yes", "!!int 0b11", "!!int 1_0", "!!null no", "!!float x"]
)
def test_explicit_tags_take_only_yaml_12_forms(name: str, text: str) -> None:
    with loader(name), pytest.raises(RulesetErrors) as caught:
        parse_document(f"a: {text}\n".encode(), "x.yaml")
    (error,) = caught.value.errors
    assert (error.line, error.column, error.code) == (1, 4, "bad-value")


def test_a_setting_default_of_no_stays_the_text_no(tmp_path: Path) -> None:
    """The issue's example: ``default: NO`` (Norway) was read as false."""
    setting = {"type": "string", "allowed": ["GB", "NO"], "default": "NO", "summary": "Where."}
    path = write(tmp_path, ruleset_data(settings={"country": setting}))
    text = path.read_text("utf-8")
    assert "default: 'NO'" in text
    path.write_text(text.replace("'NO'", "NO"), "utf-8")  # as a person writes it
    assert load_document(path).data["settings"]["country"]["default"] == "NO"
    assert load_ruleset(path).settings["country"] == "NO"


def _as_11(value: Any) -> Any:
    """YAML 1.1 data as `load_document` gives it: dates as their ISO text."""
    if isinstance(value, dict):
        return {str(key): _as_11(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_11(item) for item in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: str(path.relative_to(ROOT)))
def test_shipped_files_mean_what_they_meant_under_yaml_11(path: Path) -> None:
    """Rulesets, settings, agency examples, scenarios: the same data under 1.1 and 1.2."""
    before = _as_11(yaml.safe_load(path.read_text("utf-8")))
    assert load_document(path).data == before


@pytest.mark.parametrize("path", RULESETS, ids=lambda path: path.parent.name)
def test_compiled_shipped_rulesets_are_unchanged(path: Path) -> None:
    before = _as_11(yaml.safe_load(path.read_text("utf-8")))
    assert load_ruleset(path).content_hash == content_hash(before)


_WORD = st.text(st.sampled_from("0123456789abefnortxyAEFINOTY.+-_:~ oe"), min_size=1, max_size=8)


def _reference(text: str) -> Any:
    """The 1.2 core reading of a plain scalar, written out from the spec's table."""
    if text in {"", "null", "Null", "NULL", "~"}:  # an empty plain scalar is null too
        return None
    if text in {"true", "True", "TRUE", "false", "False", "FALSE"}:
        return text[0] in "tT"
    if re.fullmatch(r"[-+]?[0-9]+", text):
        return int(text)
    if re.fullmatch(r"0o[0-7]+", text):
        return int(text[2:], 8)
    if re.fullmatch(r"0x[0-9a-fA-F]+", text):
        return int(text[2:], 16)
    if re.fullmatch(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", text):
        return float(text)
    if re.fullmatch(r"[-+]?\.(inf|Inf|INF)", text):
        return -math.inf if text.startswith("-") else math.inf
    return text


@given(_WORD)
def test_generated_plain_scalars_read_as_the_spec_says_under_both_loaders(word: str) -> None:
    text = f"a: '{word}'\nb: {word}\n"
    outcomes = []
    for name in ("libyaml", "pure"):
        with loader(name):
            try:
                outcomes.append(repr(parse_document(text.encode(), "x.yaml").data))
            except RulesetErrors as exc:
                outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]
    try:
        data = parse_document(text.encode(), "x.yaml").data
    except RulesetErrors:
        return  # not a plain scalar (``a: - x``, ``a: x: y``): both loaders refused it alike
    if data["b"] == data["a"].strip():
        return
    assert data["b"] == _reference(data["a"].strip())


@given(st.recursive(st.none() | st.booleans() | st.integers() | _WORD, st.lists, max_leaves=8))
def test_dump_yaml_reads_back_the_same(value: Any) -> None:
    """`dump_yaml` quotes what 1.2 would misread: ``yaml.safe_dump`` writes ``1e3`` plain."""
    assert parse_document(dump_yaml({"v": value}).encode(), "x.yaml").data == {"v": value}
