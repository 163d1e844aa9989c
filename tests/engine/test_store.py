"""The state store: migrations, permissions, the exactly-once contract, ledger and audit."""

from __future__ import annotations

import os
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlite_utils import Database

from engine.errors import RulebridgeError
from engine.explain import Because
from engine.issues.reconcile import LifecycleOp
from engine.store import (
    AgencyIdentity,
    DeadLetter,
    EffectResult,
    IdMapEntry,
    IssueState,
    Progress,
    Store,
    StoreError,
)
from engine.store import migrations as schema
from engine.store.files import prepare_file, translate
from engine.store.records import StoredOperation as StoredOp
from engine.sync.plan import Operation

OpenStore = Callable[..., Store]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture
def open_store(state_dir: Path) -> Iterator[OpenStore]:
    """Opens stores in a private folder and closes every one of them afterwards."""
    opened: list[Store] = []

    def _open(name: str = "agency.db", **kwargs: object) -> Store:
        store = Store.open(state_dir / name, **kwargs)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield _open
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: OpenStore) -> Store:
    return open_store()


def works_order(key: str = "wo-FF-1", op: str = "create", **fields: object) -> LifecycleOp:
    because = (Because("L-03", "status", "Job awarded", "= 'Job awarded'", True),)
    return LifecycleOp(op, "works_order", "FF-1", fields or {"status": "Raised"}, key, because)


def update(key: str, value: str = "x") -> Operation:
    return Operation(
        "update", "property", "fixflo.properties", "100001", 7, "100001/OID", {"Name": value},
        key, (Because("P-01", "recordType", "Rent", "= 'Rent'", True),),
    )  # fmt: skip


def raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(str(path))


# Files, migrations, errors ---------------------------------------------------------------


def test_migrations_apply_once_in_order_and_reopening_is_a_no_op(open_store: OpenStore) -> None:
    first = open_store()
    first.close()
    second = open_store()
    rows = list(second._db.query("SELECT number FROM migrations ORDER BY rowid"))
    assert [row["number"] for row in rows] == [n for n, _, _ in schema.MIGRATIONS]
    assert schema.migrate(second._db, "now") == []


