"""`rulebridge migrate --check`: one pass, a readiness verdict, exit codes that gate go-live.

Also the engine's ``housekeeping`` keyword the command relies on: a normal run that
evaluates the ``check`` entities beside the others and changes nothing else.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import click.testing
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from adapters.jupix import JupixExport, Manifest, write_manifest
from adapters.jupix.records import export_records
from engine.migration import MigrationReport, migrate
from rulebridge._exits import ExitCode
from rulebridge.cli import main
from rulebridge.cli._migrate_ready import assess
from rulebridge.cli._migrate_tally import Tally
from simulator.jupix import write_jupix_export
from tests.rulesets.jupix import RULESET_PATH, ruleset, write_export

AS_OF = "2025-06-02"
PROPERTIES: list[dict[str, Any]] = [
    {"propertyID": "P1", "ownerContactIDs": ["C1"], "addressNumber": "12"},
    {"propertyID": "P2", "crmStatus": "Instructed - On Market", "availability": 2},
]
CONTACTS: list[dict[str, Any]] = [{"contactID": "C1", "roles": ["landlord"]}, {"contactID": "C2"}]
TENANCIES = [
    {"tenancyID": "T1", "propertyID": "P2", "tenantContactIDs": ["C2"], "endDate": "2025-12-31"}
]


def invoke(*args: str | Path) -> click.testing.Result:
    """`rulebridge migrate ARGS` as a user runs it (usage errors exit 64)."""
    return CliRunner().invoke(main, ["migrate", *(str(arg) for arg in args)])


def check(jupix: Path, *extra: str | Path, as_of: str = AS_OF) -> click.testing.Result:
    return invoke("--ruleset", RULESET_PATH, "--jupix", jupix, "--as-of", as_of, "--check", *extra)


def clean(folder: Path, **tables: list[dict[str, Any]]) -> Path:
    """An export with nothing to tidy: no stale tenancy, no expired applicant, no media lost."""
    merged = {"properties": PROPERTIES, "contacts": CONTACTS, "tenancies": TENANCIES, **tables}
    return write_export(folder, **merged).folder


def read(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


# -- the engine: housekeeping beside the migration, in the same pass ----------------------


@pytest.mark.req("J-17")
def test_housekeeping_runs_check_entities_in_a_normal_run_and_changes_nothing_else(
    tmp_path: Path,
) -> None:
    write_jupix_export(tmp_path / "jupix", 30, 5)
    compiled = ruleset()
    sources = export_records(JupixExport(tmp_path / "jupix"), compiled.sources)
    as_of = date(2025, 6, 2)
    plain = migrate(compiled, sources, as_of=as_of)
    alone = migrate(compiled, sources, as_of=as_of, check=True)
    both = migrate(compiled, sources, as_of=as_of, housekeeping=True)
    assert alone.checks, "the generated export has housekeeping to do"
    assert both.checks == alone.checks
    assert both.records == plain.records
    assert both.manual == plain.manual
    assert both.reconciliation.outcomes == plain.reconciliation.outcomes
    assert both.reconciliation.differences == plain.reconciliation.differences
    assert both.reconciliation.summary_json() == plain.reconciliation.summary_json()
    assert not plain.checks


# -- the verdict and its exit codes --------------------------------------------------------


@pytest.mark.req("J-17")
def test_a_clean_export_taken_the_day_before_is_ready_and_exits_0(tmp_path: Path) -> None:
    result = check(clean(tmp_path / "jupix"), "--out", tmp_path / "ready")
    assert result.exit_code == ExitCode.NOTHING, result.output
    assert f"Readiness for go-live on {AS_OF}: READY" in result.output
    readiness = read(tmp_path / "ready" / "readiness.json")
    assert readiness["verdict"] == "READY"
    assert readiness["reasons"] == []
    assert readiness["export"] == {
        "agency": "Acme Lettings",
        "exported_at": "2025-06-01T18:00:00",
        "as_of": AS_OF,
        "days_before": 1,
    }
    # manual actions are the normal product of a migration: counted, never a reason
    assert readiness["would_migrate"]["manual_actions"] == {"Remarket the property": 1}
    assert readiness["housekeeping"] == {"total": 0, "by_check": []}
    markdown = (tmp_path / "ready" / "readiness.md").read_text("utf-8")
    assert "# Readiness for go-live: READY" in markdown
    assert "the day before go-live, as J-15 expects" in markdown


@pytest.mark.req("J-17")
def test_housekeeping_due_is_not_ready_exits_3_and_names_each_kind_and_its_fix(
    tmp_path: Path,
) -> None:
    jupix = clean(
        tmp_path / "jupix",
        tenancies=[{**TENANCIES[0], "endDate": "2025-01-31"}],
        contacts=[*CONTACTS, {"contactID": "C3"}],
        applicants=[
            {"applicantID": "A1", "contactID": "C3", "profileExpiryDate": "2025-03-01"},
            {"applicantID": "A2", "contactID": "C3", "profileExpiryDate": "2025-04-01"},
        ],
    )
    result = check(jupix)
    assert result.exit_code == ExitCode.ATTENTION, result.output
    assert "# Readiness for go-live: NOT READY" in result.output
    assert "2 housekeeping item(s) due in Jupix (J-17.expired-applicants)" in result.output
    assert "1 housekeeping item(s) due in Jupix (J-17.stale-tenancies)" in result.output
    assert (
        "Fix: in Jupix, for each item housekeeping.md lists: Extend the expiry date or archive "
        "the applicant; then take the export again" in result.output
    )
    written = check(jupix, "--out", tmp_path / "house")
    assert written.exit_code == ExitCode.ATTENTION
    readiness = read(tmp_path / "house" / "readiness.json")
    kinds = {item["rule"]: item["count"] for item in readiness["housekeeping"]["by_check"]}
    assert kinds == {"J-17.expired-applicants": 2, "J-17.stale-tenancies": 1}
    assert [reason["kind"] for reason in readiness["reasons"]] == ["housekeeping"] * 2
    listed = read(tmp_path / "house" / "housekeeping.json")["checks"]
    assert len(listed) == readiness["housekeeping"]["total"] == 3


@pytest.mark.req("J-16")
def test_an_unreadable_row_is_not_ready_and_named_by_file_and_line(tmp_path: Path) -> None:
    jupix = clean(tmp_path / "jupix")
    with (jupix / "tenancies.csv").open("a", encoding="utf-8") as stream:
        stream.write("T9,P1,C2,Moved out,2020-01-01,,12,,900\n")
    write_manifest(jupix, agency="Acme Lettings", exported_at=datetime(2025, 6, 1, 18))
    result = check(jupix, "--out", tmp_path / "check")
    assert result.exit_code == ExitCode.ATTENTION, result.output
    assert "tenancies.csv: 1 row(s) cannot be read and would not migrate (tenancies.csv:3)" in (
        result.output
    )
    readiness = read(tmp_path / "check" / "readiness.json")
    files = {item["file"]: item for item in readiness["files"]}
    assert files["tenancies.csv"]["rows"] == 2
    assert files["tenancies.csv"]["unreadable"] == [
        {
            "where": "tenancies.csv:3",
            "record": "T9",
            "message": files["tenancies.csv"]["unreadable"][0]["message"],
        }
    ]
    assert "status 'Moved out'" in files["tenancies.csv"]["unreadable"][0]["message"]
    assert files["contacts.csv"] == {
        "file": "contacts.csv",
        "source": "jupix.contacts",
        "rows": 2,
        "unreadable": [],
        "problems": [],
    }
    markdown = (tmp_path / "check" / "readiness.md").read_text("utf-8")
    assert "- tenancies.csv:3 (record T9): status 'Moved out'" in markdown
    # the full run writes everything it can, and says a person must fix the row: 3
    written = invoke(
        "--ruleset", RULESET_PATH, "--jupix", jupix, "--as-of", AS_OF, "--out", tmp_path / "alto"
    )
    assert written.exit_code == ExitCode.ATTENTION, written.output
    assert (tmp_path / "alto" / "tenancies.json").is_file()


def test_two_rows_with_one_id_are_not_ready(tmp_path: Path) -> None:
    jupix = clean(tmp_path / "jupix", contacts=[*CONTACTS, {"contactID": "C2"}])
    result = check(jupix, "--out", tmp_path / "check")
    assert result.exit_code == ExitCode.ATTENTION, result.output
    assert "contacts.csv: 1 problem(s) between rows" in result.output
    problems = {
        item["file"]: item["problems"]
        for item in read(tmp_path / "check" / "readiness.json")["files"]
    }
    assert [problem["where"] for problem in problems["contacts.csv"]] == ["contacts.csv:4"]


@pytest.mark.req("J-15")
def test_an_export_older_than_the_day_before_go_live_is_not_ready(tmp_path: Path) -> None:
    jupix = clean(tmp_path / "jupix")
    result = check(jupix, as_of="2025-06-10")
    assert result.exit_code == ExitCode.ATTENTION, result.output
    assert "the export was taken 2025-06-01, 9 days before go-live; J-15" in result.output
    assert "Fix: take the export again on 2025-06-09 (the day before go-live)" in result.output
    on_the_day = check(jupix, as_of="2025-06-01")
    assert on_the_day.exit_code == ExitCode.NOTHING, on_the_day.output
    assert "on the go-live day" in on_the_day.output


@pytest.mark.req("J-15")
def test_an_export_taken_after_the_go_live_date_is_a_warning_not_a_reason(tmp_path: Path) -> None:
    result = check(clean(tmp_path / "jupix"), as_of="2025-05-30")
    assert result.exit_code == ExitCode.NOTHING, result.output
    assert "# Readiness for go-live: READY" in result.output
    assert "after the go-live date 2025-05-30" in result.output


def test_a_broken_export_or_ruleset_exits_1_and_a_bad_option_64(tmp_path: Path) -> None:
    jupix = clean(tmp_path / "jupix")
    manifest = jupix / "manifest.json"
    good = manifest.read_text("utf-8")
    manifest.write_text(good.replace('"exported_at"', '"exported"'), "utf-8")
    broken = check(jupix, "--out", tmp_path / "out")
    assert broken.exit_code == ExitCode.FAILURE
    assert "manifest.json: unknown key 'exported' (did you mean 'exported_at'?)" in broken.output
    assert "Traceback" not in broken.output
    assert not (tmp_path / "out").exists()
    manifest.write_text(good, "utf-8")
    bad = tmp_path / "v1.yaml"
    bad.write_text(RULESET_PATH.read_text("utf-8").replace("field: crmStatus,", "field: crmStats,"))
    result = invoke("--ruleset", bad, "--jupix", jupix, "--as-of", AS_OF, "--check")
    assert result.exit_code == ExitCode.FAILURE
    assert "did you mean 'crmStatus'" in result.output
    usage = check(jupix, "--since", jupix)
    assert usage.exit_code == ExitCode.USAGE
    assert "--check reads one export: give --since without --check" in usage.output
    assert check(jupix, as_of="02/06/2025").exit_code == ExitCode.USAGE


# -- what it counts is what the full run writes ---------------------------------------------


def test_check_counts_exactly_what_the_full_migration_writes(tmp_path: Path) -> None:
    jupix = tmp_path / "jupix"
    write_jupix_export(jupix, 40, 3, exported_at=datetime(2025, 6, 1, 18))
    assert check(jupix, "--out", tmp_path / "check").exit_code == ExitCode.ATTENTION
    full = invoke(
        "--ruleset", RULESET_PATH, "--jupix", jupix, "--as-of", AS_OF, "--out", tmp_path / "alto"
    )
    assert full.exit_code == ExitCode.NOTHING, full.output  # housekeeping never makes --out 3
    checked = read(tmp_path / "check" / "readiness.json")
    written = read(tmp_path / "alto" / "readiness.json")
    assert checked == written
    counts = checked["would_migrate"]["collections"]
    assert counts == {
        path.stem: len(read(path))
        for path in (tmp_path / "alto").glob("*.json")
        if path.stem in counts
    }
    assert len(counts) == 8
    assert sum(counts.values()) > 100
    actions = read(tmp_path / "alto" / "manual-actions.json")["actions"]
    assert checked["would_migrate"]["manual_actions"] == Counter(a["action"] for a in actions)
    assert read(tmp_path / "alto" / "housekeeping.json") == read(
        tmp_path / "check" / "housekeeping.json"
    )
    rows = {item["file"]: item["rows"] for item in checked["files"]}
    sources = read(tmp_path / "alto" / "reconciliation.json")["sources"]
    assert rows["properties.xml"] == sum(sources["jupix.properties"].values()) == 40


# -- the J-15 date test, over every pair of dates -------------------------------------------


@pytest.mark.req("J-15")
@given(
    taken=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 31)),
    as_of=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 12, 31)),
)
def test_the_export_date_is_a_reason_exactly_when_older_than_the_day_before(
    taken: datetime, as_of: date
) -> None:
    manifest = Manifest(taken.isoformat(timespec="seconds"), "Acme Lettings", {})
    report = MigrationReport("jupix-alto", as_of)
    readiness = assess(manifest, as_of, report, [], Tally(ruleset()))
    stale = taken.date() < as_of - timedelta(days=1)
    assert readiness.ready is not stale
    assert readiness.check_code() == (ExitCode.ATTENTION if stale else ExitCode.NOTHING)
    assert readiness.days_before == (as_of - taken.date()).days
    assert bool(readiness.warnings) is (taken.date() > as_of)
    if stale:
        assert [reason.kind for reason in readiness.reasons] == ["export-age"]
        assert f"take the export again on {as_of - timedelta(days=1)}" in readiness.reasons[0].fix
    assert readiness.written_code() == ExitCode.NOTHING  # the date never makes --out 3
