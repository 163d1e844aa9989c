"""The nightly run as resumable steps (`rulebridge.runner.steps.NightSteps`) against the
fakes on loopback: each step with a new `NightSteps` (as separate processes would run
them), a step run again, a step interrupted by a signal, a failing check."""

from __future__ import annotations

import copy
import io
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.store import Store
from rulebridge._config import load_agency_config
from rulebridge.runner import RunLog, RunOptions, run_nightly
from rulebridge.runner.steps import STEPS, NightSteps
from rulebridge.runner.stop import Interrupted, stopping
from simulator.fake.loopback import FakeAgency, fake_agency, play_issues
from tests.runner.test_crash import assert_no_duplicate_in_fixflo

SIZE, SEED, BATCH = 40, 5, 7
NIGHT = "demo:2026-12-07"


@pytest.fixture
def agency(tmp_path: Path) -> Iterator[FakeAgency]:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED) as served:
        yield served


def steps_of(agency: FakeAgency, night: str = NIGHT, **options: Any) -> NightSteps:
    """A new `NightSteps` for the agency, as a new process would make it."""
    config = load_agency_config(agency.config_path)
    run_options = RunOptions(config, agency.store_path, batch_size=BATCH, **options)
    return NightSteps(run_options, RunLog(io.StringIO(), terminal=False), night=night)


def step_by_step(agency: FakeAgency, night: str = NIGHT) -> tuple[int, dict[str, Any]]:
    """The night run one step at a time, each with a new `NightSteps`: its run and report."""
    run_id = int(steps_of(agency, night).check()["run_id"])
    steps_of(agency, night).snapshot(run_id)
    batches = int(steps_of(agency, night).plan(run_id)["batches"])
    for batch in range(batches):
        steps_of(agency, night).apply(run_id, batch)
    steps_of(agency, night).issues(run_id)
    return run_id, steps_of(agency, night).report(run_id)


def requests(agency: FakeAgency) -> int:
    return len(agency.alto.log) + len(agency.fixflo.log)


def timeless(report: dict[str, Any]) -> dict[str, Any]:
    """The report without its times (and the alert's, which says when it was sent)."""
    kept = copy.deepcopy(report)
    for key in ("started", "finished", "seconds", "phases"):
        kept["run"].pop(key)
    kept["api"].pop("rate_limit_wait_seconds")
    kept.pop("alert", None)
    return kept


def fakes_state(agency: FakeAgency) -> dict[str, Any]:
    """What the fakes hold: Fixflo's collections and joins, Alto's works orders and ledger."""
    alto = agency.simulation.alto
    return {
        "fixflo": copy.deepcopy(agency.fixflo.store.collections),
        "joins": [list(links) for links in agency.fixflo.store.join_records()],
        "orders": dict(alto.order_issue),
    }


