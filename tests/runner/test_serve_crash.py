"""`rulebridge serve` killed and stopped: SIGKILL mid-reconcile loses and duplicates nothing,
SIGTERM lets the in-flight reconcile finish, records the live run and exits 0.

The fakes serve in this process; the server is a child process (``rulebridge serve``)
reaching them over loopback, as in production. To kill it at the worst moment, the fake
Alto's works-order create is held *after* it is applied: the works order exists in Alto,
its answer has not left, the reconcile cannot have recorded it.
"""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.fixflo.webhooks import path_token, sign
from engine.store import LiveQueue, Store
from rulebridge._config import load_agency_config
from rulebridge.runner import RunLog, RunOptions, run_nightly
from rulebridge.runner.serve import LiveServer, ServeOptions
from simulator.fake.loopback import FakeAgency, agreement, fake_agency, play_issues

ROOT = Path(__file__).resolve().parents[2]
SIZE, SEED = 30, 7


class HoldAfterApply:
    """Middleware for a fake: a matching request is applied, then its answer is held until
    `release` (`applied` is set once one was applied)."""

    def __init__(self, app: ASGIApp, method: str, path: str) -> None:
        self.app, self.method, self.path = app, method, path
        self.applied = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) != (self.method, self.path):
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def keep(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, keep)
        self.applied.set()
        while not self._released.is_set():
            await asyncio.sleep(0.01)
        for message in held:
            await send(message)


def night(agency: FakeAgency) -> dict[str, Any]:
    options = RunOptions(load_agency_config(agency.config_path), agency.store_path)
    outcome = run_nightly(options, RunLog(io.StringIO(), terminal=False))
    assert outcome.exit_code != 1, outcome.report["run"]["error"]
    return outcome.report


def wait_for(
    check: Callable[[], bool], timeout: float = 30.0, what: str | Callable[[], str] = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"timed out waiting for {said or check}")
        time.sleep(0.02)


def listen_url(agency: FakeAgency) -> str:
    webhook = yaml.safe_load(agency.config_path.read_text("utf-8"))["webhook"]
    return "http://" + str(webhook["listen"])


def spawn(agency: FakeAgency, logs: Path) -> subprocess.Popen[bytes]:
    with (logs / "serve.log").open("a") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "rulebridge", "serve", "--config", str(agency.config_path)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _state(agency: FakeAgency, issue_id: str) -> str:
    with Store.open(agency.store_path) as store, LiveQueue.open(agency.store_path) as queue:
        return f"{store.issue_state(issue_id)} pending {queue.pending()} dead {queue.live_dead()}"


def queue_empty(agency: FakeAgency) -> bool:
    agency.fixflo.webhooks.drain(10)
    with LiveQueue.open(agency.store_path) as queue:
        return queue.pending() == 0


def instructed(agency: FakeAgency) -> str:
    """Play issues until one is instructed to a contractor (a works order); its id."""
    while True:
        (issue_id,) = play_issues(agency, 1, seed=SEED)
        if agency.simulation.fixflo.issues[issue_id].get("Job"):
            return issue_id


def test_sigkill_mid_reconcile_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, webhooks=True) as agency:
        night(agency)
        hold = HoldAfterApply(agency.alto.app.app, "POST", "/work-orders")
        agency.alto.app.app = hold
        url = listen_url(agency)
        child = spawn(agency, logs)
        try:
            wait_for(lambda: ready(url), what=f"the server (see {logs})")
            issue_id = instructed(agency)
            assert hold.applied.wait(30), "the works order was never posted"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(30)
        hold.release()
        alto = agency.simulation.alto
        assert list(alto.order_issue.values()).count(issue_id) == 1  # in Alto, not recorded
        with Store.open(agency.store_path) as store:
            assert store.issue_state(issue_id).works_order_id is None

        again = spawn(agency, logs)
        try:
            wait_for(lambda: ready(url), what="the restarted server")
            wait_for(
                lambda: queue_empty(agency) and agreement(agency) == [],
                what=lambda: f"agreement: {agreement(agency)} {_state(agency, issue_id)}",
            )
        finally:
            again.send_signal(signal.SIGTERM)
            code = again.wait(60)
        assert code == 0
        orders = Counter(alto.order_issue.values())
        assert orders[issue_id] == 1
        assert max(orders.values()) == 1
        with Store.open(agency.store_path) as store:
            assert store.issue_state(issue_id).works_order_id is not None
            runs = [run for run in store.runs() if run.kind == "live"]
        assert runs[0].status == "succeeded"  # the restarted server's, stopped by SIGTERM
        assert any(run.status == "interrupted" for run in runs[1:])  # the killed one's


