"""Snapshot reading is linear in nesting depth and bounded: a record too deep or too large is
a located `RecordError` in its place and reading goes on with the next one.

The file of issue 15 (one record 100,000 levels deep in 260 KB) once took 22 GB to read;
``bench/snapshot_depth_bench.py`` measures it against a flat file of the same size.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters._records import listed
from engine.errors import RecordError
from engine.snapshot import (
    RecordLimits,
    SnapshotError,
    iter_records,
    iter_snapshot,
    read_header,
    write_snapshot,
)
from tests.adapters.test_bounds import depth

TAKEN = "2026-11-22T02:00:00Z"
HEADER = f'"system": "alto", "taken_at": "{TAKEN}"'
PAD = {"inventoryId": "2", "branchId": "1", "recordType": "Rent", "address": {"street": "High St"}}


def deep_file(tmp_path: Path, levels: int, *, pad_to: int = 0, name: str = "deep.json") -> Path:
    """An Alto snapshot whose first inventory record nests `levels` deep, then ordinary
    records (to `pad_to` bytes), then a contacts collection."""
    deep = '{"inventoryId": "1", "extra": ' + "[" * levels + "]" * levels + "}"
    pads: list[str] = []
    size = len(deep)
    while size < pad_to:
        pads.append(json.dumps(PAD | {"inventoryId": str(len(pads) + 2)}))
        size += len(pads[-1]) + 2
    inventory = ",\n".join([deep, *pads])
    text = f'{{{HEADER},\n"inventory": [\n{inventory}\n],\n"contacts": [{{"id": "9"}}]\n}}\n'
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


def read_all(path: Path, **options: Any) -> list[tuple[str, Any]]:
    return list(iter_snapshot(path, **options))


def peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        for _ in iter_snapshot(path):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_record_100000_levels_deep_is_located_and_reading_goes_on(tmp_path: Path) -> None:
    path = deep_file(tmp_path, 100_000, pad_to=260_000)
    assert 255_000 < path.stat().st_size < 270_000

    items = read_all(path)

    (name, first), *rest = items
    assert name == "inventory"
    assert isinstance(first, RecordError)
    assert str(first) == (
        f"{path}#inventory[0] (record 1): nests more than 64 levels deep, more than a "
        "snapshot record may be; left out"
    )
    assert all(isinstance(record, dict) for _, record in rest)
    assert [record.get("inventoryId") for _, record in rest][-2:] == [str(len(rest)), None]
    assert rest[-1] == ("contacts", {"id": "9"})
    assert peak_bytes(path) < 16 << 20  # once 22 GB; the parser batches a 64 KiB chunk


def test_memory_does_not_grow_with_depth(tmp_path: Path) -> None:
    """Quadratic reading took 16 times the memory for 4 times the depth."""
    shallow = peak_bytes(deep_file(tmp_path, 25_000, name="a.json"))
    deeper = peak_bytes(deep_file(tmp_path, 100_000, name="b.json"))
    assert deeper < 2 * shallow + (256 << 10)


def test_the_depth_limit_is_exact(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    at_limit = {"inventoryId": "1", "extra": [[]]}  # three levels: the record, the list, the list
    over = {"inventoryId": "2", "extra": [[[]]]}
    write_snapshot(path, "alto", {"inventory": [at_limit, over, PAD]}, TAKEN)

    items = list(iter_records(path, "inventory", limits=RecordLimits(max_depth=3)))

    assert items[0] == at_limit
    assert isinstance(items[1], RecordError)
    assert items[1].record_id == "2"
    assert items[1].message.startswith("nests more than 3 levels deep")
    assert items[2] == PAD


def test_a_record_too_large_is_located_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    big = {"inventoryId": "1", "branchId": "x" * (2 << 20)}
    write_snapshot(path, "alto", {"inventory": [PAD, big, PAD | {"inventoryId": "3"}]}, TAKEN)

    items = list(iter_records(path, "inventory"))

    assert items[0] == PAD
    assert isinstance(items[1], RecordError)
    assert str(items[1]) == (
        f"{path}#inventory[1] (record 1): is larger than 1,048,576 characters, more than a "
        "snapshot record may be; left out"
    )
    assert items[2] == PAD | {"inventoryId": "3"}


def test_a_deep_header_value_is_a_snapshot_error_not_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    path.write_text(f'{{{HEADER}, "agency_ref": {"[" * 100_000}{"]" * 100_000}}}', "utf-8")
    with pytest.raises(SnapshotError, match="agency_ref is a list, expected"):
        read_header(path)


def test_a_scalar_record_is_still_a_record_error(tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    path.write_text(f'{{{HEADER}, "inventory": [7, {json.dumps(PAD)}]}}', "utf-8")
    first, second = iter_records(path, "inventory")
    assert isinstance(first, RecordError)
    assert second == PAD


# Properties --------------------------------------------------------------------------------

KEYS = st.text(alphabet=st.sampled_from('ab"\\[{é'), max_size=4)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63) + 1, 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('xy"\\[]{}\n é'), max_size=8)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=25,
)


def read_back(tmp_path: Path, records: list[Any], limits: RecordLimits) -> list[Any]:
    """`records` written as an inventory, then read with `limits`."""
    path = tmp_path / "built.json"
    write_snapshot(path, "alto", {"inventory": records}, TAKEN)
    return list(iter_records(path, "inventory", limits=limits))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(VALUES, max_size=5))
def test_records_are_built_as_the_json_parser_builds_them(
    tmp_path: Path, values: list[Any]
) -> None:
    records = [{"inventoryId": str(n), "extra": value} for n, value in enumerate(values)]
    wide = RecordLimits(max_depth=100, max_bytes=1 << 30)
    assert read_back(tmp_path, records, wide) == json.loads(json.dumps(records))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=VALUES)
def test_a_record_within_its_limits_is_never_abandoned(tmp_path: Path, value: Any) -> None:
    """The size counted from events never exceeds the record's JSON text, in any encoding."""
    record = {"inventoryId": "1", "extra": value}
    text = json.dumps(record, ensure_ascii=False)
    exact = RecordLimits(max_depth=depth(record), max_bytes=len(text))
    assert read_back(tmp_path, [record], exact) == [json.loads(text)]
    if depth(record) > 1:
        (shallower,) = read_back(tmp_path, [record], RecordLimits(max_depth=depth(record) - 1))
        assert isinstance(shallower, RecordError)


