"""The nightly job against the fake servers on loopback: real HTTP, a real SQLite store.

Each test serves a small generated agency (`simulator.fake.loopback.fake_agency`) and runs the
job in this process, as `rulebridge run` does, or through the CLI.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.store import Store
from rulebridge._config import load_agency_config
from rulebridge.cli import main
from rulebridge.runner import (
    ISSUES_CURSOR,
    RunFailedError,
    RunLock,
    RunLog,
    RunOptions,
    run_nightly,
)
from simulator.fake.loopback import PATHS, FakeAgency, agreement, fake_agency, play_issues

SIZE, SEED = 40, 3
ATTENTION = 3
"""The exit code of a night that succeeded but left work for a person: this agency always
has items for a person (records the plan leaves to be merged or archived by hand), so its
nights exit 3 whether or not they changed anything; ``run.changes`` says which."""


@pytest.fixture
def agency(tmp_path: Path) -> Iterator[FakeAgency]:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED) as served:
        yield served


def night(agency: FakeAgency, **options: Any) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
    """Run the job once; its report, exit code and JSON log lines."""
    stream = io.StringIO()
    config = load_agency_config(agency.config_path)
    outcome = run_nightly(
        RunOptions(config, agency.store_path, **options), RunLog(stream, terminal=False)
    )
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return outcome.report, outcome.exit_code, lines


def fixflo_writes(agency: FakeAgency) -> int:
    return len([e for e in agency.fixflo.log.entries if e.method == "POST"])


def reads(report: dict[str, Any]) -> Counter[str]:
    per = report["api"]["per_endpoint"]
    return Counter({name: n for name, n in per.items() if " GET " in name})


@pytest.mark.req("G-01", "W-03", "W-09", "CH-01")
def test_first_night_syncs_second_night_reconciles_issues_third_writes_nothing(
    agency: FakeAgency,
) -> None:
    first, code, _ = night(agency)
    assert code == ATTENTION
    assert first["run"]["attention"] == first["reference"]["manual"] > 0
    assert first["run"]["changes"] > 0
    assert first["run"]["status"] == "succeeded"
    assert first["api"]["writes"] > 0
    assert sum(first["reference"]["applied"]["property"].values()) > 0
    assert first["issues"]["read"] == 0

    issues = play_issues(agency, len(PATHS), seed=SEED)
    second, code, _ = night(agency)
    assert code == ATTENTION
    assert second["run"]["changes"] > 0
    assert second["issues"]["read"] == len(issues)
    assert second["issues"]["reconciled"] == len(issues)
    outcomes = second["issues"]["outcomes"]
    assert outcomes["works_order"]["create"] >= 3
    assert outcomes["charge"]["post"] >= 1
    assert agreement(agency) == []
    alto = agency.simulation.alto
    assert sorted(alto.order_issue) == sorted(alto.works_orders)  # each recognised by identity
    assert max(Counter(alto.order_issue.values()).values()) == 1  # W-03: one per issue

    third, code, _ = night(agency)
    assert code == ATTENTION  # the items for a person are still there
    assert third["run"]["changes"] == 0
    assert third["api"]["writes"] == 0
    assert agreement(agency) == []


def _one_closed_issue(agency: FakeAgency, path: tuple[str, ...]) -> str:
    """Play issues until one has taken `path`; its id."""
    while True:
        (issue_id,) = play_issues(agency, 1)
        if PATHS[(int(issue_id) - 1) % len(PATHS)] == path:
            return issue_id


@pytest.mark.req("W-09", "CH-02", "CH-01", "CH-06")
@pytest.mark.parametrize("paying", ["Tenant", "Landlord"])
def test_a_completed_job_is_charged_where_the_agency_says_over_http(
    tmp_path: Path, paying: str
) -> None:
    """Tenant pays: the charge goes to the tenancy at the works order's property whose
    places hold the occupier (found through GET /inventory/{id}/tenancies and tenantIds),
    with its tenantId; landlord pays: to the property. Either way linked to the works order
    (W-10), net and VAT as the invoice, never raised at once."""
    settings = {"paying_party": paying}
    with fake_agency(tmp_path / "a", size=SIZE, seed=SEED, settings=settings) as agency:
        night(agency)
        issue_id = _one_closed_issue(agency, PATHS[0])
        report, code, _ = night(agency)
        assert code == ATTENTION
        assert report["run"]["changes"] > 0
        assert agreement(agency) == []
        alto = agency.simulation.alto
        (order,) = alto.orders_of(issue_id)
        (charge,) = alto.charges_of(issue_id)
        issue = agency.simulation.fixflo.issues[issue_id]
        tenancies = agency.alto.log.matching("GET", f"/inventory/{order['propertyId']}/tenancies")
    assert order["status"] == "CompleteInvoicingReceived"
    assert charge["workOrderId"] == order["id"]
    assert (charge["totalNet"], charge["totalVat"], charge["raiseImmediately"]) == (
        "100.0",
        "20.0",
        "false",
    )
    assert charge["invoiceDocument"] == f"invoice-{issue_id}.pdf"
    if paying == "Tenant":
        contact = issue["FixfloTenant"]["ExternalRef"]
        assert charge["post"] == "tenancy"
        tenancy = alto.tenancies[charge["targetId"]]
        assert tenancy["propertyId"] == order["propertyId"]
        assert {"tenantId": charge["tenantId"], "contactId": contact} in tenancy["places"]
        assert len(tenancies) == 1
    else:
        assert (charge["post"], charge["targetId"]) == ("property", order["propertyId"])
        assert "tenantId" not in charge
        assert tenancies == []  # the landlord's charge needs no tenancy


@pytest.mark.req("W-09")
def test_a_job_cancelled_after_award_cancels_its_order_over_http(agency: FakeAgency) -> None:
    """gap.cancelled: closed after a job was awarded but never completed, the works order
    ends Cancelled with only the issue's PDF attached and no charge."""
    night(agency)
    issue_id = _one_closed_issue(agency, PATHS[4])
    night(agency)
    assert agreement(agency) == []
    alto = agency.simulation.alto
    (order,) = alto.orders_of(issue_id)
    assert order["status"] == "Cancelled"
    assert [doc["fileName"] for doc in alto.documents_of(issue_id)] == [f"issue-{issue_id}.pdf"]
    assert alto.charges_of(issue_id) == []
    assert agency.fixflo.log.matching("GET", f"/api/v2/Issue/{issue_id}/Report")


