"""Planning in flat memory: records kept in files (`RecordTable`), the planner streaming
them into a sink, the plan JSON written item by item, the context's memo never fooled by a
reused id; the same plan, byte for byte, as one planned in memory."""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from engine.sync.plan import Plan
from engine.sync.plan_writer import PlanWriter
from engine.sync.planner import make_plan, plan_into
from engine.sync.tables import RecordTable
from rulebridge.cli._plan_table import PlanDigest, print_plan
from simulator.agency import write_agency
from tests.rulesets.alto import AS_OF, DEFAULT, RULESET_PATH, contact, prop, tenancy, world
from tests.rulesets.strategies import agencies

Records = dict[str, list[dict[str, Any]]]


def _tables(records: Records, folder: Path) -> dict[str, RecordTable]:
    return {
        name: RecordTable.write(folder / f"{name}.jsonl", rows) for name, rows in records.items()
    }


def _in_memory_json(made: Plan) -> str:
    return json.dumps(made.to_json(), indent=2, ensure_ascii=False, default=str)


def _streamed_json(records: Records) -> tuple[str, int]:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        tables = _tables(records, folder)
        writer = PlanWriter(folder)
        head = plan_into(DEFAULT, tables, writer, as_of=AS_OF, inputs={"alto": "h"})
        out = folder / "plan.json"
        with out.open("w", encoding="utf-8") as handle:
            writer.write_to(head, handle)
        writer.close()
        for table in tables.values():
            table.close()
        return out.read_text("utf-8"), writer.changes


# The same plan, whatever holds the records ---------------------------------------------


@settings(max_examples=40)
@given(agencies())
def test_a_plan_streamed_from_files_is_the_plan_made_in_memory(records: Records) -> None:
    made = make_plan(DEFAULT, records, as_of=AS_OF, inputs={"alto": "h"})
    text, changes = _streamed_json(records)
    assert text == _in_memory_json(made)
    assert changes == len(made.operations)


@given(agencies())
def test_each_entity_updates_and_archives_before_it_creates_and_links_come_last(
    records: Records,
) -> None:
    """The order the target needs (a merge key such as an email is freed before another
    record takes it), kept by the planner's passes; links and unlinks (the link pass) come
    after every record is written."""
    ops = make_plan(DEFAULT, records, as_of=AS_OF).operations
    joins = ("link", "unlink")
    links = [i for i, op in enumerate(ops) if op.op in joins]
    assert links == list(range(len(ops) - len(links), len(ops)))
    for kind in DEFAULT.entities:
        order = [op.op == "create" for op in ops if op.kind == kind and op.op not in joins]
        assert order == sorted(order), (kind, [op.op for op in ops if op.kind == kind])


@given(agencies())
def test_the_table_digest_prints_what_the_plan_held_in_memory_prints(records: Records) -> None:
    made = make_plan(DEFAULT, records, as_of=AS_OF)
    expected, streamed = Console(width=160, record=True), Console(width=160, record=True)
    print_plan(made, expected)
    digest = PlanDigest()
    head = plan_into(DEFAULT, records, digest, as_of=AS_OF)
    digest.show(head, streamed)
    assert streamed.export_text() == expected.export_text()
    assert digest.changes == len(made.operations)


# RecordTable ------------------------------------------------------------------------------

records_ = st.lists(
    st.dictionaries(
        st.text(max_size=5),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=3), inner, max_size=3)
            ),
            max_leaves=6,
        ),
        max_size=4,
    ),
    max_size=30,
)


