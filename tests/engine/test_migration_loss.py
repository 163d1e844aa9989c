"""No silent loss in a Jupix migration: every row of every file is accounted for exactly once.

The expected counts come from the files themselves (read with a plain CSV parser before they
are broken, so independent of the reader under test), never from what the reader yields.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.jupix import TABLES, JupixExport, write_manifest
from adapters.jupix.records import export_records
from engine.migration import Migration, migrate
from simulator.jupix import write_jupix_export
from tests.rulesets.jupix import AS_OF, ruleset

Draw = Callable[[st.SearchStrategy[Any]], Any]

CSV_TABLES = [spec for spec in TABLES.values() if spec.file.endswith(".csv")]
KINDS = ("stray quote", "wrong cell count", "broken line")


@dataclass
class Expected:
    """What one table's file holds: clean rows by key, and the lines of broken ones."""

    clean: set[str] = field(default_factory=set)
    broken_lines: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        return len(self.clean) + len(self.broken_lines)


@dataclass(frozen=True)
class Row:
    """One row of a clean file: its cells and the physical lines it takes."""

    cells: list[str]
    first: int
    lines: list[str]


def rows_of(text: str) -> list[Row]:
    """The data rows of a well-formed CSV text, with their lines (a plain `csv` read)."""
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    found, start = [], reader.line_num
    for cells in reader:
        found.append(Row(cells, start + 1, lines[start : reader.line_num]))
        start = reader.line_num
    return found


def corrupt(kind: str, cells: list[str], draw: Draw) -> list[str]:
    """A one-line row of unquoted cells, broken as `kind` says: the lines it becomes."""
    if kind == "stray quote":
        at = draw(st.integers(0, len(cells) - 1))
        return [",".join([*cells[:at], '"' + cells[at], *cells[at + 1 :]]) + "\r\n"]
    text = ",".join(cells)
    if kind == "wrong cell count":
        commas = [index for index, char in enumerate(text) if char == ","]
        if draw(st.booleans()):
            at = draw(st.integers(0, len(text)))
            return [text[:at] + "," + text[at:] + "\r\n"]
        at = draw(st.sampled_from(commas))
        return [text[:at] + text[at + 1 :] + "\r\n"]
    at = draw(st.integers(1, len(cells) - 2))  # never the first or last cell: see docs
    cut = draw(st.integers(0, len(cells[at])))
    head = ",".join([*cells[:at], cells[at][:cut]])
    return [head + "\r\n", ",".join([cells[at][cut:], *cells[at + 1 :]]) + "\r\n"]


def break_file(path: Path, draw: Draw, chance: float) -> Expected:
    """Corrupt some one-line rows of `path` (none with a quote); what the file now holds."""
    text = path.read_text("utf-8")
    header = text.splitlines(keepends=True)[0]
    expected, out, line = Expected(), [header], 2
    for row in rows_of(text):
        simple = len(row.lines) == 1 and '"' not in row.lines[0]
        if simple and draw(st.floats(0, 1)) < chance:
            written = corrupt(draw(st.sampled_from(KINDS)), row.cells, draw)
            expected.broken_lines.update(range(line, line + len(written)))
        else:
            written = row.lines
            expected.clean.add(row.cells[0])
        out += written
        line += len(written)
    path.write_text("".join(out), encoding="utf-8", newline="")
    return expected


def run(folder: Path) -> Migration:
    compiled = ruleset()
    export = JupixExport(folder)
    return migrate(compiled, export_records(export, compiled.sources), as_of=AS_OF)


def assert_accounted(result: Migration, table: str, file: str, expected: Expected) -> None:
    source = f"jupix.{table}"
    outcomes = [item for item in result.reconciliation.outcomes if item.source == source]
    assert sum(result.reconciliation.outcome_counts().get(source, {}).values()) == expected.total
    assert len(outcomes) == expected.total
    kept = Counter(item.record for item in outcomes if item.outcome != "unreadable")
    assert set(kept) == expected.clean, (source, set(kept) ^ expected.clean)
    assert all(count == 1 for count in kept.values())
    bad = [item.where or "" for item in outcomes if item.outcome == "unreadable"]
    assert sorted(bad) == sorted(f"{file}:{line}" for line in expected.broken_lines)


@pytest.mark.req("J-16")
@settings(max_examples=20, deadline=None)
@given(
    size=st.integers(4, 30),
    seed=st.integers(0, 10**6),
    chance=st.sampled_from([0.1, 0.3, 0.8]),
    data=st.data(),
)
def test_every_physical_row_is_accounted_for_exactly_once(
    size: int, seed: int, chance: float, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_jupix_export(folder, size, seed)
        expected = {
            spec.name: break_file(folder / spec.file, data.draw, chance) for spec in CSV_TABLES
        }
        write_manifest(folder, agency="Acme", exported_at=datetime(2025, 6, 1, 18))
        result = run(folder)
    for spec in CSV_TABLES:
        assert_accounted(result, spec.name, spec.file, expected[spec.name])


@pytest.mark.req("J-16")
def test_a_stray_quote_in_contacts_costs_one_line_in_the_report(tmp_path: Path) -> None:
    write_jupix_export(tmp_path, 12, 3)
    path = tmp_path / "contacts.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    at = next(n for n, line in enumerate(lines[1:], start=1) if '"' not in line)
    before = len(rows_of(path.read_text("utf-8")))
    lines[at] = lines[at].replace(",", ',"', 1)
    path.write_text("".join(lines), encoding="utf-8", newline="")
    result = run(tmp_path)
    counts = result.reconciliation.outcome_counts()["jupix.contacts"]
    assert sum(counts.values()) == before
    assert counts["unreadable"] == 1
    [item] = result.reconciliation.unreadable
    assert item.where == f"contacts.csv:{at + 1}"
    assert "a quoted cell opened on this line is not closed before line" in item.detail
    markdown = result.reconciliation.to_markdown()
    row = " | ".join(str(counts[kind]) for kind in counts)
    assert f"| jupix.contacts | {row} | {before} |" in markdown
    assert f"- contacts.csv:{at + 1} (record {item.record}): malformed CSV" in markdown