def test_a_second_unchanged_run_makes_no_write_and_reads_each_page_once(
    agency: FakeAgency,
) -> None:
    night(agency)
    play_issues(agency, 3, seed=1)
    night(agency)
    posts_before = fixflo_writes(agency)
    alto_writes_before = len(agency.alto.log.matching("POST", "/work-orders"))
    settled, code, _ = night(agency)
    again, code_again, _ = night(agency)

    assert (code, code_again) == (ATTENTION, ATTENTION)  # the items for a person remain
    assert (settled["run"]["changes"], again["run"]["changes"]) == (0, 0)
    assert again["api"]["writes"] == 0
    assert fixflo_writes(agency) == posts_before
    assert len(agency.alto.log.matching("POST", "/work-orders")) == alto_writes_before
    # The minimum reads: every list page once (the rules depend on the date, so Alto and
    # Fixflo are read whole), the reads the contracts offer only per parent (each synced
    # property's landlords and each synced tenant's properties: Fixflo lists no links; no
    # tenancy's tenant ids: every place is known from last night's snapshot), the issues
    # changed since the cursor (none), and the one issue at the cursor itself (UpdatedSince
    # is inclusive). No other per-record read.
    got = reads(again)
    assert got == reads(settled)
    per_parent = {
        "fixflo GET /api/v2/Property/{id}/LandlordProperties": _bearing(
            agency, "properties", "ExternalPropertyRef"
        ),
        "fixflo GET /api/v2/Tenant/{id}/Properties": _bearing(agency, "tenants", "ExternalRef"),
    }
    per_record = {name: n for name, n in got.items() if "{id}" in name}
    assert per_record == {**per_parent, "fixflo GET /api/v2/Issue/{id}": 1}
    assert got["fixflo GET /api/v2/Issues"] == 1
    assert again["issues"]["read"] == 1  # the boundary issue: reconciled, nothing owed
    assert again["issues"]["outcomes"] == {}


