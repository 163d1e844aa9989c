"""Compile each source's ``label:``: how a person recognises one of its records (a contact's
name, a property's full address). Any value form is allowed, read on the source's row,
relations included; mistakes are located like those of any field map."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from engine.documents.document import JsonPath
from engine.language._declarations import SourceDecl

if TYPE_CHECKING:
    from engine.language.compiler._state import Compiling

__all__ = ["compile_labels"]


def compile_labels(compiler: Compiling) -> dict[str, SourceDecl]:
    """The declared sources, each with its compiled label (None when it declares none or the
    label failed to compile; the error is in the compiler's list)."""
    sources = dict(compiler.decls.sources)
    for name, declared in sources.items():
        spec = compiler.section("sources", name).get("label")
        path: JsonPath = ("sources", name, "label")
        if spec is None or compiler.broken(path):
            continue
        value = compiler.values.compile(spec, path, name, f"{name}.label")
        if value is not None:
            sources[name] = dataclasses.replace(declared, label=value)
    return sources
