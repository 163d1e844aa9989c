"""Compile the ``lifecycle:`` and ``charges:`` sections into a `Lifecycle`.

Checked at load time, each error located: an unknown source, field, status, works order
status, attachment, charge or part (with a "did you mean"); a rule id used twice; an
identity or `property:` naming no works-order map field; an attachment or invoice document
`from` that is neither a declared part nor ``IssueReport``; a tenancy route without its
tenant; and the state machine itself: a status no event reaches from the start, a status
other than a final one that no event leaves (a dead end), and an event with no effect (it
leads back to where it started and sets nothing).

Which parts each status reads (`Lifecycle.parts_read`) is found here, from the fields the
rules applying at that status read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from engine.documents.document import JsonPath
from engine.documents.suggest import did_you_mean
from engine.language.compiler._charges import ChargeCompiler, summary
from engine.language.compiler._graph import check_graph, check_progress
from engine.language.lifecycle import (
    ISSUE_REPORT,
    AttachRule,
    ChargePolicy,
    Event,
    Fields,
    Lifecycle,
    LifecycleWarning,
    Part,
    StatusCase,
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
        self.parts = declared_parts(compiler, source)
        self.quiet: set[str] = set()
        """Ids of the ``require`` rules marked ``quiet:`` (unmet: no warning)."""
        self.reads: dict[str, frozenset[str]] = {}
        """The parts each piece reads: works_order, status:NAME, attach:NAME, charge:NAME."""

    def read(self, piece: str, found: set[str]) -> None:
        """Note the parts among the fields `found` that `piece` reads."""
        declared = self.compiler.decls.sources[self.source]
        parts = {declared.part_of(name) for name in found}
        self.reads[piece] = self.reads.get(piece, frozenset()) | {p for p in parts if p}

    def build(self, spec: Mapping[str, Any]) -> Lifecycle | None:
        base: JsonPath = ("lifecycle",)
        status = self.field(spec["status"], (*base, "status"))
        revision = self.field(spec.get("revision"), (*base, "revision"))
        works = spec.get("works_order", {})
        statuses_of_works = tuple(works.get("statuses", ()))
        with self.compiler.conditions.recording() as found:
            require = self.rules(works.get("require", []), (*base, "works_order"))
            works_fields = self.fields(works.get("map", {}), (*base, "works_order", "map"))
        self.read("works_order", found)
        identity = self.identity(works, works_fields)
        charges = ChargeCompiler(self, {name for name, _ in works_fields}).charges()
        attachments = self.attachments(spec.get("attachments", {}))
        statuses = self.statuses(spec["statuses"], statuses_of_works, attachments, charges)
        events = self.events(spec["events"], statuses)
        warnings = self.warnings(spec.get("warnings", []))
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
            works_order_require=require,
            works_order_fields=works_fields,
            attachments=MappingProxyType(attachments),
            warnings=warnings,
            charges=MappingProxyType(charges),
            revision_field=revision,
            works_order_identity=identity,
            document_link=str(works.get("document_link", "WorkOrder")),
            quiet=frozenset(self.quiet),
            parts=MappingProxyType(self.parts),
            parts_by_status=MappingProxyType(
                {name: self.parts_at(spec_) for name, spec_ in statuses.items()}
            ),
        )

    def parts_at(self, status: StatusSpec) -> frozenset[str]:
        """The parts read by every rule that may apply at `status` (all its cases)."""
        variants = [status] + [_applied(status, case) for case in status.cases]
        found: set[str] = set(self.reads.get(f"status:{status.name}", frozenset()))
        for variant in variants:
            if variant.works_order is not None:
                found |= self.reads.get("works_order", frozenset())
            for name in variant.attach:
                found |= self.reads.get(f"attach:{name}", frozenset())
            if variant.charge is not None:
                found |= self.reads.get(f"charge:{variant.charge}", frozenset())
        for index, warning in enumerate(self.compiler.section("lifecycle").get("warnings", [])):
            if isinstance(warning, Mapping) and status.name in warning.get("at", []):
                found |= self.reads.get(f"warning:{index}", frozenset())
        return frozenset(found)

    def identity(self, works: Mapping[str, Any], fields: Fields) -> tuple[str, ...]:
        """The works-order identity: names of works-order map fields (each checked)."""
        mapped = {name for name, _ in fields} | set(works.get("map", {}))
        names = [str(name) for name in works.get("identity", [])]
        path: JsonPath = ("lifecycle", "works_order", "identity")
        for index, name in enumerate(names):
            self.known_all(name, mapped, (*path, index), "works order map field")
        return tuple(names)

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

    def known_from(self, name: Any, path: JsonPath, *, report: bool) -> bool:
        """Whether `name` is a declared part (or, with `report`, ``IssueReport``)."""
        known = set(self.parts) | ({ISSUE_REPORT} if report else set())
        return self.known_all(name, known, path, "part" if not report else "document source")

    def rules(self, specs: list[Any], path: JsonPath) -> tuple[Rule, ...]:
        rules = []
        for index, spec in enumerate(specs):
            where: JsonPath = (*path, "require", index)
            if not self.claim(spec["id"], where):
                continue
            if spec.get("quiet") is True:
                self.quiet.add(spec["id"])
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

    def attachments(self, specs: Mapping[str, Any]) -> dict[str, AttachRule]:
        found = {}
        for name, spec in specs.items():
            path: JsonPath = ("lifecycle", "attachments", name)
            with self.compiler.conditions.recording() as reads:
                value = self.compiler.values.compile(
                    spec["names"], (*path, "names"), self.source, spec["id"]
                )
            origin = spec.get("from", ISSUE_REPORT)
            self.read(f"attach:{name}", reads | ({origin} if origin in self.parts else set()))
            known = self.known_from(origin, (*path, "from"), report=True)
            if self.claim(spec["id"], path) and value is not None and known:
                found[name] = AttachRule(name, spec["id"], _summary(spec), value, origin)
        return found

    def statuses(
        self,
        specs: Mapping[str, Any],
        works_statuses: tuple[str, ...],
        attachments: Mapping[str, AttachRule],
        charges: Mapping[str, ChargePolicy],
    ) -> dict[str, StatusSpec]:
        known = _Known(works_statuses, attachments, charges)
        found = {}
        for name, spec in specs.items():
            path: JsonPath = ("lifecycle", "statuses", name)
            self.claim(spec["id"], path)
            with self.compiler.conditions.recording() as reads:
                changes = self.changes(spec, path, known)
                cases = self.cases(spec.get("cases", []), path, known)
            self.read(f"status:{name}", reads)
            found[name] = StatusSpec(
                name,
                spec["id"],
                _summary(spec),
                changes.get("works_order"),
                changes.get("set", ()),
                changes.get("attach", ()),
                changes.get("charge"),
                unchanged=spec.get("unchanged") is True,
                cases=cases,
            )
        return found

    def changes(self, spec: Mapping[str, Any], path: JsonPath, known: _Known) -> dict[str, Any]:
        """The status keys `spec` gives (works_order, set, attach, charge), each checked."""
        changes: dict[str, Any] = {}
        if "works_order" in spec:
            works = spec["works_order"]
            if works != _NONE:
                self.known_all(
                    works, {*known.works, _NONE}, (*path, "works_order"), "works order status"
                )
            changes["works_order"] = None if works == _NONE else works
        if "set" in spec:
            changes["set"] = self.fields(spec.get("set") or {}, (*path, "set"))
        if "attach" in spec:
            attach = tuple(spec.get("attach") or [])
            for index, item in enumerate(attach):
                self.known_all(item, set(known.attachments), (*path, "attach", index), "attachment")
            changes["attach"] = tuple(item for item in attach if item in known.attachments)
        if "charge" in spec:
            charge = spec["charge"]
            if charge != _NONE:
                self.known_all(charge, {*known.charges, _NONE}, (*path, "charge"), "charge")
            changes["charge"] = charge if charge in known.charges else None
        return changes

    def cases(self, specs: list[Any], path: JsonPath, known: _Known) -> tuple[StatusCase, ...]:
        found = []
        for index, spec in enumerate(specs):
            where: JsonPath = (*path, "cases", index)
            claimed = self.claim(spec["id"], where)
            check = self.compiler.conditions.compile(
                spec["when"], (*where, "when"), self.source, spec["id"]
            )
            changes = self.changes(spec, where, known)
            if claimed and check is not None:
                found.append(StatusCase(spec["id"], _summary(spec), check, tuple(changes.items())))
        return tuple(found)

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
            with self.compiler.conditions.recording() as reads:
                check = self.compiler.conditions.compile(
                    spec["when"], (*path, "when"), self.source, spec["id"]
                )
            self.read(f"warning:{index}", reads)
            if self.claim(spec["id"], path) and check is not None:
                found.append(
                    LifecycleWarning(spec["id"], _summary(spec), frozenset(spec["at"]), check)
                )
        return tuple(found)


@dataclass(frozen=True, slots=True)
class _Known:
    """What a status may name: works order statuses, attachments and charges."""

    works: tuple[str, ...]
    attachments: Mapping[str, AttachRule]
    charges: Mapping[str, ChargePolicy]


def _applied(status: StatusSpec, case: StatusCase) -> StatusSpec:
    return replace(status, **dict(case.changes))


def declared_parts(compiler: Compiling, source: str) -> dict[str, Part]:
    """The parts `source` declares, each checked: its gap must be a declared gap."""
    listed = compiler.document.data.get("gaps")  # not a list: the schema says so already
    gaps = {
        str(gap.get("id"))
        for gap in (listed if isinstance(listed, list) else [])
        if isinstance(gap, Mapping)
    }
    found = {}
    for name, spec in compiler.section("sources", source, "parts").items():
        path: JsonPath = ("sources", source, "parts", name)
        gap = spec.get("gap")
        if gap is not None and gap not in gaps:
            hint = did_you_mean(str(gap), gaps) or "; declare it under 'gaps:'"
            compiler.fail((*path, "gap"), "unknown-gap", f"no gap {gap!r}{hint}")
        line = compiler.document.where(path)[0]
        found[name] = Part(name, str(spec["read"]), None if gap is None else str(gap), line)
    return found


_summary = summary