def test_new_migrations_run_once_in_order_and_a_failing_one_stays_pending(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_store().close()
    calls: list[int] = []

    def step(number: int, fail: bool = False) -> Callable[[Database], None]:
        def apply(db: Database) -> None:
            calls.append(number)
            db.execute(f"CREATE TABLE extra_{number} (x)")
            if fail:
                raise sqlite3.OperationalError("migration failed")

        return apply

    base, n = schema.MIGRATIONS, schema.latest()
    two, three = n + 1, n + 2
    monkeypatch.setattr(
        schema, "MIGRATIONS", (*base, (two, "two", step(two)), (three, "three", step(three, True)))
    )
    with pytest.raises(StoreError, match="migration failed"):
        open_store()
    monkeypatch.setattr(
        schema, "MIGRATIONS", (*base, (two, "two", step(two)), (three, "three", step(three)))
    )
    store = open_store()
    assert calls == [two, three, three]
    numbers = [row["number"] for row in store._db.query("SELECT number FROM migrations")]
    assert numbers == [*(number for number, _, _ in base), two, three]
    assert {f"extra_{two}", f"extra_{three}"} <= set(store._db.table_names())
    open_store().close()
    assert calls == [two, three, three]


def test_a_lower_numbered_migration_merged_later_still_runs(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numbers may have gaps (one branch ships 5 while another writes 4): a file that has
    the higher numbers gets the lower one when a version that knows it opens the file."""
    full = schema.MIGRATIONS
    with monkeypatch.context() as patched:
        patched.setattr(schema, "MIGRATIONS", tuple(m for m in full if m[0] != 2))
        open_store().close()
    store = open_store()
    numbers = [row["number"] for row in store._db.query("SELECT number FROM migrations")]
    assert sorted(numbers) == [number for number, _, _ in full]
    assert "report" in store._db["runs"].columns_dict


def test_a_path_that_cannot_be_created_is_a_clear_error(state_dir: Path) -> None:
    (state_dir / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot be created"):
        Store.open(state_dir / "file" / "agency.db")
    with pytest.raises(StoreError, match="cannot be created"):
        Store.open(state_dir / "file" / "deeper" / "agency.db")


def test_store_file_folder_and_wal_are_owner_only(store: Store, state_dir: Path) -> None:
    store.start_run("alto-fixflo", "1", "h")
    wal = state_dir / "agency.db-wal"
    assert wal.exists()  # the connection is open, so the WAL is there
    for path in (store.path, wal, state_dir / "agency.db-shm"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert store._db.journal_mode == "wal"


def test_owner_only_whatever_the_umask(state_dir: Path) -> None:
    previous = os.umask(0)
    try:
        with Store.open(state_dir / "open-umask" / "agency.db") as store:
            store.start_run("alto-fixflo", "1", "h")
            modes = {
                path.name: stat.S_IMODE(path.stat().st_mode)
                for path in (store.path.parent, *store.path.parent.iterdir())
            }
    finally:
        os.umask(previous)
    assert modes == {
        "open-umask": 0o700, "agency.db": 0o600, "agency.db-wal": 0o600, "agency.db-shm": 0o600,
    }  # fmt: skip


def test_a_missing_folder_is_created_owner_only(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new" / "deep" / "agency.db") as store:
        assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700


def test_a_folder_others_can_read_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "open"
    folder.mkdir()
    folder.chmod(0o755)
    with pytest.raises(StoreError, match="chmod o-rwx"):
        Store.open(folder / "agency.db")


def test_a_newer_schema_is_refused_with_a_clear_message(
    open_store: OpenStore, state_dir: Path
) -> None:
    open_store().close()
    with raw(state_dir / "agency.db") as conn:
        conn.execute("INSERT INTO migrations VALUES (999, 'future', 'later')")
    conn.close()
    with pytest.raises(StoreError, match=r"newer rulebridge \(migrations \[999\]") as info:
        open_store()
    assert "upgrade rulebridge" in str(info.value)
    assert isinstance(info.value, RulebridgeError)


def test_a_file_that_is_not_a_store_is_refused(state_dir: Path) -> None:
    (state_dir / "notes.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a rulebridge store"):
        Store.open(state_dir / "notes.db")
    other = raw(state_dir / "other.db")
    other.execute("CREATE TABLE things (x)")
    other.close()
    with pytest.raises(StoreError, match="not a rulebridge store"):
        Store.open(state_dir / "other.db")


def test_a_store_locked_by_another_run_is_a_clear_error(open_store: OpenStore) -> None:
    holder = open_store()
    holder._db.conn.execute("BEGIN IMMEDIATE")
    waiting = open_store(timeout=0.05)
    with pytest.raises(StoreError, match="locked by another run"):
        waiting.start_run("alto-fixflo", "1", "h")
    holder._db.rollback()


def test_a_full_disk_is_a_clear_error_and_changes_nothing(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    big = IssueState("FF-1", documents=frozenset({"x" * 20_000}))
    with pytest.raises(StoreError, match="disk is full"):
        store.put_issue_state(big)
    assert store._db.conn.in_transaction is False


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("SQLITE_BUSY_SNAPSHOT", "locked by another run"),
        ("SQLITE_NOTADB", "not a rulebridge store"),
        ("SQLITE_FULL", "disk is full"),
        ("SQLITE_READONLY_DBMOVED", "read-only"),
        ("SQLITE_WHATEVER", "failed"),
    ],
)
def test_sqlite_errors_are_translated_with_the_file_and_a_fix(name: str, words: str) -> None:
    exc = sqlite3.OperationalError("boom")
    exc.sqlite_errorname = name
    error = translate(exc, "state/a.db")
    assert str(error).startswith("state/a.db: ")
    assert words in str(error)
    assert error.fix


# Exactly once ---------------------------------------------------------------------------


def test_intent_then_crash_leaves_the_operation_in_flight_for_the_next_open(
    open_store: OpenStore,
) -> None:
    first = open_store()
    first.start_run("alto-fixflo", "1", "h")
    assert first.record_intent(works_order()).action == "call"
    first.close()  # the process dies between the call and the record of its effect
    second = open_store()
    assert second.operation_status("wo-FF-1") == "in_flight"
    assert [op["idempotency_key"] for op in second.in_flight()] == ["wo-FF-1"]
    assert second.runs()[0].status == "running"
    second.start_run("alto-fixflo", "1", "h")
    intent = second.record_intent(works_order())
    assert (intent.action, intent.attempts) == ("verify", 2)
    assert second.record_effect(works_order(), EffectResult("42", "FF-1"))
    assert len(second.audit()) == 1
    assert [run.status for run in second.runs()] == ["running", "interrupted"]


def test_an_effect_for_another_action_than_the_intent_is_refused(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    store.record_intent(works_order(op="create"))
    with pytest.raises(StoreError, match="intent for wo-FF-1 was 'create', not 'update'"):
        store.record_effect(works_order(op="update"))


def test_an_effect_is_recorded_once_per_key_and_a_second_record_is_a_no_op(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "hash-1")
    op = works_order()
    store.record_intent(op)
    assert store.record_effect(op, EffectResult("42")) is True
    assert store.record_effect(op, EffectResult("43")) is False
    [row] = store.audit()
    assert row["result"] == {"target_id": "42", "target_ref": None}
    assert row["ruleset_hash"] == "hash-1"
    assert row["because"][0]["rule"] == "L-03"


def test_an_effect_without_an_intent_is_refused(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    with pytest.raises(StoreError, match="without an intent"):
        store.record_effect(works_order())
    assert store.audit() == []


def test_a_create_happens_once_ever_and_its_result_is_returned(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    store.record_intent(works_order())
    store.record_effect(works_order(), EffectResult("42"))
    store.finish_run("succeeded")
    store.start_run("alto-fixflo", "1", "h")
    intent = store.record_intent(works_order())
    assert (intent.action, intent.result) == ("skip", EffectResult("42"))


def test_an_update_may_recur_in_a_later_run_but_not_within_one(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    store.record_intent(update("u1"))
    store.record_effect(update("u1"))
    assert store.record_intent(update("u1")).action == "skip"
    store.finish_run("succeeded")
    store.start_run("alto-fixflo", "1", "h")
    assert store.record_intent(update("u1")).action == "call"
    assert store.record_effect(update("u1"))
    assert [row["generation"] for row in store.audit()] == [1, 2]
    assert store.run(2).counts == {"property": {"update": 1}}  # not finished: live counts
    assert store.finish_run("succeeded").counts == {"property": {"update": 1}}


def test_a_live_run_sends_an_update_again_for_each_later_change(store: Store) -> None:
    """A live run lasts all day, one reconcile after another: an issue's works order moves
    on within it (a night defers that to the next night), while a create stays once ever."""
    store.start_run("alto-fixflo", "1", "h", kind="live")
    store.record_intent(update("u1"))
    store.record_effect(update("u1"))
    assert store.record_intent(update("u1", "y")).action == "call"
    assert store.record_effect(update("u1", "y"))
    store.record_intent(works_order())
    store.record_effect(works_order(), EffectResult("42"))
    assert store.record_intent(works_order()).action == "skip"
    assert [row["generation"] for row in store.audit() if row["kind"] == "property"] == [1, 2]


def test_a_failed_operation_is_tried_again(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    store.record_plan([update("u1"), update("u2")])
    assert store.operation_status("u1") == "planned"
    store.record_intent(update("u1"))
    store.mark_failed(update("u1"), "HTTP 503")
    assert store.operation_status("u1") == "failed"
    assert store.record_intent(update("u1")) .attempts == 2  # fmt: skip


def test_calls_outside_a_run_are_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="start_run"):
        store.record_intent(works_order())


def test_the_audit_log_refuses_update_and_delete(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    store.record_intent(works_order())
    store.record_effect(works_order())
    conn = raw(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit SET op = 'nothing'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM audit")
    finally:
        conn.close()
    assert len(store.audit()) == 1


# Dead letters, ledger, cursors, runs ------------------------------------------------------


def test_dead_letters_list_and_retry(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    op = works_order()
    store.record_intent(op)
    letter = store.dead_letter(op, "property 7 does not exist", error="HTTP 404", retryable=False)
    assert (letter.reason, letter.attempts, letter.last_error) == (
        "property 7 does not exist", 1, "HTTP 404",
    )  # fmt: skip
    assert store.dead_letters() == [letter]
    assert store.record_intent(op).action == "dead"
    assert store.operation_status("wo-FF-1") == "dead"
    assert store.retry_dead_letter(letter.id)["idempotency_key"] == "wo-FF-1"
    assert store.dead_letters() == []
    assert len(store.dead_letters(include_retried=True)) == 1
    with pytest.raises(StoreError, match="already retried"):
        store.retry_dead_letter(letter.id)
    assert store.record_intent(op).action == "call"


def test_an_operation_never_tried_can_be_dead_lettered(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    letter = store.dead_letter(update("bad"), "no postcode", retryable=True)
    assert letter.retryable
    assert letter.attempts == 0
    assert store.operation_status("bad") == "dead"


def test_cursors_only_advance(store: Store) -> None:
    assert store.cursor("fixflo.issues") is None
    store.advance_cursor("fixflo.issues", "2026-11-22T01:00:00Z")
    store.advance_cursor("fixflo.issues", "2026-11-22T01:00:00Z")
    store.advance_cursor("fixflo.issues", "2026-11-22T02:00:00Z")
    with pytest.raises(StoreError, match="cannot move back"):
        store.advance_cursor("fixflo.issues", "2026-11-21T00:00:00Z")
    assert store.cursor("fixflo.issues") == "2026-11-22T02:00:00Z"


def test_id_map_lookups_and_updates(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    store.map_id(IdMapEntry("property", "100001", "7", "100001/OID", "c1"))
    store.map_id(IdMapEntry("property", "100001", "7", "100001/OID", "c2"))
    entry = store.lookup("property", "100001")
    assert entry == IdMapEntry("property", "100001", "7", "100001/OID", "c2", 1)
    assert store.lookup_target("property", "7") == entry
    assert store.lookup("property", "nope") is None
    assert list(store.id_map("property")) == ["100001"]


def test_issue_state_round_trips_and_feeds_reconcile(store: Store) -> None:
    assert store.issue_state("FF-1") == IssueState("FF-1")
    state = IssueState(
        "FF-1", "42", {"status": "Raised"}, frozenset({"quote"}), frozenset({"invoice"}), 3
    )
    store.put_issue_state(state)
    assert store.issue_state("FF-1") == state
    held = store.issue_state("FF-1").holding()
    assert (held.works_order, held.revision) == ({"status": "Raised"}, 3)


def test_effect_and_ledger_commit_together_or_not_at_all(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    store.record_intent(works_order())

    def effect_and_ledger_then_crash() -> None:
        with store.transaction():
            store.record_effect(works_order(), EffectResult("42"))
            store.put_issue_state(IssueState("FF-1", "42"))
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        effect_and_ledger_then_crash()
    assert store.operation_status("wo-FF-1") == "in_flight"
    assert store.issue_state("FF-1").works_order_id is None
    assert store.audit() == []


def test_runs_are_listed_newest_first(open_store: OpenStore) -> None:
    clock = iter(datetime(2026, 11, 22, hour, tzinfo=UTC) for hour in range(10))
    store = open_store(clock=lambda: next(clock))
    store.start_run("alto-fixflo", "1", "h", dry_run=True)
    store.finish_run("succeeded", {"property": {"create": 3}})
    store.start_run("alto-fixflo", "2", "h2")
    assert [run.id for run in store.runs()] == [2, 1]
    assert [run.id for run in store.runs(limit=1)] == [2]  # the newest only: read no more
    first = store.run(1)
    assert (first.dry_run, first.counts, first.finished) == (
        True, {"property": {"create": 3}}, "2026-11-22T02:00:00.000000+00:00",
    )  # fmt: skip
    with pytest.raises(StoreError, match="has no run 9"):
        store.run(9)


# A stateful test over random sequences of store calls --------------------------------------

KEYS = ("k1", "k2", "k3")


class StoreMachine(RuleBasedStateMachine):
    """Random intents, effects, failures, dead letters, runs and crashes; the invariants
    of the exactly-once contract hold after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.path = Path(self.folder.name) / "agency.db"
        self.store = Store.open(self.path)
        self.store.start_run("alto-fixflo", "1", "h")
        self.in_flight: set[str] = set()
        self.kinds: dict[str, str] = {}

    def op(self, key: str, kind: str) -> LifecycleOp | Operation:
        return works_order(key) if kind == "create" else update(key)

    @rule(key=st.sampled_from(KEYS), kind=st.sampled_from(["create", "update"]))
    def intent(self, key: str, kind: str) -> None:
        intent = self.store.record_intent(self.op(key, kind))
        if intent.action == "dead":
            assert self.store.operation_status(key) == "dead"
            return
        if intent.action == "verify":
            assert key in self.in_flight
        if intent.action != "skip":
            self.in_flight.add(key)
            self.kinds[key] = kind

    @rule(key=st.sampled_from(KEYS))
    def effect(self, key: str) -> None:
        status = self.store.operation_status(key)
        kind = self.kinds.get(key, "update")
        try:
            recorded = self.store.record_effect(self.op(key, kind), EffectResult(key))
        except StoreError:
            assert status not in ("in_flight", "done")
            return
        assert recorded == (status == "in_flight")
        self.in_flight.discard(key)

    @precondition(lambda self: self.in_flight)
    @rule(data=st.data())
    def fail_or_dead_letter(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.in_flight)))
        if data.draw(st.booleans()):
            self.store.mark_failed(update(key), "HTTP 500")
        else:
            self.store.dead_letter(update(key), "gave up", retryable=True)
        self.in_flight.discard(key)

    @rule()
    def retry_dead_letters(self) -> None:
        for letter in self.store.dead_letters():
            self.store.retry_dead_letter(letter.id)

    @rule()
    def next_run(self) -> None:
        self.store.finish_run("succeeded")
        self.store.start_run("alto-fixflo", "1", "h")

    @rule()
    def crash(self) -> None:
        self.store.close()
        self.store = Store.open(self.path)
        self.store.start_run("alto-fixflo", "1", "h")

    @invariant()
    def every_done_operation_has_exactly_one_audit_row(self) -> None:
        rows = self.store._db.query(
            "SELECT o.idempotency_key, o.status, count(a.id) AS n FROM operations o "
            "LEFT JOIN audit a ON a.idempotency_key = o.idempotency_key "
            "AND a.generation = o.generation GROUP BY o.idempotency_key"
        )
        for row in rows:
            assert row["n"] == (1 if row["status"] == "done" else 0), row

    @invariant()
    def no_effect_without_a_prior_intent(self) -> None:
        orphans = self.store._db.execute(
            "SELECT count(*) FROM audit a LEFT JOIN operations o "
            "ON a.idempotency_key = o.idempotency_key WHERE o.idempotency_key IS NULL"
        ).fetchone()[0]
        assert orphans == 0
        statuses = {row[0] for row in self.store._db.execute("SELECT status FROM operations")}
        assert statuses <= {"planned", "in_flight", "done", "failed", "dead"}

    def teardown(self) -> None:
        self.store.close()
        self.folder.cleanup()


StoreMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)
TestStoreMachine = StoreMachine.TestCase


def test_in_flight_operations_a_new_plan_no_longer_holds_are_settled(
    open_store: OpenStore,
) -> None:
    first = open_store()
    first.start_run("alto-fixflo", "1", "h")
    for key in ("gone", "kept"):
        first.record_intent(update(key))
    first.record_intent(works_order())
    first.close()  # killed with three calls unanswered
    second = open_store()
    second.start_run("alto-fixflo", "1", "h")
    assert second.settle_in_flight({"kept"}, {"property"}) == 1
    assert second.operation_status("gone") == "failed"
    assert second.operation_status("kept") == "in_flight"  # tonight's plan verifies it
    assert second.operation_status("wo-FF-1") == "in_flight"  # another kind: left alone
    assert second.record_intent(update("gone")).action == "call"


def test_a_finished_run_keeps_its_report(store: Store) -> None:
    run = store.start_run("alto-fixflo", "1", "h")
    assert run.report is None
    store.finish_run("succeeded", report={"run": {"exit_code": 0}})
    assert store.run(run.id).report == {"run": {"exit_code": 0}}
    assert store.runs()[0].report == {"run": {"exit_code": 0}}


def test_a_finished_run_s_report_can_be_updated_an_unfinished_one_s_not(store: Store) -> None:
    run = store.start_run("alto-fixflo", "1", "ab12")
    with pytest.raises(StoreError, match="has not finished"):
        store.update_report(run.id, {"alert": {"sent": True}})
    store.finish_run("succeeded", report={"run": {"exit_code": 0}})
    updated = store.update_report(run.id, {"run": {"exit_code": 0}, "alert": {"sent": True}})
    assert updated.report == {"run": {"exit_code": 0}, "alert": {"sent": True}}
    assert store.run(run.id).report == updated.report
    assert updated.status == "succeeded"
    with pytest.raises(StoreError, match="has no run 99"):
        store.update_report(99, {})


