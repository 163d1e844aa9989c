"""The lazy `rulebridge` group: importing it or listing its commands loads no command, and the
listing says what the commands themselves say.

Every command's own ``--help`` (with its ``Example:``) is checked through this group by
``test_cli.py::test_every_command_has_help_with_an_example``.
"""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

import rulebridge.cli
from rulebridge.cli import _lazy, main
from rulebridge.cli._lazy import LazyCommand, LazyGroup

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlite_utils", "jsonschema", "textual", "adapters", "engine.language", "httpx")
COMMAND_MODULES = sorted({lazy.target.partition(":")[0] for lazy in main.lazy.values()})


def modules_after(code: str) -> list[str]:
    """Run `code` in a fresh interpreter; the names in its ``sys.modules`` afterwards."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_cli_loads_no_command_and_nothing_heavy() -> None:
    loaded = modules_after("import rulebridge.cli")
    assert [name for name in HEAVY if name in loaded] == []
    assert [name for name in COMMAND_MODULES if name in loaded] == []


def test_help_lists_every_command_without_importing_one() -> None:
    code = "from rulebridge.cli import main\nmain(['--help'], standalone_mode=False)"
    loaded = modules_after(code)
    assert [name for name in HEAVY if name in loaded] == []
    assert [name for name in COMMAND_MODULES if name in loaded] == []


def test_a_command_loads_its_own_module_only() -> None:
    code = "from rulebridge.cli import main\nmain(['schema', '--help'], standalone_mode=False)"
    loaded = modules_after(code)
    assert "rulebridge.cli.schema" in loaded
    assert [name for name in COMMAND_MODULES if name in loaded] == ["rulebridge.cli.schema"]
    assert "textual" not in loaded


@pytest.mark.parametrize("name", sorted(main.lazy))
def test_each_summary_is_the_first_paragraph_of_its_help(name: str) -> None:
    command = main.get_command(click.Context(main), name)
    assert command is not None
    assert command.name == name
    assert command.help is not None
    assert " ".join(command.help.partition("\n\n")[0].split()) == main.lazy[name].summary


@pytest.mark.parametrize("width", [40, 80, 120, 1000])
def test_the_listing_is_what_click_lists_from_the_real_commands(width: int) -> None:
    ctx = click.Context(main, info_name="rulebridge", terminal_width=width, max_content_width=width)
    lazy, stock = ctx.make_formatter(), ctx.make_formatter()
    main.format_commands(ctx, lazy)
    click.Group.format_commands(main, ctx, stock)  # click's own: imports every command
    assert "Commands:" in lazy.getvalue()
    assert lazy.getvalue() == stock.getvalue()


def test_commands_added_eagerly_are_listed_beside_the_lazy_ones() -> None:
    group = LazyGroup("tool", lazy={"later": LazyCommand("nowhere.at.all:later", "Not yet.")})
    group.add_command(click.Command("now", help="Here already."))
    ctx = click.Context(group)
    assert group.list_commands(ctx) == ["later", "now"]
    formatter = ctx.make_formatter()
    group.format_commands(ctx, formatter)
    assert formatter.getvalue().split() == [
        "Commands:",
        "later",
        "Not",
        "yet.",
        "now",
        "Here",
        "already.",
    ]


def test_a_target_that_is_not_a_command_is_refused() -> None:
    group = LazyGroup("tool", lazy={"bad": LazyCommand("rulebridge.cli._help:CONTEXT", "Bad.")})
    with pytest.raises(TypeError, match="not a click command"):
        group.get_command(click.Context(group), "bad")


def test_the_package_exports_main_only() -> None:
    assert rulebridge.cli.__all__ == ["main"]
    assert _lazy.__all__ == ["LazyCommand", "LazyGroup"]


def test_the_lazy_module_example_runs() -> None:
    result = doctest.testmod(_lazy)
    assert result.attempted > 0
    assert result.failed == 0
