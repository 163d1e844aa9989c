"""`rulebridge serve` end to end: the fake Fixflo posts webhooks to the server over loopback,
the server reconciles the issues into the fake Alto; real HTTP, a real SQLite store.

Each test serves a small generated agency with webhooks on
(`simulator.fake.loopback.fake_agency`), runs the first night in this process (the server
refuses to start before it), then starts the server in a background thread
(`rulebridge.runner.serve.LiveServer.running`) on a free port of 127.0.0.1. Issues
played in the fake Fixflo make it post deliveries by itself.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from adapters.fixflo.webhooks import path_token, sign
from engine import RulesetErrors
from engine.store import LiveQueue, Store
from rulebridge._config import load_agency_config
from rulebridge.runner import (
    LockedError,
    RunFailedError,
    RunLog,
    RunOptions,
    render_report,
    run_nightly,
)
from rulebridge.runner.serve import LiveServer, ServeOptions
from simulator.fake.loopback import PATHS, FakeAgency, agreement, fake_agency, play_issues
from tests.runner.test_metrics import samples, with_metrics

SIZE, SEED = 30, 5
SECRET_ENV = "RULEBRIDGE_DEMO_WEBHOOK_SECRET"


def night(agency: FakeAgency) -> dict[str, Any]:
    """One nightly run in this process; its report."""
    options = RunOptions(load_agency_config(agency.config_path), agency.store_path)
    outcome = run_nightly(options, RunLog(io.StringIO(), terminal=False))
    assert outcome.exit_code != 1, outcome.report["run"]["error"]
    return outcome.report


def edit_webhook(agency: FakeAgency, **values: Any) -> None:
    """Change the config's ``webhook:`` section."""
    data = yaml.safe_load(agency.config_path.read_text("utf-8"))
    data["webhook"].update(values)
    agency.config_path.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")


def secret_of(agency: FakeAgency) -> str:
    return load_agency_config(agency.config_path).webhook_secret()


def server_of(agency: FakeAgency, stream: io.StringIO, **options: Any) -> LiveServer:
    config = load_agency_config(agency.config_path)
    return LiveServer(
        ServeOptions(config, agency.store_path, **options), RunLog(stream, terminal=False)
    )


@contextlib.contextmanager
def served(
    tmp_path: Path, **agency_options: Any
) -> Iterator[tuple[FakeAgency, LiveServer, io.StringIO]]:
    """A fake agency after its first night, and its server running."""
    with fake_agency(
        tmp_path / "agency", size=SIZE, seed=SEED, webhooks=True, **agency_options
    ) as agency:
        night(agency)
        stream = io.StringIO()
        server = server_of(agency, stream)
        with server.running():
            yield agency, server, stream


_CLIENTS: list[httpx.Client] = []


@pytest.fixture(autouse=True)
def _closed_clients() -> Iterator[None]:
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def stack_client(server: LiveServer) -> httpx.Client:
    """A client of the server, closed when the test ends."""
    client = httpx.Client(base_url=server.url, timeout=10)
    _CLIENTS.append(client)
    return client


def wait_for(check: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.02)


def settled(agency: FakeAgency, server: LiveServer) -> bool:
    """Fixflo sent everything and the server's queue is empty with nothing in flight."""
    agency.fixflo.webhooks.drain(10)
    assert server.reconciler is not None
    with LiveQueue.open(agency.store_path) as queue:
        return queue.pending() == 0 and server.reconciler.stats.in_flight == 0


def instructed(agency: FakeAgency) -> str:
    """Play issues until one is instructed (a works order in Alto); its id."""
    while True:
        (issue_id,) = play_issues(agency, 1, seed=SEED)
        if agency.simulation.fixflo.issues[issue_id].get("Job"):
            return issue_id


def alto_writes(agency: FakeAgency) -> int:
    return len([e for e in agency.alto.log.entries if e.method in ("POST", "PATCH")])


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def nightly_runs(agency: FakeAgency) -> int:
    with Store.open(agency.store_path) as store:
        return len([run for run in store.runs() if run.kind == "night"])