@given(records_)
def test_a_table_gives_back_each_record_by_position_and_in_order(
    rows: list[dict[str, Any]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        table = RecordTable.write(Path(folder) / "t.jsonl", rows)
        assert len(table) == len(rows)
        assert list(table) == rows
        assert [table[i] for i in reversed(range(len(rows)))] == rows[::-1]
        assert table[1:3] == rows[1:3]
        if rows:
            assert table[-1] == rows[-1]
        table.close()
        assert list(table) == rows  # readable again after close


def test_a_table_file_is_private_never_overwritten_and_refuses_bad_positions(
    tmp_path: Path,
) -> None:
    table = RecordTable.write(tmp_path / "t.jsonl", [{"id": "1", "name": "Zoë\nline"}])
    assert stat.S_IMODE(os.stat(tmp_path / "t.jsonl").st_mode) == 0o600
    assert table[0] == {"id": "1", "name": "Zoë\nline"}
    with pytest.raises(IndexError, match="record 1 of 1"):
        table[1]
    with pytest.raises(IndexError):
        table[-2]
    with pytest.raises(FileExistsError):
        RecordTable.write(tmp_path / "t.jsonl", [])
    table.close()


# The context ------------------------------------------------------------------------------


def test_related_records_read_back_by_position_decide_like_records_in_memory(
    tmp_path: Path,
) -> None:
    records = world(
        alto_inventory=[prop("P1"), prop("P2", recordType="Sale"), prop("P3")],
        alto_contacts=[contact("C1"), contact("C2"), contact("C3")],
        alto_tenancies=[
            tenancy("T1", "P1", "C1"),
            tenancy("T2", "P2", "C2"),
            tenancy("T3", "P3", "C3", status="Vacated"),
            tenancy("T4", "P3", "C1"),
        ],
    )
    occupier = DEFAULT.entities["occupier"]
    in_memory = DEFAULT.context(records, as_of=AS_OF)
    tables = _tables(records, tmp_path)
    on_disk = DEFAULT.context(tables, as_of=AS_OF)
    for record in records["alto.contacts"]:
        assert occupier.evaluate(record, on_disk) == occupier.evaluate(record, in_memory)
    found = on_disk.related("alto.contacts/places", {"id": "C1"})
    assert [place["tenancyId"] for place in found] == ["T1", "T4"]
    for table in tables.values():
        table.close()


def test_the_inclusion_memo_is_not_fooled_by_a_reused_id() -> None:
    """Records read one at a time are dropped after use, and a new one may get a dropped
    one's id: the memo must decide it afresh, not answer for the dropped record (also past
    the memo's bound, when it starts again)."""
    context, draw = DEFAULT.context({}, as_of=AS_OF), random.Random(7)
    wrong = []
    for n in range(5000):
        rent = draw.random() < 0.5
        record = prop(f"P{n}", recordType="Rent" if rent else "Sale")
        if context.included("property", record) != rent:
            wrong.append(n)
        del record
    assert wrong == []


# Memory ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_plan_memory_is_flat_from_2000_to_16000_properties(tmp_path: Path) -> None:
    """bench/plan_memory_bench.py in short: records and operations stream, so the peak grows
    only by the relation indexes (a key and a position per joined record: about 2 KiB per
    property on the contract's shapes, whose joins are contacts -> details, places and
    ownerships, tenancy places -> tenancies, owners -> properties). Holding the records or
    the plan would cost 15 KiB or more per property. A flat peak is issue 21's."""
    child = (
        "import atexit, sys\n"
        "def peak():\n"
        "    with open('/proc/self/status') as status:\n"
        "        kib = next(l.split()[1] for l in status if l.startswith('VmHWM:'))\n"
        "    print('peak-kib', kib, file=sys.stderr)\n"
        "atexit.register(peak)\n"
        "from rulebridge.cli.plan import plan\n"
        "plan()\n"
    )
    peaks = []
    for size in (2000, 16000):
        alto, fixflo = write_agency(tmp_path / str(size), size=size, seed=1)
        done = subprocess.run(
            [sys.executable, "-c", child, "--ruleset", str(RULESET_PATH), "--alto", str(alto),
             "--fixflo", str(fixflo), "--format", "json", "--out", str(tmp_path / f"{size}.json")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        (line,) = [x for x in done.stderr.splitlines() if x.startswith("peak-kib ")]
        peaks.append(int(line.split()[1]) / 1024)
    per_property_kib = (peaks[1] - peaks[0]) * 1024 / (16000 - 2000)
    assert per_property_kib < 3, peaks
