"""The stepper's model: a timeline of lifecycle steps, each with the worlds after it.

No Textual here: the screens draw a `Session` and call its methods. Every step keeps a copy
of the Fixflo and Alto worlds, so moving back and forward through the timeline is instant;
performing an event in the past drops the steps after it (like an editor's undo: the user's
act). Nothing else drops a step: replaying a timeline under another ruleset or other
settings keeps every step, and a step that is not legal where it comes is kept as a
*refused* frame (its worlds the previous frame's), the later steps still tried.

Each frame carries the step's `StepReport` (what `rulebridge simulate` reports after it) and
the ``expect:`` keys it did not meet; after `Session.reloaded` or `Session.with_settings`
each frame also says what differs from the same step before.

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
    >>> session.perform("close").refused
    Traceback (most recent call last):
    ...
    engine.errors.EvaluationError: event 'close' is not legal for issue I1 at status None
"""

from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import EvaluationError
from engine.issues.reconcile import IssueOps
from engine.language.lifecycle import Event
from engine.language.ruleset import CompiledRuleset
from engine.sync.impact import StepDifference
from simulator.lifecycle import Clock, Mismatch, Simulation, Step, StepReport, check
from simulator.lifecycle.compare import report_differences
from simulator.lifecycle.explore import VARIANTS
from simulator.lifecycle.play import report
from simulator.lifecycle.scenario import ruleset_for
from tui.model.scenario_file import ScenarioFile, scenario_text

__all__ = ["AGENCY_SETTINGS", "Frame", "Session", "random_steps", "scenario_text"]

AGENCY_SETTINGS = ("paying_party", "invoice_recipient", "invoice_media_type", "fixflo_feedback_on")
"""The settings that decide the lifecycle where Fixflo publishes nothing (gap.paying-party,
gap.invoice-recipient, gap.invoice-document, W-08): shown and changeable in the stepper."""


@dataclass(frozen=True, slots=True)
class Frame:
    """The worlds after one step (`step` is None for the empty start).

    `report` is the step's `StepReport` (None for the start and for a refused step);
    `mismatches` the step's ``expect:`` keys not met; `refused` (non-empty) why the step
    was not legal where it comes, its worlds then the previous frame's, unchanged;
    `differences` what differs from the same step before the last reload (or change of
    settings), a refusal that came or went as ``("refused", old reason or None, new
    reason or None)``.
    """

    step: Step | None
    sim: Simulation
    result: IssueOps | None
    problems: tuple[str, ...]
    report: StepReport | None = None
    mismatches: tuple[Mismatch, ...] = ()
    refused: str = ""
    differences: tuple[StepDifference, ...] = ()


