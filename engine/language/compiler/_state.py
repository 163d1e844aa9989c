"""What the compiler's parts (sync policies, the lifecycle, its graph) need of the whole.

The document compiler (`_ruleset._Compiler`) holds the state of one compile: the document,
the declarations, the condition and value compilers and the error list. Its parts receive
it through this protocol, so none of them imports the compiler that calls them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from engine.documents.document import Document, JsonPath
from engine.language._declarations import Declarations
from engine.language.operators.conditions import ConditionCompiler
from engine.language.operators.transforms import ValueCompiler

__all__ = ["Compiling"]


class Compiling(Protocol):
    """One compile in progress: its document, declarations, sub-compilers and errors."""

    document: Document
    decls: Declarations
    conditions: ConditionCompiler
    values: ValueCompiler

    def broken(self, path: JsonPath) -> bool:
        """Whether `path` lies under a part the schema already rejected."""

    def section(self, *path: str | int) -> Mapping[str, Any]:
        """The mapping at `path` (empty when absent or not a mapping)."""

    def fail(self, path: JsonPath, code: str, message: str, at_key: bool = False) -> None:
        """Record an error at `path`."""

    def known_source(self, name: str, path: JsonPath) -> bool:
        """Whether source `name` is declared (an error at `path` when not)."""

    def id_nodes(self) -> list[tuple[JsonPath, str]]:
        """Every (path, id) of the ruleset."""