# Config --------------------------------------------------------------------------------


def test_webhook_section_defaults_and_located_errors(tmp_path: Path) -> None:
    config = tmp_path / "a.yaml"
    base = (
        "agency: a\nfixflo:\n  base_url: https://a.fixflo.com/api/v2\n  token_env: A_TOKEN\n"
        "webhook:\n  listen: 127.0.0.1:8787\n  public_url: https://rb.a.example/fixflo/\n"
        "  secret_env: A_HOOK\n"
    )
    config.write_text(base, "utf-8")
    webhook = load_agency_config(config).webhook
    assert webhook is not None
    assert (webhook.host, webhook.port, webhook.public_url) == (
        "127.0.0.1",
        8787,
        "https://rb.a.example/fixflo",
    )
    assert webhook.events == ("Issue state change", "Job invoice updated", "Issue closed")
    assert (webhook.workers, webhook.queue_limit, webhook.attempts) == (4, 1000, 5)
    assert webhook.signature == "hmac-sha256"
    assert webhook.grace_seconds == 20

    config.write_text(
        base.replace("8787", "70000").replace("https://rb", "http://rb")
        + "  signatur: none\n  events: [Issue state chang]\n",
        "utf-8",
    )
    with pytest.raises(RulesetErrors) as schema_error:
        load_agency_config(config)
    text = str(schema_error.value)
    assert "a.yaml:9:3: unknown-key" in text
    assert "did you mean 'signature'" in text
    assert "did you mean 'Issue state change'" in text

    config.write_text(base.replace("8787", "70000").replace("https://rb", "http://rb"), "utf-8")
    with pytest.raises(RulesetErrors) as semantic:
        load_agency_config(config)
    assert "bad-port" in str(semantic.value)
    assert "insecure-url" in str(semantic.value)


_HOSTS = st.sampled_from(["127.0.0.1", "::1", "[::1]", "rb-host", ""])
_LISTEN = st.one_of(
    st.text(max_size=30), st.builds(lambda h, p: f"{h}:{p}", _HOSTS, st.integers(-5, 99999))
)


@settings(max_examples=60)
@given(
    listen=_LISTEN,
    workers=st.one_of(st.integers(-3, 100), st.text(max_size=5), st.none()),
    grace=st.one_of(st.floats(allow_nan=True), st.integers(-1, 1000)),
)
def test_any_webhook_section_loads_or_gives_located_errors(
    listen: str, workers: object, grace: object
) -> None:
    """Whatever the section holds, the config either loads with a usable section or raises
    located errors; never another exception."""
    import tempfile

    section = {"listen": listen, "public_url": "https://rb.example/x", "secret_env": "A_HOOK",
               "workers": workers, "grace_seconds": grace}  # fmt: skip
    data = {"agency": "a", "fixflo": {"base_url": "https://a.fixflo.com/api/v2",
            "token_env": "A_TOKEN"}, "webhook": section}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.yaml"
        path.write_text(yaml.safe_dump(data), "utf-8")
        errors: list[str] = []
        webhook = None
        try:
            webhook = load_agency_config(path).webhook
        except RulesetErrors as exc:
            errors = [str(error) for error in exc.errors]
        located = [error for error in errors if error.startswith(str(path) + ":")]
    assert located == errors
    if errors:
        return
    assert webhook is not None
    assert 0 <= webhook.port <= 65535
    assert webhook.host
    assert 1 <= webhook.workers <= 64
    assert 0 <= webhook.grace_seconds <= 600


def test_the_secret_is_checked_and_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "a.yaml"
    config.write_text(
        "agency: a\nfixflo:\n  base_url: https://a.fixflo.com/api/v2\n  token_env: A_TOKEN\n"
        "webhook:\n  listen: 127.0.0.1:0\n  public_url: https://rb.a.example/x\n"
        "  secret_env: A_HOOK\n",
        "utf-8",
    )
    monkeypatch.setenv("A_HOOK", "short-secret")
    with pytest.raises(ValueError, match=r"A_HOOK: .*16 to 64") as error:
        load_agency_config(config).webhook_secret()
    assert "short-secret" not in str(error.value)
    monkeypatch.setenv("A_HOOK", "s" * 32)
    assert load_agency_config(config).webhook_secret() == "s" * 32


