"""The alert hook: a run tells someone, once, what needs them. A loopback receiver (an
http.server on 127.0.0.1, on a thread, stopped when the test leaves it) takes the POSTs;
real runs against the fake servers on loopback, a real SQLite store; the command hook is a
real child process."""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import RulesetErrors
from engine.store import Store
from rulebridge._config import AlertsConfig, load_agency_config
from rulebridge.cli import main
from rulebridge.runner import RunLog, RunOptions
from rulebridge.runner.alerts import new_manual_items, send, summary, triggers
from rulebridge.runner.nightly import AgencyRun, load_agency_ruleset, record_run
from rulebridge.runner.publish import publish
from simulator.fake.loopback import FakeAgency, fake_agency
from tests.runner.test_metrics import night

SIZE, SEED = 30, 5
REFUSED = "errors@POST /api/v2/Tenant=1.0"  # Fixflo answers 200 with Errors: dead letters
URL_ENV = "RULEBRIDGE_TEST_ALERT_URL"
TOKEN = "s3cr3t-hook-token-81f2"  # in the URL's path, as a chat webhook's is


@dataclass
class Receiver:
    """What the loopback receiver was sent, and the statuses it answers in turn (then 200)."""

    url: str
    answers: list[int] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@contextlib.contextmanager
def receiver(*answers: int) -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 taking JSON POSTs; shut down when the block ends."""
    got = Receiver("", list(answers))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            got.bodies.append(json.loads(self.rfile.read(length)))
            got.paths.append(self.path)
            status = got.answers.pop(0) if got.answers else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - its name
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/{TOKEN}"
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def with_alerts(agency: FakeAgency, section: str) -> None:
    with agency.config_path.open("a", encoding="utf-8") as config:
        config.write("alerts:\n" + section)


def stored(agency: FakeAgency, run_id: int) -> dict[str, Any]:
    with Store.open(agency.store_path) as store:
        report = store.run(run_id).report
    assert report is not None
    return dict(report)


COPY_STDIN = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())"


def test_dead_letters_send_one_summary_to_the_url_and_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = tmp_path / "stdin.json"
    with (
        receiver() as got,
        fake_agency(tmp_path / "a", size=SIZE, seed=SEED, faults=REFUSED) as agency,
    ):
        monkeypatch.setenv(URL_ENV, got.url)
        command = json.dumps([sys.executable, "-c", COPY_STDIN, str(copied)])
        with_alerts(agency, f"  url_env: {URL_ENV}\n  command: {command}\n")
        report, code, log = night(agency)
        letters = report["dead_letters"]
        assert letters
        assert code in (2, 3)  # the exit code is the run's, whatever the alert did
        (body,) = got.bodies  # once
        assert got.paths == [f"/hooks/{TOKEN}"]
        assert json.loads(copied.read_text("utf-8")) == body  # the command got the same
        assert "dead_letters" in body["triggers"]
        run = report["run"]
        assert (body["agency"], body["run"], body["exit_code"]) == ("demo", run["id"], code)
        assert body["status"] == "succeeded"
        assert body["counts"]["dead_letters"] == len(letters)
        assert sum(group["count"] for group in body["dead_letter_groups"]) == len(letters)
        assert all("occupier" in group["group"] for group in body["dead_letter_groups"])
        assert "@" not in json.dumps(body)  # personal data masked
        assert report["alert"] == {
            "sent": True,
            "to": "url and command",
            "triggers": body["triggers"],
            "error": None,
        }
        assert stored(agency, run["id"])["alert"] == report["alert"]
        assert TOKEN not in log  # the URL is a secret
        assert TOKEN not in json.dumps(stored(agency, run["id"]))
        assert any(json.loads(line)["event"] == "alert" for line in log.splitlines())
        more = CliRunner().invoke(main, [*shlex.split(body["more"])[1:], "--format", "json"])
        assert more.exit_code == 0, more.output  # the command shown shows the run
        assert json.loads(more.stdout)["run"]["id"] == run["id"]

        again, _, _ = night(agency)  # nothing new: no dead letters written, nothing sent
        assert again["dead_letters"] == []
        assert len(got.bodies) == 1
        assert again["alert"]["sent"] is False
        assert again["alert"]["triggers"] == []


def test_an_unreachable_receiver_never_changes_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_agency(tmp_path / "a", size=SIZE, seed=SEED, faults=REFUSED) as agency:
        url = f"http://127.0.0.1:{closed_port()}/hooks/{TOKEN}"
        monkeypatch.setenv(URL_ENV, url)
        with_alerts(agency, f"  url_env: {URL_ENV}\n  timeout_seconds: 2\n")
        report, code, log = night(agency)
        assert code in (2, 3)
        assert report["run"]["status"] == "succeeded"
        alert = stored(agency, report["run"]["id"])["alert"]
        assert alert["sent"] is False
        assert "dead_letters" in alert["triggers"]
        assert "ConnectError" in alert["error"]
        assert TOKEN not in alert["error"]
        assert TOKEN not in log


@pytest.fixture
def agency_with_letters(tmp_path: Path) -> Iterator[FakeAgency]:
    with fake_agency(tmp_path / "a", size=SIZE, seed=SEED, faults=REFUSED) as served:
        yield served


def test_a_missing_url_variable_is_named_and_the_run_goes_on(agency_with_letters: Any) -> None:
    agency = agency_with_letters
    with_alerts(agency, "  url_env: RULEBRIDGE_TEST_NO_SUCH_URL\n")
    report, code, _ = night(agency)
    assert code in (2, 3)
    assert "RULEBRIDGE_TEST_NO_SUCH_URL" in report["alert"]["error"]
    assert report["alert"]["sent"] is False


def test_an_interrupted_run_alerts_once_it_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Phases stopped by Ctrl-C: the run is recorded, then the alert goes."""
    with receiver() as got, fake_agency(tmp_path / "a", size=SIZE, seed=SEED) as agency:
        monkeypatch.setenv(URL_ENV, got.url)
        with_alerts(agency, f"  url_env: {URL_ENV}\n  on: [failure, interrupted]\n")
        config = load_agency_config(agency.config_path)
        options = RunOptions(config, agency.store_path)

        def stopped(_night: Any) -> None:
            raise KeyboardInterrupt

        # Raised on, or ended as an interrupted run's outcome (exit 130): either way recorded.
        with Store.open(agency.store_path) as store, contextlib.suppress(KeyboardInterrupt):
            record_run(
                AgencyRun.of(options), load_agency_ruleset(config), store, RunLog(io.StringIO()),
                stopped,
            )  # fmt: skip
        (body,) = got.bodies
        assert set(body["triggers"]) & {"failure", "interrupted"}
        assert body["status"] in ("failed", "interrupted")
        with Store.open(agency.store_path) as store:
            (run,) = store.runs()
            assert run.report is not None
            assert run.report["alert"]["sent"] is True