def test_cursor_moves_only_forward_and_only_past_recorded_effects(agency: FakeAgency) -> None:
    night(agency)
    play_issues(agency, 4, seed=2)
    night(agency)
    with Store.open(agency.store_path) as store:
        cursor = store.cursor(ISSUES_CURSOR)
    stamps = [str(i["StatusChanged"]) for i in agency.simulation.fixflo.issues.values()]
    assert cursor == max(stamps)


def test_dry_run_writes_nothing_and_says_what_it_would_do(agency: FakeAgency) -> None:
    report, code, _ = night(agency, dry_run=True)
    assert code == ATTENTION
    assert report["run"]["changes"] > 0  # to apply
    assert report["api"]["writes"] == 0
    assert fixflo_writes(agency) == 0
    assert report["run"]["dry_run"] is True
    assert sum(report["reference"]["planned"]["property"].values()) > 0


def test_a_run_already_in_progress_makes_the_second_exit_cleanly(agency: FakeAgency) -> None:
    with RunLock(agency.store_path):
        result = CliRunner().invoke(main, ["run", "--config", str(agency.config_path)])
    assert result.exit_code == 1
    assert "another run for this agency is in progress" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert fixflo_writes(agency) == 0
    assert not agency.alto.log.entries
    assert not agency.fixflo.log.entries


def test_refused_credentials_stop_the_run_in_preflight(
    agency: FakeAgency, monkeypatch: pytest.MonkeyPatch
) -> None:
    night(agency)
    writes = fixflo_writes(agency)
    monkeypatch.setenv("RULEBRIDGE_DEMO_FIXFLO_TOKEN", "not-the-token")
    report, code, lines = night(agency)
    assert code == 1
    assert report["run"]["error"].startswith(
        "preflight: fixflo credentials: GET /api/v2/Property/Search?pg=1&pgsz=1: refused (401)"
    )
    assert fixflo_writes(agency) == writes
    assert "not-the-token" not in json.dumps(report) + json.dumps(lines)
    with Store.open(agency.store_path) as store:
        assert store.runs()[0].status == "failed"


