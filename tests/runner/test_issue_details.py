"""What the issue phase reads for an issue before reconciling it, when it reads nothing, the
warning for a closed issue whose charge waits, the startup check of the ruleset's parts, and
where the cursor goes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from adapters.errors import ConfigError
from engine import load_ruleset
from engine.issues.reconcile import reconcile
from engine.store import IssueState
from rulebridge.cli import main
from rulebridge.runner._agreement import agrees as _agrees
from rulebridge.runner._agreement import warn_waiting_charge as _warn_waiting_charge
from rulebridge.runner.issues import INVOICE_GAP, _with_parts, next_cursor
from rulebridge.runner.wiring import check_issue_parts
from simulator.fake.loopback import fake_agency
from simulator.lifecycle import Simulation
from simulator.lifecycle.worlds import PARTS, issue_fields
from tests.rulesets.lifecycle import RULESET, RULESET_PATH, lifecycle

LIFECYCLE = lifecycle()
PATH = ("report", "instruct", "set_appointment", "complete_job", "close")


class Fixflo:
    """Issues of a Fixflo world read as the adapter reads them: the Issue alone, then the
    parts asked (`read_parts`), each call noted."""

    def __init__(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        self.records = records
        self.calls: list[tuple[str, str, frozenset[str]]] = []

    async def issue_ids(self, *, since: str | None = None) -> Any:  # pragma: no cover
        raise NotImplementedError

    async def read_issue(self, issue_id: str, parts: frozenset[str] = frozenset()) -> Any:
        self.calls.append(("read_issue", issue_id, frozenset(parts)))
        record = self.records[issue_id]
        return issue_fields(record) | {part: record[part] for part in parts}

    async def read_parts(self, issue: Mapping[str, Any], parts: Iterable[str]) -> Any:
        asked = frozenset(parts)
        self.calls.append(("read_parts", str(issue["Id"]), asked))
        record = self.records[str(issue["Id"])]
        return {**issue, **{part: record[part] for part in asked}}


class IssueOnly(Fixflo):
    """A source without `read_parts`: the issue is asked for again with its parts."""

    read_parts = None  # type: ignore[assignment]


def played(*events: tuple[str, dict[str, Any]] | str) -> Simulation:
    sim = Simulation(RULESET)
    for number, event in enumerate(events, 1):
        name, details = event if isinstance(event, tuple) else (event, {})
        sim.perform(name, "1042", details, deliver=number == len(events))
    return sim


def phase(source: Fixflo) -> Any:
    return SimpleNamespace(lifecycle=LIFECYCLE, issues=source)


def with_parts(source: Fixflo, issue: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(_with_parts(phase(source), issue))


def night(requeued: list[dict[str, Any]] | None = None) -> Any:
    warnings: list[tuple[str, str]] = []
    store = SimpleNamespace(requeued=lambda kinds: list(requeued or []))
    return SimpleNamespace(
        ruleset=RULESET,
        store=store,
        warnings=warnings,
        warn=lambda rule, message: warnings.append((rule, message)),
    )


@pytest.mark.req("W-09", "CH-03")
def test_each_status_reads_exactly_the_parts_the_lifecycle_reads_there() -> None:
    sim = Simulation(RULESET)
    seen: dict[str, frozenset[str]] = {}
    for event in PATH:
        sim.perform(event, "1042", deliver=False)
        source = Fixflo(sim.fixflo.issues)
        record = sim.fixflo.issues["1042"]
        issue = issue_fields(record)
        read = with_parts(source, issue)
        wanted = LIFECYCLE.parts_read(record["Status"])
        seen[record["Status"]] = wanted
        assert read == issue | {part: record[part] for part in wanted}
        assert source.calls == ([("read_parts", "1042", wanted)] if wanted else [])
    assert seen["Reported"] == frozenset()  # nothing but the Issue while only reported
    assert {"CompletionDocs", "InvoiceDetails", "Certificates"} <= seen["Closed"]
    assert seen["Closed"] <= set(PARTS)


def test_a_source_without_read_parts_is_asked_for_the_issue_with_its_parts() -> None:
    sim = played(*PATH)
    source = IssueOnly(sim.fixflo.issues)
    assert source.read_parts is None  # not a PartReader
    issue = issue_fields(sim.fixflo.issues["1042"])
    read = with_parts(source, issue)
    wanted = LIFECYCLE.parts_read("Closed")
    assert source.calls == [("read_issue", "1042", wanted)]
    assert set(read) == set(issue) | wanted


def test_an_issue_the_ledger_agrees_with_needs_no_part_and_one_that_waits_does() -> None:
    sim = played(*PATH)
    issue = issue_fields(sim.fixflo.issues["1042"])
    stamp = issue["StatusChanged"]
    done = IssueState("1042", "WO-1", None, frozenset({"issue-1042.pdf"}),
                      frozenset({"maintenance"}), stamp)  # fmt: skip
    assert _agrees(night(), LIFECYCLE, issue, done)
    waiting = IssueState("1042", "WO-1", None, frozenset(), frozenset(), stamp)
    assert not _agrees(night(), LIFECYCLE, issue, waiting)  # the charge is not posted
    older = IssueState("1042", "WO-1", None, frozenset(), frozenset({"maintenance"}), "2026-01-01")
    assert not _agrees(night(), LIFECYCLE, issue, older)
    requeued = night([{"issue_id": "1042", "idempotency_key": "k"}])
    assert not _agrees(requeued, LIFECYCLE, issue, done)
    assert not _agrees(night(), LIFECYCLE, issue, IssueState("1042"))


def test_a_reported_issue_agreed_with_needs_nothing_and_an_awarded_one_needs_its_order() -> None:
    reported = issue_fields(played("report").fixflo.issues["1042"])
    assert _agrees(
        night(), LIFECYCLE, reported, IssueState("1042", revision=reported["StatusChanged"])
    )
    awarded = issue_fields(played("report", "instruct").fixflo.issues["1042"])
    stamp = awarded["StatusChanged"]
    assert not _agrees(night(), LIFECYCLE, awarded, IssueState("1042", revision=stamp))
    assert _agrees(night(), LIFECYCLE, awarded, IssueState("1042", "WO-1", revision=stamp))


def test_a_closed_landlord_job_agreed_with_needs_no_part_but_a_waiting_invoice_does() -> None:
    """A landlord's job never gets a contractor charge (the Issue alone says so): once
    agreed with, its parts are not read again; a contractor's job whose invoice is missing
    may still get one, so it is read in full."""
    landlord = played("report", ("instruct", {"Job.Contractor": None}), "complete_job", "close")
    issue = issue_fields(landlord.fixflo.issues["1042"])
    agreed = IssueState("1042", "WO-1", revision=issue["StatusChanged"])
    assert _agrees(night(), LIFECYCLE, issue, agreed)
    record, _ = _closed_without_invoice()
    waiting = IssueState("1042", "WO-1", revision=record["StatusChanged"])
    assert not _agrees(night(), LIFECYCLE, issue_fields(record), waiting)


def _closed_without_invoice() -> tuple[dict[str, Any], IssueState]:
    sim = played(*PATH)
    record = sim.fixflo.issues["1042"]
    record["CompletionDocs"] = [
        doc for doc in record["CompletionDocs"] if doc["MediaTypeDescription"] != "Invoice"
    ]
    return record, IssueState("1042", "WO-1", None, frozenset(), frozenset(), None)


@pytest.mark.req("CH-04")
def test_a_closed_issue_whose_charge_waits_for_its_invoice_is_a_warning_each_run() -> None:
    record, held = _closed_without_invoice()
    for _ in range(2):  # every run it is read
        result = reconcile(RULESET, record, held.holding())
        assert not any(op.kind == "charge" for op in result.operations)
        seen = night()
        _warn_waiting_charge(seen, LIFECYCLE, record, held, result)
        ((rule, message),) = seen.warnings
        assert rule == INVOICE_GAP
        assert "issue 1042 is Closed and its maintenance charge waits" in message
        assert "CH-04" in message
        assert "next status change" in message  # the gap's `instead`, from the ruleset
    assert not _agrees(night(), LIFECYCLE, record, held)  # so it is read in full again


def test_no_waiting_warning_once_charged_or_for_a_landlord_job_or_a_cancelled_one() -> None:
    record, held = _closed_without_invoice()
    charged = IssueState("1042", "WO-1", None, frozenset(), frozenset({"maintenance"}), None)
    result = reconcile(RULESET, record, charged.holding())
    quiet = night()
    _warn_waiting_charge(quiet, LIFECYCLE, record, charged, result)
    landlord = played("report", ("instruct", {"Job.Contractor": None}), "complete_job", "close")
    cancelled = played("report", "instruct", "set_appointment", "cancel_job")
    for sim in (landlord, cancelled):
        issue = sim.fixflo.issues["1042"]
        _warn_waiting_charge(
            quiet, LIFECYCLE, issue, held, reconcile(RULESET, issue, held.holding())
        )
    assert quiet.warnings == []


def _ruleset_with(tmp_path: Path, old: str, new: str) -> Path:
    text = RULESET_PATH.read_text("utf-8")
    assert old in text
    path = tmp_path / "v2.yaml"
    path.write_text(text.replace(old, new), "utf-8")
    return path


TENANT_PART = 'FixfloTenant: {read: "GET /Tenant\\x3FId=", gap: gap.issue-tenant}'


def test_a_part_read_otherwise_than_the_adapter_reads_it_is_refused_at_startup(
    tmp_path: Path,
) -> None:
    check_issue_parts(RULESET)  # the shipped ruleset reads every part as the adapter does
    path = _ruleset_with(tmp_path, TENANT_PART, TENANT_PART.replace("\\x3FId=", "s\\x3FId="))
    with pytest.raises(ConfigError) as caught:
        check_issue_parts(load_ruleset(path))
    message = str(caught.value)
    line = next(
        n for n, text in enumerate(path.read_text("utf-8").splitlines(), 1) if "/Tenants" in text
    )
    assert f"{path}:{line}" in message
    assert "'FixfloTenant'" in message
    assert "GET /Tenant?Id=" in message
    assert "CompletionDocs" in message  # the known parts


def test_an_unknown_part_stops_the_run_with_a_clear_message_and_no_traceback(
    tmp_path: Path,
) -> None:
    path = _ruleset_with(
        tmp_path,
        TENANT_PART,
        TENANT_PART + '\n      Photos: {read: "GET /issue/{issueid}/photos"}',
    )
    with fake_agency(tmp_path / "agency", size=10, seed=2) as agency:
        config = agency.config_path.read_text("utf-8")
        agency.config_path.write_text(
            config.replace(f"ruleset: {RULESET_PATH}", f"ruleset: {path}"), "utf-8"
        )
        result = CliRunner().invoke(main, ["run", "--config", str(agency.config_path)])
        requests = len(agency.fixflo.log) + len(agency.alto.log)
    assert result.exit_code == 1, result.output
    assert "part 'Photos'" in result.stderr
    assert "the Fixflo adapter does not read" in result.stderr
    assert "FixfloProperty" in result.stderr  # the parts it reads
    assert "Traceback" not in result.stderr
    assert requests == 0  # refused before anything was read
    assert not agency.store_path.exists()


@pytest.mark.parametrize(
    ("since", "passed", "held", "expected"),
    [
        (None, [], [], None),
        (None, ["2026-11-02", "2026-11-03"], [], "2026-11-03"),
        ("2026-11-03", ["2026-11-03"], [], None),  # the boundary issue read again: stay
        ("2026-11-01", ["2026-11-05"], ["2026-11-04", "2026-11-02"], "2026-11-02"),
        ("2026-11-02", ["2026-11-05"], ["2026-11-02"], None),  # never backwards
        ("2026-11-01", ["2026-11-05"], [""], None),  # a held issue without a stamp: stay
        ("2026-11-01", ["2026-11-05"], ["2026-11-04", ""], None),
    ],
)
def test_the_cursor_stops_at_the_first_issue_held_back(
    since: str | None, passed: list[str], held: list[str], expected: str | None
) -> None:
    assert next_cursor(since, passed, held) == expected
