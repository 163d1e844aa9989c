"""The stateful test of the lifecycle (W-01..W-10, CH-01..CH-06 as invariants)."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.rulesets.lifecycle import RULESET
from tests.simulator.lifecycle_machine import LifecycleMachine


class ShippedLifecycle(LifecycleMachine):
    ruleset = RULESET


TestShippedLifecycle = ShippedLifecycle.TestCase
TestShippedLifecycle.settings = settings(max_examples=60, stateful_step_count=60, deadline=None)


@pytest.mark.req("W-03", "CH-04", "CH-05")
def test_the_machine_covers_the_lifecycle_invariants() -> None:
    """Named for the requirement report: the machine above checks these after every step."""
    assert RULESET.lifecycle is not None
    assert {"instruct", "close", "complete_job"} <= set(RULESET.lifecycle.events)
