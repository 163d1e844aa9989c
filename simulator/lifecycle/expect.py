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

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.language.lifecycle import Lifecycle
from engine.language.ruleset import CompiledRuleset
from simulator.lifecycle._expect_read import Expect, case_targets, read_expect
from simulator.lifecycle._items import lifecycle_items, transition
from simulator.lifecycle.play import StepReport, play
from simulator.lifecycle.scenario import Scenario, Step

__all__ = [
    "CheckedStep",
    "Expect",
    "Mismatch",
    "check",
    "exercised",
    "lifecycle_items",
    "play_checked",
    "read_expect",
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
            Mismatch(what, wanted, got, line) for what, wanted, got in _CHECKS[key](report, expect)
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


# Checks: each gives (what, expected, actual) for every expectation not met ---------------

Found = list[tuple[str, str, str]]


def _status(report: StepReport, expect: Expect) -> Found:
    if report.fixflo_status == expect.status:
        return []
    return [("status", str(expect.status), str(report.fixflo_status or "no issue"))]


def _works_order(report: StepReport, expect: Expect) -> Found:
    order = report.works_order
    if expect.works_order is None:
        return [] if order is None else [("works_order", "none", _order_text(order))]
    if order is None:
        return [("works_order", "a works order", "none")]
    found: Found = []
    for path, wanted in _leaves(expect.works_order):
        got = _get(order, path)
        if not same(wanted, got):
            found.append((f"works_order.{path}", _text(wanted), _text(got)))
    return found


def _documents(report: StepReport, expect: Expect) -> Found:
    wanted, got = Counter(expect.documents), Counter(report.documents)
    if wanted == got:
        return []
    missing = ", ".join(sorted((wanted - got).elements()))
    extra = ", ".join(sorted((got - wanted).elements()))
    detail = "; ".join(
        part
        for part in (missing and f"missing {missing}", extra and f"not expected {extra}")
        if part
    )
    return [("documents", _names(expect.documents), f"{_names(report.documents)} ({detail})")]


def _charges(report: StepReport, expect: Expect) -> Found:
    actual = report.charges
    pairs = _matching(expect.charges, actual)
    if len(pairs) == len(expect.charges) == len(actual):
        return []
    wanted = "none" if not expect.charges else "; ".join(_text(item) for item in expect.charges)
    got = (
        "none"
        if not actual
        else f"{len(actual)}: " + "; ".join(charge_text(charge) for charge in actual)
    )
    if len(expect.charges) == len(actual) == 1:
        differ = [
            f"{path} {_text(_get(actual[0], path))}, not {_text(value)}"
            for path, value in _leaves(expect.charges[0])
            if not same(value, _get(actual[0], path))
        ]
        got += f" ({'; '.join(differ)})"
    return [("charges", wanted, got)]


def _warnings(report: StepReport, expect: Expect) -> Found:
    got = tuple(dict.fromkeys(report.warning_ids))
    if set(got) == set(expect.warnings):
        return []
    return [("warnings", _names(expect.warnings), _names(got))]


def _fired(report: StepReport, expect: Expect) -> Found:
    got = set(report.fired_ids)
    missing = [item for item in expect.fired if item not in got]
    if not missing:
        return []
    return [("fired", _names(missing), f"{_names(tuple(dict.fromkeys(report.fired_ids)))}")]


def _operations(report: StepReport, expect: Expect) -> Found:
    got = {(str(op.get("op")), str(op.get("kind"))) for op in report.operations}
    if got == set(expect.operations):
        return []
    return [("operations", _pairs(expect.operations), _pairs(got))]


_CHECKS = {
    "status": _status,
    "works_order": _works_order,
    "documents": _documents,
    "charges": _charges,
    "warnings": _warnings,
    "fired": _fired,
    "operations": _operations,
}


def same(expected: Any, actual: Any) -> bool:
    """Whether `actual` meets `expected`: ``"*"`` any non-empty value; numbers by value
    (``100 == 100.0``); a mapping as a subset; a list item by item.

    Example:
        >>> same({"totalNet": 100, "id": "*"}, {"totalNet": 100.0, "id": "CH-1", "x": 1})
        True
    """
    if expected == "*":
        return actual not in (None, "", [], {})
    if _number(expected) is not None and _number(actual) is not None:
        return _number(expected) == _number(actual)
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            same(value, _get(actual, path)) for path, value in _leaves(expected)
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, Sequence)
            and not isinstance(actual, str)
            and len(expected) == len(actual)
            and all(same(one, other) for one, other in zip(expected, actual, strict=True))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual  # true is not 1
    return bool(expected == actual)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _matching(
    wanted: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]]
) -> dict[int, int]:
    """A largest pairing of expected charges with distinct actual ones (augmenting paths)."""
    owner: dict[int, int] = {}

    def place(index: int, seen: set[int]) -> bool:
        for other, charge in enumerate(actual):
            if other in seen or not same(wanted[index], charge):
                continue
            seen.add(other)
            if other not in owner or place(owner[other], seen):
                owner[other] = index
                return True
        return False

    for index in range(len(wanted)):
        place(index, set())
    return owner


def _leaves(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{a: {b: 1}, "c.d": 2}`` -> ``[("a.b", 1), ("c.d", 2)]``."""
    found: list[tuple[str, Any]] = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            found += _leaves(value, path + ".")
        else:
            found.append((path, value))
    return found


def _get(data: Any, path: str) -> Any:
    if isinstance(data, Mapping) and path in data:
        return data[path]
    for part in path.split("."):
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def charge_text(charge: Mapping[str, Any]) -> str:
    """``property 100002 Maintenance 120.00`` (the amount: net plus VAT)."""
    net, vat = _number(charge.get("totalNet")), _number(charge.get("totalVat"))
    amount = "" if net is None else f" {net + (vat or 0):.2f}"
    return f"{charge.get('post')} {charge.get('targetId')} {charge.get('chargeType')}{amount}"


def _order_text(order: Mapping[str, Any]) -> str:
    return f"works order {order.get('id')} at {order.get('status')}"


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}: {_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, str):
        return repr(value) if value == "" or value.strip() != value else value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def _pairs(items: Any) -> str:
    ordered = sorted(items)
    return ", ".join(f"{op} {kind}" for op, kind in ordered) if ordered else "none"
