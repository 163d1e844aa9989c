"""Compile the ``gaps:`` section: every rule a gap names must look like a requirement id
or be a rule id of the ruleset, and what it uses instead must be declared (a source field,
a setting, or a rule whose listing a person reads). Each mistake gets a "did you mean"."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.documents.document import JsonPath
from engine.documents.suggest import did_you_mean
from engine.language.gaps import Gap, UsesKind

if TYPE_CHECKING:
    from engine.language.compiler._state import Compiling

__all__ = ["compile_gaps", "known_rule"]

# A requirement id of the catalogue: G-02, P-07, CH-05, J-12.
_REQUIREMENT_ID = re.compile(r"[A-Z]{1,3}-\d{2}")


def compile_gaps(compiler: Compiling) -> tuple[Gap, ...]:
    """The declared gaps whose references all check out (errors for the rest)."""
    listed = compiler.document.data.get("gaps")
    if not isinstance(listed, list):
        return ()
    ids = {rule_id for _, rule_id in compiler.id_nodes()}
    gaps = []
    for index, spec in enumerate(listed):
        path: JsonPath = ("gaps", index)
        if isinstance(spec, Mapping) and not compiler.broken(path):
            gap = _gap(compiler, spec, path, ids)
            if gap is not None:
                gaps.append(gap)
    return tuple(gaps)


def _gap(compiler: Compiling, spec: Mapping[str, Any], path: JsonPath, ids: set[str]) -> Gap | None:
    rules = [str(rule) for rule in spec["rules"]]
    known = [known_rule(compiler, rule, (*path, "rules", n), ids) for n, rule in enumerate(rules)]
    uses = _uses(compiler, spec["uses"], (*path, "uses"), ids)
    if not all(known) or uses is None:
        return None
    line, column = compiler.document.where(path)
    return Gap(
        str(spec["id"]),
        tuple(rules),
        str(spec["missing"]).strip(),
        str(spec["instead"]).strip(),
        uses,
        line,
        column,
    )


def known_rule(compiler: Compiling, rule: str, path: JsonPath, ids: set[str]) -> bool:
    """Whether `rule` is a requirement id or one of `ids` (an error with a hint when not)."""
    if rule in ids or _REQUIREMENT_ID.fullmatch(rule):
        return True
    hint = did_you_mean(rule, ids) or "; name a requirement id such as G-02 or a rule id"
    compiler.fail(path, "unknown-rule", f"no rule {rule!r} in this ruleset{hint}")
    return False


def _uses(
    compiler: Compiling, spec: Mapping[str, Any], path: JsonPath, ids: set[str]
) -> tuple[UsesKind, str] | None:
    if "field" in spec:
        return _field(compiler, str(spec["field"]), (*path, "field"))
    if "setting" in spec:
        name = str(spec["setting"])
        if name in compiler.decls.settings:
            return ("setting", name)
        hint = did_you_mean(name, compiler.decls.settings) or "; declare it under 'settings:'"
        compiler.fail((*path, "setting"), "unknown-setting", f"no setting {name!r}{hint}")
        return None
    if "listing" in spec:
        rule = str(spec["listing"])
        if rule in ids:
            return ("listing", rule)
        hint = did_you_mean(rule, ids) or "; name the id of the rule that lists the records"
        compiler.fail((*path, "listing"), "unknown-rule", f"no rule {rule!r}{hint}")
        return None
    return ("none", "")


def _field(compiler: Compiling, reference: str, path: JsonPath) -> tuple[UsesKind, str] | None:
    """``system.collection.path``: the source is the declared name the reference starts with."""
    sources = compiler.decls.sources
    source = next((name for name in sources if reference.startswith(name + ".")), None)
    if source is None:
        head = ".".join(reference.split(".")[:2])
        hint = did_you_mean(head, sources) or "; declare it under 'sources:'"
        compiler.fail(path, "unknown-source", f"no source {head!r} is declared{hint}")
        return None
    field = reference[len(source) + 1 :]
    if compiler.conditions.declared_field(field, path, source) is None:
        return None
    return ("field", reference)