# Refusals ------------------------------------------------------------------------------


def test_refuses_to_start_before_the_first_night_and_beside_another_server(
    tmp_path: Path,
) -> None:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, webhooks=True) as agency:
        first = server_of(agency, io.StringIO())
        with pytest.raises(RunFailedError, match="run the nightly job first"), first.running():
            pass
        assert not agency.store_path.exists()  # nothing made
        night(agency)
        second = server_of(agency, io.StringIO())
        with (
            server_of(agency, io.StringIO()).running(),
            pytest.raises(LockedError, match="another `rulebridge serve`"),
            second.running(),
        ):
            pass


def test_a_refused_subscription_stops_the_server_with_the_reason(tmp_path: Path) -> None:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, webhooks=True) as agency:
        night(agency)
        secrets = agency.folder / "agency.secrets"
        text = secrets.read_text("utf-8").replace(agency.fixflo.token, "not-the-token")
        secrets.write_text(text, "utf-8")
        stream = io.StringIO()
        server = server_of(agency, stream)
        refused = pytest.raises(RunFailedError, match="reconcile thread is not running")
        with refused, server.running(timeout=20):
            pass
        assert server.reconciler is not None
        assert server.reconciler.failed
        assert "not-the-token" not in stream.getvalue()
        with Store.open(agency.store_path) as store:
            live = [run for run in store.runs() if run.kind == "live"]
        assert [run.status for run in live] == ["failed"]


# The live path -------------------------------------------------------------------------


@pytest.mark.req("W-01", "W-02", "W-03")
def test_an_instruct_in_fixflo_reaches_alto_without_a_nightly_run(tmp_path: Path) -> None:
    with served(tmp_path) as (agency, server, stream):
        client = stack_client(server)
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        before = nightly_runs(agency)

        issues = play_issues(agency, len(PATHS), seed=SEED)
        alto = agency.simulation.alto
        instructed = [i for i in issues if "instruct" in " ".join(PATHS[(int(i) - 1) % 7])]
        wait_for(lambda: len(alto.order_issue) >= len(instructed), what="works orders")
        wait_for(lambda: settled(agency, server), what="the queue to empty")

        assert nightly_runs(agency) == before  # no nightly run made them
        assert sorted(set(alto.order_issue.values())) == sorted(instructed)  # W-03
        reported_only = [i for i in issues if PATHS[(int(i) - 1) % 7] == ("report",)]
        assert reported_only
        assert not set(reported_only) & set(alto.order_issue.values())
        assert agreement(agency) == []
        status = client.get("/status").json()
        assert status["queue"]["pending"] == 0
        assert status["reconciles"]["fates"]["reconciled"] >= len(instructed)
        assert status["deliveries"]["accepted"] >= len(issues)
        assert status["reconciles"]["latency_seconds"]["p50"] is not None
        text = json.dumps(status)
        for issue in agency.simulation.fixflo.issues.values():  # no personal data
            assert str(issue.get("Title")) not in text
        assert any(line["event"] == "subscribed" for line in log_lines(stream))


