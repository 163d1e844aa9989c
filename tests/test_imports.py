"""Start-up stays lean: what the TUI and the everyday commands import, and lazy names resolve.

Design 22 (decision 13): the TUI paints its stepper in under a second, so its import path
must not load the state store (SQLite through sqlite_utils), the HTTP client, the fake
servers or the round-trip YAML library; ``rulebridge --help`` and ``rulebridge validate``
must not load Textual, the store or httpx either. Design 21 (decision 5): ``validate`` of
either shipped ruleset loads only what checking it needs, and reading or writing a document
does not load jsonschema. Each case runs in a fresh interpreter
(what a process has imported is global), and reports ``sys.modules`` back as JSON.

`engine`, `engine.sync`, `engine.issues` and `tui` resolve their public names on first use (PEP
562): every name in their ``__all__`` must still be there, be the very object its home
module defines, and stay so after every submodule was imported (a submodule bound on its
package must not shadow a public name).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULESET = "rulesets/alto-fixflo/v2.yaml"
SHIPPED_RULESETS = ("rulesets/jupix-alto/v1.yaml", RULESET)
LAZY_PACKAGES = ("engine", "engine.documents", "engine.sync", "engine.issues", "tui")


def _imported(code: str) -> set[str]:
    """Top-level and dotted names of every module a fresh interpreter holds after `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return set(names)


def _loaded(modules: set[str], package: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for name in modules)


def _cli(*args: str) -> str:
    """Code that runs ``rulebridge ARGS`` in-process, as ``python -m rulebridge`` does."""
    return (
        "from rulebridge.cli import main\n"
        f"try:\n    main({list(args)!r})\nexcept SystemExit as stop:\n"
        "    assert stop.code in (0, None), stop.code\n"
    )


TUI_NEVER = ("sqlite_utils", "sqlite3", "httpx", "starlette", "uvicorn", "ruamel", "adapters")


@pytest.mark.parametrize(
    "code",
    [
        "import tui.app",
        f"from tui.app import make_app\nmake_app({RULESET!r})",
    ],
    ids=["import", "make_app"],
)
def test_the_tui_starts_without_the_store_http_or_the_fakes(code: str) -> None:
    modules = _imported(code)
    assert _loaded(modules, "textual")  # the case did load the TUI
    loaded = [package for package in TUI_NEVER if _loaded(modules, package)]
    assert loaded == [], f"the TUI's start-up imports {loaded}"
    assert not _loaded(modules, "engine.store")
    assert not _loaded(modules, "simulator.fake")


COMMANDS_NEVER = ("textual", "sqlite_utils", "sqlite3", "httpx", "starlette", "uvicorn")


def test_help_imports_no_command_and_no_heavy_library() -> None:
    modules = _imported(_cli("--help"))
    assert _loaded(modules, "click")
    loaded = [package for package in (*COMMANDS_NEVER, "jsonschema") if _loaded(modules, package)]
    assert loaded == []
    assert not _loaded(modules, "engine")
    assert not _loaded(modules, "tui")


# Design 21 (decision 5): `validate` of one ruleset loads what checking it needs and no more
VALIDATE_NEVER = (
    *COMMANDS_NEVER,
    "ruamel",  # the layout-keeping YAML library: `fmt` only
    "adapters",
    "simulator",
    "tui",
    "engine.store",
    "engine.sync",
    "engine.issues",
    "engine.migration",
    "engine.snapshot",
)


@pytest.mark.parametrize("ruleset", SHIPPED_RULESETS)
def test_validate_imports_neither_textual_nor_the_store_nor_http(ruleset: str) -> None:
    modules = _imported(_cli("validate", ruleset))
    assert _loaded(modules, "jsonschema")  # it did check the file against the schema
    assert "engine.language.compiler" in modules  # and compiled it
    loaded = [package for package in VALIDATE_NEVER if _loaded(modules, package)]
    assert loaded == []


def test_reading_and_writing_a_document_does_not_load_the_schema_checker() -> None:
    """`fmt`, the TUI's scenario files: jsonschema is for `check_schema` alone."""
    code = (
        "from engine.documents import dump_yaml, load_document\n"
        f"dump_yaml(load_document({RULESET!r}).data)"
    )
    modules = _imported(code)
    assert "engine.documents.document" in modules
    assert not _loaded(modules, "jsonschema")
    assert not _loaded(modules, "engine.language")
    formatted = _imported(_cli("fmt", "--check", RULESET))
    assert _loaded(formatted, "ruamel")  # it did lay the file out
    assert not _loaded(formatted, "jsonschema")


def test_importing_engine_loads_none_of_its_parts() -> None:
    modules = _imported("import engine")
    assert not _loaded(modules, "engine.language")
    assert not _loaded(modules, "engine.sync")
    assert not _loaded(modules, "yaml")


def test_the_tui_model_and_render_load_without_textual() -> None:
    modules = _imported("import tui.model, tui.render")
    assert "tui.render.panes" in modules
    assert not _loaded(modules, "textual")


def test_the_tui_reconcile_path_does_not_load_the_issue_store() -> None:
    modules = _imported("from engine.issues import reconcile, IssueOps")
    assert "engine.issues.reconcile" in modules
    assert not _loaded(modules, "engine.issues.apply")
    assert not _loaded(modules, "engine.store")
    assert not _loaded(modules, "sqlite_utils")


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_public_name_resolves_to_its_home_modules_object(package: str) -> None:
    module = importlib.import_module(package)
    homes: dict[str, str] = getattr(module, "_HOMES", {})
    for name in module.__all__:
        value = getattr(module, name)
        assert not isinstance(value, type(module)), f"{package}.{name} is a module"
        home = homes.get(name)
        if home is not None:
            assert value is getattr(importlib.import_module(home), name), f"{package}.{name}"
    assert set(module.__all__) <= set(dir(module))
    assert set(homes) <= set(module.__all__), "a lazy name missing from __all__"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_public_names_survive_every_submodule_being_imported(package: str) -> None:
    """In a fresh interpreter: import all submodules first, then read every public name."""
    code = (
        "import importlib, pkgutil, types\n"
        f"package = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "    importlib.import_module(info.name)\n"
        "for name in package.__all__:\n"
        "    value = getattr(package, name)\n"
        "    assert not isinstance(value, types.ModuleType), name\n"
        "    home = getattr(package, '_HOMES', {}).get(name)\n"
        "    assert home is None or value is getattr(importlib.import_module(home), name), name\n"
    )
    _imported(code)


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_an_unknown_name_is_an_attribute_error_naming_it(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = module.no_such_name