# Dead letters a person resolves by hand ----------------------------------------------------


def document(name: str = "issue-FF-1.pdf") -> LifecycleOp:
    because = (Because("W-09.report", "document", name, "the issue PDF", True),)
    fields = {"name": name, "linkedType": "WorkOrder"}
    return LifecycleOp(
        "attach", "document", "FF-1", fields, f"doc-{name}", because, "wo-FF-1", name
    )


def charge() -> LifecycleOp:
    because = (Because("CH-01", "Invoice", "INV-1", "present", True),)
    fields = {"invoiceReference": "INV-1", "payer": "Landlord"}
    return LifecycleOp(
        "post", "charge", "FF-1", fields, "charge-FF-1", because, "wo-FF-1", "maintenance"
    )


def lost(store: Store, op: StoredOp) -> DeadLetter:
    """A write whose answer was lost where Alto offers no lookup: a letter for a person."""
    store.record_intent(op)
    return store.dead_letter(op, "check Alto whether it landed", retryable=False)


def last_error(store: Store, key: str) -> str | None:
    [row] = store._db.query("SELECT last_error FROM operations WHERE idempotency_key = ?", [key])
    error: str | None = row["last_error"]
    return error


@pytest.mark.parametrize(
    ("op", "column", "held"),
    [(document(), "documents", "issue-FF-1.pdf"), (charge(), "charges", "maintenance")],
    ids=["document", "charge"],
)
def test_a_write_a_person_found_in_alto_is_done_in_the_ledger_and_the_audit(
    store: Store, op: LifecycleOp, column: str, held: str
) -> None:
    store.start_run("alto-fixflo", "1", "hash-1")
    store.put_issue_state(IssueState("FF-1", "42", documents=frozenset({"quote.pdf"})))
    letter = lost(store, op)
    store.finish_run("failed")

    resolved = store.resolve_dead_letter(letter.id, " found in Alto ", landed=True)

    assert resolved["idempotency_key"] == op.idempotency_key
    assert store.operation_status(op.idempotency_key) == "done"
    state = store.issue_state("FF-1")
    assert held in getattr(state, column)
    assert "quote.pdf" in state.documents
    assert state.works_order_id == "42"
    [row] = store.audit()
    assert (row["run_id"], row["ruleset_hash"]) == (letter.run_id, "hash-1")
    assert (row["op"], row["kind"], row["result"]) == (
        op.op,
        op.kind,
        {"resolved": "found in Alto"},
    )
    assert row["because"] == [
        {"rule": "person", "field": "dead_letter", "value": letter.id,
         "expected": "found in Alto", "held": True},
    ]  # fmt: skip
    assert store.dead_letters() == []
    [closed] = store.dead_letters(include_retried=True)
    assert (closed.resolution, closed.retried) == ("found in Alto", None)
    assert closed.resolved is not None
    store.start_run("alto-fixflo", "1", "hash-1")
    assert store.record_intent(op).action == "skip"  # never posted again


