"""Expectations after a scenario step (``expect:``): checking them, and what a step exercised.

```yaml
  - event: close
    expect:
      status: Closed                       # the Fixflo status
      works_order: {status: CompleteInvoicingReceived, notes: "Replaced the washer."}
      documents: [issue-I1.pdf]            # exactly these file names, in any order
      charges: []                          # exactly these charges, each a subset match
      warnings: [CH-05]                    # exactly the rule ids warned at this step
      fired: [W-09]                        # these ids fired (others may too)
      operations: [{op: update, kind: works_order}]   # exactly these {op, kind} pairs
```

`works_order` is a subset match (nested mappings or dotted names such as
``reporterDetails.type``), or ``none`` for no works order. In a charge or a works order,
``"*"`` matches any non-empty value and money compares as numbers (``100 == 100.0``).
Reading an ``expect:`` block (located errors, all at once) is `read_expect`
(`simulator.lifecycle._expect_read`); `check` compares one with a `StepReport`;
`exercised` and `lifecycle_items` give the ruleset test runner its lifecycle coverage.

Example:
    >>> from engine import load_ruleset
    >>> from simulator.lifecycle import load_scenario
    >>> ruleset = load_ruleset("rulesets/alto-fixflo/v2.yaml")
    >>> scenario = load_scenario("simulator/scenarios/zero-invoice.yaml", ruleset)
    >>> steps = play_checked(ruleset, scenario)
    >>> [str(m) for step in steps for m in step.mismatches]
    []
    >>> sorted(item for item in steps[-1].exercised if item.startswith("charge:"))
    ['charge:CH-05']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.language.lifecycle import Lifecycle
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle._checks import CHECKS, charge_text, same
from simulator.lifecycle._expect_read import Expect, case_targets, read_expect
from simulator.lifecycle._items import lifecycle_items, transition
from simulator.lifecycle.play import StepReport, play
from simulator.lifecycle.scenario import Scenario, Step

__all__ = [
    "CheckedStep",
    "Expect",
    "Mismatch",
    "charge_text",
    "check",
    "exercised",
    "lifecycle_items",
    "play_checked",
    "read_expect",
    "same",
]


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One expectation not met: `what` (``charges``, ``works_order.notes``), what was
    expected and what was found (both in words), and the line of the expectation."""

    what: str
    expected: str
    actual: str
    line: int = 0

    @property
    def key(self) -> str:
        """The ``expect:`` key this belongs to (``works_order`` for ``works_order.notes``)."""
        return self.what.split(".", 1)[0]

    def __str__(self) -> str:
        return f"{self.what}: expected {self.expected}, got {self.actual}"

    def to_json(self) -> dict[str, Any]:
        """``{what, expected, actual, line, message}``."""
        return {
            "what": self.what,
            "expected": self.expected,
            "actual": self.actual,
            "line": self.line,
            "message": str(self),
        }


@dataclass(frozen=True, slots=True)
class CheckedStep:
    """A played step: its report, the step (its `expect` and `line`), the expectations
    not met, and the coverage ids it exercised (see `exercised`)."""

    step: Step
    report: StepReport
    mismatches: tuple[Mismatch, ...]
    exercised: frozenset[str]

    @property
    def met(self) -> tuple[str, ...]:
        """The ``expect:`` keys met, in the file's order."""
        unmet = {mismatch.key for mismatch in self.mismatches}
        keys = self.step.expect.keys if self.step.expect else ()
        return tuple(key for key in keys if key not in unmet)

    def to_json(self) -> dict[str, Any]:
        """The report's JSON plus ``expect: {line, met, unmet}`` (null without one)."""
        data = self.report.to_json()
        expect = self.step.expect
        data["line"] = self.step.line
        data["expect"] = (
            None
            if expect is None
            else {
                "line": expect.line,
                "met": list(self.met),
                "unmet": [mismatch.to_json() for mismatch in self.mismatches],
            }
        )
        return data


def play_checked(ruleset: CompiledRuleset, scenario: Scenario) -> list[CheckedStep]:
    """`play` the scenario and check every step's ``expect:``.

    Raises:
        RulesetErrors: the scenario's settings are not the ruleset's.
    """
    lifecycle = _lifecycle(ruleset)
    checked: list[CheckedStep] = []
    before: str | None = None
    for step, report in zip(scenario.steps, play(ruleset, scenario), strict=True):
        found = () if step.expect is None else tuple(check(report, step.expect))
        done = exercised(lifecycle, before, step, report, step.expect)
        checked.append(CheckedStep(step, report, found, done))
        before = report.fixflo_status
    return checked


