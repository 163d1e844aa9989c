"""The issue lifecycle simulator: Fixflo and Alto worlds, a clock, events and scenarios.

Example:
    >>> from engine import load_ruleset
    >>> from simulator.lifecycle import Simulation
    >>> sim = Simulation(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
    >>> sim.perform("report", "I1").status
    'Reported'
"""

from __future__ import annotations

from simulator.lifecycle.clock import Clock
from simulator.lifecycle.expect import (
    CheckedStep,
    Expect,
    Mismatch,
    check,
    exercised,
    lifecycle_items,
    play_checked,
)
from simulator.lifecycle.invariants import violations
from simulator.lifecycle.play import StepReport, play
from simulator.lifecycle.scenario import Scenario, Step, load_scenario, read_steps
from simulator.lifecycle.simulation import Simulation
from simulator.lifecycle.worlds import AltoWorld, FixfloWorld

__all__ = [
    "AltoWorld",
    "CheckedStep",
    "Clock",
    "Expect",
    "FixfloWorld",
    "Mismatch",
    "Scenario",
    "Simulation",
    "Step",
    "StepReport",
    "check",
    "exercised",
    "lifecycle_items",
    "load_scenario",
    "play",
    "play_checked",
    "read_steps",
    "violations",
]
