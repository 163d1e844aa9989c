"""The stepper's model: a timeline of lifecycle steps, each with the worlds after it.

No Textual here: the screens draw a `Session` and call its methods. Every step keeps a copy
of the Fixflo and Alto worlds, so moving back and forward through the timeline is instant;
performing an event in the past drops the steps after it (like an editor's undo).

A session runs under agency settings (who pays, who invoices are addressed to, ...: the
settings the public contracts cannot observe) chosen for it over the ruleset file's own, as
a scenario file's ``settings:`` are.

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

from engine.documents import dump_yaml
from engine.errors import EvaluationError
from engine.issues.reconcile import IssueOps
from engine.language.lifecycle import Event
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle import Clock, Simulation, Step, violations
from simulator.lifecycle.explore import VARIANTS
from simulator.lifecycle.scenario import ruleset_for

__all__ = ["AGENCY_SETTINGS", "Frame", "Session", "random_steps", "scenario_text"]

AGENCY_SETTINGS = ("paying_party", "invoice_recipient", "invoice_media_type", "fixflo_feedback_on")
"""The settings that decide the lifecycle where Fixflo publishes nothing (gap.paying-party,
gap.invoice-recipient, gap.invoice-document, W-08): shown and changeable in the stepper."""


@dataclass(frozen=True, slots=True)
class Frame:
    """The worlds after one step (`step` is None for the empty start)."""

    step: Step | None
    sim: Simulation
    result: IssueOps | None
    problems: tuple[str, ...]


class Session:
    """A ruleset, agency settings, a clock and a timeline of frames with a cursor on one.

    `base` is the ruleset as its file gives it; `ruleset` is `base` compiled with
    `settings` (the session's overrides, possibly empty).

    Raises:
        RulesetErrors: a setting the ruleset does not declare, or a value it does not allow.
    """

    def __init__(
        self,
        ruleset: CompiledRuleset,
        clock: Clock | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.base = ruleset
        self.settings = dict(settings or {})
        self.ruleset = ruleset_for(ruleset, self.settings)
        self.clock = clock or Clock()
        start = Simulation(self.ruleset, clock=copy.copy(self.clock))
        self.frames: list[Frame] = [Frame(None, start, None, ())]
        self.cursor = 0

    @classmethod
    def replay(
        cls,
        ruleset: CompiledRuleset,
        steps: Iterable[Step],
        clock: Clock | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> Session:
        """A session holding `steps` played in order under `settings`, its cursor on the last.

        Raises:
            EvaluationError: a step is not legal where it comes.
            RulesetErrors: a setting the ruleset does not declare or allow.
        """
        session = cls(ruleset, clock, settings)
        for step in steps:
            session.apply(step)
        return session

    @classmethod
    def replay_prefix(
        cls,
        ruleset: CompiledRuleset,
        steps: Sequence[Step],
        clock: Clock | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> tuple[Session, int]:
        """A session holding the longest prefix of `steps` that is still legal (under
        another ruleset or other settings), and how many later steps were dropped.

        Raises:
            RulesetErrors: a setting the ruleset does not declare or allow.
        """
        session = cls(ruleset, clock, settings)
        for index, step in enumerate(steps):
            try:
                session.apply(step)
            except EvaluationError:
                return session, len(steps) - index
        return session, 0

    def agency(self) -> dict[str, Any]:
        """The `AGENCY_SETTINGS` the ruleset declares, with the values the session runs under."""
        declared = self.ruleset.settings_declared
        return {
            name: self.ruleset.settings.get(name) for name in AGENCY_SETTINGS if name in declared
        }

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
        alto = copy.deepcopy(before.alto)
        # the copy's hooks still read the earlier frame's Fixflo and clock: bind them anew
        alto.identify = alto.stamp = None
        sim = Simulation(self.ruleset, copy.deepcopy(before.fixflo), alto, copy.copy(before.clock))
        if step.event is None:
            result: IssueOps | None = sim.deliver(step.issue, step.redeliver)
        else:
            result = sim.perform(step.event, step.issue, step.details, deliver=step.deliver)
        problems = violations(sim.fixflo, sim.alto, self.ruleset.settings)
        frame = Frame(step, sim, result, tuple(problems))
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
    ruleset: CompiledRuleset,
    seed: int,
    limit: int = 12,
    clock: Clock | None = None,
    settings: Mapping[str, Any] | None = None,
) -> list[Step]:
    """A random lifecycle of issue I1 under `settings`: legal events (with the explorer's
    detail variants) chosen by a seeded generator until the issue reaches a final status or
    `limit` steps."""
    rng = random.Random(seed)  # noqa: S311 - made-up lifecycles
    session = Session(ruleset, clock, settings)
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


def scenario_text(
    name: str, summary: str, steps: Sequence[Step], settings: Mapping[str, Any] | None = None
) -> str:
    """`steps` (under agency `settings`) as a scenario file that `rulebridge simulate` replays."""
    items = [_step_data(step) for step in steps]
    data: dict[str, Any] = {"scenario": name, "summary": summary}
    if settings:
        data["settings"] = dict(settings)
    data["steps"] = items
    return dump_yaml(data, sort_keys=False, default_flow_style=None, width=100)


def _step_data(step: Step) -> dict[str, Any]:
    item: dict[str, Any] = {"event": step.event} if step.event else {"redeliver": step.redeliver}
    if step.issue != "I1":
        item["issue"] = step.issue
    if step.details:
        item["with"] = dict(step.details)
    if step.event and not step.deliver:
        item["deliver"] = False
    return item
