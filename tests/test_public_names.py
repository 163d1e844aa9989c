"""Every package's public names are exactly those recorded in ``tests/public-names.json``.

After httpx's ``test_exported_members.py``: a change to a package's ``__all__`` is a change
to what users may import, so it shows in review as a change to the recorded list. Each name
must exist and be defined inside the package that exports it.

To record a deliberate change: ``./dev python tests/test_public_names.py --write``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORDED = Path(__file__).with_name("public-names.json")
PACKAGES = ("engine", "adapters", "simulator", "tui", "rulebridge")


def _packages() -> list[str]:
    names = []
    for top in PACKAGES:
        for init in sorted((ROOT / top).rglob("__init__.py")):
            names.append(".".join(init.relative_to(ROOT).parent.parts))
    return names


def _exported(package: str) -> list[str]:
    return list(importlib.import_module(package).__all__)


def _recorded() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECORDED.read_text("utf-8"))
    return data


def test_every_package_is_recorded() -> None:
    assert sorted(_recorded()) == sorted(_packages())


@pytest.mark.parametrize("package", _packages())
def test_public_names_are_as_recorded(package: str) -> None:
    assert _exported(package) == _recorded().get(package), (
        f"{package}.__all__ changed; if that is meant, run "
        "`./dev python tests/test_public_names.py --write` and review the diff"
    )


@pytest.mark.parametrize("package", _packages())
def test_public_names_exist_and_are_defined_inside(package: str) -> None:
    module = importlib.import_module(package)
    top = package.split(".")[0]
    for name in module.__all__:
        value = getattr(module, name)
        if isinstance(value, type) or inspect.isfunction(value):
            assert value.__module__.split(".")[0] == top, f"{package}.{name}: {value.__module__}"


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    sys.path.insert(0, str(ROOT))
    listing = {package: _exported(package) for package in _packages()}
    RECORDED.write_text(json.dumps(listing, indent=2) + "\n", "utf-8")
    print(f"wrote {RECORDED.relative_to(ROOT)}: {len(listing)} packages")