def test_duplicated_reordered_and_forged_deliveries_change_nothing_twice(tmp_path: Path) -> None:
    faults = "duplicate=0.5,reorder=0.3,forge=0.3"
    with served(tmp_path, webhook_faults=faults) as (agency, server, _):
        issues = play_issues(agency, len(PATHS), seed=SEED)
        wait_for(lambda: agreement(agency) == [] and settled(agency, server), what="agreement")
        writes = alto_writes(agency)
        assert agency.fixflo.webhooks.forged > 0

        client, secret = stack_client(server), secret_of(agency)
        path = "/" + path_token(secret)
        for issue_id in issues:  # every delivery again, signed: duplicates or no-ops
            body = json.dumps({"action": "Issue state change", "payload": {"Id": issue_id}})
            answer = client.post(
                path, content=body, headers={"ff-signature": sign(body.encode(), secret)}
            )
            assert answer.status_code == 200
        forged = json.dumps({"action": "Issue closed", "payload": {"Id": issues[0]}}).encode()
        assert (
            client.post(path, content=forged, headers={"ff-signature": "sha256=00"}).status_code
            == 401
        )
        assert client.post("/" + "0" * 32, content=forged).status_code == 404
        wait_for(lambda: settled(agency, server), what="the replays")
        assert alto_writes(agency) == writes  # nothing written twice
        orders = Counter(agency.simulation.alto.order_issue.values())
        assert max(orders.values()) == 1
        assert agreement(agency) == []


def test_a_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, webhooks=True) as agency:
        night(agency)
        edit_webhook(agency, queue_limit=1, workers=1)
        server = server_of(agency, io.StringIO())
        with server.running():
            assert server.reconciler is not None
            server.reconciler.stop(0)  # nothing is taken: the queue only fills
            server.reconciler.join()
            client, secret = stack_client(server), secret_of(agency)
            path = "/" + path_token(secret)

            def post(issue_id: str) -> httpx.Response:
                body = json.dumps({"action": "Issue closed", "payload": {"Id": issue_id}})
                signed = {"ff-signature": sign(body.encode(), secret)}
                return client.post(path, content=body, headers=signed)

            assert post("901").status_code == 200
            assert post("901").status_code == 200  # the same delivery: a duplicate
            full = post("902")
            assert full.status_code == 503
            assert full.headers["Retry-After"]
            assert client.get("/readyz").status_code == 503


@pytest.mark.req("W-06")
def test_w06_is_logged_the_moment_an_issue_is_awarded(tmp_path: Path) -> None:
    settings = {"invoice_recipient": "Agency"}
    with served(tmp_path, settings=settings) as (agency, server, stream):
        play_issues(agency, 1, seed=SEED)  # report, instruct, ...: awarded on the way
        wait_for(
            lambda: any(
                line["event"] == "warning" and line.get("rule", "").startswith("W-06")
                for line in log_lines(stream)
            ),
            what="the W-06 warning",
        )
        assert nightly_runs(agency) == 1
        wait_for(lambda: settled(agency, server))
    with Store.open(agency.store_path) as store:
        live = [run for run in store.runs() if run.kind == "live"]
    assert live
    assert live[0].report is not None
    assert any(w["rule"].startswith("W-06") for w in live[0].report["warnings"])


# The nightly run stays the safety net --------------------------------------------------


def test_a_delivery_lost_while_the_server_was_down_is_done_by_the_next_night(
    tmp_path: Path,
) -> None:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, webhooks=True) as agency:
        night(agency)
        server = server_of(agency, io.StringIO())
        with server.running():
            live = play_issues(agency, 3, seed=SEED)  # instruct paths: works orders
            wait_for(lambda: settled(agency, server) and agreement(agency) == [])
        missed = instructed(agency)  # the server is down: Fixflo's retries fail
        agency.fixflo.webhooks.drain(15)
        assert missed not in agency.simulation.alto.order_issue.values()
        report = night(agency)
        handled = report["issues"]["handled"]
        assert missed in report["issues"]["night_ids"]
        assert missed in agency.simulation.alto.order_issue.values()
        assert set(live) <= set(report["issues"]["live_ids"])
        assert handled["night"] >= 1
        webhooks = report["webhooks"]  # Fixflo's Activity: the deliveries nobody answered
        assert webhooks["failed"] >= 1
        assert webhooks["statuses"].get("no answer", 0) >= 1
        assert any(w["rule"] == "webhook" for w in report["warnings"])
        assert handled["live"] >= 1
        assert agreement(agency) == []
        shown = io.StringIO()  # what an operator reads (`rulebridge report RUN`)
        render_report(report, Console(file=shown, width=200))
        text = shown.getvalue()
        assert f"handled live by `rulebridge serve`: {handled['live']}; only tonight: " in text
        assert f"issues {missed}" in text or f", {missed}" in text
        assert f"Fixflo's failed webhook deliveries: {webhooks['failed']}" in text


