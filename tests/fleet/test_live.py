"""`rulebridge fleet serve`: deliveries for many agencies become per-issue reconciles on the
fleet's queue, run by a worker. Real loopback HTTP to the fakes and to the server, real
SQLite stores and a SQLite fleet database in tmp_path, one in-process Worker at a time
(DBOS is a process singleton)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from dbos import DBOSClient, DBOSPortableJSONSerializer

from adapters.fixflo.webhooks import sign
from rulebridge._config import load_agency_config
from rulebridge.fleet import FleetServer, Worker, load_fleet, running
from rulebridge.runner import RunLog, RunOptions, run_nightly
from simulator.fake.loopback import FakeAgency, fake_agency, play_issues

SIZE, SEED = 20, 5


def quiet() -> RunLog:
    return RunLog(io.StringIO(), terminal=False)


@contextmanager
def fleet_of(tmp_path: Path, names: tuple[str, ...]) -> Iterator[dict[str, FakeAgency]]:
    """Fake agencies in one fleet folder, each after its first night."""
    with ExitStack() as stack:
        agencies = {
            name: stack.enter_context(
                fake_agency(
                    tmp_path / "fleet" / name, size=SIZE, seed=SEED, webhooks=True, agency=name
                )
            )
            for name in names
        }
        for agency in agencies.values():
            options = RunOptions(load_agency_config(agency.config_path), agency.store_path)
            assert run_nightly(options, quiet()).exit_code != 1
        yield agencies


def instructed(agency: FakeAgency) -> str:
    """Play issues until one is instructed (a works order is due in Alto); its id."""
    while True:
        (issue_id,) = play_issues(agency, 1, seed=SEED)
        if agency.simulation.fixflo.issues[issue_id].get("Job"):
            return issue_id


def deliver(
    client: httpx.Client, server: FleetServer, name: str, agency: FakeAgency, body: bytes, **kw: Any
) -> httpx.Response:
    secret = load_agency_config(agency.config_path).webhook_secret()
    headers = {"ff-signature": kw.get("signature") or sign(body, secret)}
    return client.post(server.path_of(name), content=body, headers=headers)


def body_of(issue_id: str, action: str = "Issue state change") -> bytes:
    return json.dumps({"action": action, "payload": {"Id": int(issue_id)}}).encode()


def works_orders(agency: FakeAgency) -> int:
    entries = agency.alto.log.entries
    return len([e for e in entries if e.method == "POST" and e.path == "/work-orders"])


def issue_workflows(database_url: str) -> list[Any]:
    client = DBOSClient(system_database_url=database_url, serializer=DBOSPortableJSONSerializer())
    try:
        return [wf for wf in client.list_workflows() if ":issue:" in wf.workflow_id]
    finally:
        client.destroy()


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {check}"
        time.sleep(0.05)


def test_deliveries_for_two_agencies_reconcile_one_issue_at_a_time(tmp_path: Path) -> None:
    with fleet_of(tmp_path, ("a1", "a2")) as agencies:
        fleet = load_fleet(tmp_path / "fleet")
        server = FleetServer(fleet, quiet(), listen="127.0.0.1:0", subscribe=False)
        issues = {name: instructed(agency) for name, agency in agencies.items()}
        before = {name: works_orders(agency) for name, agency in agencies.items()}
        with server.running(), httpx.Client(base_url=server.url, timeout=10) as client:
            not_yet = client.get("/readyz")
            assert not_yet.status_code == 503
            assert "start one first" in not_yet.json()["reasons"][0]
        with running(Worker(fleet, quiet(), schedules=False)):
            pass  # the fleet's database made, as a worker makes it
        with server.running(), httpx.Client(base_url=server.url, timeout=10) as client:
            assert client.get("/readyz").status_code == 200
            # Refused: a bad signature, a wrong token, an unknown agency: nothing enqueued.
            a1, body = agencies["a1"], body_of(issues["a1"])
            bad = deliver(client, server, "a1", a1, body, signature="sha256=" + "0" * 64)
            assert bad.status_code == 401
            assert client.post("/a1/" + "x" * 32, content=body).status_code == 404
            assert client.post("/nobody/" + "x" * 32, content=body).status_code == 404
            assert issue_workflows(fleet.database_url) == []
            # Accepted, before any worker runs: a replay of one delivery enqueues nothing
            # new; a second delivery of a1's issue is a second reconcile of that issue.
            for name, agency in agencies.items():
                answer = deliver(client, server, name, agency, body_of(issues[name]))
                assert answer.json() == {"status": "accepted"}
            assert deliver(client, server, "a1", a1, body).status_code == 200
            second = body_of(issues["a1"], "Issue closed")
            assert deliver(client, server, "a1", a1, second).status_code == 200
            queued = issue_workflows(fleet.database_url)
            assert len(queued) == 3
            assert {wf.status for wf in queued} == {"ENQUEUED"}
            stats = client.get("/status").json()["agencies"]
            assert stats["a1"]["reconciles"] == {"enqueued": 2, "coalesced": 1}
            assert stats["a1"]["deliveries"]["forged"] == 1
            with running(Worker(fleet, quiet(), schedules=False)) as worker:
                ids = [wf.workflow_id for wf in queued]
                worker.wait(lambda: all(
                    s.status == "SUCCESS" for s in worker.status_of(ids).values()
                ) and len(worker.status_of(ids)) == 3)  # fmt: skip
                done = worker.status_of(ids)
        for name, agency in agencies.items():
            assert works_orders(agency) == before[name] + 1, name
        outputs = [done[wf].output for wf in ids]
        assert all(out["fate"] == "reconciled" and out["busy"] == 0 for out in outputs)
        # Each agency's issue changed Alto once: the second reconcile of a1's wrote nothing.
        assert sorted(out["changes"] > 0 for out in outputs) == [False, True, True]
        # The two reconciles of a1's issue ran one after the other (its partition).
        same = sorted(
            (done[wf] for wf in ids if wf.startswith(f"a1:issue:{issues['a1']}:")),
            key=lambda s: s.dequeued_at,
        )
        assert len(same) == 2
        assert same[0].completed_at <= same[1].dequeued_at
        # After its reconcile started, the same delivery again is a new trigger.
        with server.running(), httpx.Client(base_url=server.url, timeout=10) as client:
            assert deliver(client, server, "a1", a1, body).status_code == 200
        assert len(issue_workflows(fleet.database_url)) == 4
