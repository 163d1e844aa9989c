"""The store's run steps (migration 7): a run found again by its agency-night, continued
in another connection, and each step's result recorded once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.store import Store, StoreError
from engine.store import migrations as schema


def test_migration_7_upgrades_a_v6_file_keeping_its_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state" / "agency.db"
    with monkeypatch.context() as patched:
        patched.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:6])
        Store.open(path).close()
    with sqlite3.connect(path) as conn:  # a run as rulebridge 6 wrote it
        conn.execute(
            "INSERT INTO runs (started, finished, status, ruleset_name, ruleset_version, "
            "ruleset_hash, dry_run, kind) VALUES ('2026-12-06T02:00:00+00:00', "
            "'2026-12-06T02:05:00+00:00', 'succeeded', 'alto-fixflo', '1', 'h', 0, 'night')"
        )
    conn.close()
    with Store.open(path) as store:
        numbers = [row["number"] for row in store._db.query("SELECT number FROM migrations")]
        assert numbers == [1, 2, 3, 4, 5, 6, 7]
        [old] = store.runs()
        assert (old.status, old.night) == ("succeeded", None)
        assert store.step_results(old.id) == {}
        run = store.start_run("alto-fixflo", "1", "h", night="acme:2026-12-07")
        assert store.record_step(run.id, "check", {"run_id": run.id})
    with Store.open(path) as again:
        assert again.run(run.id).night == "acme:2026-12-07"
        assert again.step_results(run.id) == {"check": {"run_id": run.id}}


def test_run_of_night_is_the_latest_run_started_for_it(tmp_path: Path) -> None:
    with Store.open(tmp_path / "agency.db") as store:
        assert store.run_of_night("acme:2026-12-07") is None
        first = store.start_run("alto-fixflo", "1", "h", night="acme:2026-12-07")
        store.finish_run("failed")
        store.start_run("alto-fixflo", "1", "h", night="acme:2026-12-08")
        store.finish_run("succeeded")
        store.start_run("alto-fixflo", "1", "h")  # a run of its own: no night
        store.finish_run("succeeded")
        second = store.start_run("alto-fixflo", "1", "h", night="acme:2026-12-07")
        found = store.run_of_night("acme:2026-12-07")
        assert found is not None
        assert (found.id, found.status) == (second.id, "running")
        assert found.id != first.id
        assert store.run_of_night("acme") is None  # the night's id, exactly


def test_a_step_is_recorded_once_in_order(tmp_path: Path) -> None:
    with Store.open(tmp_path / "agency.db") as store:
        run = store.start_run("alto-fixflo", "1", "h", night="n")
        assert store.record_step(run.id, "check", {"run_id": run.id})
        assert store.record_step(run.id, "apply:0", {"changes": 3, "warnings": ["é"]})
        assert not store.record_step(run.id, "apply:0", {"changes": 99})  # kept as first
        assert store.record_step(run.id, "apply:1", {"changes": 1})
        results = store.step_results(run.id)
        assert list(results) == ["check", "apply:0", "apply:1"]
        assert results["apply:0"] == {"changes": 3, "warnings": ["é"]}
        with pytest.raises(StoreError, match="has no run 99"):
            store.record_step(99, "check", {})


def test_continue_run_takes_up_an_unfinished_run_in_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "agency.db"
    with Store.open(path) as first:
        run = first.start_run("alto-fixflo", "1", "h", night="n")
        first.finish_run("interrupted")  # stopped by a signal between two steps
    with Store.open(path) as second:
        with pytest.raises(StoreError, match="no run is open"):
            second.finish_run("succeeded")  # nothing attached yet
        continued = second.continue_run(run.id)
        assert (continued.status, continued.finished) == ("running", None)
        assert second.current_run_id() == run.id
        second.finish_run("succeeded")
        assert second.run(run.id).status == "succeeded"
    with Store.open(path) as third:
        killed = third.start_run("alto-fixflo", "1", "h", night="m")  # its process killed
    with Store.open(path) as fourth:
        other = fourth.start_run("alto-fixflo", "1", "h")  # left running too
        assert fourth.run(killed.id).status == "interrupted"
    with Store.open(path) as fifth:
        fifth.continue_run(killed.id)
        assert fifth.run(other.id).status == "interrupted"
        assert fifth.run(killed.id).status == "running"


@pytest.mark.parametrize("status", ["succeeded", "failed"])
def test_continue_run_refuses_a_finished_run(tmp_path: Path, status: str) -> None:
    with Store.open(tmp_path / "agency.db") as store:
        run = store.start_run("alto-fixflo", "1", "h", night="n")
        store.finish_run(status)  # type: ignore[arg-type]
        with pytest.raises(StoreError, match=f"run {run.id} has finished \\({status}\\)") as info:
            store.continue_run(run.id)
        assert "start a new run" in str(info.value)
        assert store.run(run.id).status == status
        assert store.current_run_id() is None
        with pytest.raises(StoreError, match="has no run 42"):
            store.continue_run(42)