def test_a_receiver_answering_500_is_tried_again_and_a_4xx_is_not(tmp_path: Path) -> None:
    alerts = AlertsConfig(url_env=URL_ENV, timeout_seconds=5)
    body = {"agency": "acme", "run": 1}
    with receiver(500, 200) as got:
        secrets = _secrets(tmp_path, got.url)
        outcome = send(alerts, secrets, ["failure"], body)
        assert outcome == {"sent": True, "to": "url", "triggers": ["failure"], "error": None}
        assert got.bodies == [body, body]
    with receiver(400) as got:
        outcome = send(alerts, _secrets(tmp_path, got.url), ["failure"], body)
        assert got.bodies == [body]  # never again: the receiver refused it
        assert outcome["sent"] is False
        assert outcome["error"] == "url: the receiver answered 400"
    with receiver(503, 503, 503, 503) as got:
        outcome = send(alerts, _secrets(tmp_path, got.url), ["failure"], body)
        assert len(got.bodies) == 3
        assert outcome["error"] == "url: the receiver answered 503 (3 attempts)"


def _secrets(folder: Path, url: str) -> Path:
    """A secrets file holding the URL (the environment does not)."""
    path = folder / "alerts.secrets"
    path.write_text(f"{URL_ENV}={url}\n", "utf-8")
    path.chmod(0o600)
    return path