def test_sigterm_lets_the_in_flight_reconcile_finish_and_refuses_new_deliveries(
    tmp_path: Path,
) -> None:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, webhooks=True) as agency:
        night(agency)
        hold = HoldAfterApply(agency.alto.app.app, "POST", "/work-orders")
        agency.alto.app.app = hold
        stream = io.StringIO()
        config = load_agency_config(agency.config_path)
        server = LiveServer(ServeOptions(config, agency.store_path), RunLog(stream, terminal=False))
        with server.running():
            issue_id = instructed(agency)
            assert hold.applied.wait(30)
            server.stop(signal.SIGTERM)
            secret = config.webhook_secret()
            body = json.dumps({"action": "Issue closed", "payload": {"Id": issue_id}}).encode()
            answer = httpx.post(
                server.url + "/" + path_token(secret),
                content=body,
                headers={"ff-signature": sign(body, secret)},
            )
            assert answer.status_code == 503
            assert answer.headers["Retry-After"]
            hold.release()  # the reconcile finishes within the grace
        with Store.open(agency.store_path) as store:
            assert store.issue_state(issue_id).works_order_id is not None
            live = next(run for run in store.runs() if run.kind == "live")
        assert live.status == "succeeded"
        assert Counter(agency.simulation.alto.order_issue.values())[issue_id] == 1


def test_rulebridge_serve_exits_0_on_sigterm(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, webhooks=True) as agency:
        night(agency)
        url = listen_url(agency)
        child = spawn(agency, logs)
        try:
            wait_for(lambda: ready(url), what=f"the server (see {logs})")
            status = httpx.get(url + "/status").json()
            assert status["subscription"]
        finally:
            child.send_signal(signal.SIGTERM)
            code = child.wait(60)
        with Store.open(agency.store_path) as store:
            live = [run for run in store.runs() if run.kind == "live"]
    assert code == 0
    assert [run.status for run in live] == ["succeeded"]  # recorded, with its report
    assert live[0].report is not None
    assert live[0].report["run"]["kind"] == "live"
    lines = [json.loads(x) for x in (logs / "serve.log").read_text().splitlines() if x.strip()]
    assert [line["state"] for line in lines if line["event"] == "serve"][-1] == "stopped"
    secret = load_agency_config(agency.config_path).webhook_secret()
    assert secret not in (logs / "serve.log").read_text()  # never logged


def test_opening_the_store_again_keeps_the_other_connections_locks(tmp_path: Path) -> None:
    """The server holds several connections to one store in one process (the ledger, the
    queue, the deliveries). Opening one more must not drop the others' POSIX locks (closing
    any descriptor of the file would): else another process, closing its connection as the
    seemingly last one, checkpoints and deletes the WAL the server still writes into, and
    those writes vanish (found by the SIGKILL test above, one run in four)."""
    path = tmp_path / "state" / "agency.db"
    with Store.open(path) as first:
        first.set_meta("probe", "1")  # the WAL exists and `first` holds its locks
        wal = path.with_name(path.name + "-wal")
        assert wal.exists()
        LiveQueue.open(path).close()  # another connection of this process, opened and closed
        other = "from engine.store import Store; import sys; Store.open(sys.argv[1]).close()"
        subprocess.run([sys.executable, "-c", other, str(path)], cwd=ROOT, check=True)
        assert wal.exists()  # the other process did not take itself for the last one
        first.set_meta("probe", "2")
    with Store.open(path) as again:
        assert again.meta("probe") == "2"
