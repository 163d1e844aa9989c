"""The fleet's folder and fleet.yaml: which agencies, the queues' database, caps, time zone;
and the workers' leases (who is alive, a dead worker claimed exactly once)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from engine import RulebridgeError, RulesetErrors
from rulebridge.fleet import (
    FleetConfigError,
    Leases,
    fleet_status,
    load_fleet,
    night_id,
    night_of,
)
from rulebridge.runner.ratelimit import redact_url

AGENCY = """\
agency: {name}
alto:
  base_url: http://127.0.0.1:9/alto
  agency_ref: 9b6c0d1e-2f3a-4b5c-8d7e-0f1a2b3c4d5e
  client_id_env: X_ALTO_ID
  client_secret_env: X_ALTO_SECRET
fixflo:
  base_url: http://127.0.0.1:9/api/v2
  token_env: X_FIXFLO_TOKEN
"""


def _agency(folder: Path, file: str, name: str) -> Path:
    path = folder / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(AGENCY.format(name=name), "utf-8")
    return path


def test_default_patterns_find_configs_and_subfolders(tmp_path, monkeypatch):
    monkeypatch.delenv("RULEBRIDGE_FLEET_DATABASE_URL", raising=False)
    _agency(tmp_path, "acme.yaml", "acme")
    _agency(tmp_path, "hart/agency.yaml", "hart")
    (tmp_path / "hart" / "agency.settings.yaml").write_text("paying_party: Tenant\n")
    fleet = load_fleet(tmp_path)
    assert [a.name for a in fleet.agencies] == ["acme", "hart"]
    assert fleet.agency("hart").store_path == tmp_path / "hart" / "state" / "agency.db"
    assert fleet.agency("acme").store_path == tmp_path / "state" / "acme.db"
    # no URL: one machine, a SQLite file beside the agencies
    assert fleet.database_url == f"sqlite:///{(tmp_path / 'state' / 'fleet.sqlite').resolve()}"
    assert not fleet.on_postgres
    assert (fleet.nightly_at, fleet.time_zone, fleet.per_worker) == ("01:30", "Europe/London", 4)


def test_fleet_yaml_sets_patterns_caps_and_database_from_env(tmp_path, monkeypatch):
    _agency(tmp_path, "agencies/a.yaml", "a")
    _agency(tmp_path, "other.yaml", "other")
    (tmp_path / "fleet.yaml").write_text(
        'agencies: ["agencies/*.yaml"]\n'
        "database_url_env: MY_FLEET_DB\n"
        "nightly: {at: '02:15', time_zone: Europe/Dublin}\n"
        "concurrency: {global: 10, per_worker: 2}\n"
        "lease_seconds: 12\nbatch_size: 50\n"
    )
    monkeypatch.setenv("MY_FLEET_DB", "postgresql://rb:pw@127.0.0.1:5432/fleet")
    fleet = load_fleet(tmp_path)
    assert [a.name for a in fleet.agencies] == ["a"]
    assert fleet.on_postgres
    assert (fleet.global_concurrency, fleet.per_worker, fleet.lease_seconds) == (10, 2, 12.0)
    assert (fleet.nightly_at, fleet.time_zone, fleet.batch_size) == ("02:15", "Europe/Dublin", 50)


def test_a_named_variable_not_set_is_an_error_naming_it(tmp_path, monkeypatch):
    _agency(tmp_path, "a.yaml", "a")
    (tmp_path / "fleet.yaml").write_text("database_url_env: MY_FLEET_DB\nsecrets_file: f.secrets\n")
    monkeypatch.delenv("MY_FLEET_DB", raising=False)
    (tmp_path / "f.secrets").write_text("OTHER=1\n")
    (tmp_path / "f.secrets").chmod(0o600)
    with pytest.raises(ValueError, match="MY_FLEET_DB"):
        load_fleet(tmp_path)


def test_fleet_yaml_errors_are_located(tmp_path):
    _agency(tmp_path, "a.yaml", "a")
    (tmp_path / "fleet.yaml").write_text("nightly:\n  at: '25:00'\nconcurency: {global: 2}\n")
    with pytest.raises(RulesetErrors) as caught:
        load_fleet(tmp_path)
    text = str(caught.value)
    assert "fleet.yaml:2:" in text
    assert "fleet.yaml:3:" in text
    assert "concurrency" in text  # the misspelt key's likely meaning


@pytest.mark.parametrize(
    ("files", "fleet_yaml", "message"),
    [
        ({}, "", "no agency config matches"),
        ({"a.yaml": "same", "b.yaml": "same"}, "", "is also"),
        ({"a.yaml": "a"}, "nightly: {time_zone: Mars/Olympus}\n", "not a known time zone"),
        ({"a.yaml": "a"}, "concurrency: {global: 2, per_worker: 3}\n", "above"),
    ],
)
def test_unusable_fleets_say_why(tmp_path, files, fleet_yaml, message):
    for file, name in files.items():
        _agency(tmp_path, file, name)
    if fleet_yaml:
        (tmp_path / "fleet.yaml").write_text(fleet_yaml)
    with pytest.raises(FleetConfigError, match=message):
        load_fleet(tmp_path)


def test_an_agency_config_error_is_located_in_its_file(tmp_path):
    (tmp_path / "a.yaml").write_text("agency: a\nalto: {base_url: nope}\n")
    with pytest.raises(RulesetErrors, match=r"a\.yaml:2:"):
        load_fleet(tmp_path)


def test_unknown_agency_and_missing_folder(tmp_path):
    _agency(tmp_path, "a.yaml", "a")
    with pytest.raises(FleetConfigError, match="no agency 'zed'"):
        load_fleet(tmp_path).agency("zed")
    with pytest.raises(FleetConfigError, match="no such folder"):
        load_fleet(tmp_path / "missing")


def test_the_night_is_the_date_in_the_fleets_time_zone():
    # 23:30 UTC in British summer time is already tomorrow in London; in winter it is not
    assert night_of(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "Europe/London") == date(2026, 7, 1)
    assert night_of(datetime(2026, 12, 6, 23, 30, tzinfo=UTC), "Europe/London") == date(2026, 12, 6)
    assert night_id("acme", date(2026, 12, 7)) == "acme:2026-12-07"


def test_url_passwords_never_shown():
    assert "s3cret" not in redact_url("postgresql://rb:s3cret@db:5432/fleet")
    assert redact_url("postgresql://rb@db/fleet") == "postgresql://rb@db/fleet"


def test_leases_alive_expire_and_a_dead_worker_is_claimed_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'fleet.sqlite'}"
    leases = Leases(url)
    try:
        leases.beat("w1")
        leases.beat("w2", draining=True)
        assert leases.alive(60) == {"w1", "w2"}
        assert [lease.draining for lease in leases.leases()] == [False, True]
        time.sleep(0.3)
        leases.beat("w1")
        assert leases.alive(0.2) == {"w1"}  # w2 silent for longer than the lease
        wins: list[bool] = []
        racers = [
            threading.Thread(target=lambda n=n: wins.append(Leases(url).claim("w2", by=f"r{n}")))
            for n in range(4)
        ]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        assert sorted(wins) == [False, False, False, True]
        assert {lease.executor_id for lease in leases.leases()} == {"w1"}  # the claim took it
        assert leases.renew("w1")
        assert not leases.renew("w2")  # claimed: w2 must stop
        leases.release("w1")
        assert leases.leases() == []
    finally:
        leases.close()


def test_status_before_any_worker_says_to_start_one(tmp_path, monkeypatch):
    monkeypatch.delenv("RULEBRIDGE_FLEET_DATABASE_URL", raising=False)
    _agency(tmp_path, "a.yaml", "a")
    with pytest.raises(FleetConfigError, match="has started on it once") as caught:
        fleet_status(load_fleet(tmp_path))
    assert "sqlite:////" in str(caught.value)  # the path as given, nothing to redact


def test_a_database_url_with_a_password_is_never_shown(tmp_path, monkeypatch):
    _agency(tmp_path, "a.yaml", "a")
    monkeypatch.setenv("RULEBRIDGE_FLEET_DATABASE_URL", "postgresql://rb:s3cret@127.0.0.1:1/f")
    fleet = load_fleet(tmp_path)
    for attempt in (lambda: fleet_status(fleet), lambda: Leases(fleet.database_url)):
        with pytest.raises(RulebridgeError) as caught:
            attempt()
        assert "s3cret" not in str(caught.value)
        assert "rb:***@127.0.0.1:1" in str(caught.value)


def test_workers_starting_together_on_a_new_database_all_get_their_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    made: list[object] = []
    start = threading.Barrier(6)

    def open_leases() -> None:
        start.wait()
        try:
            made.append(Leases(url))
        except Exception as exc:  # the race this guards against: "table already exists"
            made.append(exc)

    racers = [threading.Thread(target=open_leases) for _ in range(6)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert all(isinstance(item, Leases) for item in made), made
    for item in made:
        assert isinstance(item, Leases)
        item.close()
