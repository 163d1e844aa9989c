"""The checks behind `simulator.lifecycle.expect.check`: one per ``expect:`` key, each
giving ``(what, expected, actual)`` in words for every expectation not met."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.language.paths import flatten
from simulator.lifecycle._expect_read import Expect
from simulator.lifecycle.play import StepReport

__all__ = ["CHECKS", "charge_text", "same"]

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
    for path, wanted in flatten(expect.works_order):
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
            for path, value in flatten(expect.charges[0])
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


CHECKS = {
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
            same(value, _get(actual, path)) for path, value in flatten(expected)
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
