"""A run's metrics: the Prometheus textfile a night writes (parsed back with
prometheus_client's own parser), and the API call accounting behind it (retries per
endpoint, seconds waited for the rate limiter). Real runs against the fake servers on
loopback, a real SQLite store."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiolimiter import AsyncLimiter
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from rulebridge._config import load_agency_config
from rulebridge.runner import RunLog, RunOptions, run_nightly
from rulebridge.runner.calls import ApiCalls, TimedLimiter
from rulebridge.runner.metrics import METRIC_NAMES, metrics_registry, write_textfile
from simulator.fake.loopback import FakeAgency, fake_agency

SIZE, SEED = 30, 5
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def agency(tmp_path: Path) -> Iterator[FakeAgency]:
    with fake_agency(tmp_path / "agency", size=SIZE, seed=SEED) as served:
        yield served


def with_metrics(agency: FakeAgency, textfile: str = "metrics/rulebridge-demo.prom") -> Path:
    """Add a ``metrics:`` section to the agency's config; the textfile's path."""
    with agency.config_path.open("a", encoding="utf-8") as config:
        config.write(f"metrics:\n  textfile: {textfile}\n")
    path = agency.config_path.parent / textfile
    path.parent.mkdir(exist_ok=True)
    return path


def night(agency: FakeAgency, **options: Any) -> tuple[dict[str, Any], int, str]:
    stream = io.StringIO()
    config = load_agency_config(agency.config_path)
    outcome = run_nightly(
        RunOptions(config, agency.store_path, **options), RunLog(stream, terminal=False)
    )
    return outcome.report, outcome.exit_code, stream.getvalue()


def samples(text: str) -> Samples:
    """Every sample of a textfile, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset({"agency": "demo", "kind": "night", **labels}.items()))]


def test_a_night_writes_its_metrics_and_they_are_the_report_s(agency: FakeAgency) -> None:
    textfile = with_metrics(agency)
    report, code, log = night(agency)
    assert code == 3  # changes applied; this agency has items for a person (exits.py)
    assert report["run"]["changes"] > 0
    found = samples(textfile.read_text("utf-8"))
    run = report["run"]
    assert value(found, "rulebridge_run_id") == run["id"]
    assert value(found, "rulebridge_run_exit_code") == code
    assert value(found, "rulebridge_run_duration_seconds") == run["seconds"]
    assert value(found, "rulebridge_run_status", status="succeeded") == 1
    assert value(found, "rulebridge_run_status", status="failed") == 0
    finished = value(found, "rulebridge_run_finished_timestamp_seconds")
    assert value(found, "rulebridge_last_success_timestamp_seconds") >= finished - 1
    assert abs(finished - time.time()) < 120
    for entity, actions in report["reference"]["applied"].items():
        for action, n in actions.items():
            assert value(found, "rulebridge_records_applied", entity=entity, action=action) == n
    for entity, actions in report["reference"]["planned"].items():
        for action, n in actions.items():
            assert value(found, "rulebridge_records_planned", entity=entity, action=action) == n
    per_endpoint = report["api"]["per_endpoint"]
    assert per_endpoint
    for name, n in per_endpoint.items():
        system, _, endpoint = name.partition(" ")
        assert value(found, "rulebridge_api_requests", system=system, endpoint=endpoint) == n
    assert set(report["api"]["rate_limit_wait_seconds"]) == {"alto", "fixflo"}
    for system, seconds in report["api"]["rate_limit_wait_seconds"].items():
        assert value(found, "rulebridge_rate_limit_wait_seconds", system=system) == seconds
    assert value(found, "rulebridge_dead_letters_written") == 0
    assert found[("rulebridge_dead_letters_open", frozenset({("agency", "demo")}))] == 0
    assert {name for name, _ in found} <= set(METRIC_NAMES)
    assert list(textfile.parent.iterdir()) == [textfile]  # atomic: no temporary file left
    assert report["metrics"] == {"textfile": str(textfile), "error": None}
    assert any(json.loads(line).get("event") == "metrics" for line in log.splitlines())

    again, code, _ = night(agency)
    assert code == 3  # nothing changed; the items for a person are still there
    assert again["run"]["changes"] == 0
    found = samples(textfile.read_text("utf-8"))
    assert value(found, "rulebridge_run_id") == again["run"]["id"]  # the file is replaced
    assert value(found, "rulebridge_run_exit_code") == 3
    assert list(textfile.parent.iterdir()) == [textfile]


def test_dead_letters_and_retries_show_in_the_metrics(tmp_path: Path) -> None:
    faults = "errors@POST /api/v2/Tenant=1.0,503@GET=0.2"
    with fake_agency(tmp_path / "a", size=SIZE, seed=SEED, faults=faults) as agency:
        textfile = with_metrics(agency)
        report, _, _ = night(agency)
        found = samples(textfile.read_text("utf-8"))
        written = len(report["dead_letters"])
        assert written > 0
        assert value(found, "rulebridge_dead_letters_written") == written
        assert found[("rulebridge_dead_letters_open", frozenset({("agency", "demo")}))] == written
        retries = report["api"]["retries_per_endpoint"]
        assert retries  # the 503s were retried
        assert sum(retries.values()) == report["api"]["retries"]
        for name, n in retries.items():
            system, _, endpoint = name.partition(" ")
            assert value(found, "rulebridge_api_retries", system=system, endpoint=endpoint) == n
        assert all(" GET " in name for name in retries)