def check(report: StepReport, expect: Expect) -> list[Mismatch]:
    """Every expectation of `expect` that `report` does not meet (empty: all met).

    Example:
        >>> from simulator.lifecycle.play import StepReport
        >>> report = StepReport(1, "close", "I1", "Closed", None, (), (), (), (), ())
        >>> [str(m) for m in check(report, Expect(line=3, status="Closed", lines={"status": 3}))]
        []
    """
    found: list[Mismatch] = []
    for key in expect.keys:
        line = expect.lines[key]
        found += [
            Mismatch(what, wanted, got, line) for what, wanted, got in CHECKS[key](report, expect)
        ]
    return found


def exercised(
    rules: CompiledRuleset | Lifecycle,
    before_status: str | None,
    step: Step,
    report: StepReport,
    expect: Expect | None = None,
) -> frozenset[str]:
    """The coverage ids the step exercised: ``event:NAME``, ``transition:FROM --NAME--> TO``
    (``(new)`` for a creating event), ``status:ID`` (the status or status case that
    applied), ``warning:ID`` (a lifecycle warning given), ``attachment:ID`` (documents it
    attached). Only with an expectation at this step that says so: ``charge:ID`` for a
    charge `require` that blocked the charge (`expect` asserts ``charges``) and the route a
    posted charge went by (`expect` asserts a non-empty ``charges``); ``rule:ID`` for a
    works-order `require` that blocked it (`expect` asserts ``works_order``) and a ``case``
    branch that chose a value `expect` asserts (a works-order or charge field).
    """
    lifecycle = _lifecycle(rules)
    ids: set[str] = set()
    if step.event is not None:
        event = lifecycle.events[step.event]
        ids |= {f"event:{event.name}", f"transition:{transition(before_status, event)}"}
    if report.status_id is not None:
        ids.add(f"status:{report.status_id}")
    warned = {warning.id for warning in lifecycle.warnings}
    ids |= {f"warning:{item}" for item in report.warning_ids if item in warned}
    for op in report.operations:
        because = op.get("because") or [{}]
        if op.get("kind") == "document":
            ids.add(f"attachment:{because[0].get('rule')}")
    if expect is not None:
        ids |= _asserted(lifecycle, report, expect)
    return frozenset(ids)


def _asserted(lifecycle: Lifecycle, report: StepReport, expect: Expect) -> set[str]:
    """The ids only an expectation at this step can cover (see `exercised`)."""
    ids: set[str] = set()
    charge_rules = {rule.id for policy in lifecycle.charges.values() for rule in policy.require}
    works_rules = {rule.id for rule in lifecycle.works_order_require}
    if "charges" in expect.keys:
        ids |= {f"charge:{item}" for item in report.blocked if item in charge_rules}
        if expect.charges:
            routes = [op.get("target", {}).get("route") for op in report.operations]
            ids |= {f"charge:{route}" for route in routes if route}
    if "works_order" in expect.keys:
        ids |= {f"rule:{item}" for item in report.blocked if item in works_rules}
    targets = case_targets(lifecycle)
    asserted = set(_paths(expect.works_order or {}, "works_order"))
    asserted |= {path for charge in expect.charges for path in _paths(charge, "charges")}
    for item in report.fired_ids:
        where = targets.get(item)
        if where is not None and any(_covers(path, where) for path in asserted):
            ids.add(f"rule:{item}")
    return ids


def _covers(asserted: str, target: str) -> bool:
    """Whether asserting `asserted` checks the value at `target` (or a part of it)."""
    return asserted == target or target.startswith(asserted + ".")


def _paths(data: Mapping[str, Any], prefix: str) -> list[str]:
    """Every leaf path of `data` under `prefix` (dotted keys kept as they are)."""
    found: list[str] = []
    for key, value in data.items():
        path = f"{prefix}.{key}"
        if isinstance(value, Mapping) and value:
            found += _paths(value, path)
        else:
            found.append(path)
    return found


def _lifecycle(rules: CompiledRuleset | Lifecycle) -> Lifecycle:
    lifecycle = rules.lifecycle if isinstance(rules, CompiledRuleset) else rules
    if lifecycle is None:
        raise ValueError("the ruleset declares no 'lifecycle:'")
    return lifecycle
