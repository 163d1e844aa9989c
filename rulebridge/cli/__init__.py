"""The `rulebridge` command: one click group; each command lives in a module of its own."""

from __future__ import annotations

import click

from rulebridge.cli import (
    apply,
    deadletters,
    demo,
    explore,
    fake,
    generate,
    history,
    migrate,
    plan,
    run,
    schema,
    simulate,
    snapshot,
    tui,
    validate,
)
from rulebridge.cli._help import CONTEXT

__all__ = ["main"]


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="rulebridge")
def main() -> None:
    """rulebridge: versioned YAML rulesets for Alto, Fixflo and Jupix integrations.

    Example:

        rulebridge validate rulesets/
    """


main.add_command(validate.validate)
main.add_command(schema.schema)
main.add_command(plan.plan)
main.add_command(apply.apply_command)
main.add_command(deadletters.deadletters)
main.add_command(run.run_command)
main.add_command(history.history)
main.add_command(history.report)
main.add_command(generate.generate)
main.add_command(migrate.migrate_command)
main.add_command(simulate.simulate)
main.add_command(explore.explore_command)
main.add_command(snapshot.snapshot)
main.add_command(fake.fake)
main.add_command(tui.tui)
main.add_command(demo.demo)
