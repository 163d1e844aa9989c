"""Plans in flat memory: `make_plan`'s sections move to an anonymous temporary file past a
threshold (`engine.sync.spill`) and read back equal, as often as asked, by position, by
slice and whole; the files are owner-only and gone with the plan; a full disk or a value
JSON would change keeps the items in memory instead, never losing one."""

from __future__ import annotations

import copy
import dataclasses
import errno
import gc
import json
import os
import stat
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.explain import Because
from engine.sync import spill
from engine.sync.plan import ManualAction, MergeDecision, Operation, Plan, Skip
from engine.sync.planner import make_plan
from engine.sync.saved_plan import own_entries, read_plan
from engine.sync.spill import Section, SpilledItems
from simulator.agency import AgencyGenerator
from tests.rulesets.alto import AS_OF, DEFAULT
from tests.rulesets.strategies import agencies

# JSON gives these back as they were; the rest (tuples, dates) must be kept in memory.
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_values = _json | st.tuples(st.text()) | st.dates() | st.just(float("inf"))
_text = st.text(max_size=8)
_because = st.builds(Because, _text, _text, _values, _text, st.booleans())
_reasons = st.lists(_because, max_size=3).map(tuple)
_fields = st.dictionaries(_text, _values, max_size=4)
_operations = st.builds(
    Operation,
    st.sampled_from(["create", "update", "archive", "link", "unlink"]),
    _text,
    _text,
    st.none() | _text,
    _values,
    st.none() | _text,
    _fields,
    _text,
    _reasons,
    st.none() | _text,
    st.none() | _text,
)
_skips = st.builds(Skip, _text, st.none() | _text, st.lists(_text, max_size=2).map(tuple), _reasons)
_merges = st.builds(MergeDecision, _text, st.none() | _text, _values, _text, _fields)
_manual = st.builds(ManualAction, _text, _text, _text, _values, st.none() | _text, _text, _fields)
KINDS = (
    (Operation, _operations),
    (Skip, _skips),
    (MergeDecision, _merges),
    (ManualAction, _manual),
)


@st.composite
def sections(draw: st.DrawFn) -> tuple[type[Any], list[Any], int]:
    """A section's class, its items, and a threshold near their number (either side)."""
    kind, items = draw(st.sampled_from(KINDS))
    found = draw(st.lists(items, max_size=12))
    spill_at = max(0, len(found) + draw(st.integers(-3, 2)))
    return kind, found, spill_at


def _frozen(kind: type[Any], items: list[Any], spill_at: int) -> Any:
    section = Section(kind, spill_at=spill_at)
    for item in items:
        section.add(item)
    return section.freeze()


@settings(max_examples=300, deadline=None)
@given(sections(), st.data())
def test_a_spilled_section_is_the_tuple_of_its_items(drawn: Any, data: st.DataObject) -> None:
    kind, items, spill_at = drawn
    frozen, expected = _frozen(kind, items, spill_at), tuple(items)
    assert isinstance(frozen, SpilledItems if len(items) > spill_at else tuple)
    assert frozen == expected
    assert expected == frozen
    assert not frozen != expected  # noqa: SIM202  # __ne__ too
    assert len(frozen) == len(expected)
    assert bool(frozen) == bool(expected)
    assert list(frozen) == list(expected)
    assert list(frozen) == list(frozen)
    assert [frozen[n] for n in range(-len(items), len(items))] == [*expected, *expected]
    start, stop, step = (data.draw(st.none() | st.integers(-14, 14)) for _ in range(3))
    chunk = slice(start, stop, step or None)
    assert frozen[chunk] == expected[chunk]
    assert type(frozen[chunk]) is tuple
    assert list(reversed(frozen)) == list(reversed(expected))
    assert frozen + () == expected  # noqa: RUF005  # as a tuple adds
    assert () + frozen == expected  # noqa: RUF005
    for bad in (len(items), -len(items) - 1):
        with pytest.raises(IndexError):
            frozen[bad]


def test_a_spilled_section_is_unhashable_immutable_and_copied_as_itself() -> None:
    frozen = _frozen(Skip, [Skip("property", str(n), ("P-01",), ()) for n in range(5)], 2)
    assert isinstance(frozen, SpilledItems)
    assert copy.copy(frozen) is frozen
    assert copy.deepcopy(frozen) is frozen
    with pytest.raises(TypeError):
        hash(frozen)
    assert frozen != [*frozen]  # a tuple is not a list, and neither is this
    assert repr(frozen) == "<5 plan items spilled to a file>"
    assert Skip("property", "3", ("P-01",), ()) in frozen
    assert frozen.index(frozen[4]) == 4


