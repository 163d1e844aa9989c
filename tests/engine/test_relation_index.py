"""Relation indexes on disk and record offsets in a file: a large file-backed table costs
no key and no offset in memory, and every lookup answers exactly what a dict would.

A Hypothesis differential holds `DiskIndex` (and `position_index` either side of its
threshold) against a plain dict of lists, over keys with odd text (lone surrogates, NUL,
numbers that read alike); plans made over file-backed tables with every index on disk and
every offset in a file equal the plans made over lists.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.language import relation_index
from engine.language.relation_index import DiskIndex, DiskMap, index_key, position_index
from engine.sync import tables
from engine.sync.planner import make_plan
from engine.sync.tables import Offsets, RecordTable
from tests.rulesets.alto import AS_OF, DEFAULT
from tests.rulesets.strategies import agencies

# Joined values as records hold them: text (surrogates and NUL included), numbers, lists of
# them, and values no key is made of.
_text = st.text(st.characters(exclude_categories=()), max_size=4)
_scalar = _text | st.integers(-3, 3) | st.floats(allow_nan=False) | st.none() | st.booleans()
_values = _scalar | st.lists(_scalar, max_size=3) | st.dictionaries(_text, _scalar, max_size=1)


def _model(values: list[Any]) -> dict[str, list[int]]:
    """What an index must answer: key -> every position bearing it, ascending."""
    expected: dict[str, list[int]] = {}
    for position, value in enumerate(values):
        for item in value if isinstance(value, list) else [value]:
            key = index_key(item)
            if key is not None:
                expected.setdefault(key, []).append(position)
    return expected


def _positions(found: Any) -> list[int] | None:
    return [found] if type(found) is int else found


@settings(max_examples=60, deadline=None)
@given(values=st.lists(_values, max_size=25), asked=st.lists(_text, max_size=4))
def test_position_index_answers_as_a_dict_either_side_of_the_threshold(
    values: list[Any], asked: list[str]
) -> None:
    expected = _model(values)
    rows = [{"v": value} for value in values]
    for disk_at in (0, len(rows), 10**9):
        index = position_index(rows, lambda row: row["v"], len(rows), disk_at=disk_at)
        assert isinstance(index, DiskIndex) == (len(rows) > disk_at)
        for key in [*expected, *asked, "", "\x00"]:
            assert _positions(index.get(key)) == expected.get(key), (disk_at, key)


def test_disk_index_keeps_keys_apart_that_text_or_encoding_could_confuse() -> None:
    keys = ["1", "1.0", "01", " 1", "\ud800", "\udfff", "a\x00b", "a", "é", "e\u0301", "A"]
    with DiskIndex((key, position) for position, key in enumerate(keys)) as index:
        for position, key in enumerate(keys):
            assert index.get(key) == [position]
        assert index.get("a\x00") is None
        assert index.get("\ud800\udfff") is None


def test_a_closed_index_refuses_lookups_and_a_dropped_one_leaves_no_file() -> None:
    before = _open_files()
    index = DiskIndex([("k", 1)] * 3)
    assert index.get("k") == [1, 1, 1]
    index.close()
    with pytest.raises(ValueError, match="closed"):
        index.get("k")
    dropped = DiskIndex((str(n), n) for n in range(5000))
    assert dropped.get("4999") == [4999]
    del dropped
    gc.collect()
    assert _open_files() <= before


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40), limit=st.integers(0, 9))
def test_offsets_read_back_what_was_appended_from_memory_and_file(
    values: list[int], limit: int
) -> None:
    offsets = Offsets(in_memory=limit)
    for value in values:
        offsets.append(value)
    assert len(offsets) == len(values)
    assert offsets.in_file == len(values) - len(values) % max(1, limit)
    assert list(offsets) == values
    assert offsets[::2] == values[::2]
    for index in range(-len(values), len(values)):
        assert offsets[index] == values[index]
    with pytest.raises(IndexError):
        offsets[len(values)]


def test_a_long_table_keeps_its_offsets_in_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tables, "OFFSETS_IN_MEMORY", 3)
    records = [{"id": str(n), "text": "x" * n} for n in range(10)]
    with RecordTable.write(tmp_path / "t.jsonl", records) as table:
        assert table._offsets.in_file == 9  # type: ignore[attr-defined]
        assert [table[n] for n in (9, 0, 4, -1)] == [records[9], records[0], records[4], records[9]]
        assert list(table) == records


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=agencies())
def test_plans_over_tables_with_every_index_on_disk_equal_plans_over_lists(
    tmp_path_factory: pytest.TempPathFactory, records: dict[str, list[dict[str, Any]]]
) -> None:
    expected = make_plan(DEFAULT, records, as_of=AS_OF)
    folder = tmp_path_factory.mktemp("tables")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(relation_index, "DISK_AT", 0)
        patch.setattr(tables, "OFFSETS_IN_MEMORY", 2)
        held = {name: RecordTable.write(folder / name, rows) for name, rows in records.items()}
        try:
            planned = make_plan(DEFAULT, held, as_of=AS_OF)
            assert planned == expected
            assert planned.to_json() == expected.to_json()
        finally:
            for table in held.values():
                table.close()


# Keys as merge rules make them: tuples of text and numbers that may be equal across types
# (1, 1.0, True), nested tuples (a list field), NaN (kept in memory: never equal to itself).
_atom = (
    st.sampled_from(["", "a", "A", "1", "\ud800", "a\x00"])
    | st.sampled_from([0, 1, -1, 2**70])
    | st.sampled_from([0.0, -0.0, 1.0, 1.5, float("inf"), float(2**70), float("nan")])
    | st.booleans()
)
_keys = st.tuples(_atom) | st.tuples(_atom, _atom) | st.tuples(st.tuples(_atom), _atom)
_ops = st.lists(
    st.tuples(
        st.sampled_from(["set", "get", "in", "setdefault", "del"]),
        _keys,
        st.none() | st.integers(-1, 5) | st.text(max_size=2),
    ),
    max_size=30,
)


@settings(max_examples=80, deadline=None)
@given(ops=_ops)
def test_disk_map_answers_every_operation_as_a_dict(ops: list[tuple[str, Any, Any]]) -> None:
    model: dict[Any, Any] = {}
    table = DiskMap()
    for op, key, value in ops:
        if op == "set":
            model[key] = value
            table[key] = value
        elif op == "get":
            assert table.get(key, "missing") == model.get(key, "missing")
        elif op == "in":
            assert (key in table) == (key in model)
        elif op == "setdefault":
            assert table.setdefault(key, value) == model.setdefault(key, value)
        elif key in model:
            del model[key]
            del table[key]
        else:
            with pytest.raises(KeyError):
                del table[key]
        assert len(table) == len(model)
