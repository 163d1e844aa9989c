"""Compile the ``lifecycle:`` and ``charges:`` sections into a `Lifecycle`.

Checked at load time, each error located: an unknown source, field, status, works order
status, attachment or charge (with a "did you mean"); a rule id used twice; and the state
machine itself: a status no event reaches from the start, a status other than a final one
that no event leaves (a dead end), and an event with no effect (it leads back to where it
started and sets nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from engine.documents.document import JsonPath
from engine.documents.suggest import did_you_mean
from engine.language.compiler._graph import check_graph, check_progress
from engine.language.lifecycle import (
    AttachRule,
    ChargePolicy,
    Event,
    Fields,
    Lifecycle,
    LifecycleWarning,
    StatusSpec,
)
from engine.language.paths import compile_path
from engine.language.rule import Rule

if TYPE_CHECKING:
    from engine.language.compiler._state import Compiling

__all__ = ["compile_lifecycle"]

_NONE = "none"


def compile_lifecycle(compiler: Compiling) -> Lifecycle | None:
    """The compiled lifecycle, or None when there is none (or it is too broken to build)."""
    spec = compiler.section("lifecycle")
    if not spec:
        if compiler.section("charges"):
            compiler.fail(("charges",), "missing-lifecycle", "charges need a 'lifecycle:'", True)
        return None
    if compiler.broken(("lifecycle",)) or compiler.broken(("charges",)):
        return None
    source = spec["source"]
    if not compiler.known_source(source, ("lifecycle", "source")):
        return None
    return _LifecycleCompiler(compiler, source).build(spec)


class _LifecycleCompiler:
    def __init__(self, compiler: Compiling, source: str) -> None:
        self.compiler = compiler
        self.source = source
        self.ids: dict[str, JsonPath] = {path_id: path for path, path_id in compiler.id_nodes()}

    def build(self, spec: Mapping[str, Any]) -> Lifecycle | None:
        base: JsonPath = ("lifecycle",)
        status = self.field(spec["status"], (*base, "status"))
        revision = self.field(spec.get("revision"), (*base, "revision"))
        works = spec.get("works_order", {})
        statuses_of_works = tuple(works.get("statuses", ()))
        charges = self.charges()
        attachments = self.attachments(spec.get("attachments", {}))
        statuses = self.statuses(spec["statuses"], statuses_of_works, attachments, charges)
        events = self.events(spec["events"], statuses)
        named = set(statuses)
        self.known_all(spec["start"], named, (*base, "start"), "status")
        for index, name in enumerate(spec.get("final", [])):
            self.known_all(name, named, (*base, "final", index), "status")
        check_graph(self.compiler, spec, statuses, events)
        check_progress(self.compiler, statuses, events, statuses_of_works)
        if status is None:
            return None
        return Lifecycle(
            source=self.source,
            status_field=status,
            read_status=compile_path(status),
            read_revision=compile_path(revision) if revision else None,
            read_key=self.compiler.decls.key_reader(self.source),
            start=spec["start"],
            final=frozenset(spec.get("final", [])),
            statuses=MappingProxyType(statuses),
            events=MappingProxyType(events),
            works_order_statuses=statuses_of_works,
            works_order_require=self.rules(works.get("require", []), (*base, "works_order")),
            works_order_fields=self.fields(works.get("map", {}), (*base, "works_order", "map")),
            attachments=MappingProxyType(attachments),
            warnings=self.warnings(spec.get("warnings", [])),
            charges=MappingProxyType(charges),
            revision_field=revision,
        )

    def field(self, reference: Any, path: JsonPath) -> str | None:
        if not isinstance(reference, str):
            return None
        return self.compiler.conditions.declared_field(reference, path, self.source)

    def known_all(self, name: Any, known: set[str], path: JsonPath, what: str) -> bool:
        if name in known:
            return True
        hint = did_you_mean(str(name), known) or f"; declare it or use one of {sorted(known)}"
        self.compiler.fail(path, f"unknown-{what.replace(' ', '-')}", f"no {what} {name!r}{hint}")
        return False

    def claim(self, rule_id: str, path: JsonPath) -> bool:
        """Register a rule id, reporting it when another rule already has it."""
        if rule_id in self.ids:
            line = self.compiler.document.where(self.ids[rule_id])[0]
            self.compiler.fail(
                (*path, "id"),
                "duplicate-rule-id",
                f"rule id {rule_id!r} is already used on line {line}; give each rule its own id",
            )
            return False
        self.ids[rule_id] = path
        return True

    def rules(self, specs: list[Any], path: JsonPath) -> tuple[Rule, ...]:
        rules = []
        for index, spec in enumerate(specs):
            where: JsonPath = (*path, "require", index)
            if not self.claim(spec["id"], where):
                continue
            check = self.compiler.conditions.compile(
                spec["when"], (*where, "when"), self.source, spec["id"]
            )
            if check is not None:
                line, column = self.compiler.document.where(where)
                summary = _summary(spec)
                rules.append(
                    Rule(spec["id"], "lifecycle", str(path[-1]), summary, line, column, check)
                )
        return tuple(rules)

    def fields(self, spec: Mapping[str, Any], path: JsonPath) -> Fields:
        found = []
        for target, value_spec in spec.items():
            value = self.compiler.values.compile(
                value_spec, (*path, target), self.source, f"lifecycle.{target}"
            )
            if value is not None:
                found.append((target, value))
        return tuple(found)

    def charges(self) -> dict[str, ChargePolicy]:
        charges = {}
        for name, spec in self.compiler.section("charges").items():
            path: JsonPath = ("charges", name)
            charges[name] = ChargePolicy(
                name,
                _summary(spec),
                self.rules(spec["require"], path),
                self.fields(spec["map"], (*path, "map")),
            )
        return charges

    def attachments(self, specs: Mapping[str, Any]) -> dict[str, AttachRule]:
        found = {}
        for name, spec in specs.items():
            path: JsonPath = ("lifecycle", "attachments", name)
            value = self.compiler.values.compile(
                spec["names"], (*path, "names"), self.source, spec["id"]
            )
            if self.claim(spec["id"], path) and value is not None:
                found[name] = AttachRule(name, spec["id"], _summary(spec), value)
        return found

    def statuses(
        self,
        specs: Mapping[str, Any],
        works_statuses: tuple[str, ...],
        attachments: Mapping[str, AttachRule],
        charges: Mapping[str, ChargePolicy],
    ) -> dict[str, StatusSpec]:
        found = {}
        for name, spec in specs.items():
            path: JsonPath = ("lifecycle", "statuses", name)
            self.claim(spec["id"], path)
            works = spec["works_order"]
            if works != _NONE:
                self.known_all(
                    works, {*works_statuses, _NONE}, (*path, "works_order"), "works order status"
                )
            attach = tuple(spec.get("attach", []))
            for index, item in enumerate(attach):
                self.known_all(item, set(attachments), (*path, "attach", index), "attachment")
            charge = spec.get("charge")
            if charge is not None:
                self.known_all(charge, set(charges), (*path, "charge"), "charge")
            found[name] = StatusSpec(
                name,
                spec["id"],
                _summary(spec),
                None if works == _NONE else works,
                self.fields(spec.get("set", {}), (*path, "set")),
                tuple(item for item in attach if item in attachments),
                charge if charge in charges else None,
            )
        return found

    def events(
        self, specs: Mapping[str, Any], statuses: Mapping[str, StatusSpec]
    ) -> dict[str, Event]:
        found = {}
        known = set(statuses)
        for name, spec in specs.items():
            path: JsonPath = ("lifecycle", "events", name)
            for index, status in enumerate(spec["from"]):
                self.known_all(status, known, (*path, "from", index), "status")
            self.known_all(spec["to"], known, (*path, "to"), "status")
            for index, field in enumerate(spec.get("sets", [])):
                self.field(field, (*path, "sets", index))
            guard = None
            if "when" in spec:
                guard = self.compiler.conditions.compile(
                    spec["when"], (*path, "when"), self.source, f"event:{name}"
                )
            found[name] = Event(
                name,
                _summary(spec),
                tuple(spec["from"]),
                spec["to"],
                guard,
                tuple(spec.get("sets", [])),
            )
        return found

    def warnings(self, specs: list[Any]) -> tuple[LifecycleWarning, ...]:
        found = []
        statuses = set(self.compiler.section("lifecycle", "statuses"))
        for index, spec in enumerate(specs):
            path: JsonPath = ("lifecycle", "warnings", index)
            for position, status in enumerate(spec["at"]):
                self.known_all(status, statuses, (*path, "at", position), "status")
            check = self.compiler.conditions.compile(
                spec["when"], (*path, "when"), self.source, spec["id"]
            )
            if self.claim(spec["id"], path) and check is not None:
                found.append(
                    LifecycleWarning(spec["id"], _summary(spec), frozenset(spec["at"]), check)
                )
        return tuple(found)


def _summary(spec: Mapping[str, Any]) -> str:
    return " ".join(str(spec.get("summary", "")).split())
