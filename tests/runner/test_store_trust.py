"""Exactly once whatever happens to the state store: deleted, emptied, restored from an older
backup, a second store for the agency (one after the other, and at the same time), another
agency's store. Real SQLite files; the fake Alto and Fixflo over loopback.

Each ends with no works order, document or charge twice in Alto and no record or link twice
in Fixflo, and with a clear refusal naming what to do, or a correct resume after
``rulebridge store adopt``. The per-user state home (agency locks and witnesses) is each
test's own (tests/conftest.py); "a new machine" is another state home, without the witness.
"""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.store import Store, StoreBehindError, StoreMismatchError
from rulebridge._config import load_agency_config
from rulebridge.cli import main
from rulebridge.runner import LockedError, RunLog, RunOptions, RunOutcome, adopt_store, run_nightly
from simulator.fake.loopback import FakeAgency, agreement, fake_agency, play_issues

ROOT = Path(__file__).resolve().parents[2]
SIZE, SEED = 40, 3


@pytest.fixture
def agency(tmp_path: Path) -> Iterator[FakeAgency]:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED) as served:
        yield served


def night(
    agency: FakeAgency, store: Path | None = None, home: Path | None = None, **options: Any
) -> RunOutcome:
    """One run of the job in this process, as `rulebridge run` makes it."""
    config = load_agency_config(agency.config_path)
    run = RunOptions(config, store or agency.store_path, state_home=home, **options)
    return run_nightly(run, RunLog(io.StringIO(), terminal=False))


def adopt(agency: FakeAgency, store: Path | None = None, home: Path | None = None) -> RunOutcome:
    config = load_agency_config(agency.config_path)
    run = RunOptions(config, store or agency.store_path, state_home=home)
    return adopt_store(run, RunLog(io.StringIO(), terminal=False))


def changed(outcome: RunOutcome) -> bool:
    """The run succeeded and changed something: exit 2, or 3 (this agency always has items
    for a person, and adoption leaves charges as dead letters)."""
    return outcome.exit_code in (2, 3) and outcome.report["run"]["changes"] > 0


def quiet(outcome: RunOutcome) -> bool:
    """The run succeeded and changed nothing (exit 0, or 3 for the items for a person)."""
    return outcome.exit_code in (0, 3) and outcome.report["run"]["changes"] == 0


def history(agency: FakeAgency, issues: int = 6, *, seed: int = SEED) -> None:
    """Nights that leave works orders, documents and charges in Alto."""
    night(agency)
    play_issues(agency, issues, seed=seed)
    outcome = night(agency)
    assert changed(outcome), outcome.report["run"]["error"]
    alto = agency.simulation.alto
    assert alto.works_orders
    assert alto.documents
    assert alto.charges


def found_in_alto(agency: FakeAgency, store: Path | None = None) -> int:
    """What the operator does after adopting: Alto's contract has no read of charges, so
    adoption cannot see the charges already posted and leaves each as a dead letter; the
    operator finds them in Alto and resolves each as landed. Returns how many."""
    with Store.open(store or agency.store_path) as held:
        letters = [one for one in held.dead_letters() if "charge" in one.reason]
        for letter in letters:
            held.resolve_dead_letter(letter.id, "found in Alto by hand", landed=True)
    return len(letters)


def converge(agency: FakeAgency, store: Path | None = None, home: Path | None = None) -> None:
    """Run until a run changes nothing (after resolving what adoption could not see)."""
    found_in_alto(agency, store)
    codes = []
    for _ in range(4):
        outcome = night(agency, store, home)
        codes.append(outcome.exit_code)
        if quiet(outcome):
            return
    raise AssertionError(f"did not converge: exit codes {codes}")


def requests(agency: FakeAgency) -> int:
    return len(agency.alto.log) + len(agency.fixflo.log)


def writes(agency: FakeAgency) -> int:
    """Requests that change a target (asking Alto for a token changes nothing)."""
    logs = (*agency.alto.log.entries, *agency.fixflo.log.entries)
    changing = ("POST", "PATCH", "PUT", "DELETE")
    return sum(entry.method in changing and entry.path != "/token" for entry in logs)


def duplicates(agency: FakeAgency) -> list[str]:
    """Anything twice: works orders per issue, documents per issue and name, charges per
    invoice in Alto; records per external reference and links in Fixflo."""
    alto = agency.simulation.alto
    seen: Counter[tuple[Any, ...]] = Counter()
    issue = alto.issue_of_order  # each recognised by its identity (no marker)
    seen.update(("works order", issue(key) or f"unrecognised {key}") for key in alto.works_orders)
    seen.update(("document", issue(d["linkedId"]), d["fileName"]) for d in alto.documents)
    seen.update(
        ("charge", issue(c["workOrderId"]), c.get("invoiceReference")) for c in alto.charges
    )
    fixflo = agency.fixflo.store
    for name, key in (
        ("properties", "ExternalPropertyRef"),
        ("tenants", "ExternalRef"),
        ("landlords", "ExternalRef"),
        ("contractors", "ExternalRef"),
    ):
        seen.update((name, r[key]) for r in fixflo.collections[name].values() if r.get(key))
    for links in fixflo.join_records():  # a link is its two ends, whatever its Id
        seen.update(
            ("link", *sorted((k, v) for k, v in link.items() if k != "Id")) for link in links
        )
    return [repr(key) for key, count in seen.items() if count > 1]


def remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def backup(path: Path, to: Path) -> None:
    """A copy of the store (the SQLite backup API, as an operator's backup tool)."""
    source, target = sqlite3.connect(path), sqlite3.connect(to)
    with source, target:
        source.backup(target)
    source.close()
    target.close()


def restore(copy: Path, path: Path) -> None:
    remove(path)
    path.write_bytes(copy.read_bytes())
    os.chmod(path, 0o600)


# Deleted or emptied ----------------------------------------------------------------------


@pytest.mark.req("W-03", "W-09", "CH-03")
@pytest.mark.parametrize("loss", ["deleted", "emptied"])
def test_a_lost_store_is_refused_and_adopting_it_resumes_with_nothing_twice(
    agency: FakeAgency, tmp_path: Path, loss: str
) -> None:
    history(agency)
    remove(agency.store_path)
    if loss == "emptied":
        agency.store_path.touch(mode=0o600)
    before = requests(agency)

    with pytest.raises(StoreBehindError) as refused:  # the agency's witness says it ran
        night(agency)
    message = str(refused.value)
    assert "is missing or empty, but agency 'demo'" in message
    assert f"rulebridge store adopt --config {agency.config_path}" in message
    assert requests(agency) == before  # refused before a single request

    machine = tmp_path / "new-machine"  # no witness: the targets show the history
    with pytest.raises(
        StoreBehindError,
        match=r"Alto already holds works order \d+ on property \d+ for Fixflo issue \d+",
    ):
        night(agency, home=machine)
    assert writes(agency) == 0 or duplicates(agency) == []
    assert not agency.store_path.exists() or agency.store_path.stat().st_size == 0
    result = CliRunner().invoke(main, ["run", "--config", str(agency.config_path)])
    assert result.exit_code == 1
    assert "error:" in result.stderr
    assert "rulebridge store adopt" in result.stderr
    assert "Traceback" not in result.output + result.stderr

    sent = writes(agency)
    adopted = CliRunner().invoke(main, ["store", "adopt", "--config", str(agency.config_path)])
    assert adopted.exit_code == 3, adopted.output + adopted.stderr  # charges for a person
    assert "adopted for agency demo" in adopted.stdout
    assert writes(agency) == sent  # adopting sends nothing
    # Alto's contract has no read of charges: adoption cannot see one, so each posted charge
    # waits as a dead letter for a person to find it in Alto (never posted a second time).
    assert found_in_alto(agency) == len(agency.simulation.alto.charges) > 0
    converge(agency)
    assert duplicates(agency) == []
    assert agreement(agency) == []


# Restored from an older backup -----------------------------------------------------------


def _older_backup(agency: FakeAgency, tmp_path: Path) -> Path:
    """History, a backup, another night of new works orders, documents and charges, and
    the backup put back."""
    history(agency)
    copy = tmp_path / "backup.db"
    backup(agency.store_path, copy)
    play_issues(agency, 6, seed=SEED + 1)
    assert changed(night(agency))
    restore(copy, agency.store_path)
    return copy


@pytest.mark.req("W-03", "CH-03")
def test_a_store_restored_from_an_older_backup_is_refused_before_any_request(
    agency: FakeAgency, tmp_path: Path
) -> None:
    _older_backup(agency, tmp_path)
    before = requests(agency)
    with pytest.raises(StoreBehindError, match="is older than the agency's last run") as refused:
        night(agency)
    assert "restored from an older backup or emptied" in str(refused.value)
    assert "rulebridge store adopt" in str(refused.value)
    assert requests(agency) == before
    assert changed(adopt(agency))  # recorded what the targets hold
    converge(agency)
    assert duplicates(agency) == []
    assert agreement(agency) == []


@pytest.mark.req("W-03", "W-09", "CH-03")
def test_an_older_backup_on_a_new_machine_is_stopped_by_what_alto_holds(
    agency: FakeAgency, tmp_path: Path
) -> None:
    _older_backup(agency, tmp_path)
    machine = tmp_path / "new-machine"  # the witness is lost with the old machine
    outcome = night(agency, home=machine)
    assert duplicates(agency) == []
    assert outcome.exit_code == 1
    error = outcome.report["run"]["error"]
    assert "is behind what Alto holds" in error
    assert "which this store has no record of sending" in error
    assert f"rulebridge store adopt --config {agency.config_path}" in error

    before = requests(agency)  # noted in the store: refused at once from now on
    with pytest.raises(StoreBehindError, match="was found behind what the targets hold"):
        night(agency, home=machine)
    assert requests(agency) == before

    assert changed(adopt(agency, home=machine))
    converge(agency, home=machine)
    assert duplicates(agency) == []
    assert agreement(agency) == []


