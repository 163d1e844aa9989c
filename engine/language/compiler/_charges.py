"""Compile the ``charges:`` section into `ChargePolicy`s (part of the lifecycle compile).

Checked, each error located: `require` rules as any rule; each route of `to` (a tenancy
route needs `tenant` and `tenant_field`, a property route takes neither; a route after one
without `when` is never tried); `property` must be a works-order map field; the invoice
document's `from` must be a declared part. The parts a charge reads are noted for
`Lifecycle.parts_read`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from engine.documents.document import JsonPath
from engine.language.lifecycle import ChargePolicy, ChargeRoute, Fields, InvoiceDocument
from engine.language.rule import Rule

if TYPE_CHECKING:
    from engine.language.compiler._state import Compiling

__all__ = ["ChargeCompiler", "summary"]


class Pieces(Protocol):
    """What the lifecycle compiler lends the charge compiler."""

    compiler: Compiling
    source: str

    def read(self, piece: str, found: set[str]) -> None: ...
    def claim(self, rule_id: str, path: JsonPath) -> bool: ...
    def rules(self, specs: list[Any], path: JsonPath) -> tuple[Rule, ...]: ...
    def fields(self, spec: Mapping[str, Any], path: JsonPath) -> Fields: ...
    def known_all(self, name: Any, known: set[str], path: JsonPath, what: str) -> bool: ...
    def known_from(self, name: Any, path: JsonPath, *, report: bool) -> bool: ...


class ChargeCompiler:
    """Compiles every charge policy; `works_fields` are the works-order map's field names."""

    def __init__(self, pieces: Pieces, works_fields: set[str]) -> None:
        self.pieces = pieces
        self.compiler = pieces.compiler
        self.works_fields = works_fields

    def charges(self) -> dict[str, ChargePolicy]:
        """Every charge policy that compiled (errors recorded for the rest)."""
        charges = {}
        for name, spec in self.compiler.section("charges").items():
            with self.compiler.conditions.recording() as found:
                policy = self.charge(name, spec, ("charges", name))
            self.pieces.read(f"charge:{name}", found | self.invoice_part(spec))
            if policy is not None:
                charges[name] = policy
        return charges

    def invoice_part(self, spec: Mapping[str, Any]) -> set[str]:
        document = spec.get("invoice_document")
        return {str(document["from"])} if isinstance(document, Mapping) else set()

    def charge(self, name: str, spec: Mapping[str, Any], path: JsonPath) -> ChargePolicy | None:
        require = self.pieces.rules(spec["require"], path)
        fields = self.pieces.fields(spec["map"], (*path, "map"))
        routes = self.routes(spec.get("to", []), (*path, "to"))
        property_field = str(spec.get("property", "propertyId"))
        self.pieces.known_all(
            property_field, self.works_fields, (*path, "property"), "works order map field"
        )
        document = self.invoice_document(spec.get("invoice_document"), (*path, "invoice_document"))
        link = spec.get("link")
        if link is not None and link in {field for field, _ in fields}:
            self.compiler.fail(
                (*path, "link"),
                "link-mapped",
                f"{link!r} is also under 'map:'; the works order's id fills it, so drop it "
                "from the map",
            )
        return ChargePolicy(
            name,
            summary(spec),
            require,
            fields,
            routes,
            property_field,
            None if link is None else str(link),
            document,
        )

    def routes(self, specs: list[Any], path: JsonPath) -> tuple[ChargeRoute, ...]:
        found = []
        always: int | None = None
        for index, spec in enumerate(specs):
            where: JsonPath = (*path, index)
            if always is not None:
                self.compiler.fail(
                    where,
                    "unreachable-route",
                    f"route {spec['id']!r} is never tried: route {always} before it has no "
                    "'when:', so it always holds; move it last or give it a 'when:'",
                )
            route = self.route(spec, where)
            if "when" not in spec and always is None:
                always = index
            if route is not None:
                found.append(route)
        return tuple(found)

    def route(self, spec: Mapping[str, Any], path: JsonPath) -> ChargeRoute | None:
        claimed = self.pieces.claim(spec["id"], path)
        conditions, values = self.compiler.conditions, self.compiler.values
        check = (
            conditions.compile(spec["when"], (*path, "when"), self.pieces.source, spec["id"])
            if "when" in spec
            else None
        )
        post = spec["post"]
        tenant = None
        if post == "tenancy":
            for key in ("tenant", "tenant_field"):
                if key not in spec:
                    self.compiler.fail(
                        path,
                        "missing-key",
                        f"a 'post: tenancy' route needs '{key}:' (tenant: the field giving the "
                        "tenant's contact id; tenant_field: the charge field for the tenancy's "
                        "tenant id)",
                        True,
                    )
            if "tenant" in spec:
                tenant = values.compile(
                    spec["tenant"], (*path, "tenant"), self.pieces.source, spec["id"]
                )
        else:
            for key in ("tenant", "tenant_field"):
                if key in spec:
                    self.compiler.fail(
                        (*path, key),
                        "stray-key",
                        f"'{key}' goes with 'post: tenancy' only; a property route posts to "
                        "the works order's property",
                        True,
                    )
        if not claimed or ("when" in spec and check is None):
            return None
        if post == "tenancy" and (tenant is None or "tenant_field" not in spec):
            return None
        return ChargeRoute(
            spec["id"],
            summary(spec),
            check,
            post,
            tenant,
            str(spec["tenant_field"]) if post == "tenancy" else None,
        )

    def invoice_document(self, spec: Any, path: JsonPath) -> InvoiceDocument | None:
        if not isinstance(spec, Mapping):
            return None
        known = self.pieces.known_from(spec["from"], (*path, "from"), report=False)
        name = self.compiler.values.compile(
            spec["name"], (*path, "name"), self.pieces.source, "invoice_document"
        )
        return InvoiceDocument(str(spec["from"]), name) if known and name is not None else None


def summary(spec: Mapping[str, Any]) -> str:
    """A rule's `summary` on one line (empty when it has none)."""
    return " ".join(str(spec.get("summary", "")).split())
