"""Logs through the standard logging tree: one JSON object a line, libraries included,
nothing personal; readable lines and honest progress on a terminal.

The end-to-end test runs ``rulebridge run`` as a child process (its standard error a pipe,
as under cron or systemd) against the fake Alto and Fixflo on loopback, with 429 and 500
faults, so stamina retries and httpx logs requests while the generated agency's contacts
(emails, phone numbers, postcodes) pass through the run.
"""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import stamina
from hypothesis import given
from hypothesis import strategies as st

from rulebridge.runner import RunLog
from rulebridge.runner._serve_http import json_logging
from rulebridge.runner.log import configure
from simulator.fake.loopback import FakeAgency, fake_agency

ROOT = Path(__file__).resolve().parents[2]
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _strict(line: str) -> Any:
    """`line` parsed as JSON proper (NaN and Infinity are not JSON)."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(line, parse_constant=refuse)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [_strict(line) for line in stream.getvalue().splitlines()]


def _personal(agency: FakeAgency) -> set[str]:
    """Every email address, phone number and postcode of the fake Alto's agency."""
    found: set[str] = set()

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, name)
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str) and value and key in {"emailAddress", "postcode", "number",
                                                          "phoneNumber", "email"}:  # fmt: skip
            found.add(value)

    walk(agency.alto.contacts)
    walk(agency.alto.world)
    return found


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """The logging tree as it was before the test, checked after it."""
    root = logging.getLogger()
    before = (list(root.handlers), {n: logging.getLogger(n).level for n in ("httpx", "stamina")})
    yield
    after = (list(root.handlers), {n: logging.getLogger(n).level for n in ("httpx", "stamina")})
    assert after == before