class Session:
    """A ruleset, agency settings, a clock and a timeline of frames with a cursor on one.

    `base` is the ruleset as its file gives it; `ruleset` is `base` compiled with
    `settings` (the session's overrides, possibly empty); `source` is the scenario file the
    timeline came from (None: made here), kept so that saving keeps its text.

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
        self.source: ScenarioFile | None = None
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
        source: ScenarioFile | None = None,
    ) -> Session:
        """A session holding every one of `steps` played in order under `settings`, its
        cursor on the last: a step not legal where it comes is kept as a refused frame.

        Raises:
            RulesetErrors: a setting the ruleset does not declare or allow.

        Example:
            >>> from engine import load_ruleset
            >>> steps = [Step(event="report"), Step(event="close"), Step(event="instruct")]
            >>> session = Session.replay(load_ruleset("rulesets/alto-fixflo/v2.yaml"), steps)
            >>> [(frame.step.event, bool(frame.refused)) for frame in session.frames[1:]]
            [('report', False), ('close', True), ('instruct', False)]
        """
        session = cls(ruleset, clock, settings)
        session.source = source
        for step in steps:
            session.frames.append(session._next(step))
        session.cursor = len(session.frames) - 1
        return session

    def reloaded(self, ruleset: CompiledRuleset) -> Session:
        """The whole timeline replayed under `ruleset` (and the session's settings), the
        cursor on the same index, each frame's `differences` from this session's.

        Raises:
            RulesetErrors: the session's settings are not the new ruleset's.
        """
        return self._again(ruleset, self.settings)

    def with_settings(self, settings: Mapping[str, Any]) -> Session:
        """The whole timeline replayed under agency `settings` (in place of the session's),
        as `reloaded` does.

        Raises:
            RulesetErrors: a setting the ruleset does not declare or allow.
        """
        return self._again(self.base, settings)

    def _again(self, ruleset: CompiledRuleset, settings: Mapping[str, Any]) -> Session:
        new = Session.replay(ruleset, self.steps, self.clock, settings, self.source)
        new.frames = [
            dataclasses.replace(frame, differences=_differences(old, frame))
            for old, frame in zip(self.frames, new.frames, strict=True)
        ]
        new.cursor = min(self.cursor, len(new.frames) - 1)
        return new

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

    def before(self) -> Frame | None:
        """The frame before the cursor's (None at the start)."""
        return self.frames[self.cursor - 1] if self.cursor else None

    @property
    def steps(self) -> list[Step]:
        """Every step of the timeline (refused ones too), wherever the cursor is."""
        return [frame.step for frame in self.frames[1:] if frame.step]

    @property
    def issue(self) -> str:
        """The issue being followed: the last step's, or I1."""
        step = self.frame.step
        return step.issue if step else "I1"

    @property
    def expect_summary(self) -> tuple[int, int]:
        """``(met, expected)``: the ``expect:`` keys met and written, over the timeline (a
        refused step meets none of its keys)."""
        met = expected = 0
        for frame in self.frames[1:]:
            keys = frame.step.expect.keys if frame.step and frame.step.expect else ()
            unmet = {mismatch.key for mismatch in frame.mismatches}
            expected += len(keys)
            met += sum(1 for key in keys if key not in unmet)
        return met, expected

    def legal(self) -> list[Event]:
        """The events that may happen to the issue now, from the ruleset's lifecycle."""
        return self.frame.sim.legal(self.issue)

    def perform(self, event: str, details: Mapping[str, Any] | None = None) -> Frame:
        """Perform `event` on the issue (dropping any steps after the cursor).

        Raises:
            EvaluationError: the event is not legal now, or its details are not its own.
        """
        return self.apply(Step(self.issue, event, dict(details or {})))

    def apply(self, step: Step) -> Frame:
        """Play `step` after the cursor, dropping any steps after it; the new frame becomes
        the cursor's.

        Raises:
            EvaluationError: the step is not legal after the cursor's frame (nothing changes).
        """
        frame = self._played(self.frames[self.cursor], self.cursor + 1, step)
        del self.frames[self.cursor + 1 :]
        self.frames.append(frame)
        self.cursor = len(self.frames) - 1
        return frame

    def goto(self, index: int) -> Frame:
        """Put the cursor on frame `index` (clamped to the timeline); its frame."""
        self.cursor = max(0, min(index, len(self.frames) - 1))
        return self.frame

    def annotate(self, note: str) -> None:
        """Set the note of the cursor's step (saved as its ``note:``); the outcome stays.

        Raises:
            EvaluationError: the cursor is on the start, which has no step.
        """
        frame = self.frame
        if frame.step is None:
            raise EvaluationError("the start has no step to annotate; move to a step first")
        step = dataclasses.replace(frame.step, note=note)
        self.frames[self.cursor] = dataclasses.replace(frame, step=step)

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

    def _next(self, step: Step) -> Frame:
        """`step` played after the last frame, or refused there (a replay keeps it)."""
        before, index = self.frames[-1], len(self.frames)
        try:
            return self._played(before, index, step)
        except EvaluationError as exc:
            reason = str(exc) or type(exc).__name__
            return Frame(
                step, before.sim, None, before.problems, None, _refused(step, reason), reason
            )

    def _played(self, before: Frame, index: int, step: Step) -> Frame:
        sim = before.sim.fork(self.ruleset)  # copy-on-write: the earlier frame stays as it was
        if step.event is None:
            result: IssueOps | None = sim.deliver(step.issue, step.redeliver)
        else:
            result = sim.perform(step.event, step.issue, step.details, deliver=step.deliver)
        done = report(sim, index, step, result)
        found = tuple(check(done, step.expect)) if step.expect else ()
        return Frame(step, sim, result, done.violations, done, found)


def _refused(step: Step, reason: str) -> tuple[Mismatch, ...]:
    """A refused step meets none of its expectations: each key unmet, saying why."""
    expect = step.expect
    if expect is None:
        return ()
    return tuple(
        Mismatch(key, "the step played", f"refused: {reason}", expect.lines.get(key, expect.line))
        for key in expect.keys
    )


def _differences(old: Frame, new: Frame) -> tuple[StepDifference, ...]:
    """What the same step's frame says differently now (a refusal that came or went)."""
    if old.refused or new.refused:
        if old.refused == new.refused:
            return ()
        return (StepDifference("refused", old.refused or None, new.refused or None),)
    if old.report is None or new.report is None:
        return ()
    return report_differences(old.report, new.report)


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