def test_status_and_history_hold_the_live_run(tmp_path: Path) -> None:
    with served(tmp_path) as (agency, server, _):
        instructed(agency)
        wait_for(lambda: settled(agency, server))
    with Store.open(agency.store_path) as store:
        runs = store.runs()
    live = [run for run in runs if run.kind == "live"]
    assert live[0].status == "succeeded"
    report = live[0].report
    assert report is not None
    assert report["run"]["kind"] == "live"
    assert report["issues"]["live"]["fates"]["reconciled"] >= 1
    assert report["issues"]["read"] >= 1
    assert report["issues"]["reconciled"] >= 1
    assert report["issues"]["outcomes"]["works_order"]["create"] >= 1


@pytest.mark.req("W-07", "W-08")
def test_each_later_change_of_an_issue_reaches_alto_live(tmp_path: Path) -> None:
    """Fixflo's deliveries with ``RemoveBody: true`` name only the issue, so two state
    changes of one issue hours apart post the very same body: the second must not be taken
    for a replay of the first (it would reach Alto only the next night)."""
    with served(tmp_path) as (agency, server, _):
        issues = play_issues(agency, len(PATHS) - 1, seed=SEED)
        waiting = issues[-1]  # PATHS[5]: report, instruct, set_appointment (W-07)
        assert PATHS[len(PATHS) - 2] == ("report", "instruct", "set_appointment")
        wait_for(lambda: settled(agency, server), what="the queue to empty")
        alto = agency.simulation.alto
        (order,) = alto.orders_of(waiting)
        assert order["status"] != "CompleteAwaitingInvoice"

        agency.simulation.perform("complete_job", waiting, deliver=False)

        def completed() -> bool:
            return [o["status"] for o in alto.orders_of(waiting)] == ["CompleteAwaitingInvoice"]

        wait_for(completed, what="the works order to follow the issue (W-08)")
        wait_for(lambda: settled(agency, server), what="the queue to empty")
        with Store.open(agency.store_path) as store:
            assert store.handled_live(waiting) is not None


@pytest.mark.req("W-03")
def test_a_change_posting_the_same_body_as_an_earlier_one_is_not_a_replay(tmp_path: Path) -> None:
    """Quotes requested, then the job awarded: both post ``Issue state change`` naming the
    issue, byte for byte the same delivery. The second is a new change, not a replay: the
    works order is made live (W-03)."""
    with served(tmp_path) as (agency, server, _):
        issues = play_issues(agency, len(PATHS), seed=SEED)
        reported = issues[-1]  # PATHS[6]: reported only
        assert PATHS[len(PATHS) - 1] == ("report",)
        agency.simulation.perform("request_quotes", reported, deliver=False)
        wait_for(lambda: settled(agency, server), what="the queue to empty")
        before = server.receiver.stats["accepted"] if server.receiver else 0

        contractors = agency.fixflo.store.collections["contractors"].values()
        contractor = next(c for c in contractors if c.get("ExternalRef"))
        job = {k: contractor.get(k) for k in ("Id", "ExternalRef", "DisplayName", "CompanyName")}
        for event in ("quotes_returned", "review_quotes"):
            agency.simulation.perform(event, reported, deliver=False)
        agency.simulation.perform("instruct", reported, {"Job.Contractor": job}, deliver=False)

        alto = agency.simulation.alto
        wait_for(lambda: len(alto.orders_of(reported)) == 1, what="the works order (W-03)")
        wait_for(lambda: settled(agency, server), what="the queue to empty")
        assert server.receiver is not None
        assert server.receiver.stats["accepted"] > before
        assert len(alto.orders_of(reported)) == 1