def test_a_metrics_folder_that_is_gone_never_changes_the_run(agency: FakeAgency) -> None:
    textfile = with_metrics(agency, "gone/rulebridge-demo.prom")
    textfile.parent.rmdir()
    report, code, log = night(agency)
    assert code == 3  # as without metrics: changes, and items for a person
    assert report["run"]["status"] == "succeeded"
    assert "does not exist" in report["metrics"]["error"]
    assert not textfile.parent.exists()
    events = [json.loads(line) for line in log.splitlines()]
    assert any(e["event"] == "metrics" and e.get("error") for e in events)


def test_a_dry_run_publishes_no_metrics(agency: FakeAgency) -> None:
    textfile = with_metrics(agency)
    report, _, _ = night(agency, dry_run=True)
    assert not textfile.exists()
    assert "metrics" not in report


def test_each_kind_keeps_its_latest_run_s_series() -> None:
    night_report = {"run": {"id": 7, "kind": "night", "exit_code": 2, "status": "succeeded"}}
    older_night = {"run": {"id": 5, "kind": "night", "exit_code": 1, "status": "failed"}}
    adopt = {"run": {"id": 6, "adopt": True, "exit_code": 0, "status": "succeeded"}}
    registry = metrics_registry(
        "acme",
        [night_report, adopt, older_night],
        open_dead_letters=4,
        last_success={"night": 1_800_000_000.0},
    )
    night_labels = {"agency": "acme", "kind": "night"}
    assert registry.get_sample_value("rulebridge_run_id", night_labels) == 7
    assert registry.get_sample_value("rulebridge_run_id", {"agency": "acme", "kind": "adopt"}) == 6
    assert registry.get_sample_value("rulebridge_dead_letters_open", {"agency": "acme"}) == 4
    last = registry.get_sample_value("rulebridge_last_success_timestamp_seconds", night_labels)
    assert last == 1_800_000_000.0


def test_drift_and_items_for_a_person_are_counted() -> None:
    report = {
        "run": {"id": 3, "kind": "night", "exit_code": 3, "status": "succeeded", "changes": 4},
        "reference": {"manual": 2, "manual_items": [{"entity": "occupier"}] * 2},
        "drift": {
            "recreated": {"property": 3},
            "links_repaired": 2,
            "items": [{"outcome": "recreated"}] * 3 + [{"outcome": "dead"}],
        },
    }
    registry = metrics_registry("acme", [report], open_dead_letters=0, last_success={})
    labels = {"agency": "acme", "kind": "night"}
    get = registry.get_sample_value
    assert get("rulebridge_drift_recreated", {**labels, "entity": "property"}) == 3
    assert get("rulebridge_drift_links_repaired", labels) == 2
    assert get("rulebridge_drift_items", {**labels, "outcome": "recreated"}) == 3
    assert get("rulebridge_drift_items", {**labels, "outcome": "dead"}) == 1
    assert get("rulebridge_items_for_a_person", labels) == 2
    assert get("rulebridge_run_changes", labels) == 4


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**9) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
_sections = st.sampled_from(
    ["run", "reference", "issues", "drift", "api", "dead_letters", "warnings"]
)


@given(st.dictionaries(_sections, _json))
def test_any_report_shape_gives_a_textfile_that_parses(report: dict[str, Any]) -> None:
    """An old report, or one a defect left odd, never stops the metrics: what is not a
    number is left out, and the file always parses."""
    registry = metrics_registry("acme", [report], open_dead_letters=1, last_success={})
    from prometheus_client import generate_latest

    found = samples(generate_latest(registry).decode("utf-8"))
    assert found[("rulebridge_dead_letters_open", frozenset({("agency", "acme")}))] == 1


def test_the_write_is_atomic_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "rb.prom"
    target.write_text("old\n", "utf-8")
    report = {"run": {"id": 1, "kind": "night", "exit_code": 0}}
    write_textfile(target, metrics_registry("acme", [report], open_dead_letters=0, last_success={}))
    assert "rulebridge_run_exit_code" in target.read_text("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["rb.prom"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_textfile(tmp_path / "no" / "rb.prom", metrics_registry("a", [], open_dead_letters=0,
                                                                      last_success={}))  # fmt: skip


def test_waits_for_the_rate_limiter_are_timed_per_system() -> None:
    calls = ApiCalls()
    limiter = TimedLimiter(AsyncLimiter(1, 0.3), calls, "fixflo")

    async def twice() -> None:
        await limiter.acquire()
        await limiter.acquire()  # waits for the bucket to drip

    asyncio.run(twice())
    assert limiter.max_rate == 1
    assert 0.2 <= calls.waited["fixflo"] < 2
    assert calls.to_json()["rate_limit_wait_seconds"] == {
        "fixflo": round(calls.waited["fixflo"], 3)
    }


def test_retries_per_endpoint_count_retried_answers_and_lost_requests() -> None:
    calls = ApiCalls()
    answers: Iterator[int | str] = iter([503, 200, "drop", 200])

    def reply(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer == "drop":
            raise httpx.ReadError("dropped", request=request)
        return httpx.Response(int(answer))

    async def run() -> None:
        async with httpx.AsyncClient(
            transport=httpx.MockTransport(reply), base_url="http://x"
        ) as c:
            calls.attach(c, "fixflo")
            await c.get("/api/v2/Issue/17")
            await c.get("/api/v2/Issue/17")
            with pytest.raises(httpx.ReadError):
                await c.post("/api/v2/Property")
            await c.post("/api/v2/Property")

    asyncio.run(run())
    assert calls.retries_per_endpoint() == {
        "fixflo GET /api/v2/Issue/{id}": 1,
        "fixflo POST /api/v2/Property": 1,
    }
    assert calls.to_json()["retries"] == 2