def test_every_line_a_run_writes_under_retries_is_json_and_nothing_personal(
    tmp_path: Path,
) -> None:
    with fake_agency(tmp_path / "a", size=20, seed=3, faults="429=0.08,500=0.08") as agency:
        seeded = _personal(agency)
        child = subprocess.run(
            [sys.executable, "-m", "rulebridge", "run", "--config", str(agency.config_path),
             "--quiet"],
            cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        token, secret = agency.fixflo.token, agency.alto.client_secret
        access = set(agency.alto.tokens)
        created = agency.fixflo.store.collections["tenants"]
    # 3: changes applied, and this agency has items for a person (rulebridge/_exits.py)
    assert child.returncode == 3, child.stderr[-2000:]
    assert created  # the contacts went through the run
    lines = [_strict(line) for line in child.stderr.splitlines()]
    assert lines
    for line in lines:
        assert isinstance(line, dict)
        assert list(line)[:5] == ["at", "level", "event", "run", "logger"]
        assert line["run"] is None or isinstance(line["run"], int)
        assert datetime.fromisoformat(line["at"]).utcoffset() is not None
    retries = [line for line in lines if line["event"] == "stamina.retry_scheduled"]
    assert retries
    assert {"retry_num", "wait_for", "caused_by"} <= set(retries[0])
    assert {line["caused_by"] for line in retries} <= {"RateLimitedError", "ServerError"}
    requests = [line for line in lines if line["event"] == "HTTP Request"]
    assert {429, 500} & {line["status"] for line in requests}
    assert all("?" not in line["path"] for line in requests)
    assert {line["run"] for line in lines} - {None} == {1}
    assert [line["state"] for line in lines if line["event"] == "run"] == ["started", "finished"]
    assert len(seeded) > 20
    leaked = [value for value in seeded if value in child.stderr]
    assert leaked == []
    assert EMAIL.search(child.stderr) is None
    assert token not in child.stderr
    assert secret not in child.stderr
    assert not any(value in child.stderr for value in access)


def test_library_records_are_lines_of_the_run_without_queries_or_personal_data(
    restored_logging: None,
) -> None:
    stream = io.StringIO()

    def reply(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404)

    with RunLog(stream, terminal=False) as log:
        log.run_id = 4
        with httpx.Client(transport=httpx.MockTransport(reply)) as client:
            client.get("https://alto.test/contacts/ann@example.com?email=bob@example.com&x=1")
        logging.getLogger("rulebridge.adapters").warning(
            "webhook %s: refused for %s (%s)", "sha256:ab", "ann@example.com", "07700 900123"
        )
        logging.getLogger("httpcore.connection").debug("connect_tcp.started host='alto.test'")
        attempts = iter([RuntimeError("GET https://alto.test/c?q=bob@example.com"), None])

        @stamina.retry(on=RuntimeError, attempts=2)
        def flaky() -> None:
            error = next(attempts)
            if error is not None:
                raise error

        flaky()
        misfit = logging.LogRecord("x", logging.ERROR, "x.py", 1, "%d of %s", ("ann@a.com",), None)
        log.handler.handle(misfit)  # as a library's misfit record reaches it
    logging.getLogger("rulebridge.adapters").warning("after the run")
    request, warning, retry, misfitted = _lines(stream)
    assert (misfitted["event"], misfitted["level"]) == ("%d of %s (arguments did not fit)", "error")
    assert request == {
        "at": request["at"],
        "level": "info",
        "event": "HTTP Request",
        "run": 4,
        "logger": "httpx",
        "method": "GET",
        "host": "alto.test",
        "path": "/contacts/[email]",
        "status": 404,
    }
    assert warning["event"] == "webhook %s: refused for %s (%s)"
    assert warning["message"] == "webhook sha256:ab: refused for [email] ([phone])"
    assert (warning["level"], warning["logger"]) == ("warning", "rulebridge.adapters")
    assert retry["event"] == "stamina.retry_scheduled"
    assert (retry["retry_num"], retry["caused_by"]) == (1, "RuntimeError")
    assert "bob" not in stream.getvalue()
    assert "after the run" not in stream.getvalue()  # undone with the block


@pytest.fixture
def uvicorn_as_served() -> Iterator[None]:
    """uvicorn's error logger at the level `rulebridge serve` gives it (the fake servers of
    earlier tests in this process may have quietened it)."""
    logger = logging.getLogger("uvicorn.error")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("uvicorn_as_served")
def test_the_server_logs_as_the_run_does_and_one_log_at_a_time(restored_logging: None) -> None:
    outer, inner = io.StringIO(), io.StringIO()
    night = RunLog(outer, terminal=False, clock=lambda: NOON)
    server = RunLog(inner, terminal=False, clock=lambda: NOON)
    undo_night = configure(night)
    undo_server = json_logging(server)
    logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
    logging.getLogger("uvicorn.error").info("Started server process [%d]", 7)  # below WARNING
    night.event("apply", dead=0)  # each log still writes its own events
    undo_server()
    logging.getLogger("stamina").warning("stamina.retry_scheduled")
    undo_night()
    logging.getLogger("stamina").warning("stamina.retry_scheduled")
    (uvicorn,) = _lines(inner)
    assert uvicorn["event"] == "Invalid HTTP request received."
    assert (uvicorn["logger"], uvicorn["level"], uvicorn["run"]) == (
        "uvicorn.error",
        "warning",
        None,
    )
    apply, retry = _lines(outer)
    assert apply == {
        "at": "2026-11-22T12:00:00.000+00:00",
        "level": "info",
        "event": "apply",
        "run": None,
        "logger": "rulebridge.run",
        "dead": 0,
    }
    assert retry["event"] == "stamina.retry_scheduled"
    assert logging.getLogger().handlers.count(night.handler) == 0


class _Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("the pipe is gone")


def test_a_logging_failure_never_takes_the_run_down(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with RunLog(_Broken(), terminal=False) as log:
        log.event("error", message="still running")
        with log.phase("apply", total=2) as advance:
            advance(2)
        logging.getLogger("stamina").warning("stamina.retry_scheduled")
    assert capsys.readouterr().err == ""  # nothing printed around the log either


def test_a_field_named_like_a_core_key_does_not_replace_it() -> None:
    stream = io.StringIO()
    log = RunLog(stream, terminal=False, clock=lambda: NOON)
    log.run_id = 3
    log.event("serve", run="elsewhere", level="loud", at="noon", logger="mine")
    (line,) = _lines(stream)
    assert (line["event"], line["run"], line["level"]) == ("serve", 3, "info")
    assert (line["run_"], line["level_"], line["at_"], line["logger_"]) == (
        "elsewhere",
        "loud",
        "noon",
        "mine",
    )


def test_a_terminal_shows_counts_without_none_and_events_without_dicts(
    restored_logging: None,
) -> None:
    stream = io.StringIO()
    with RunLog(stream, terminal=True, clock=lambda: NOON) as log:
        with log.phase("read alto") as advance:  # no total: a count
            advance(140)
        with log.phase("apply", total=3) as advance:
            advance(3)
        log.event(
            "apply",
            outcomes={"property": {"create": 3, "update": 2}, "occupier": {}},
            dead=0,
            skipped=None,
        )
        log.event("error", message="refused ann@example.com")
        logging.getLogger("httpx").info("HTTP Request: %s", "GET")  # INFO chatter: hidden
        logging.getLogger("stamina").warning(
            "stamina.retry_scheduled",
            extra={"stamina.retry_num": 2, "stamina.wait_for": 1.5,
                   "stamina.caused_by": "RateLimitedError('x')"},
        )  # fmt: skip
    shown = stream.getvalue()
    assert "None" not in shown
    assert "{" not in shown
    assert "}" not in shown
    assert "140" in shown
    assert "3/3" in shown
    assert "apply: outcomes: property (create 3, update 2), occupier (none); dead 0" in shown
    assert "error: message refused [email]" in shown
    assert "warning: retry 2 in 1.5 s after RateLimitedError" in shown
    assert "HTTP Request" not in shown
    assert "read alto: done in 0.0 s" in shown


_EMAILS = st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@[a-z]{2,8}\.(com|co\.uk|org)", fullmatch=True)
_AROUND = st.text(alphabet=st.characters(categories=["L", "Zs", "P"]), max_size=12)
_TEXT = st.one_of(
    st.text(max_size=20),
    st.builds(lambda a, e, b: f"{a} {e} {b}", _AROUND, _EMAILS, _AROUND),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
    st.binary(max_size=8),
    st.datetimes(),
    st.frozensets(st.integers(), max_size=3),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(_TEXT, st.integers()), inner, max_size=4),
    ),
    max_leaves=20,
)