def test_refused_credentials_on_the_first_run_create_no_store(
    agency: FakeAgency, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RULEBRIDGE_DEMO_FIXFLO_TOKEN", "not-the-token")
    with pytest.raises(RunFailedError, match=r"preflight: fixflo refused the credentials \(401\)"):
        night(agency)  # the targets are searched for history before a store is created
    assert not agency.store_path.exists()
    assert fixflo_writes(agency) == 0


def test_log_lines_are_json_and_carry_no_personal_data(agency: FakeAgency) -> None:
    _, _, lines = night(agency)
    assert lines[0]["event"] == "run"
    assert lines[-1]["event"] == "run"
    assert {line["run"] for line in lines} == {1}
    text = json.dumps(lines)
    people = agency.fixflo.store.collections["tenants"].values()
    emails = [str(p.get("EmailAddress")) for p in people if p.get("EmailAddress")]
    assert emails
    assert not [email for email in emails if email in text]


def test_history_and_report_show_the_runs(agency: FakeAgency) -> None:
    night(agency)
    night(agency)
    config = ["--config", str(agency.config_path)]
    listed = CliRunner().invoke(main, ["history", *config, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)
    assert [run["run"] for run in runs] == [2, 1]
    assert [run["exit"] for run in runs] == [ATTENTION, ATTENTION]
    shown = CliRunner().invoke(main, ["report", "1", *config])
    assert shown.exit_code == 0, shown.output
    for text in ("Run 1 for demo: succeeded", "Skipped, by the rule that decided", "API requests"):
        assert text in shown.stdout
    missing = CliRunner().invoke(main, ["report", "9", *config])
    assert missing.exit_code == 1
    assert "has no run 9" in missing.stderr


def test_a_saved_plan_is_refused_once_a_run_changed_the_id_map(
    agency: FakeAgency, tmp_path: Path
) -> None:
    night(agency)
    with Store.open(agency.store_path) as store:
        synced = sorted(store.id_map("property"))
    first, second = (
        next(p for p in agency.alto.world["inventory"] if p["inventoryId"] == key)
        for key in synced[:2]
    )
    first["address"]["street"] = "Changed Street"
    plan = tmp_path / "plan.json"
    _, code, _ = night(agency, dry_run=True, plan_out=plan)
    assert code == ATTENTION
    saved = json.loads(plan.read_text())
    assert [op["source_id"] for op in saved["operations"]] == [first["inventoryId"]]
    second["address"]["street"] = "Another Street"
    night(agency)  # writes both: the id map moves under a record the plan does not hold
    apply = ["apply", str(plan), "--config", str(agency.config_path)]
    result = CliRunner().invoke(main, [*apply, "--store", str(agency.store_path)])
    assert result.exit_code == 1
    assert "the id map changed since the plan was made" in result.stderr
    assert "make the plan again" in result.stderr


def test_the_cli_prints_the_report_and_exits_with_the_detailed_code(agency: FakeAgency) -> None:
    result = CliRunner().invoke(main, ["run", "--config", str(agency.config_path)])
    assert result.exit_code == ATTENTION, result.output
    assert "Reference data, Alto -> Fixflo" in result.stdout
    again = CliRunner().invoke(main, ["run", "--config", str(agency.config_path), "--quiet"])
    assert again.exit_code == ATTENTION, again.output
    assert again.stdout == ""


def test_records_fixflo_refuses_are_dead_letters_and_the_night_goes_on(tmp_path: Path) -> None:
    refused = "errors@POST /api/v2/Tenant=1.0"  # Fixflo answers 200 with Errors to each
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, faults=refused) as agency:
        report, code, _ = night(agency)
        assert code == ATTENTION  # the rest was applied; the refusals wait for a person
        letters = report["dead_letters"]
        assert letters
        assert all("occupier" in letter["reason"] for letter in letters)
        assert report["reference"]["applied"]["property"]["create"] > 0
        listed = CliRunner().invoke(
            main, ["deadletters", "--store", str(agency.store_path), "--format", "json"]
        )
        assert listed.exit_code == 0
        assert len(json.loads(listed.stdout)) == len(letters)
        again, code, _ = night(agency)
        assert again["dead_letters"] == []  # not called again until retried
        assert again["run"]["changes"] == 0


@pytest.mark.contract_violation_expected  # OnHold: a status Fixflo's contract does not have
def test_an_issue_the_ruleset_cannot_read_is_a_warning_and_is_read_again(
    agency: FakeAgency,
) -> None:
    night(agency)
    (issue_id,) = play_issues(agency, 1)
    world = agency.simulation.fixflo
    world.issues[issue_id]["Status"] = "OnHold"  # a status the lifecycle does not declare
    report, _, _ = night(agency)
    (warning,) = [w for w in report["warnings"] if w["rule"] == "lifecycle"]
    assert f"issue {issue_id}" in warning["message"]
    assert "OnHold" in warning["message"]
    assert report["issues"]["held"] == 1
    again, _, _ = night(agency)
    assert again["issues"]["read"] == 1  # held back: read again until the ruleset says


def test_the_demo_runs_three_nights_and_converges(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--size", "30", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for text in (
        "night 1: run 1: exit code 3 (",
        "night 2: run 3: exit code 3 (",
        ", 0 changes, ",
        "Fixflo issues -> Alto: 7 read",
        "Alto agrees with every Fixflo issue",
    ):
        assert text in result.stdout
    tests = re.search(
        r"their own tests \(rulebridge test rulesets/\): (\d+) cases, (\d+) passed", result.stdout
    )
    assert tests is not None
    assert tests[1] == tests[2]
    assert "alto-fixflo/v2.yaml 100.0%" in " ".join(result.stdout.split())
    # the summary's third night (a long line wraps at the console's width)
    third = " ".join(result.stdout.partition("night 3: ")[2].split("night", 1)[0].split())
    assert ", 0 changes, " in third  # in the words of `rulebridge history`
    assert "(0 writes)" in third


@pytest.mark.req("CH-02")
def test_a_dead_lettered_charge_parks_its_issue_and_a_retry_reads_it_again(
    tmp_path: Path,
) -> None:
    """Tenant pays, but Alto holds no tenancy at the property for the occupier: the charge
    is a dead letter naming both (nothing posted), the issue is parked, and once a person
    fixed Alto and queued it again, the next run posts it."""
    tenant_pays = {"paying_party": "Tenant"}
    with fake_agency(tmp_path / "a", size=SIZE, seed=SEED, settings=tenant_pays) as agency:
        night(agency)
        issue_id = _one_closed_issue(agency, PATHS[0])
        issue = agency.simulation.fixflo.issues[issue_id]
        place = issue["FixfloProperty"]["ExternalPropertyRef"]
        tenancies = agency.simulation.alto.tenancies
        gone = {key: tenancies.pop(key) for key in list(tenancies)
                if tenancies[key]["propertyId"] == str(place)}  # fmt: skip
        report, code, _ = night(agency)
        assert code == ATTENTION  # the works order and documents went; the charge could not
        (letter,) = report["dead_letters"]
        contact = issue["FixfloTenant"]["ExternalRef"]
        assert f"no tenancy at property {place} holds contact {contact}" in letter["reason"]
        assert report["issues"]["parked"] == 1
        assert agency.simulation.alto.charges_of(issue_id) == []
        (later,) = play_issues(agency, 1)
        night(agency)  # the cursor moves past the parked issue
        quiet, _, _ = night(agency)
        assert quiet["issues"]["read"] == 1  # only the issue at the cursor
        assert quiet["dead_letters"] == []
        tenancies.update(gone)  # a person fixes Alto, then queues the charge again
        retried = CliRunner().invoke(
            main, ["deadletters", "--store", str(agency.store_path), "--retry", str(letter["id"])]
        )
        assert retried.exit_code == 0, retried.output
        revisit, _, _ = night(agency)
        assert revisit["issues"]["read"] == 2  # the one at the cursor, and the requeued one
        assert revisit["dead_letters"] == []
        (charge,) = agency.simulation.alto.charges_of(issue_id)
        assert charge["post"] == "tenancy"
        assert agreement(agency) == []
        assert later != issue_id


def test_a_broken_config_is_a_located_error_not_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "acme.yaml"
    config.write_text(
        "agency: acme\nruleset: v1.yaml\nfixflo:\n  base_url: http://127.0.0.1:9/api/v2\n"
        "  token_envv: ACME_TOKEN\n",
        "utf-8",
    )
    result = CliRunner().invoke(main, ["run", "--config", str(config)])
    assert result.exit_code == 1
    assert f"{config}:5:3" in result.stderr
    assert "token_envv" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "state").exists()  # nothing was started


