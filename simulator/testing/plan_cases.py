"""Run a plan case: every source and target record planned, the plan against the expectation.

Each expected item must be found in the plan (a subset match on the keys it gives):
``operations`` ``{op, entity, key, fields, rule, target}``, ``skips`` ``{entity, key,
rule}``, ``merges`` ``{entity, key, rule, target}``, ``manual`` ``{entity, key, rule,
action}``, ``warnings`` (preflight rule ids); ``no_operations: true`` wants nothing planned.
A record's ``key`` is its source id, else the target's id or reference.

Example:
    >>> from engine import load_ruleset
    >>> from simulator.testing._rulesets import Rulesets
    >>> rulesets = Rulesets(load_ruleset("rulesets/alto-fixflo/v2.yaml"))
    >>> case = Case("a sale", "plan", "t.yaml", 1,
    ...             records={"alto.inventory": [{"inventoryId": "1", "recordType": "Sale"}]},
    ...             expect={"skips": [{"entity": "property", "key": "1", "rule": "P-01"}]})
    >>> run_plan(case, rulesets).passed
    True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import RulebridgeError
from engine.language import CompiledRuleset, Context
from engine.sync import Plan, make_plan
from engine.sync.plan import ManualAction, MergeDecision, Operation, PlanItem, Skip
from simulator.testing._compare import Comparison
from simulator.testing._match import same, shown
from simulator.testing._rulesets import Rulesets, case_fields, chosen_branch
from simulator.testing.cases import Case, CaseResult

__all__ = ["plan_lines", "run_plan"]

_INCLUDE = "include"


def run_plan(case: Case, rulesets: Rulesets) -> CaseResult:
    """Plan the case's records and compare the plan with what the case expects.

    A case that cannot run is a result with `CaseResult.error`, never an exception.
    """
    try:
        ruleset = rulesets.get(case.settings)
        records = {name: [dict(row) for row in rows] for name, rows in case.records.items()}
        plan = make_plan(ruleset, records, as_of=case.as_of)
        context = ruleset.context(
            {name: rows for name, rows in records.items() if name in ruleset.sources},
            as_of=case.as_of,
        )
        return _Compare(case, ruleset, plan, records, context).result()
    except RulebridgeError as exc:
        return CaseResult(case, error=str(exc))


class _Compare(Comparison):
    def __init__(
        self,
        case: Case,
        ruleset: CompiledRuleset,
        plan: Plan,
        records: Mapping[str, list[dict[str, Any]]],
        context: Context,
    ) -> None:
        super().__init__(case, ruleset, records, context)
        self.plan = plan

    def result(self) -> CaseResult:
        expect = self.case.expect
        if expect.get("no_operations") is True and self.plan.operations:
            ops = "; ".join(_op_text(op) for op in self.plan.operations)
            self.fail("expect.no_operations", "no operations", "none", ops)
        elif expect.get("no_operations") is False and not self.plan.operations:
            self.fail("expect.no_operations", "operations", "some", "none planned")
        elif expect.get("no_operations") is True:
            self.covered.update(self._left_alone())
        sections: dict[str, Iterable[PlanItem]] = {
            "operations": self.plan.operations,
            "skips": self.plan.skips,
            "merges": self.plan.merges,
            "manual": self.plan.manual,
        }
        for key, actual in sections.items():
            items = list(actual)
            if expect.get(key) == [] and items:  # an empty list: none at all
                got = "; ".join(_item_text(item) for item in items)
                self.fail(f"expect.{key}", key, "none", got)
            for index, wanted in enumerate(expect.get(key) or ()):
                self._find(key, index, wanted, items)
        warned = [warning.rule for warning in self.plan.warnings]
        if expect.get("warnings") == [] and warned:
            self.fail("expect.warnings", "warnings", "none", ", ".join(warned))
        for index, rule in enumerate(expect.get("warnings") or ()):
            wanted_rule = rule if isinstance(rule, str) else str(rule.get("rule"))
            if wanted_rule in warned:
                self.covered.add(f"rule:{wanted_rule}")
            else:
                got = ", ".join(warned) or "no warning"
                self.fail(f"expect.warnings.{index}", "warning", shown(wanted_rule), got)
        return self.finish(plan_lines(self.plan))

    def _find(self, key: str, index: int, wanted: Mapping[str, Any], actual: list[Any]) -> None:
        for item in actual:
            if _matches(wanted, item):
                self.covered.update(self._credit(wanted, item))
                return
        noun = {"operations": "operation", "skips": "skip", "merges": "merge"}.get(key, key)
        near = [_item_text(item) for item in actual if _kind(item) == wanted.get("entity")]
        got = "; ".join(near or [_item_text(item) for item in actual]) or f"no {key}"
        self.fail(f"expect.{key}.{index}", noun, shown(dict(wanted)), got)

    def _credit(self, wanted: Mapping[str, Any], item: Any) -> set[str]:
        credit: set[str] = set()
        rule = wanted.get("rule")
        if isinstance(rule, str) and not self._is_include(rule, item):
            credit.add(f"rule:{rule}")
        if isinstance(item, Operation) and item.op in ("link", "unlink"):
            credit.update(f"rule:{because.rule}" for because in item.because)
        if isinstance(item, Operation) and isinstance(wanted.get("fields"), Mapping):
            credit.update(self._branches(item, wanted["fields"]))
        if isinstance(item, Operation) and item.op in ("update", "archive"):
            credit.update(self._by_reference(item))
        return credit

    def _by_reference(self, op: Operation) -> set[str]:
        """The entity's merge rule on its reference when `op` found its target by it (the
        target bore the reference: the plan lists no merge for the record)."""
        entity = self.ruleset.entities.get(op.kind)
        if entity is None or entity.ref is None or op.target_id is None:
            return set()
        if any(m.kind == op.kind and m.source_id == op.source_id for m in self.plan.merges):
            return set()
        return {f"rule:{policy.id}" for policy in entity.merge if policy.by == (entity.ref,)}

    def _left_alone(self) -> set[str]:
        """The ``unmatched: ignore`` policies a case expecting no operations showed: target
        records of an entity whose source has no record in the case, none of them touched."""
        found = set()
        for entity in self.ruleset.entities.values():
            policy = entity.unmatched
            if policy is None or policy.action != "ignore" or entity.target is None:
                continue
            touched = any(item.kind == entity.name for item in self.plan.manual)
            if self.records.get(entity.target) and not self.records.get(entity.source):
                found |= set() if touched else {f"rule:{policy.id}"}
        return found

    def _is_include(self, rule: str, item: Any) -> bool:
        found = self.ruleset.rules.get(rule)
        return found is not None and found.section == _INCLUDE and not isinstance(item, Skip)

    def _branches(self, op: Operation, fields: Mapping[str, Any]) -> set[str]:
        entity = self.ruleset.entities.get(op.kind)
        if entity is None:
            return set()
        cases = case_fields(entity)
        source = next(
            (
                row
                for row in self.records.get(entity.source, ())
                if entity.key_of(row) == op.source_id
            ),
            None,
        )
        if source is None:
            return set()
        chosen = set()
        for path in fields:
            value = cases.get(str(path))
            branch = chosen_branch(value, source, self.context) if value else None
            if branch:
                chosen.add(f"rule:{branch}")
        return chosen


def _matches(wanted: Mapping[str, Any], item: Any) -> bool:
    return all(_holds(key, value, item) for key, value in wanted.items())


def _holds(key: str, value: Any, item: Any) -> bool:
    if key == "op":
        return isinstance(item, Operation) and bool(item.op == value)
    if key == "entity":
        return bool(_kind(item) == value)
    if key == "key":
        return str(value) in _keys(item)
    if key == "rule":
        return bool(value in _rules(item))
    if key == "target":
        return _target(item) == str(value)
    if key == "action":
        return isinstance(item, ManualAction) and bool(item.action == value)
    if key == "fields":
        return isinstance(item, Operation) and same(value, dict(item.fields))
    return False


def _kind(item: Any) -> str | None:
    return getattr(item, "kind", None)


def _keys(item: Any) -> set[str]:
    values = [getattr(item, name, None) for name in ("source_id", "target_id", "target_ref")]
    return {str(value) for value in values if value is not None}


def _rules(item: Any) -> set[str]:
    if isinstance(item, Skip):
        return set(item.rules)
    if isinstance(item, MergeDecision | ManualAction):
        return {item.rule}
    if isinstance(item, Operation):
        return {because.rule for because in item.because}
    return set()


def _target(item: Any) -> str | None:
    if isinstance(item, Operation):
        return None if item.target_id is None else str(item.target_id)
    if isinstance(item, MergeDecision | ManualAction):
        return None if item.target_id is None else str(item.target_id)
    return None


def _op_text(op: Operation) -> str:
    key = op.source_id or op.target_id or op.target_ref
    rules = ", ".join(dict.fromkeys(because.rule for because in op.because))
    fields = f" {dict(op.fields)}" if op.op in ("create", "update") else ""
    return f"{op.op} {op.kind} {key}{fields}" + (f" ({rules})" if rules else "")


def _item_text(item: Any) -> str:
    if isinstance(item, Operation):
        return _op_text(item)
    if isinstance(item, Skip):
        return f"skip {item.kind} {item.source_id} by {', '.join(item.rules)}"
    if isinstance(item, MergeDecision):
        return f"merge {item.kind} {item.source_id} into {item.target_id} by {item.rule}"
    if isinstance(item, ManualAction):
        key = item.source_id or item.target_id
        return f"manual {item.action} {item.kind} {key} by {item.rule}"
    return str(item)


def plan_lines(plan: Plan) -> tuple[str, ...]:
    """The plan, one line per item (and each skip's reasons), as a failure shows it."""
    lines = [f"planned: {_op_text(op)}" for op in plan.operations]
    for skip in plan.skips:
        lines.append(f"planned: {_item_text(skip)}")
        lines += [f"  because {because}" for because in skip.because]
    lines += [f"planned: {_item_text(item)}" for item in (*plan.merges, *plan.manual)]
    lines += [f"planned: warning {warning.rule}" for warning in plan.warnings]
    return tuple(lines) or ("planned: nothing",)
