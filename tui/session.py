"""The stepper's model: a timeline of lifecycle steps, each with the worlds after it.

No Textual here: the screens draw a `Session` and call its methods. Every step keeps a copy
of the Fixflo and Alto worlds, so moving back and forward through the timeline is instant;
performing an event in the past drops the steps after it (like an editor's undo).

Example:
    >>> from engine import load_ruleset
    >>> session = Session(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
    >>> session.perform("report").step.event
    'report'
    >>> session.back()
    True
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from engine.issues.reconcile import IssueOps
from engine.language.lifecycle import Event
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle import Clock, Simulation, Step, violations
from simulator.lifecycle.explore import VARIANTS

__all__ = ["Frame", "Session", "random_steps", "scenario_text"]


@dataclass(frozen=True, slots=True)
class Frame:
    """The worlds after one step (`step` is None for the empty start)."""

    step: Step | None
    sim: Simulation
    result: IssueOps | None
    problems: tuple[str, ...]


class Session:
    """A ruleset, a clock and a timeline of frames with a cursor on one of them."""

    def __init__(self, ruleset: CompiledRuleset, clock: Clock | None = None) -> None:
        self.ruleset = ruleset
        self.clock = clock or Clock()
        start = Simulation(ruleset, clock=copy.copy(self.clock))
        self.frames: list[Frame] = [Frame(None, start, None, ())]
        self.cursor = 0

    @classmethod
    def replay(
        cls, ruleset: CompiledRuleset, steps: Iterable[Step], clock: Clock | None = None
    ) -> Session:
        """A session holding `steps` played in order, its cursor on the last.

        Raises:
            EvaluationError: a step is not legal where it comes.
        """
        session = cls(ruleset, clock)
        for step in steps:
            session.apply(step)
        return session

    @property
    def frame(self) -> Frame:
        """The frame under the cursor."""
        return self.frames[self.cursor]

    @property
    def steps(self) -> list[Step]:
        """The steps up to the cursor."""
        return [frame.step for frame in self.frames[1 : self.cursor + 1] if frame.step]

    @property
    def issue(self) -> str:
        """The issue being followed: the last step's, or I1."""
        step = self.frame.step
        return step.issue if step else "I1"

    def legal(self) -> list[Event]:
        """The events that may happen to the issue now, from the ruleset's lifecycle."""
        return self.frame.sim.legal(self.issue)

    def perform(self, event: str, details: Mapping[str, Any] | None = None) -> Frame:
        """Perform `event` on the issue (dropping any steps after the cursor)."""
        return self.apply(Step(self.issue, event, dict(details or {})))

    def apply(self, step: Step) -> Frame:
        """Play `step` after the cursor; the new frame becomes the cursor's."""
        before = self.frame.sim
        sim = Simulation(
            self.ruleset,
            copy.deepcopy(before.fixflo),
            copy.deepcopy(before.alto),
            copy.copy(before.clock),
        )
        if step.event is None:
            result: IssueOps | None = sim.deliver(step.issue, step.redeliver)
        else:
            result = sim.perform(step.event, step.issue, step.details, deliver=step.deliver)
        frame = Frame(step, sim, result, tuple(violations(sim.fixflo, sim.alto)))
        del self.frames[self.cursor + 1 :]
        self.frames.append(frame)
        self.cursor = len(self.frames) - 1
        return frame

    def back(self) -> bool:
        """Move the cursor one step back; False at the start."""
        if self.cursor == 0:
            return False
        self.cursor -= 1
        return True

    def forward(self) -> bool:
        """Move the cursor one step forward; False at the end."""
        if self.cursor == len(self.frames) - 1:
            return False
        self.cursor += 1
        return True


def random_steps(
    ruleset: CompiledRuleset, seed: int, limit: int = 12, clock: Clock | None = None
) -> list[Step]:
    """A random lifecycle of issue I1: legal events (with the explorer's detail variants)
    chosen by a seeded generator until the issue reaches a final status or `limit` steps."""
    rng = random.Random(seed)  # noqa: S311 - made-up lifecycles
    session = Session(ruleset, clock)
    lifecycle = session.frame.sim.lifecycle
    while len(session.steps) < limit:
        events = session.legal()
        if not events:
            break
        event = rng.choice(events)
        details = rng.choice(VARIANTS.get(event.name, [{}]))
        session.perform(event.name, details)
        issue = session.frame.sim.fixflo.issues.get(session.issue)
        if lifecycle.status_of(issue) in lifecycle.final:
            break
    return session.steps


def scenario_text(name: str, summary: str, steps: Sequence[Step]) -> str:
    """`steps` as a scenario file that `rulebridge simulate` replays."""
    items = [_step_data(step) for step in steps]
    data = {"scenario": name, "summary": summary, "steps": items}
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100)


def _step_data(step: Step) -> dict[str, Any]:
    item: dict[str, Any] = {"event": step.event} if step.event else {"redeliver": step.redeliver}
    if step.issue != "I1":
        item["issue"] = step.issue
    if step.details:
        item["with"] = dict(step.details)
    if step.event and not step.deliver:
        item["deliver"] = False
    return item
