"""Shared test set-up: Hypothesis profiles, retries without waits, a per-test state home,
and a check on requirement markers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from hypothesis import HealthCheck, settings

from simulator.fake.contract import journal_position, violations_since

pytest_plugins = ["tests._postgres"]  # the private Postgres server's fixtures

ROOT = Path(__file__).resolve().parent.parent
RULESET = ROOT / "rulesets" / "alto-fixflo" / "v2.yaml"

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("stress", max_examples=2000, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

_REQ_ID = re.compile(r"^[A-Z]{1,2}-\d{2}$")
_KNOWN_IDS = frozenset(
    line.split("#", 1)[0].strip()
    for line in (ROOT / "tests" / "requirement-ids.txt").read_text("utf-8").splitlines()
) - {""}
"""The catalogue's ids, as the repository keeps them (scripts/req_coverage.py checks the
copy against ../shared/REQUIREMENTS.md where that is beside the checkout)."""


@pytest.fixture(autouse=True)
def _retries_without_waits(request: pytest.FixtureRequest) -> Iterator[None]:
    """Stamina's testing mode: every retry as the policy says, but no wait before it.

    With ``cap=True`` the cap is only an upper bound, so each policy keeps its own number of
    attempts and tests that count them still mean something. Waits (backoff and a hook's
    ``Retry-After``) are zero and the policy's total timeout is not applied. A test that times
    the waits opts out with ``@pytest.mark.real_backoff``. Subprocesses (``rulebridge run``
    in tests/runner/test_crash.py) are not in testing mode.
    """
    if request.node.get_closest_marker("real_backoff"):
        yield
        return
    with stamina.set_testing(True, attempts=1_000, cap=True):
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A `req` marker must name ids of the catalogue, like P-01 (catches typos at collection)."""
    for item in items:
        for marker in item.iter_markers("req"):
            bad = [rid for rid in marker.args if not isinstance(rid, str) or not _REQ_ID.match(rid)]
            if bad or not marker.args:
                raise pytest.UsageError(
                    f"{item.nodeid}: req marker needs ids like 'P-01', got {bad}"
                )
            unknown = sorted(set(marker.args) - _KNOWN_IDS)
            if unknown:
                raise pytest.UsageError(
                    f"{item.nodeid}: req marker names {', '.join(unknown)}, which "
                    "tests/requirement-ids.txt (the catalogue's ids) does not hold"
                )


@pytest.fixture(autouse=True)
def _state_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test its own per-user state folder (agency locks and witnesses,
    `rulebridge.runner.home`), inherited by the child processes it starts: tests serve
    agencies that may share an identity, and must not see each other's witnesses."""
    monkeypatch.setenv("RULEBRIDGE_STATE_HOME", str(tmp_path_factory.mktemp("state-home")))


@pytest.fixture(autouse=True)
def _contract_kept(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test when a fake's contract recorder logged a violation during it.

    Every recorder (`simulator.fake.contract.recorded`) logs to one journal; what it logged
    from this test's start to its end fails the test with one line per violation (nothing
    is pending: every exchange outside the contract fails). Tests that provoke violations
    on purpose are marked ``@pytest.mark.contract_violation_expected``; given texts
    (``contract_violation_expected("nextToken", "GET /api/v2/AgencySettings")``), only
    violations whose line holds one of them are excused, and each text must be seen, so
    the mark proves the off-contract exchange happened and hides nothing else.
    """
    start = journal_position()
    yield
    marker = request.node.get_closest_marker("contract_violation_expected")
    if marker is not None and not marker.args:
        return
    expected: tuple[str, ...] = marker.args if marker is not None else ()
    lines = sorted({str(v) for v in violations_since(start)})
    failing = [line for line in lines if not any(text in line for text in expected)]
    unseen = [text for text in expected if not any(text in line for line in lines)]
    if failing:
        pytest.fail(_outside_the_contract(failing), pytrace=False)
    if unseen:
        pytest.fail(
            f"expected contract violation(s) never logged: {', '.join(map(repr, unseen))} "
            "(the test no longer sends what its contract_violation_expected mark names)",
            pytrace=False,
        )


def _outside_the_contract(lines: list[str]) -> str:
    shown = "\n  ".join(lines[:20]) + (f"\n  ... {len(lines) - 20} more" if len(lines) > 20 else "")
    return (
        f"{len(lines)} exchange(s) outside the vendors' contract "
        f"(simulator/fake/contract/facts.json):\n  {shown}"
    )