def _emails_in(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, str):
        found.update(EMAIL.findall(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found |= _emails_in(key) | _emails_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= _emails_in(item)
    return found


@given(
    st.dictionaries(st.text(max_size=10).filter(lambda key: key != "event"), _VALUES, max_size=5),
    st.booleans(),
)
def test_any_field_values_give_one_valid_json_line_with_emails_masked(
    fields: dict[str, Any], configured: bool
) -> None:
    stream = io.StringIO()
    log = RunLog(stream, terminal=False, clock=lambda: NOON)
    if configured:
        with log:
            log.event("anything", **fields)
    else:
        log.event("anything", **fields)
    (line,) = stream.getvalue().splitlines()
    parsed = _strict(line)
    assert parsed["event"] == "anything"
    assert all(email not in line for email in _emails_in(fields))


def test_a_run_that_fails_before_it_starts_says_so_in_one_json_line(tmp_path: Path) -> None:
    """Off a terminal even the errors outside the recorded run (here: the config names a
    ruleset that does not exist) are JSON lines, and so is the exit code's reason."""
    with fake_agency(tmp_path / "a", size=5, seed=3) as agency:
        config = agency.config_path.read_text("utf-8")
        broken = re.sub(r"(?m)^ruleset: .*$", "ruleset: rulesets/alto-fixflo/v9.yaml", config)
        assert broken != config
        agency.config_path.write_text(broken, "utf-8")
        child = subprocess.run(
            [sys.executable, "-m", "rulebridge", "run", "--config", str(agency.config_path)],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert child.returncode == 1
    lines = [_strict(line) for line in child.stderr.splitlines()]
    assert [line["event"] for line in lines] == ["error"]
    assert lines[0]["level"] == "error"
    assert "v9.yaml" in lines[0]["message"]
    assert child.stdout == ""
