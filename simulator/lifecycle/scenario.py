"""Scenario files: a named list of events (and late or repeated deliveries) to play.

```yaml
scenario: landlord-pays-late
summary: Instructed to the landlord; one webhook lost and delivered late.
settings: {paying_party: Tenant}                      # optional: agency settings
steps:
  - {event: report}                                   # issue I1 unless `issue:` says
  - {event: instruct, with: {Job.Contractor: null}}   # the landlord does the job
  - {event: complete_job, deliver: false}             # Fixflo moves; the webhook is lost
  - {redeliver: 1}                                    # an old snapshot arrives late
  - event: close
    expect: {status: Closed, charges: []}             # checked after the step (see expect)
```

Each step is checked when the file is read: an unknown key or event (with a "did you
mean") is a located error, all of them reported at once. ``settings:`` are checked against
the settings the ruleset declares (name, type and allowed values) when the ruleset is given;
`play` compiles the ruleset with them. An ``expect:`` block is read by
`simulator.lifecycle.expect.read_expect` (its problems are located errors too).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.documents.document import Document, JsonPath, load_document
from engine.documents.suggest import did_you_mean
from engine.errors import EvaluationError, RulesetError, RulesetErrors
from engine.language.lifecycle import Lifecycle
from engine.language.load import load_ruleset
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle._expect_read import Expect, read_expect

__all__ = ["Scenario", "Step", "load_scenario", "read_steps", "ruleset_for"]

_STEP_KEYS = {"event", "issue", "with", "deliver", "redeliver", "note", "expect"}
_TOP_KEYS = {"scenario", "summary", "settings", "steps"}


@dataclass(frozen=True, slots=True)
class Step:
    """One step: an event on an issue, or the late delivery of an old revision; `expect`
    is checked after it (None: nothing expected); `line` is where it is written (0: made in
    code)."""

    issue: str = "I1"
    event: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    deliver: bool = True
    redeliver: int | None = None
    note: str = ""
    expect: Expect | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named list of steps, played with the agency settings `settings` (overrides);
    `path` is the file it was read from ("" when made in code)."""

    name: str
    summary: str
    steps: tuple[Step, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    path: str = ""


def load_scenario(
    path: str | os.PathLike[str],
    rules: CompiledRuleset | Lifecycle | None,
    *,
    check_ids: bool = True,
) -> Scenario:
    """Read a scenario file, checking its events against the ruleset's lifecycle and its
    settings against the ruleset's declared settings (given only a `Lifecycle`, settings
    are checked when `play` compiles the ruleset with them).

    With ``check_ids=False`` (the file was written for another version of the ruleset, as
    `rulebridge test --ruleset` runs it) rule ids and field names in ``expect:`` blocks that
    the ruleset does not have are not errors: the expectations naming them fail instead.

    Raises:
        RulesetErrors: every problem, located as ``file:line:col: code: message``.

    Example:
        >>> from engine import load_ruleset
        >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
        >>> load_scenario("simulator/scenarios/documented-path.yaml", ruleset).name
        'documented-path'
    """
    ruleset = rules if isinstance(rules, CompiledRuleset) else None
    lifecycle = rules.lifecycle if isinstance(rules, CompiledRuleset) else rules
    if lifecycle is None:
        raise EvaluationError("scenarios need a ruleset that declares a 'lifecycle:'")
    document = load_document(path)
    errors: list[RulesetError] = []
    data = document.data if isinstance(document.data, Mapping) else {}
    for key in data:
        if key not in _TOP_KEYS:
            hint = did_you_mean(str(key), _TOP_KEYS) or f"; use {', '.join(sorted(_TOP_KEYS))}"
            errors.append(
                document.error((key,), "unknown-key", f"unknown key {key!r}{hint}", at_key=True)
            )
    if not isinstance(data.get("scenario"), str):
        errors.append(document.error((), "missing-key", "a scenario needs 'scenario: NAME'"))
    steps = read_steps(document, ("steps",), lifecycle, errors, check_ids=check_ids)
    settings = _settings(document, data.get("settings", {}), ruleset, errors)
    if errors:
        raise RulesetErrors(errors)
    return Scenario(
        str(data["scenario"]),
        str(data.get("summary", "")),
        steps,
        settings,
        document.path,
    )


def read_steps(
    document: Document,
    path: JsonPath,
    lifecycle: Lifecycle,
    errors: list[RulesetError],
    *,
    check_ids: bool = True,
) -> tuple[Step, ...]:
    """The steps listed at `path` of `document` (a scenario's ``steps:``, or a test case's),
    each problem added to `errors` as a located error (the steps read well are returned).

    Example:
        >>> from engine import load_ruleset
        >>> from engine.documents.document import parse_document
        >>> doc = parse_document(b"steps: [{event: report, expect: {status: Reported}}]", "t")
        >>> errors = []
        >>> lifecycle = load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle
        >>> steps = read_steps(doc, ("steps",), lifecycle, errors)
        >>> [(step.event, step.line, step.expect.status) for step in steps]
        [('report', 1, 'Reported')]
    """
    raw: Any = document.data
    for part in path:
        if isinstance(raw, list) and isinstance(part, int):
            raw = raw[part] if 0 <= part < len(raw) else None
        else:
            raw = raw.get(part) if isinstance(raw, Mapping) else None
    if not isinstance(raw, list) or not raw:
        errors.append(
            document.error(path[:-1], "missing-key", "a scenario needs a list of 'steps:'")
        )
        return ()
    steps = [
        _step(document, item, (*path, index), lifecycle, errors, check_ids)
        for index, item in enumerate(raw)
    ]
    return tuple(step for step in steps if step is not None)


def _settings(
    document: Document, raw: Any, ruleset: CompiledRuleset | None, errors: list[RulesetError]
) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        errors.append(
            document.error(("settings",), "bad-settings", "'settings' maps setting names to values")
        )
        return {}
    for name, value in raw.items():
        if ruleset is None:
            break
        try:
            ruleset_for(ruleset, {str(name): value})
        except RulesetErrors as exc:
            problem = exc.errors[0]
            errors.append(
                document.error(
                    ("settings", name),
                    problem.code,
                    problem.message,
                    at_key=problem.code == "unknown-setting",
                )
            )
    return dict(raw)


def ruleset_for(ruleset: CompiledRuleset, settings: Mapping[str, Any]) -> CompiledRuleset:
    """`ruleset` compiled again with `settings` over its own (itself when none differ).

    Raises:
        RulesetErrors: a setting the ruleset does not declare or a value it does not allow.
    """
    if all(ruleset.settings.get(name) == value for name, value in settings.items()):
        return ruleset
    return load_ruleset(ruleset.path, {**ruleset.settings, **settings})


def _step(
    document: Document,
    item: Any,
    path: JsonPath,
    lifecycle: Lifecycle,
    errors: list[RulesetError],
    check_ids: bool,
) -> Step | None:
    if not isinstance(item, Mapping):
        errors.append(
            document.error(path, "bad-step", "a step is a mapping such as {event: report}")
        )
        return None
    before = len(errors)
    for key in item:
        if key not in _STEP_KEYS:
            hint = did_you_mean(str(key), _STEP_KEYS) or f"; use {', '.join(sorted(_STEP_KEYS))}"
            errors.append(
                document.error(
                    (*path, key), "unknown-key", f"unknown key {key!r}{hint}", at_key=True
                )
            )
    event = item.get("event")
    if ("event" in item) == ("redeliver" in item):
        errors.append(
            document.error(path, "bad-step", "a step has either 'event:' or 'redeliver:'")
        )
    elif event is not None and event not in lifecycle.events:
        hint = (
            did_you_mean(str(event), lifecycle.events) or f"; events: {', '.join(lifecycle.events)}"
        )
        errors.append(
            document.error((*path, "event"), "unknown-event", f"no event {event!r}{hint}")
        )
    details = item.get("with", {})
    if not isinstance(details, Mapping):
        errors.append(document.error((*path, "with"), "bad-step", "'with' is a mapping of fields"))
    expect = None
    if "expect" in item:
        expect = read_expect(document, (*path, "expect"), lifecycle, errors, check_ids=check_ids)
    if len(errors) > before:
        return None
    redeliver = item.get("redeliver")
    return Step(
        issue=str(item.get("issue", "I1")),
        event=None if event is None else str(event),
        details=dict(details),
        deliver=bool(item.get("deliver", True)),
        redeliver=redeliver if isinstance(redeliver, int) else None,
        note=str(item.get("note", "")),
        expect=expect,
        line=document.where(path)[0],
    )