def test_on_says_which_triggers_send_an_alert(tmp_path: Path) -> None:
    copied = tmp_path / "stdin.json"
    alerts = AlertsConfig(
        command=(sys.executable, "-c", COPY_STDIN, str(copied)), on=("failure", "interrupted")
    )
    quiet = send(alerts, None, ["dead_letters", "for_a_person"], {"run": 1})
    assert quiet == {"sent": False, "to": "command", "triggers": [], "error": None}
    assert not copied.exists()
    loud = send(alerts, None, ["failure", "dead_letters"], {"run": 2})
    assert loud["triggers"] == ["failure"]
    assert json.loads(copied.read_text("utf-8")) == {"run": 2}


def test_a_command_that_fails_or_hangs_is_an_error_never_a_traceback() -> None:
    failing = AlertsConfig(
        command=(
            sys.executable,
            "-c",
            "import sys; print('paging bob@example.com', file=sys.stderr); sys.exit(3)",
        )
    )
    outcome = send(failing, None, ["failure"], {})
    assert outcome["error"] == "command: " + Path(sys.executable).name + (
        " exited with 3: paging [email]"
    )
    hanging = AlertsConfig(command=(sys.executable, "-c", "import time; time.sleep(30)"),
                           timeout_seconds=1)  # fmt: skip
    assert "took longer than 1 s" in send(hanging, None, ["failure"], {})["error"]
    missing = AlertsConfig(command=("/no/such/page-ops",))
    assert send(missing, None, ["failure"], {})["error"] == (
        "command: page-ops could not be started (FileNotFoundError)"
    )


def test_plain_http_to_another_host_is_refused(tmp_path: Path) -> None:
    alerts = AlertsConfig(url_env=URL_ENV)
    outcome = send(alerts, _secrets(tmp_path, "http://alerts.example/hook/x"), ["failure"], {})
    assert (
        outcome["error"] == f"url: {URL_ENV} must hold an https URL (plain http only for 127.0.0.1)"
    )


def _night_report(run_id: int, items: list[dict[str, Any]], **run: Any) -> dict[str, Any]:
    return {
        "run": {"id": run_id, "agency": "acme", "kind": "night", "status": "succeeded", **run},
        "reference": {"manual": len(items), "manual_items": items},
        "dead_letters": [],
    }


def _item(source_id: str, rule: str = "G-04") -> dict[str, Any]:
    return {
        "entity": "occupier",
        "source_id": source_id,
        "rule": rule,
        "summary": f"occupier {source_id} matches nobody",
        "todo": "archive it in Fixflo",
    }


@pytest.mark.req("G-04")
def test_items_for_a_person_alert_when_the_previous_night_did_not_list_them(
    tmp_path: Path,
) -> None:
    """Through a real store: the first night's items alert; the same items the next night
    do not; a new one does, and the summary lists only it. A dry run and a failed night
    that never planned are not "the previous night"."""
    copied = tmp_path / "stdin.json"
    config = load_agency_config(_config(tmp_path, copied))
    with Store.open(tmp_path / "state" / "acme.db") as store:

        def finished(report: dict[str, Any], **how: Any) -> dict[str, Any] | None:
            run = store.start_run("alto-fixflo", "2", "ab12", dry_run=how.get("dry_run", False))
            report["run"]["id"] = run.id
            report["run"]["dry_run"] = how.get("dry_run", False)
            store.finish_run(report["run"]["status"], report=report)
            copied.unlink(missing_ok=True)
            publish(config, store, run.id, report, RunLog(io.StringIO()))
            return json.loads(copied.read_text("utf-8")) if copied.exists() else None

        first = finished(_night_report(0, [_item("7")]))
        assert first is not None
        assert first["triggers"] == ["for_a_person"]
        assert finished(_night_report(0, [_item("7")])) is None
        assert finished(_night_report(0, [_item("7"), _item("8")]), dry_run=True) is None
        assert finished({"run": {"status": "failed", "error": "Alto down"}}) is not None
        new = finished(_night_report(0, [_item("7"), _item("8")]))
        assert new is not None
        assert [item["source_id"] for item in new["for_a_person"]] == ["8"]
        assert new["counts"]["for_a_person"] == 2
        assert new["counts"]["for_a_person_new"] == 1
        assert new["more"].startswith(f"rulebridge report {new['run']} --config ")


