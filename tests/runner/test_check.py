"""`rulebridge check` and the run's preflight, against the fake servers on loopback.

Each test serves a small generated agency (`simulator.fake.loopback.fake_agency`); the
check reaches it over real HTTP, and the fakes' request logs say exactly what was asked:
never a paged read of the agency, one cheap request per contract, at most two tries.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.store import Store
from rulebridge._config import load_agency_config
from rulebridge.cli import main
from rulebridge.runner import RunLog, RunOptions, run_nightly
from rulebridge.runner.check import check_agency
from simulator.fake.loopback import FakeAgency, fake_agency

FIXFLO_PROBE = "GET /api/v2/Property/Search?pg=1&pgsz=1"
ALTO_TOKEN, ALTO_PROBE = "POST /token", "GET /tenancies?max-results=1"
TOKEN_ENV = "RULEBRIDGE_DEMO_FIXFLO_TOKEN"


@pytest.fixture
def agency(tmp_path: Path) -> Iterator[FakeAgency]:
    with fake_agency(tmp_path / "agency", size=5, seed=1) as served:
        yield served


def check(agency: FakeAgency, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", "--config", str(agency.config_path), *args])
    return result.exit_code, result.stdout, result.stderr


def requests(agency: FakeAgency, since: tuple[int, int] = (0, 0)) -> list[str]:
    """The requests the fakes received (Fixflo's after its first `since[0]`, Alto's after
    its first `since[1]`), as ``METHOD /path?query``."""
    logs = ((agency.fixflo.log, since[0]), (agency.alto.log, since[1]))
    return [
        f"{entry.method} {entry.path}" + (f"?{entry.query}" if entry.query else "")
        for log, skipped in logs
        for entry in log.entries[skipped:]
    ]


def wrong_fixflo_token(agency: FakeAgency) -> None:
    secrets = agency.folder / "agency.secrets"
    secrets.write_text(secrets.read_text("utf-8").replace(agency.fixflo.token, "not-it"), "utf-8")


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_good_config_passes_with_one_cheap_request_per_contract(agency: FakeAgency) -> None:
    code, out, _ = check(agency)
    assert code == 0, out
    assert out.rstrip().splitlines()[-1].startswith("all checks passed in ")
    for request in (FIXFLO_PROBE, ALTO_TOKEN, ALTO_PROBE):
        (line,) = [line for line in out.splitlines() if request in line]
        assert line.startswith("ok ")
        assert line.endswith(" ms)")
    assert sorted(requests(agency)) == sorted([FIXFLO_PROBE, ALTO_TOKEN, ALTO_PROBE])


def test_the_json_report_lists_every_check(agency: FakeAgency) -> None:
    code, out, _ = check(agency, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    checks = [(c["system"], c["check"], c["request"]) for c in report["checks"]]
    assert checks == [
        ("config", "valid", None),
        ("ruleset", "loaded", None),
        ("ruleset", "issue parts", None),
        ("fixflo", "credentials and contract", FIXFLO_PROBE),
        ("alto", "credentials", ALTO_TOKEN),
        ("alto", "contract", ALTO_PROBE),
    ]
    assert all(isinstance(c["ms"], int) for c in report["checks"] if c["request"])


def test_a_wrong_fixflo_token_fails_naming_the_variable_and_reads_no_page(
    agency: FakeAgency,
) -> None:
    wrong_fixflo_token(agency)
    code, out, _ = check(agency)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert line.startswith(f"FAIL fixflo  credentials: {FIXFLO_PROBE} -> refused (401)")
    assert f"fix: set {TOKEN_ENV} (named by fixflo.token_env)" in out
    assert "not-it" not in out  # never a secret
    fixflo = agency.fixflo.log.entries
    assert [(e.method, e.path, e.query, e.status) for e in fixflo] == [
        ("GET", "/api/v2/Property/Search", "pg=1&pgsz=1", 401)  # refused: not tried again
    ]


def test_a_missing_secret_names_its_variable(agency: FakeAgency) -> None:
    secrets = agency.folder / "agency.secrets"
    kept = [line for line in secrets.read_text("utf-8").splitlines() if TOKEN_ENV not in line]
    secrets.write_text("\n".join(kept) + "\n", "utf-8")
    code, out, _ = check(agency)
    assert code == 1
    assert f"the secret {TOKEN_ENV} is not set" in out
    assert agency.fixflo.log.entries == []  # nothing sent without a token


def test_a_dead_host_fails_within_seconds_naming_the_request(agency: FakeAgency) -> None:
    port = dead_port()
    text = agency.config_path.read_text("utf-8")
    agency.config_path.write_text(text.replace(agency.alto_url, f"http://127.0.0.1:{port}"))
    started = time.monotonic()
    code, out, _ = check(agency)
    elapsed = time.monotonic() - started
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert line.startswith(f"FAIL alto    reached: {ALTO_TOKEN} -> could not connect to 127.0.0.1:")
    assert "fix: alto.base_url" in out
    assert f"ok   fixflo  credentials and contract: {FIXFLO_PROBE}" in out  # the other goes on
    assert elapsed < 10, elapsed  # measured ~0.6 s: one retry, no retry chain


def test_a_failing_api_is_tried_twice_only(tmp_path: Path) -> None:
    with fake_agency(tmp_path / "a", size=5, seed=1, faults="503@GET /api/v2/Property=1") as agency:
        code, out, _ = check(agency)
        assert code == 1
        assert "answered 503 twice: fixflo is failing or limiting; try again later" in out
        assert len(agency.fixflo.log.entries) == 2


def test_a_trickling_answer_ends_at_the_check_timeout(tmp_path: Path) -> None:
    with fake_agency(tmp_path / "a", size=5, seed=1, faults="trickle@GET /tenancies=1") as agency:
        started = time.monotonic()
        report = check_agency(agency.config_path, timeout=0.5)
        elapsed = time.monotonic() - started
    (failed,) = [line for line in report.lines if not line.ok]
    assert (failed.system, failed.request) == ("alto", ALTO_PROBE)
    assert failed.result == "no full answer within 0.5 s"
    assert elapsed < 0.5 * 2 + 3


def test_a_config_that_is_not_a_config_fails_with_located_errors(tmp_path: Path) -> None:
    config = tmp_path / "agency.yaml"
    config.write_text("agency: acme\nalto: 7\n", "utf-8")
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"FAIL config  valid -> {config}:")
    assert "Traceback" not in result.output


def test_a_missing_config_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "none.yaml")])
    assert result.exit_code == 64
    assert "does not exist" in result.stderr


def test_a_run_with_a_wrong_fixflo_token_fails_in_its_preflight_before_reading(
    agency: FakeAgency,
) -> None:
    config = load_agency_config(agency.config_path)
    first = run_nightly(
        RunOptions(config, agency.store_path), RunLog(io.StringIO(), terminal=False)
    )
    assert first.exit_code == 2, first.report["run"]["error"]
    wrong_fixflo_token(agency)
    before = (len(agency.fixflo.log), len(agency.alto.log))
    started = time.monotonic()
    result = CliRunner().invoke(main, ["run", "--config", str(agency.config_path), "--quiet"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    # the log line (queries are masked in logs), then the report, which keeps the request
    assert "preflight: fixflo credentials: GET /api/v2/Property/Search" in result.stderr
    assert f"refused (401); fix: set {TOKEN_ENV}" in result.stderr
    assert sorted(requests(agency, before)) == sorted([FIXFLO_PROBE, ALTO_TOKEN, ALTO_PROBE])
    assert elapsed < 10
    with Store.open(agency.store_path) as store:
        latest = store.runs()[0]
    assert latest.status == "failed"
    assert latest.report is not None
    assert latest.report["run"]["error"].startswith(
        f"preflight: fixflo credentials: {FIXFLO_PROBE}: refused (401); fix: set {TOKEN_ENV}"
    )


class _Portal(BaseHTTPRequestHandler):
    """What a wrong base URL often reaches: a web page answering 200 to everything."""

    def do_GET(self) -> None:
        body = b"<html><body>Sign in to the portal</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (its name)
        """Quiet."""


def test_a_base_url_that_answers_a_web_page_fails_as_not_the_contract(agency: FakeAgency) -> None:
    """A 200 that is not the contract's answer (here an HTML page) is a failed check naming
    the request, what was expected and the key to fix, never a traceback."""
    portal = ThreadingHTTPServer(("127.0.0.1", 0), _Portal)
    thread = threading.Thread(target=portal.serve_forever, daemon=True)
    thread.start()
    try:
        text = agency.config_path.read_text("utf-8")
        portal_url = f"http://127.0.0.1:{portal.server_address[1]}/api/v2"
        agency.config_path.write_text(text.replace(agency.fixflo_url, portal_url), "utf-8")
        code, out, err = check(agency)
    finally:
        portal.shutdown()
        portal.server_close()
        thread.join(timeout=5)
    assert code == 1
    (line,) = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert line.startswith(f"FAIL fixflo  contract: {FIXFLO_PROBE} -> 200, but not a PrevNextPager")
    assert "fix: fixflo.base_url" in out
    assert "Traceback" not in out + err
    assert f"ok   alto    contract: {ALTO_PROBE}" in out  # the other system is checked still
