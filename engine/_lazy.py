"""Public names a package imports on first use (PEP 562), so importing the package, or any
module in it, does not load what only some commands need (the state store, SQLite, the
planner).

A package names each such public name's home module in a mapping and installs the two
module hooks::

    _HOMES = {"make_plan": "engine.sync.planner"}
    if not TYPE_CHECKING:  # the type checker sees the names through TYPE_CHECKING imports
        __getattr__, __dir__ = lazy_names(__name__, _HOMES)

Example:
    >>> getattr_, dir_ = lazy_names("engine", {"Plan": "engine.sync.plan"})
    >>> getattr_("Plan").__name__, "Plan" in dir_()
    ('Plan', True)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` (import a name's home on first use and keep the name in
    the package) and ``__dir__`` (its names, the lazy ones included before first use).

    Raises (from the returned ``__getattr__``):
        AttributeError: a name the package does not have.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *homes})

    return __getattr__, __dir__