def _config(folder: Path, copied: Path) -> Path:
    path = folder / "acme.yaml"
    argv = json.dumps([sys.executable, "-c", COPY_STDIN, str(copied)])
    path.write_text(
        "agency: acme\nfixflo:\n  base_url: https://acme.fixflo.com/api/v2\n"
        f"  token_env: ACME_FIXFLO_TOKEN\nalerts:\n  command: {argv}\n",
        "utf-8",
    )
    return path


def test_triggers_follow_the_report() -> None:
    drift = {"items": [{"entity": "property", "outcome": "recreated"}]}
    report = {"dead_letters": [{"id": 1}], "drift": drift}
    assert triggers(report, None, status="failed") == ["failure", "dead_letters", "drift"]
    assert triggers({}, None, status="interrupted") == ["interrupted"]
    assert triggers({"drift": {"items": []}}, None, status="succeeded") == []
    previous = _night_report(1, [_item("7")])
    assert new_manual_items(_night_report(2, [_item("7"), _item("7", "G-05")]), previous) == [
        _item("7", "G-05")  # the same record under another rule is another item
    ]


@given(
    st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@[a-z]{2,8}\.(com|co\.uk)", fullmatch=True),
    st.from_regex(r"0 ?7[0-9]{3} ?[0-9]{6}", fullmatch=True),
)
def test_no_email_or_phone_reaches_a_summary(email: str, phone: str) -> None:
    said = f"occupier {email} / {phone} matches nobody"
    report = {
        "run": {"id": 3, "error": f"refused {email}"},
        "reference": {"manual_items": [{**_item("7"), "summary": said}]},
        "dead_letters": [{"id": 1, "reason": f"occupier 7: {email} is taken"}],
    }
    text = json.dumps(summary(report, ["for_a_person"], None, more="x", status="failed"))
    assert email not in text
    assert phone not in text


@pytest.mark.parametrize(
    ("section", "where", "said"),
    [
        ("metrics:\n  textfile: rb.txt\n", ":6:13: invalid-value", "a file ending in .prom"),
        (
            "alerts:\n  command: page-ops --agency acme\n",
            ":6:12: wrong-type",
            "a list: the program",
        ),
        ("alerts:\n  command: [page-ops]\n  on: [drfit]\n", ":7:8: invalid-value", "'drift'"),
        ("alerts:\n  on: [failure]\n", ":5:1: no-alert-target", "'url_env:'"),
        ("alerts:\n  url_env: acme-url\n", ":6:12: invalid-value", "ACME_FIXFLO_TOKEN"),
        ("alerts:\n  command: [x]\n  timeout_seconds: 0\n", ":7:20: invalid-value", "at least 1"),
    ],
)
def test_bad_metrics_and_alerts_sections_are_located_errors(
    tmp_path: Path, section: str, where: str, said: str
) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text(
        "agency: acme\nfixflo:\n  base_url: https://acme.fixflo.com/api/v2\n"
        "  token_env: ACME_FIXFLO_TOKEN\n" + section,
        "utf-8",
    )
    with pytest.raises(RulesetErrors) as caught:
        load_agency_config(path)
    (error,) = [str(e) for e in caught.value.errors]
    assert error.startswith(f"{path}{where}")
    assert said in error