def test_each_live_reconcile_reads_documents_and_tenancies_afresh() -> None:
    """A live run lasts all day: what the adapters remember for a run (an issue's Media
    parts, a property's tenancy places) is dropped before each reconcile, so a document
    uploaded or a tenancy begun since the last reconcile of the issue is seen."""
    from adapters.alto import AltoAdapter
    from adapters.fixflo import FixfloAdapter, FixfloDocuments
    from rulebridge.runner._live import _forget
    from rulebridge.runner.issues import IssueWork

    client = httpx.AsyncClient(base_url="http://127.0.0.1:9")
    documents = FixfloDocuments(FixfloAdapter(client))
    alto = AltoAdapter(client)
    documents._media.update({("7", "CompletionDocs"): [], ("8", "CompletionDocs"): []})
    alto._places["P1"] = []
    work = IssueWork(None, None, documents, alto, {})  # type: ignore[arg-type]
    _forget(work, "7")
    assert list(documents._media) == [("8", "CompletionDocs")]
    assert alto._places == {}


def test_a_slow_reconcile_keeps_its_issue_until_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a reconcile runs, its hold on the issue (the queue's and the per-issue lease
    the nightly run respects) is renewed; once another holder has the issue, renewing
    stops and says so rather than taking it back."""
    import asyncio

    from rulebridge.runner import _live

    monkeypatch.setattr(_live, "RENEW_EVERY", 0.05)
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED) as agency:
        night(agency)
        stream = io.StringIO()
        log = RunLog(stream, terminal=False)
        with Store.open(agency.store_path) as store, LiveQueue.open(agency.store_path) as queue:
            queue.enqueue("42", "Issue state change")
            item = queue.take("live:9:1")
            assert item is not None
            assert store.lease_issue("42", "live:9:1")

            async def slow_reconcile() -> None:
                holding = asyncio.create_task(
                    _live.hold_while_running(queue, store, item, "live:9:1", log)
                )
                await asyncio.sleep(0.3)
                holding.cancel()

            before = queue._one("SELECT lease_until FROM live_queue", [])
            asyncio.run(slow_reconcile())
            after = queue._one("SELECT lease_until FROM live_queue", [])
            assert before is not None
            assert after is not None
            assert after["lease_until"] > before["lease_until"]  # renewed: 30 minutes on
            assert store.issue_holder("42") == "live:9:1"

            store.release_issue("42", "live:9:1")
            assert store.lease_issue("42", "night:3:2")  # the night took it meanwhile
            asyncio.run(_live.hold_while_running(queue, store, item, "live:9:1", log))
            assert store.issue_holder("42") == "night:3:2"  # never taken back
        assert "ran out mid-reconcile" in stream.getvalue()


def test_the_live_run_publishes_its_metrics_beside_the_night_s(tmp_path: Path) -> None:
    """A live run's end (here: the server's shutdown) writes the agency's textfile as a
    night's does: the live run's gauges join the night's, which stay."""
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED, webhooks=True) as agency:
        textfile = with_metrics(agency)
        first = night(agency)
        server = server_of(agency, io.StringIO())
        with server.running():
            instructed(agency)
            wait_for(lambda: settled(agency, server))
        with Store.open(agency.store_path) as store:
            live = store.runs(limit=1)[0]
    assert live.kind == "live"
    assert live.report is not None
    assert live.report["metrics"] == {"textfile": str(textfile), "error": None}
    found = samples(textfile.read_text("utf-8"))
    labels = {"agency": "demo"}
    assert found[("rulebridge_run_id", frozenset((labels | {"kind": "live"}).items()))] == live.id
    assert (
        found[("rulebridge_run_id", frozenset((labels | {"kind": "night"}).items()))]
        == (first["run"]["id"])
    )
    changes = found[("rulebridge_run_changes", frozenset((labels | {"kind": "live"}).items()))]
    assert changes == live.report["run"]["changes"] > 0