def test_a_landed_resolution_has_the_next_run_read_its_issue_again(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    letter = lost(store, document())
    store.finish_run("failed")
    store.resolve_dead_letter(letter.id, "found in Alto", landed=True)
    kinds = {"works_order", "document", "charge"}
    store.start_run("alto-fixflo", "1", "h", dry_run=True)
    store.finish_run("succeeded")  # a dry run writes nothing: the issue still waits
    store.start_run("alto-fixflo", "1", "h")
    assert [op["issue_id"] for op in store.requeued(kinds)] == ["FF-1"]
    store.finish_run("succeeded")
    assert store.requeued(kinds) == []


def test_a_letter_resolved_without_landing_is_failed_and_called_again(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    letter = lost(store, charge())
    store.resolve_dead_letter(letter.id, "posted by hand as INV-1b", landed=False)
    assert store.operation_status("charge-FF-1") == "failed"
    assert last_error(store, "charge-FF-1") == "resolved by a person: posted by hand as INV-1b"
    assert store.issue_state("FF-1") == IssueState("FF-1")
    assert store.audit() == []
    assert store.requeued({"charge"}) == []
    assert store.dead_letters() == []
    assert store.record_intent(charge()).action == "call"


def test_reference_data_letters_may_be_resolved_without_landing(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    letter = lost(store, update("u1"))
    assert store.resolve_dead_letter(letter.id, "fixed in Fixflo", landed=False)["kind"] == (
        "property"
    )
    assert store.operation_status("u1") == "failed"


@pytest.mark.parametrize(
    "op", [works_order(), update("u1")], ids=["works-order-create", "reference-update"]
)
def test_only_a_document_or_charge_can_be_resolved_as_landed(store: Store, op: StoredOp) -> None:
    store.start_run("alto-fixflo", "1", "h")
    letter = lost(store, op)
    with pytest.raises(StoreError, match="cannot be recorded as landed") as refused:
        store.resolve_dead_letter(letter.id, "it is there", landed=True)
    assert "resolve it without --landed" in refused.value.fix
    assert f"--retry {letter.id}" in refused.value.fix
    assert store.dead_letters() == [letter]  # nothing changed
    assert store.operation_status(op.idempotency_key) == "dead"
    assert store.audit() == []


def test_resolving_is_refused_for_a_closed_letter_or_without_a_note(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    retried, resolved, open_ = (lost(store, op) for op in (document("a"), document("b"), charge()))
    store.retry_dead_letter(retried.id)
    store.resolve_dead_letter(resolved.id, "found in Alto", landed=True)
    with pytest.raises(StoreError, match="already retried"):
        store.resolve_dead_letter(retried.id, "found in Alto", landed=True)
    with pytest.raises(StoreError, match=r"already resolved \(found in Alto\)"):
        store.resolve_dead_letter(resolved.id, "again", landed=False)
    with pytest.raises(StoreError, match="needs a note"):
        store.resolve_dead_letter(open_.id, "  ", landed=True)
    with pytest.raises(StoreError, match="has no dead letter 9"):
        store.resolve_dead_letter(9, "found", landed=True)
    assert store.dead_letters() == [open_]
    assert store.operation_status("doc-a") == "planned"
    assert len(store.audit()) == 1


def test_the_listing_shows_open_letters_unless_all_are_asked_for(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    retried, resolved, open_ = (lost(store, op) for op in (document("a"), document("b"), charge()))
    store.retry_dead_letter(retried.id)
    store.resolve_dead_letter(resolved.id, "not needed", landed=False)
    assert store.dead_letters() == [open_]
    every = store.dead_letters(include_retried=True)
    assert [letter.id for letter in every] == [retried.id, resolved.id, open_.id]
    assert [letter.resolution for letter in every] == [None, "not needed", None]


def test_letters_written_before_migration_3_are_open_after_it(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        # migrations 6 and 7 (a run's kind and night) are what today's `start_run` writes
        writes = [m for m in schema.MIGRATIONS if m[0] in (6, 7)]
        patched.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS[:2], *writes))
        old = open_store()
        old.start_run("alto-fixflo", "1", "h")
        letter = lost(old, charge())
        old.close()
    [kept] = open_store().dead_letters()
    assert (kept.id, kept.resolved, kept.resolution) == (letter.id, None, None)


# The agency a store belongs to (migration 4) ---------------------------------------------

ACME = AgencyIdentity.of(
    "acme", "9B6C0D1E-2F3A-4B5C-8D7E-0F1A2B3C4D5E", "https://acme.fixflo.com/api/v2"
)


def test_a_new_store_is_bound_once_and_keeps_its_id(open_store: OpenStore) -> None:
    store = open_store()
    assert store.binding() is None
    assert store.progress() == Progress(0, 0)
    first = store.bind(ACME, origin="new")
    assert (first.origin, first.behind, first.identity) == ("new", None, ACME)
    store.mark_behind("works order 7 carries [ref I1]")
    store.mark_behind("a second note is not kept")
    behind = store.binding()
    assert behind is not None
    assert behind.behind == "works order 7 carries [ref I1]"
    again = store.bind(ACME, origin="adopted")  # adopting clears the note, keeps the id
    assert (again.store_id, again.origin, again.behind) == (first.store_id, "adopted", None)
    store.close()
    other = open_store("other.db").bind(ACME, origin="new")
    assert other.store_id != first.store_id  # a second store of the agency is another


def test_progress_counts_the_latest_run_and_effect(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    op = works_order()
    store.record_intent(op)
    store.record_effect(op, EffectResult("WO-1"))
    store.finish_run("succeeded")
    store.start_run("alto-fixflo", "1", "h")
    assert store.progress() == Progress(runs=2, effects=1)
    assert store.progress().behind(Progress(runs=2, effects=2))
    assert not store.progress().behind(Progress(runs=1, effects=1))


def test_attempted_means_an_intent_was_recorded(store: Store) -> None:
    store.start_run("alto-fixflo", "1", "h")
    planned, called, lookup_failed = works_order("a"), works_order("b"), works_order("c")
    store.record_plan([planned, called, lookup_failed])
    store.record_intent(called)
    store.mark_failed(lookup_failed, "Alto could not be asked")  # before any intent
    assert [store.attempted(op.idempotency_key) for op in (planned, called, lookup_failed)] == [
        False,
        True,
        False,
    ]
    store.mark_failed(called, "500")  # called, answered: it was attempted
    assert store.attempted(called.idempotency_key)
    letter = store.dead_letter(planned, "refused", retryable=True)
    store.retry_dead_letter(letter.id)  # planned again, but a person saw it fail
    assert store.attempted(planned.idempotency_key)


def test_a_store_from_before_migration_4_opens_unbound_with_its_history(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        # start_run's run kind and night
        writes = [m for m in schema.MIGRATIONS if m[0] in (6, 7)]
        patched.setattr(schema, "MIGRATIONS", (*schema.MIGRATIONS[:3], *writes))
        old = open_store()
        old.start_run("alto-fixflo", "1", "h")
        old.finish_run("succeeded")
        old.close()
    upgraded = open_store()
    numbers = [row["number"] for row in upgraded._db.query("SELECT number FROM migrations")]
    assert numbers == [number for number, _, _ in schema.MIGRATIONS]
    assert 4 in numbers
    assert upgraded.binding() is None
    assert upgraded.progress().runs == 1


_REF = st.uuids().map(str)
_HOST = st.from_regex(r"[a-z][a-z0-9]{0,10}", fullmatch=True)


@given(ref=_REF, host=_HOST, other_ref=_REF, other_host=_HOST, name=st.text(max_size=10))
def test_an_agency_is_its_targets_whatever_their_spelling_or_its_label(
    ref: str, host: str, other_ref: str, other_host: str, name: str
) -> None:
    url = f"https://{host}.fixflo.com/api/v2"
    plain = AgencyIdentity.of("acme", ref, url)
    loud = f"HTTPS://{host.upper()}.FIXFLO.COM/api/v2/"  # scheme and host have no case
    respelt = AgencyIdentity.of(name, f" {ref.upper()} ", loud)
    assert respelt.key == plain.key
    assert respelt.differences(plain) == []
    other = AgencyIdentity.of("acme", other_ref, f"https://{other_host}.fixflo.com/api/v2")
    differ = other.differences(plain)
    assert (other.key == plain.key) == (differ == [])
    assert ("the Alto AgencyRef" in differ) == (other_ref != ref)
    assert ("the Fixflo base URL" in differ) == (other_host != host)


def test_a_store_folder_made_by_another_process_meanwhile_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two receivers opening one new store at once: the folder one of them made between
    the other's check and its mkdir is taken as it is, not an error."""
    folder = tmp_path / "state"
    folder.mkdir(mode=0o750)
    os.chmod(folder, 0o750)
    seen = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self: False if self == folder else seen(self))
    prepare_file(folder / "agency.db")
    assert (folder / "agency.db").is_file()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750  # not ours to change


# Live sync (migration 6): run kinds, the per-issue lease ------------------------------------


def test_a_live_run_and_a_nightly_run_do_not_interrupt_each_other(open_store: OpenStore) -> None:
    server, nightly = open_store(), open_store()
    live = server.start_run("alto-fixflo", "1", "h", kind="live")
    first = nightly.start_run("alto-fixflo", "1", "h")
    assert (live.kind, first.kind) == ("live", "night")
    second = open_store().start_run("alto-fixflo", "1", "h")  # the first night was killed
    statuses = {run.id: (run.kind, run.status) for run in nightly.runs()}
    assert statuses[live.id] == ("live", "running")
    assert statuses[first.id] == ("night", "interrupted")
    assert statuses[second.id] == ("night", "running")
    open_store().start_run("alto-fixflo", "1", "h", kind="live")  # a restarted server
    assert nightly.run(live.id).status == "interrupted"
    assert nightly.run(second.id).status == "running"


def test_an_issue_lease_is_exclusive_renewable_and_runs_out(state_dir: Path) -> None:
    clock = [datetime(2026, 11, 22, 9, tzinfo=UTC)]
    with (
        Store.open(state_dir / "agency.db", clock=lambda: clock[0]) as night,
        Store.open(state_dir / "agency.db", clock=lambda: clock[0]) as server,
    ):
        assert server.lease_issue("FF-1", "live:1:10")
        assert not night.lease_issue("FF-1", "night:2:20")
        assert night.issue_holder("FF-1") == "live:1:10"
        assert server.lease_issue("FF-1", "live:1:10")  # its own: renewed
        assert night.lease_issue("FF-2", "night:2:20")  # another issue is free
        night.release_issue("FF-1", "night:2:20")  # not its lease: nothing happens
        assert not night.lease_issue("FF-1", "night:2:20")
        clock[0] += timedelta(minutes=5, seconds=1)  # the server was killed
        assert night.issue_holder("FF-1") is None
        assert night.lease_issue("FF-1", "night:2:20")
        assert not server.lease_issue("FF-1", "live:1:10")
        night.release_issue("FF-1", "night:2:20")
        assert server.lease_issue("FF-1", "live:1:10", ttl=timedelta(seconds=1))