def test_a_night_step_by_step_reports_and_writes_what_run_nightly_does(tmp_path: Path) -> None:
    with (
        fake_agency(tmp_path / "one", size=SIZE, seed=SEED) as one,
        fake_agency(tmp_path / "steps", size=SIZE, seed=SEED) as stepped,
    ):
        for night in (1, 2):  # a first night, then one with issues to reconcile
            if night == 2:
                play_issues(one, 4, seed=SEED)
                play_issues(stepped, 4, seed=SEED)
            config = load_agency_config(one.config_path)
            log = RunLog(io.StringIO(), terminal=False)
            whole = RunOptions(config, one.store_path, batch_size=10_000)  # in one batch
            outcome = run_nightly(whole, log)
            run_id, report = step_by_step(stepped, f"demo:2026-12-0{night}")
            assert report["run"]["exit_code"] == outcome.exit_code
            assert timeless(report) == timeless(outcome.report)
            assert fakes_state(stepped) == fakes_state(one)
            with Store.open(stepped.store_path) as store:
                results = store.step_results(run_id)
                assert store.run(run_id).night == f"demo:2026-12-0{night}"
                assert store.run(run_id).report == report
            assert [name.split(":")[0] for name in results] == [
                "check", "snapshot", "plan", *["apply"] * results["plan"]["batches"], "issues",
                "report",
            ]  # fmt: skip
            steps_took = sum(r["seconds"] for name, r in results.items() if name != "report")
            assert report["run"]["seconds"] >= steps_took - 0.002  # (each rounded to ms)
            if night == 1:  # the first night's plan was applied in batches
                assert results["plan"]["batches"] == -(-results["plan"]["operations"] // BATCH)
                assert results["plan"]["batches"] >= 2
                assert results["apply:0"]["operations"] == BATCH
        assert report["issues"]["read"] > 0
        assert set(STEPS) == {name.split(":")[0] for name in results}


def test_a_recorded_step_called_again_returns_its_result_and_sends_nothing(
    agency: FakeAgency,
) -> None:
    run_id, report = step_by_step(agency)
    with Store.open(agency.store_path) as store:
        results = store.step_results(run_id)
    before = requests(agency)
    again = steps_of(agency)
    assert again.check() == results["check"]  # the night's run is found by its id
    assert again.snapshot(run_id) == results["snapshot"]
    assert again.plan(run_id) == results["plan"]
    assert steps_of(agency).apply(run_id, 0) == results["apply:0"]
    assert steps_of(agency).issues(run_id) == results["issues"]
    assert steps_of(agency).report(run_id) == report
    assert requests(agency) == before
    with Store.open(agency.store_path) as store:
        assert len(store.runs()) == 1
    other = steps_of(agency, night="demo:2026-12-08").check()  # another night: a new run
    assert other["run_id"] == run_id + 1


def test_a_step_interrupted_records_nothing_and_run_again_duplicates_nothing(
    agency: FakeAgency,
) -> None:
    run_id = int(steps_of(agency).check()["run_id"])
    steps_of(agency).snapshot(run_id)
    steps_of(agency).plan(run_id)
    posts = len(agency.fixflo.log.matching("POST"))
    watcher = threading.Thread(target=_sigterm_after_posts, args=(agency, posts + 3), daemon=True)
    with stopping():
        watcher.start()
        with pytest.raises(Interrupted):
            steps_of(agency).apply(run_id, 0)
    watcher.join(5)
    assert len(agency.fixflo.log.matching("POST")) > posts  # it wrote, then stopped
    with Store.open(agency.store_path) as store:
        assert "apply:0" not in store.step_results(run_id)
        assert store.run(run_id).status == "running"  # left for the engine to resume
    result = steps_of(agency).apply(run_id, 0)  # run again: completes, from the ledger
    assert "error" not in result
    assert result["operations"] == BATCH
    assert_no_duplicate_in_fixflo(agency)
    with Store.open(agency.store_path) as store:
        batches = store.step_results(run_id)["plan"]["batches"]
    for batch in range(1, batches):
        steps_of(agency).apply(run_id, batch)
    steps_of(agency).issues(run_id)
    report = steps_of(agency).report(run_id)
    assert report["run"]["status"] == "succeeded"
    assert_no_duplicate_in_fixflo(agency)
    # the night converged: the next one (from run_nightly) changes nothing in Fixflo
    config = load_agency_config(agency.config_path)
    log = RunLog(io.StringIO(), terminal=False)
    next_night = run_nightly(RunOptions(config, agency.store_path), log)
    assert next_night.report["run"]["changes"] == 0


def _sigterm_after_posts(agency: FakeAgency, at: int) -> None:
    """SIGTERM this process once the fake Fixflo has received `at` POSTs: the first signal
    only asks, so the apply stops at its next checkpoint."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(agency.fixflo.log.matching("POST")) >= at:
            os.kill(os.getpid(), signal.SIGTERM)
            return
        time.sleep(0.001)


def test_a_failing_check_is_recorded_and_the_report_fails_the_night(agency: FakeAgency) -> None:
    steps_of(agency, night="demo:2026-12-06").check()  # a first night: the store exists
    secrets = agency.folder / "agency.secrets"  # then Fixflo's token is wrong
    secrets.write_text(secrets.read_text("utf-8").replace(agency.fixflo.token, "not-it"), "utf-8")
    checked = steps_of(agency).check()
    run_id = int(checked["run_id"])
    assert "preflight: fixflo credentials" in checked["error"]
    assert "refused (401)" in checked["error"]
    before = requests(agency)
    assert steps_of(agency).snapshot(run_id) == {"skipped": "check failed"}
    assert steps_of(agency).plan(run_id) == {"skipped": "check failed"}
    assert steps_of(agency).apply(run_id, 0) == {"skipped": "check failed"}
    assert steps_of(agency).issues(run_id) == {"skipped": "check failed"}
    assert requests(agency) == before
    report = steps_of(agency).report(run_id)
    assert report["run"]["exit_code"] == 1
    assert report["run"]["status"] == "failed"
    assert report["run"]["error"] == checked["error"]
    with Store.open(agency.store_path) as store:
        assert store.run(run_id).status == "failed"
        assert list(store.step_results(run_id)) == ["check", "report"]
