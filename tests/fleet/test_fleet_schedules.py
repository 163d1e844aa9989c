"""The nightly schedules: one per agency at the fleet's time in Europe/London, kept in the
fleet's database, replaced when the time changes, gone with the agency; a schedule that
fires twice starts one night (the night's id is its date in the fleet's time zone)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dbos import DBOS

from rulebridge.fleet import TERMINAL, Worker, load_fleet, night_id, night_of, running
from rulebridge.fleet.worker import SCHEDULE_PREFIX, FleetBusyError
from rulebridge.runner import RunLog
from tests.fleet.test_fleet_config import _agency


def _schedules() -> dict[str, tuple[str, str | None, object]]:
    found = DBOS.list_schedules(schedule_name_prefix=SCHEDULE_PREFIX)
    return {
        s["schedule_name"]: (s["schedule"], s.get("cron_timezone"), s["context"]) for s in found
    }


def _nights(prefix: str) -> list[str]:
    workflows = DBOS.list_workflows(workflow_id_prefix=prefix, load_input=False)
    return sorted(wf.workflow_id for wf in workflows if wf.name == "rulebridge.agency_night")


def _settled(worker: Worker, ids: list[str]) -> bool:
    states = worker.status_of(ids)
    return len(states) == len(ids) and all(s.status in TERMINAL for s in states.values())


def test_one_schedule_per_agency_fires_one_night_and_follows_the_fleet(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("RULEBRIDGE_FLEET_DATABASE_URL", raising=False)
    _agency(tmp_path, "a.yaml", "a")  # unreachable APIs: the nights fail fast, which is fine
    _agency(tmp_path, "b.yaml", "b")
    (tmp_path / "fleet.yaml").write_text("nightly: {at: '00:30'}\n")
    log = RunLog(io.StringIO(), terminal=False)
    with running(Worker(load_fleet(tmp_path), log)) as worker:
        assert _schedules() == {
            f"{SCHEDULE_PREFIX}a": ("0 30 0 * * *", "Europe/London", "a"),
            f"{SCHEDULE_PREFIX}b": ("0 30 0 * * *", "Europe/London", "b"),
        }
        # fired twice (two workers, or a trigger by hand): one night
        kicks = [DBOS.trigger_schedule(f"{SCHEDULE_PREFIX}a") for _ in range(2)]
        worker.wait(lambda: _settled(worker, [k.get_workflow_id() for k in kicks]))
        tonight = night_id("a", night_of(datetime.now(UTC), "Europe/London"))
        assert _nights("a:") == [tonight]
        # a summer night: 00:30 BST on 30 June is 23:30 UTC on the 29th; the night is the 30th
        start = datetime(2026, 6, 29, 23, 0, tzinfo=UTC)
        end = datetime(2026, 6, 30, 0, 0, tzinfo=UTC)
        backfilled = DBOS.backfill_schedule(f"{SCHEDULE_PREFIX}b", start, end)
        assert len(backfilled) == 1
        worker.wait(lambda: _settled(worker, [h.get_workflow_id() for h in backfilled]))
        assert _nights("b:") == ["b:2026-06-30"]
    # a new time, and agency b gone from the folder: the next worker follows
    (tmp_path / "b.yaml").unlink()
    (tmp_path / "fleet.yaml").write_text("nightly: {at: '02:15'}\n")
    with running(Worker(load_fleet(tmp_path), log)):
        assert _schedules() == {f"{SCHEDULE_PREFIX}a": ("0 15 2 * * *", "Europe/London", "a")}


def test_a_sqlite_fleet_has_one_worker(tmp_path: Path, monkeypatch) -> None:
    """Two workers on one SQLite fleet would both claim nights of one agency (DBOS does not
    serialise SQLite claims between processes): the second is refused, naming Postgres."""
    monkeypatch.delenv("RULEBRIDGE_FLEET_DATABASE_URL", raising=False)
    _agency(tmp_path, "a.yaml", "a")
    fleet = load_fleet(tmp_path)
    log = RunLog(io.StringIO(), terminal=False)
    with running(Worker(fleet, log, schedules=False)):
        second = Worker(fleet, log, schedules=False)
        with pytest.raises(FleetBusyError, match="Postgres"):
            second.start()
        second.leases.close()
    with running(Worker(fleet, log, schedules=False)):  # the first gone, the next one runs
        pass
