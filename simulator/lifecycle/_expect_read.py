"""Reading a step's ``expect:`` block, every problem a located error (see `expect`).

Fields are checked against what the ruleset writes to Alto: a works order's fields are the
ruleset's ``works_order`` map targets, the fields its statuses ``set``, ``status`` and
``id``; a charge's are its ``map`` targets, ``post``, ``targetId``, ``id``, the link field
(``workOrderId``), each route's tenant field (``tenantId``) and ``invoiceDocument`` when an
invoice document is sent. Warning and rule ids must be the lifecycle's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.documents.document import Document, JsonPath
from engine.documents.suggest import did_you_mean
from engine.errors import RulesetError
from engine.language.lifecycle import Fields, Lifecycle
from engine.language.operators.case import CaseValue

__all__ = ["EXPECT_KEYS", "Expect", "case_targets", "read_expect"]

EXPECT_KEYS = ("status", "works_order", "documents", "charges", "warnings", "fired", "operations")
_OPS = {"create", "update", "attach", "post"}
_KINDS = {"works_order", "document", "charge"}


@dataclass(frozen=True, slots=True)
class Expect:
    """What a step must leave: only the keys in `lines` are asserted (``works_order`` given
    with the value None means "no works order"); `lines` maps each to its line."""

    line: int
    status: str | None = None
    works_order: Mapping[str, Any] | None = None
    documents: tuple[str, ...] = ()
    charges: tuple[Mapping[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    fired: tuple[str, ...] = ()
    operations: tuple[tuple[str, str], ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict)

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys asserted, in the file's order."""
        return tuple(self.lines)


def read_expect(
    document: Document,
    path: JsonPath,
    lifecycle: Lifecycle,
    errors: list[RulesetError],
    *,
    check_ids: bool = True,
) -> Expect | None:
    """The ``expect:`` block at `path` of `document`, or None with its problems added to
    `errors` (an unknown key with a "did you mean", a field Alto's works order or charge does
    not have, a status, works-order status or rule id the lifecycle does not have).

    Example:
        >>> from engine import load_ruleset
        >>> from engine.documents.document import parse_document
        >>> doc = parse_document(b"expect: {status: Closd}", "s.yaml")
        >>> errors = []
        >>> lifecycle = load_ruleset("rulesets/alto-fixflo/v2.yaml").lifecycle
        >>> read_expect(doc, ("expect",), lifecycle, errors), [str(e) for e in errors]
        (None, ["s.yaml:1:18: unknown-status: no status 'Closd' (did you mean 'Closed'?)"])
    """
    raw = _at(document.data, path)
    if not isinstance(raw, Mapping) or not raw:
        errors.append(
            document.error(path, "bad-expect", "'expect' maps keys such as status, charges")
        )
        return None
    reader = _Reader(document, lifecycle, errors, check_ids)
    before = len(errors)
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key, value in raw.items():
        where = (*path, key)
        if key not in EXPECT_KEYS:
            hint = did_you_mean(str(key), EXPECT_KEYS) or f"; use {', '.join(EXPECT_KEYS)}"
            errors.append(
                document.error(where, "unknown-key", f"unknown key {key!r}{hint}", at_key=True)
            )
            continue
        lines[key] = document.key_where(where)[0]
        values[key] = getattr(reader, key)(where, value)
    if len(errors) > before:
        return None
    return Expect(line=document.key_where(path)[0], lines=lines, **values)