def test_without_the_lookup_first_an_older_backup_would_duplicate(
    agency: FakeAgency, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The teeth of the test above: with the lookup before a create switched off, the same
    run creates works orders Alto already holds."""
    import engine.issues.apply as applier

    async def no_lookup(job: object, op: object) -> bool:
        return True

    _older_backup(agency, tmp_path)
    monkeypatch.setattr(applier, "_looked_first", no_lookup)
    night(agency, home=tmp_path / "new-machine")
    assert any("works order" in found for found in duplicates(agency))


# A second store for the agency -----------------------------------------------------------


@pytest.mark.req("W-03")
def test_a_second_store_of_the_agency_is_refused_one_after_the_other(
    agency: FakeAgency, tmp_path: Path
) -> None:
    history(agency)
    other = tmp_path / "elsewhere" / "other.db"
    before = requests(agency)
    with pytest.raises(StoreBehindError) as refused:
        night(agency, store=other)
    assert f"its last run used the store at {agency.store_path.resolve()}" in str(refused.value)
    assert "pass --store with its path" in str(refused.value)
    assert requests(agency) == before
    assert not other.exists()

    with pytest.raises(StoreBehindError, match="Alto already holds works order"):
        night(agency, store=other, home=tmp_path / "new-machine")
    assert not other.exists()

    assert changed(adopt(agency, store=other))  # the other file becomes the store
    with pytest.raises(StoreBehindError, match="is not the agency's store") as refused:
        night(agency)  # ... and the first one is refused
    assert f"run with --store {other.resolve()}" in str(refused.value)
    converge(agency, store=other)
    assert duplicates(agency) == []
    assert agreement(agency, other) == []


@pytest.mark.req("W-03")
def test_two_stores_of_the_agency_at_the_same_time_run_once(
    agency: FakeAgency, tmp_path: Path
) -> None:
    night(agency)
    play_issues(agency, 6, seed=SEED)
    logs, already = tmp_path / "first.log", requests(agency)
    with logs.open("w") as stderr:
        first = subprocess.Popen(
            [sys.executable, "-m", "rulebridge", "run", "--config", str(agency.config_path),
             "--quiet"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
        try:
            _wait_for(lambda: requests(agency) > already, first)  # it holds the lock
            other = tmp_path / "other.db"
            with pytest.raises(LockedError, match="another run for this agency"):
                night(agency, store=other)
            assert not other.exists()
        finally:
            code = first.wait(timeout=120)
    assert code == 3, logs.read_text()  # changes applied; items for a person
    converge(agency)
    assert duplicates(agency) == []
    assert agreement(agency) == []


def _wait_for(condition: Any, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert child.poll() is None, "the first run ended before the second started"
        assert time.monotonic() < deadline, "the first run made no request"
        time.sleep(0.005)


# Another agency's store ------------------------------------------------------------------


@pytest.mark.req("W-03")
def test_a_store_of_agency_a_is_refused_with_agency_b_config(
    agency: FakeAgency, tmp_path: Path
) -> None:
    history(agency)
    with Store.open(agency.store_path) as store:
        progress = store.progress()
    with fake_agency(tmp_path / "b", size=SIZE, seed=SEED + 1) as other:
        with pytest.raises(StoreMismatchError) as refused:
            night(other, store=agency.store_path)
        message = str(refused.value)
        assert agency.alto.agency_ref.lower() in message
        assert other.alto.agency_ref.lower() in message
        assert "the Alto AgencyRef and the Fixflo base URL differ" in message
        assert requests(other) == 0
        adopted = CliRunner().invoke(
            main,
            ["store", "adopt", "--config", str(other.config_path), "--store",
             str(agency.store_path)],
        )  # fmt: skip
        assert adopted.exit_code == 1
        assert "adopt into a new file" in adopted.stderr
        assert requests(other) == 0
    with Store.open(agency.store_path) as store:
        assert store.progress() == progress
        binding = store.binding()
    assert binding is not None
    assert binding.identity.alto_agency_ref == agency.alto.agency_ref.lower()
    assert quiet(night(agency))  # still agency A's, untouched
    assert duplicates(agency) == []


# A store from before migration 4; showing a store ------------------------------------


def test_a_store_from_before_migration_4_is_bound_on_its_next_run(
    agency: FakeAgency, tmp_path: Path
) -> None:
    history(agency)
    with sqlite3.connect(agency.store_path) as db:
        db.execute("DELETE FROM agency")  # as a store written before the agency table
    db.close()
    machine = tmp_path / "upgraded-machine"  # no witness: nothing bound it before
    assert quiet(night(agency, home=machine))
    with Store.open(agency.store_path) as store:
        binding = store.binding()
    assert binding is not None
    assert binding.origin == "upgraded"
    assert duplicates(agency) == []


def test_store_show_says_whose_store_it_is_and_how_far_it_got(agency: FakeAgency) -> None:
    night(agency)
    result = CliRunner().invoke(
        main, ["store", "show", "--config", str(agency.config_path), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    shown = result.stdout
    assert agency.alto.agency_ref.lower() in shown
    assert '"origin": "new"' in shown
    assert '"runs": 1' in shown
    assert "witness" in shown
    assert "1 runs" in shown
