"""The `rulebridge` command: one click group; each command lives in a module of its own."""

from __future__ import annotations

import click

from rulebridge import (
    _apply_cmd,
    _deadletters_cmd,
    _demo_cmd,
    _explore_cmd,
    _fake_cmd,
    _generate_cmd,
    _history_cmd,
    _migrate_cmd,
    _plan_cmd,
    _run_cmd,
    _schema_cmd,
    _simulate_cmd,
    _snapshot_cmd,
    _tui_cmd,
    _validate_cmd,
)
from rulebridge._help import CONTEXT

__all__ = ["main"]


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="rulebridge")
def main() -> None:
    """rulebridge: versioned YAML rulesets for Alto, Fixflo and Jupix integrations.

    Example:

        rulebridge validate rulesets/
    """


main.add_command(_validate_cmd.validate)
main.add_command(_schema_cmd.schema)
main.add_command(_plan_cmd.plan)
main.add_command(_apply_cmd.apply_command)
main.add_command(_deadletters_cmd.deadletters)
main.add_command(_run_cmd.run_command)
main.add_command(_history_cmd.history)
main.add_command(_history_cmd.report)
main.add_command(_generate_cmd.generate)
main.add_command(_migrate_cmd.migrate_command)
main.add_command(_simulate_cmd.simulate)
main.add_command(_explore_cmd.explore_command)
main.add_command(_snapshot_cmd.snapshot)
main.add_command(_fake_cmd.fake)
main.add_command(_tui_cmd.tui)
main.add_command(_demo_cmd.demo)
