"""The ``case`` transform: the value of the first branch whose condition holds.

```yaml
inventoryStatus:
  case:
    - {id: J-05, when: {field: crmStatus, eq: Instructed - On Market}, value: {const: Let}}
    - {when: {field: archived, eq: true}, value: {const: Archived}}
  else: {lookup: crmStatus, table: statuses}
```

A branch may carry a rule ``id`` (unique across the ruleset, like every rule id): when that
branch decides a record's value, `CaseValue.explain` names it, so a report can say which rule
changed what (``J-05: inventoryStatus = 'Let'``). Without ``else`` and with no branch
holding, the value is missing (and ``default:`` applies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from engine.documents.document import JsonPath
from engine.documents.suggest import did_you_mean
from engine.explain import Because
from engine.language._declarations import Declarations
from engine.language.context import Context
from engine.language.operators.conditions import Check, ConditionCompiler
from engine.language.operators.value import Value

__all__ = ["Branch", "CaseValue", "compile_case"]


class ValueCompiling(Protocol):
    """What ``case`` needs of the value compiler (`transforms.ValueCompiler`) it is part of."""

    conditions: ConditionCompiler
    decls: Declarations
    case_ids: dict[str, JsonPath]
    """Branch rule id -> where it is declared, so two branches cannot share one."""

    def fail(self, path: JsonPath, code: str, message: str, at_key: bool = False) -> None:
        """Record an error at `path`."""

    def compile(self, spec: Any, path: JsonPath, source: str, rule: str) -> Value | None:
        """Compile a value."""


_BRANCH_KEYS = ("id", "summary", "when", "value")


@dataclass(frozen=True, slots=True)
class Branch:
    """One compiled branch: its rule id (optional), condition and value."""

    id: str | None
    check: Check
    value: Value


@dataclass(frozen=True, slots=True)
class CaseValue(Value):
    """A compiled ``case``: `get` gives the value; `explain` also names the deciding branch."""

    branches: tuple[Branch, ...] = ()
    otherwise: Value | None = None

    def explain(self, record: Any, context: Context) -> tuple[Any, Because | None]:
        """The value for `record` and, when a branch with an id decided it, why.

        Example::

            value, because = case.explain(record, context)
            str(because)  # "J-05: crmStatus = 'Instructed - On Market', = 'Instructed - On Market'"
        """
        for branch in self.branches:
            if branch.check.test(record, context):
                value = branch.value.get(record, context)
                if branch.id is None:
                    return value, None
                _, reasons = branch.check.explain(record, context)
                read = reasons[0] if reasons else None
                return value, Because(
                    branch.id,
                    read.field if read else branch.check.text,
                    read.value if read else None,
                    f"{branch.check.text}, so {value!r}",
                    True,
                )
        return (self.otherwise.get(record, context) if self.otherwise else None), None


def compile_case(
    values: ValueCompiling, spec: Mapping[str, Any], path: JsonPath, source: str, rule: str
) -> Value | None:
    """Compile ``{case: [{id?, when, value}, ...], else?: V}`` read against `source`."""
    listed = spec["case"]
    if not isinstance(listed, list) or not listed:
        values.fail(
            (*path, "case"),
            "wrong-type",
            "'case' takes a list of branches, e.g. [{when: {field: status, eq: Let}, value: X}]",
        )
        return None
    branches = [
        _branch(values, item, (*path, "case", index), source, rule)
        for index, item in enumerate(listed)
    ]
    otherwise = (
        values.compile(spec["else"], (*path, "else"), source, rule) if "else" in spec else None
    )
    compiled = [branch for branch in branches if branch is not None]
    if len(compiled) != len(branches) or ("else" in spec and otherwise is None):
        return None
    return _case_value(tuple(compiled), otherwise)


def _case_value(branches: tuple[Branch, ...], otherwise: Value | None) -> CaseValue:
    tests = tuple((branch.check.test, branch.value.get) for branch in branches)
    fallback = otherwise.get if otherwise else None

    def get(record: Any, context: Context) -> Any:
        for test, value in tests:
            if test(record, context):
                return value(record, context)
        return fallback(record, context) if fallback else None

    text = "; ".join(f"when {branch.check.text}: {branch.value.text}" for branch in branches)
    if otherwise is not None:
        text += f"; else {otherwise.text}"
    return CaseValue(get, f"case({text})", branches=branches, otherwise=otherwise)


def _branch(
    values: ValueCompiling, item: Any, path: JsonPath, source: str, rule: str
) -> Branch | None:
    if not isinstance(item, Mapping):
        values.fail(path, "wrong-type", "a case branch is a mapping: {when: ..., value: ...}")
        return None
    for key in item:
        if key not in _BRANCH_KEYS:
            hint = (
                did_you_mean(str(key), _BRANCH_KEYS) or "; a branch takes id, summary, when, value"
            )
            values.fail(
                (*path, key), "unknown-key", f"unknown branch key {key!r}{hint}", at_key=True
            )
            return None
    missing = [key for key in ("when", "value") if key not in item]
    if missing:
        values.fail(
            path, "missing-key", f"a case branch needs {' and '.join(missing)}", at_key=True
        )
        return None
    branch_id = item.get("id")
    if branch_id is not None and not _fresh_id(values, str(branch_id), path):
        return None
    owner = str(branch_id) if branch_id is not None else rule
    check = values.conditions.compile(item["when"], (*path, "when"), source, owner)
    value = values.compile(item["value"], (*path, "value"), source, owner)
    if check is None or value is None:
        return None
    return Branch(None if branch_id is None else str(branch_id), check, value)


def _fresh_id(values: ValueCompiling, branch_id: str, path: JsonPath) -> bool:
    """A branch id may not repeat a rule id or another branch's id."""
    seen = values.case_ids
    clash = seen.get(branch_id)
    if branch_id in values.decls.rule_sources or clash is not None:
        where = (
            f"on line {values.conditions.document.where(clash)[0]}"
            if clash is not None
            else "by a rule"
        )
        values.fail(
            (*path, "id"),
            "duplicate-rule-id",
            f"rule id {branch_id!r} is already used {where}; give each rule its own id",
        )
        return False
    seen[branch_id] = path
    return True