def snapshot_records(key: str) -> st.SearchStrategy[list[Any]]:
    """Records of a collection keyed by `key`: valid, of the wrong id type, or scalars."""
    return st.lists(
        st.fixed_dictionaries({key: st.sampled_from(["1", "2", 3])}, optional={"extra": VALUES})
        | SCALARS,
        max_size=4,
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    inventory=snapshot_records("inventoryId"),
    contacts=snapshot_records("id"),
    suppliers=snapshot_records("id"),
)
def test_one_pass_reads_what_each_collection_read_does(
    tmp_path: Path, inventory: list[Any], contacts: list[Any], suppliers: list[Any]
) -> None:
    path = tmp_path / "snap.json"
    collections = {"inventory": inventory, "contacts": contacts, "suppliers": suppliers}
    write_snapshot(path, "alto", collections, TAKEN)
    limits = RecordLimits(max_depth=4, max_bytes=200)

    one_pass = list(iter_snapshot(path, limits=limits))

    each = [
        (name, item) for name in collections for item in iter_records(path, name, limits=limits)
    ]
    assert one_pass == each
    assert [name for name, _ in one_pass] == [n for n, items in collections.items() for _ in items]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(
        st.fixed_dictionaries(
            {"id": st.text(alphabet="0123456789", min_size=1, max_size=3)},
            optional={"companyName": st.text(max_size=150), "address": VALUES},
        )
        | VALUES,
        max_size=6,
    )
)
def test_what_an_adapter_lists_the_snapshot_reader_accepts(
    tmp_path: Path, items: list[Any]
) -> None:
    """A record an adapter writes is never one the reader then refuses, at the same limits."""
    limits = RecordLimits(max_depth=5, max_bytes=300)
    rejected: list[RecordError] = []

    async def accepted() -> list[dict[str, Any]]:
        async def listing() -> Any:
            for item in items:
                yield item

        where = "GET /inventory/filter#items"
        records = listed(
            "alto", "inventory", listing(), where=where, rejected=rejected, limits=limits
        )
        return [record async for record in records]

    records = asyncio.run(accepted())
    assert len(records) + len(rejected) == len(items)
    path = tmp_path / "snap.json"
    write_snapshot(path, "alto", {"inventory": records}, TAKEN)
    assert list(iter_records(path, "inventory", limits=limits)) == records
