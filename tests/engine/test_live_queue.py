"""The live server's queue (`engine.store.LiveQueue`, migration 6): coalescing, the bound,
leases, retries, the dead letter for the night, and a stateful model over any interleaving
of its calls from several connections to one file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from engine.store import LiveItem, LiveQueue, Store

T0 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def opened(tmp_path: Path, clock: Clock) -> Iterator[Callable[[], LiveQueue]]:
    queues: list[LiveQueue] = []
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)

    def _open() -> LiveQueue:
        queue = LiveQueue.open(folder / "agency.db", clock=clock)
        queues.append(queue)
        return queue

    yield _open
    for queue in queues:
        queue.close()


@pytest.fixture
def queue(opened: Callable[[], LiveQueue]) -> LiveQueue:
    return opened()


def _take(queue: LiveQueue, holder: str = "live:1:1") -> LiveItem:
    item = queue.take(holder)
    assert item is not None
    return item


def test_a_burst_for_one_issue_is_one_row_and_one_reconcile(queue: LiveQueue) -> None:
    assert queue.enqueue("42", "Issue state change") == "queued"
    assert [queue.enqueue("42", "Issue closed") for _ in range(5)] == ["coalesced"] * 5
    assert queue.pending() == 1
    item = _take(queue)
    assert (item.issue_id, item.event, item.attempts) == ("42", "Issue closed", 1)
    assert queue.take("live:1:2") is None  # one issue, one worker at a time
    queue.done(item, '"2026-11-22T09:00:00Z"')
    assert queue.pending() == 0
    assert queue.take("live:1:1") is None


def test_a_delivery_during_a_reconcile_runs_it_again_after(queue: LiveQueue) -> None:
    queue.enqueue("42", "Issue state change")
    item = _take(queue)
    assert queue.enqueue("42", "Job invoice updated") == "coalesced"
    queue.done(item, None)
    again = _take(queue)
    assert (again.issue_id, again.event, again.attempts) == ("42", "Job invoice updated", 1)


def test_the_oldest_due_issue_comes_first_and_coalescing_keeps_its_place(
    queue: LiveQueue, clock: Clock
) -> None:
    for issue in ("1", "2", "3"):
        queue.enqueue(issue, "Issue state change")
        clock.tick(1)
    queue.enqueue("1", "Issue closed")  # the earliest arrival stays first
    assert [_take(queue).issue_id for _ in range(3)] == ["1", "2", "3"]


def test_a_full_queue_refuses_and_writes_nothing(queue: LiveQueue) -> None:
    assert queue.enqueue("1", "e", limit=2) == "queued"
    assert queue.enqueue("2", "e", limit=2) == "queued"
    before = queue.next_due()
    assert queue.enqueue("3", "e", limit=2) == "full"
    assert queue.enqueue("1", "e", limit=2) == "coalesced"  # waiting already: not refused
    assert (queue.pending(), queue.next_due()) == (2, before)
    assert {_take(queue).issue_id, _take(queue).issue_id} == {"1", "2"}


def test_retries_wait_then_the_issue_is_left_to_the_night(queue: LiveQueue, clock: Clock) -> None:
    queue.enqueue("42", "Issue closed")
    for attempt in (1, 2):
        item = _take(queue)
        assert item.attempts == attempt
        assert queue.retry(item, f"HTTP 503 try {attempt}", delay=timedelta(seconds=10), attempts=3)
        assert queue.take("live:1:1") is None  # not due yet
        assert queue.next_due() == (clock() + timedelta(seconds=10)).isoformat(
            timespec="microseconds"
        )
        clock.tick(10)
    item = _take(queue)
    assert not queue.retry(item, "HTTP 503 " + "x" * 900, delay=timedelta(seconds=10), attempts=3)
    [dead] = queue.live_dead()
    assert (dead["issue_id"], dead["attempts"], len(dead["last_error"])) == ("42", 3, 500)
    assert queue.pending() == 0
    assert queue.take("live:1:1") is None
    assert queue.enqueue("42", "Issue closed") == "queued"  # a new delivery revives it
    assert _take(queue).attempts == 1
    assert queue.live_dead() == []


def test_a_busy_release_does_not_count_an_attempt(queue: LiveQueue, clock: Clock) -> None:
    queue.enqueue("42", "Issue closed")
    item = _take(queue)
    queue.release(item, delay=timedelta(seconds=30))
    assert queue.take("live:1:1") is None
    clock.tick(30)
    assert _take(queue).attempts == 1


def test_a_killed_holder_loses_its_lease_and_its_late_calls_change_nothing(
    opened: Callable[[], LiveQueue], clock: Clock
) -> None:
    first, second = opened(), opened()
    first.enqueue("42", "Issue closed")
    stale = _take(first, "live:1:100")
    clock.tick(301)  # the lease (5 min) ran out: the holder was killed
    fresh = _take(second, "live:2:200")
    assert (fresh.attempts, fresh.token != stale.token) == (2, True)
    first.done(stale, '"old"')  # late: the row is the new holder's
    assert first.retry(stale, "late", delay=timedelta(0))
    first.release(stale)
    assert second.pending() == 1
    assert second.take("live:3:3") is None
    second.done(fresh, '"new"')
    assert second.pending() == 0


def test_a_restarted_server_frees_its_dead_predecessors_leases_only(queue: LiveQueue) -> None:
    for issue in ("1", "2"):
        queue.enqueue(issue, "e")
    _take(queue, "live:7:100")
    _take(queue, "other:7:100")
    assert queue.release_holder("live:") == 1
    again = _take(queue, "live:8:101")
    assert (again.issue_id, again.attempts) == ("1", 2)  # the killed attempt counts


def test_done_keeps_the_revision_for_the_nightly_report(
    queue: LiveQueue, opened: Callable[[], LiveQueue], tmp_path: Path
) -> None:
    queue.enqueue("42", "Issue closed")
    queue.done(_take(queue), '"2026-11-22T09:00:00Z"')
    with Store.open(tmp_path / "state" / "agency.db") as store:
        assert store.handled_live("42") == '"2026-11-22T09:00:00Z"'
        assert store.handled_live("43") is None


def test_meta_is_shared_by_the_queue_and_the_store(queue: LiveQueue, tmp_path: Path) -> None:
    assert queue.meta("fixflo.webhook.subscription") is None
    queue.set_meta("fixflo.webhook.subscription", "sub-1")
    queue.set_meta("fixflo.webhook.subscription", "sub-2")
    with Store.open(tmp_path / "state" / "agency.db") as store:
        assert store.meta("fixflo.webhook.subscription") == "sub-2"


def test_the_night_clears_a_dead_issue_only(queue: LiveQueue, tmp_path: Path) -> None:
    for issue in ("1", "2"):
        queue.enqueue(issue, "e")
    queue.retry(_take(queue), "boom", delay=timedelta(0), attempts=1)
    with Store.open(tmp_path / "state" / "agency.db") as store:
        assert [row["issue_id"] for row in store.live_dead()] == ["1"]
        assert not store.clear_live_dead("2")  # pending: the server still owes it
        assert store.clear_live_dead("1")
        assert store.live_dead() == []
    assert queue.pending() == 1


# Any interleaving ---------------------------------------------------------------------------

ISSUES = st.sampled_from(["1", "2", "3", "4"])
LIMIT = 3


class QueueMachine(RuleBasedStateMachine):
    """Two connections to one file, workers taking and ending items in any order, the
    clock moving: the queue against a model of what each issue is owed."""

    items = Bundle("items")

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self.folder = Path(tempfile.mkdtemp()) / "state"
        self.folder.mkdir(mode=0o700)
        self.clock = Clock()
        path = self.folder / "agency.db"
        self.queues = [LiveQueue.open(path, clock=self.clock) for _ in range(2)]
        # issue -> whether a delivery is owed a reconcile that has not started since
        self.owed: dict[str, bool] = {}
        self.dead: set[str] = set()

    def teardown(self) -> None:
        for queue in self.queues:
            queue.close()

    def _rows(self) -> dict[str, dict[str, object]]:
        rows = self.queues[0]._all("SELECT * FROM live_queue")
        return {str(row["issue_id"]): row for row in rows}

    @rule(issue=ISSUES, which=st.integers(0, 1))
    def enqueue(self, issue: str, which: int) -> None:
        before = self._rows()
        outcome = self.queues[which].enqueue(issue, "Issue state change", limit=LIMIT)
        if outcome == "full":
            assert self._rows() == before  # `full` writes nothing
            assert issue not in before or before[issue]["status"] == "dead"
            return
        self.owed[issue] = True
        self.dead.discard(issue)

    @rule(target=items, which=st.integers(0, 1), holder=st.sampled_from(["live:1:1", "live:2:2"]))
    def take(self, which: int, holder: str) -> LiveItem | None:
        item = self.queues[which].take(holder)
        if item is not None:
            self.owed[item.issue_id] = False  # this reconcile covers what came before
        return item

    @rule(item=consumes(items), which=st.integers(0, 1))
    def done(self, item: LiveItem | None, which: int) -> None:
        if item is not None:
            self.queues[which].done(item, '"rev"')

    @rule(item=consumes(items), which=st.integers(0, 1), attempts=st.integers(1, 3))
    def retry(self, item: LiveItem | None, which: int, attempts: int) -> None:
        if item is None:
            return
        mine = self._rows().get(item.issue_id, {}).get("token") == item.token
        again = self.owed.get(item.issue_id, False)
        alive = self.queues[which].retry(
            item, "boom", delay=timedelta(seconds=5), attempts=attempts
        )
        if mine and not alive:
            assert not again
            assert item.attempts >= attempts
            self.dead.add(item.issue_id)

    @rule(item=consumes(items), which=st.integers(0, 1))
    def release(self, item: LiveItem | None, which: int) -> None:
        if item is not None:
            self.queues[which].release(item, delay=timedelta(seconds=1))

    @rule(seconds=st.sampled_from([1, 5, 301]))
    def tick(self, seconds: int) -> None:
        self.clock.tick(seconds)

    @invariant()
    def one_row_per_issue_and_one_holder_per_row(self) -> None:
        rows = self.queues[0]._all("SELECT issue_id, status, holder, token FROM live_queue")
        assert len({row["issue_id"] for row in rows}) == len(rows)  # primary key, still
        for row in rows:
            leased = row["status"] == "leased"
            assert (row["holder"] is not None) == leased == (row["token"] is not None)

    @invariant()
    def again_never_loses_a_delivery(self) -> None:
        """An issue owed a reconcile (a delivery came after its last take) has a row that
        is not dead: pending, or leased with `again` set (it runs once more after)."""
        rows = self._rows()
        for issue, owed in self.owed.items():
            if not owed:
                continue
            row = rows.get(issue)
            assert row is not None, issue
            assert row["status"] == "pending" or (row["status"] == "leased" and row["again"] == 1)

    @invariant()
    def the_bound_holds(self) -> None:
        assert self.queues[0].pending() <= LIMIT
        assert {str(row["issue_id"]) for row in self.queues[1].live_dead()} == self.dead


QueueMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestLiveQueue = QueueMachine.TestCase


def test_a_running_reconcile_renews_its_hold_and_a_stale_one_cannot(
    opened: Callable[[], LiveQueue], clock: Clock
) -> None:
    first, other = opened(), opened()
    first.enqueue("42", "Issue state change")
    item = first.take("live:1:1", lease=timedelta(minutes=30))
    assert item is not None
    clock.tick(25 * 60)
    assert first.renew(item, lease=timedelta(minutes=30))  # held 30 minutes from now
    clock.tick(25 * 60)  # 50 minutes in: past the first hold, within the renewed one
    assert other.take("live:1:2") is None
    clock.tick(10 * 60)  # the renewed hold ran out: another worker may take it
    taken = other.take("live:1:2", lease=timedelta(minutes=30))
    assert taken is not None
    assert not first.renew(item)  # the old token holds nothing any more