def test_snapshots_are_owner_only_and_only_the_latest_runs_are_kept(agency: FakeAgency) -> None:
    for _ in range(3):
        night(agency, keep_runs=2)
    runs = agency.store_path.with_name("agency-runs")
    assert sorted(path.name for path in runs.iterdir()) == ["000002", "000003"]
    for path in (runs, *runs.iterdir(), *runs.glob("*/*.json")):
        assert path.stat().st_mode & 0o077 == 0, path


def test_an_issue_fixflo_will_not_give_is_a_warning_and_the_others_go_on(tmp_path: Path) -> None:
    broken = "500@GET /api/v2/Issue/2=1.0"
    with fake_agency(tmp_path / "a", size=SIZE, seed=SEED, faults=broken, attempts=2) as agency:
        night(agency)
        assert play_issues(agency, 3) == ["1", "2", "3"]  # each gets a job
        report, code, _ = night(agency)
        assert code == 1  # not everything is in Alto yet
        (warning,) = [w for w in report["warnings"] if w["rule"] == "fixflo"]
        assert "issue 2 could not be read" in warning["message"]
        assert "500" in warning["message"]
        orders = set(agency.simulation.alto.order_issue.values())
        assert orders == {"1", "3"}  # the others went on
        assert report["issues"]["cursor"] is None  # issue 2's stamp is unknown: stay


def test_an_interrupted_run_is_recorded_and_exits_130_without_a_traceback(
    agency: FakeAgency, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("rulebridge.runner._night_phases.make_plan", interrupt)
    result = CliRunner().invoke(main, ["run", "--config", str(agency.config_path)])
    assert result.exit_code == 130
    assert "interrupted by SIGINT: every effect made so far is recorded" in result.stderr
    assert "Traceback" not in result.stderr
    with Store.open(agency.store_path) as store:
        (run,) = store.runs()
        assert run.status == "interrupted"
        assert run.report is not None
        assert run.report["run"]["signal"] == "SIGINT"
        assert run.report["run"]["exit_code"] == 130


def _bearing(agency: FakeAgency, collection: str, ref: str) -> int:
    """How many of the fake Fixflo's `collection` bear an external reference."""
    return sum(
        1 for record in agency.fixflo.store.collections[collection].values() if record.get(ref)
    )