@dataclass
class _Reader:
    document: Document
    lifecycle: Lifecycle
    errors: list[RulesetError]
    check_ids: bool = True
    """False when the file was written for another version of the ruleset (`rulebridge test
    --ruleset`): rule ids and field names it does not have are left for the check to fail."""

    def fail(self, path: JsonPath, code: str, message: str) -> None:
        self.errors.append(self.document.error(path, code, message))

    def status(self, path: JsonPath, value: Any) -> str | None:
        return self._one_of(path, value, self.lifecycle.statuses, "status")

    def works_order(self, path: JsonPath, value: Any) -> Mapping[str, Any] | None:
        if value is None or value == "none":
            return None
        if not isinstance(value, Mapping):
            self.fail(path, "bad-expect", "'works_order' is 'none' or a mapping of its fields")
            return None
        self._fields(path, value, works_order_fields(self.lifecycle), "works-order")
        if "status" in value:
            self._one_of(
                (*path, "status"),
                value["status"],
                self.lifecycle.works_order_statuses,
                "works-order status",
            )
        return dict(value)

    def documents(self, path: JsonPath, value: Any) -> tuple[str, ...]:
        return tuple(str(item) for item in self._list(path, value, "file names"))

    def charges(self, path: JsonPath, value: Any) -> tuple[Mapping[str, Any], ...]:
        found: list[Mapping[str, Any]] = []
        known = charge_fields(self.lifecycle)
        for index, item in enumerate(self._list(path, value, "charges")):
            where = (*path, index)
            if not isinstance(item, Mapping):
                self.fail(where, "bad-expect", "a charge is a mapping such as {post: property}")
                continue
            self._fields(where, item, known, "charge")
            if item.get("post", "*") not in ("*", "property", "tenancy"):
                self.fail((*where, "post"), "bad-value", "'post' is property or tenancy")
            found.append(dict(item))
        return tuple(found)

    def warnings(self, path: JsonPath, value: Any) -> tuple[str, ...]:
        return self._ids(path, value, warning_ids(self.lifecycle), "warning")

    def fired(self, path: JsonPath, value: Any) -> tuple[str, ...]:
        return self._ids(path, value, fired_ids(self.lifecycle), "rule")

    def operations(self, path: JsonPath, value: Any) -> tuple[tuple[str, str], ...]:
        found: list[tuple[str, str]] = []
        for index, item in enumerate(self._list(path, value, "operations")):
            where = (*path, index)
            if not isinstance(item, Mapping) or set(item) != {"op", "kind"}:
                self.fail(where, "bad-expect", "an operation is {op: OP, kind: KIND}")
                continue
            op = self._one_of((*where, "op"), item["op"], sorted(_OPS), "op")
            kind = self._one_of((*where, "kind"), item["kind"], sorted(_KINDS), "kind")
            if op is not None and kind is not None:
                found.append((op, kind))
        return tuple(found)

    def _list(self, path: JsonPath, value: Any, what: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, "bad-expect", f"a list of {what} ([] for none)")
            return []
        return value

    def _ids(self, path: JsonPath, value: Any, known: set[str], what: str) -> tuple[str, ...]:
        items = self._list(path, value, f"{what} ids")
        for index, item in enumerate(items if self.check_ids else ()):
            self._one_of((*path, index), item, sorted(known), what, code=f"unknown-{what}")
        return tuple(str(item) for item in items)

    def _one_of(
        self, path: JsonPath, value: Any, known: Any, what: str, *, code: str = ""
    ) -> str | None:
        if isinstance(value, str) and value in known:
            return value
        hint = did_you_mean(str(value), known) or f"; one of {', '.join(known)}"
        code = code or f"unknown-{what.replace(' ', '-')}"
        self.fail(path, code, f"no {what} {value!r}{hint}")
        return None

    def _fields(self, path: JsonPath, value: Mapping[str, Any], known: set[str], what: str) -> None:
        for name, where in _leaf_paths(value, path):
            if self.check_ids and name not in known:
                choices = sorted(known)
                hint = did_you_mean(name, choices) or f"; fields: {', '.join(choices)}"
                self.errors.append(
                    self.document.error(
                        where, "unknown-field", f"no {what} field {name!r}{hint}", at_key=True
                    )
                )


def _leaf_paths(
    data: Mapping[str, Any], path: JsonPath, prefix: str = ""
) -> Iterator[tuple[str, JsonPath]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and name != "*":
            yield from _leaf_paths(value, (*path, key), name + ".")
        else:
            yield name, (*path, key)


def _at(data: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _with_prefixes(names: list[str]) -> set[str]:
    """Each dotted name and each of its leading parts (``a.b`` -> ``a``, ``a.b``)."""
    found: set[str] = set()
    for name in names:
        parts = name.split(".")
        found |= {".".join(parts[:end]) for end in range(1, len(parts) + 1)}
    return found


def _status_sets(lifecycle: Lifecycle) -> Iterator[Fields]:
    for spec in lifecycle.statuses.values():
        yield spec.set
        for case in spec.cases:
            yield dict(case.changes).get("set", ())


def works_order_fields(lifecycle: Lifecycle) -> set[str]:
    """The works-order fields the ruleset writes (and their leading parts), status, id."""
    names = [name for name, _ in lifecycle.works_order_fields]
    names += [name for fields in _status_sets(lifecycle) for name, _ in fields]
    return _with_prefixes([*names, "status", "id"])


def charge_fields(lifecycle: Lifecycle) -> set[str]:
    """The fields of a charge the ruleset posts, and where it went."""
    names = ["id", "post", "targetId"]
    for policy in lifecycle.charges.values():
        names += [name for name, _ in policy.fields]
        names += [policy.link] if policy.link else []
        names += [route.tenant_field for route in policy.routes if route.tenant_field]
        names += ["invoiceDocument"] if policy.invoice_document else []
    return _with_prefixes(names)


def warning_ids(lifecycle: Lifecycle) -> set[str]:
    """Every id a warning can lead with: lifecycle warnings, requirements, routes, charges."""
    ids = {warning.id for warning in lifecycle.warnings}
    ids |= {rule.id for rule in lifecycle.works_order_require}
    for name, policy in lifecycle.charges.items():
        ids |= {rule.id for rule in policy.require} | {route.id for route in policy.routes}
        ids.add(name)
    return ids


def fired_ids(lifecycle: Lifecycle) -> set[str]:
    """Every id that can fire: statuses, status cases, requirements, case branches."""
    ids = {spec.id for spec in lifecycle.statuses.values()}
    ids |= {case.id for spec in lifecycle.statuses.values() for case in spec.cases}
    ids |= {rule.id for rule in lifecycle.works_order_require}
    ids |= {rule.id for policy in lifecycle.charges.values() for rule in policy.require}
    return ids | set(case_targets(lifecycle))


def case_targets(lifecycle: Lifecycle) -> dict[str, str]:
    """Each ``case`` branch id of the lifecycle to the field it chooses, as
    ``works_order.FIELD`` or ``charges.FIELD``."""
    found: dict[str, str] = {}
    groups: list[tuple[str, Fields]] = [("works_order", lifecycle.works_order_fields)]
    groups += [("works_order", fields) for fields in _status_sets(lifecycle)]
    groups += [("charges", policy.fields) for policy in lifecycle.charges.values()]
    for prefix, fields in groups:
        for name, value in fields:
            if isinstance(value, CaseValue):
                for branch in value.branches:
                    if branch.id is not None:
                        found[branch.id] = f"{prefix}.{name}"
    return found
