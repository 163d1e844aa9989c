"""The rulebridge TUI (Textual): step a Fixflo issue through a ruleset's lifecycle.

`make_app` and `RulebridgeApp` are imported on first use (PEP 562), so ``tui.model`` and
``tui.render``, which hold no Textual code, load without Textual.

Example::

    from tui import make_app
    make_app("rulesets/alto-fixflo/v2.yaml", seed=7).run()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the type checker sees the names; at run time `__getattr__` loads them
    from tui.app import RulebridgeApp, make_app

__all__ = ["RulebridgeApp", "make_app"]

_HOMES = {"RulebridgeApp": "tui.app", "make_app": "tui.app"}

if not TYPE_CHECKING:  # hidden from the type checker, which would otherwise accept any name

    def __getattr__(name: str) -> Any:
        """Import a public name's module on first use and keep the name here."""
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """The module's names, the public ones included before they are first used."""
    return sorted({*globals(), *__all__})