def _open_spills() -> list[int]:
    """This process's open files that are spilled plan sections (by their mode and name:
    an anonymous file in the temporary folder is shown as deleted)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if "(deleted)" in target or "rulebridge-plan-" in target:
            found.append(int(name))
    return found


def _records(size: int) -> dict[str, list[dict[str, Any]]]:
    agency = AgencyGenerator(size=size, seed=3)
    records: dict[str, list[dict[str, Any]]] = {}
    for system, collections in (
        ("alto", agency.alto_collections()),
        ("fixflo", agency.fixflo_collections()),
    ):
        for name, stream in collections.items():
            records[f"{system}.{name}"] = list(stream)
    return records


RECORDS = _records(60)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_spill_files_are_private_nameless_and_closed_with_the_plan(tmp_path: Path) -> None:
    before = set(_open_spills())
    made = make_plan(DEFAULT, RECORDS, as_of=AS_OF, spill_at=5)
    spilled = [
        section
        for section in (made.operations, made.skips, made.merges, made.manual)
        if isinstance(section, SpilledItems)
    ]
    assert len(spilled) >= 2, "the agency should spill its operations and skips"
    opened = set(_open_spills()) - before
    assert len(opened) == len(spilled)
    for fd in opened:
        assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o600  # personal data: owner-only
        assert os.fstat(fd).st_nlink == 0  # no name on disk: gone even if the process dies
    del made, spilled
    gc.collect()
    assert set(_open_spills()) - before == set()


def test_a_spilled_plan_equals_the_one_in_memory() -> None:
    kept = make_plan(DEFAULT, RECORDS, as_of=AS_OF, inputs={"alto": "h"}, spill_at=10**9)
    spilled = make_plan(DEFAULT, RECORDS, as_of=AS_OF, inputs={"alto": "h"}, spill_at=3)
    assert isinstance(spilled.operations, SpilledItems)
    assert isinstance(kept.operations, tuple)
    assert isinstance(spilled.skips, SpilledItems)
    assert spilled == kept
    assert kept == spilled
    assert json.dumps(spilled.to_json()) == json.dumps(kept.to_json())
    assert spilled.summary() == kept.summary()
    assert spilled.has_changes == kept.has_changes
    assert own_entries(spilled) == own_entries(kept)
    assert read_plan(spilled.to_json()) == read_plan(kept.to_json())
    shorter = dataclasses.replace(spilled, operations=spilled.operations[:3])
    assert shorter.operations == kept.operations[:3]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(agencies(), st.integers(0, 6))
def test_any_agency_plans_the_same_spilled_or_not(
    records: dict[str, list[dict[str, Any]]], spill_at: int
) -> None:
    kept = make_plan(DEFAULT, records, as_of=AS_OF, spill_at=10**9)
    spilled = make_plan(DEFAULT, records, as_of=AS_OF, spill_at=spill_at)
    assert spilled == kept
    assert spilled.to_json() == kept.to_json()


def _items(n: int) -> list[Operation]:
    reason = Because("P-01", "recordType", "Rent", "in [Rent]", True)
    fields = {"Address": {"Town": "Leeds", "Lines": ["1", "High St"]}, "n": n}
    made = ("create", "property", "fixflo.properties")
    return [Operation(*made, str(n), None, str(n), fields, f"key{n}", (reason,)) for n in range(n)]


@pytest.mark.parametrize("fails_after", [0, 1, 3])
def test_a_full_disk_keeps_every_item_in_memory(
    monkeypatch: pytest.MonkeyPatch, fails_after: int
) -> None:
    calls = []
    real = spill._write

    def write(fd: int, data: Any) -> int:
        calls.append(fd)
        if len(calls) > fails_after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, bytes(data)[:50])  # short writes too

    monkeypatch.setattr(spill, "_CHUNK", 64)
    monkeypatch.setattr(spill, "_write", write)
    items = _items(40)
    frozen = _frozen(Operation, items, 4)
    assert type(frozen) is tuple
    assert frozen == tuple(items)
    assert calls, "the section tried to write"


def test_no_temporary_folder_keeps_every_item_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise PermissionError(errno.EACCES, "Permission denied", "/tmp")

    monkeypatch.setattr("tempfile.TemporaryFile", refuse)
    items = _items(9)
    frozen = _frozen(Operation, items, 2)
    assert type(frozen) is tuple
    assert frozen == tuple(items)


def test_values_json_would_change_are_kept_as_they_are() -> None:
    odd = dataclasses.replace(_items(1)[0], fields={"when": date(2026, 1, 2), "pair": ("a", "b")})
    items = [*_items(3), odd, *_items(2)]
    frozen = _frozen(Operation, items, 1)
    assert isinstance(frozen, SpilledItems)
    assert frozen == tuple(items)
    assert frozen[3].fields["when"] == date(2026, 1, 2)
    assert frozen[3].fields["pair"] == ("a", "b")


def test_a_large_section_reads_back_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spill, "_CHUNK", 100)  # lines straddle every chunk read
    items = _items(250)
    frozen = _frozen(Operation, items, 10)
    assert isinstance(frozen, SpilledItems)
    assert list(frozen) == items
    assert frozen[-1] == items[-1]
    assert frozen[123] == items[123]


def test_a_plan_holding_spilled_sections_is_a_plan() -> None:
    made = make_plan(DEFAULT, RECORDS, as_of=AS_OF, spill_at=2)
    assert isinstance(made, Plan)
    assert [item for item in made.items()] == [  # noqa: C416  # items() is a generator
        *made.operations, *made.skips, *made.merges, *made.manual, *made.warnings
    ]  # fmt: skip


def test_a_long_spill_keeps_its_line_offsets_in_a_file_and_reads_back_equal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from engine.sync import tables

    monkeypatch.setattr(tables, "OFFSETS_IN_MEMORY", 2)
    items = [
        Skip("property", str(n), ("P-01",), (Because("P-01", "x", n, "y", False),))
        for n in range(9)
    ]
    section = Section(Skip, spill_at=0)
    for item in items:
        section.add(item)
    frozen = section.freeze()
    assert isinstance(frozen, SpilledItems)
    assert frozen == tuple(items)
    assert [frozen[n] for n in (8, 0, 5, -2)] == [items[8], items[0], items[5], items[7]]
    assert frozen[2:6] == tuple(items[2:6])
