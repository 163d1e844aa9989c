"""`rulebridge tui`: the Textual TUI that steps a Fixflo issue through the lifecycle."""

from __future__ import annotations

from pathlib import Path

import click

from rulebridge.cli._help import CONTEXT
from rulebridge.cli._options import failing_cleanly

__all__ = ["tui"]

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)
DEFAULT_RULESET = "rulesets/alto-fixflo/v2.yaml"


@click.command("tui", context_settings=CONTEXT)
@click.option(
    "--ruleset",
    "ruleset_path",
    type=EXISTING,
    default=DEFAULT_RULESET,
    show_default=True,
    help="The ruleset file (it must declare a 'lifecycle:').",
)
@click.option("--scenario", "scenario_path", type=EXISTING, help="Start from a scenario file.")
@click.option("--seed", type=int, help="Start from a random lifecycle drawn with this seed.")
def tui(ruleset_path: Path, scenario_path: Path | None, seed: int | None) -> None:
    """Step a Fixflo issue through the ruleset's lifecycle and watch Alto react.

    Fixflo beside Alto, the events possible now (keys 1-9 or click), a timeline (left and
    right arrows), the rules that fired and why, the invariants; b browses the rules, r
    reloads the file, l/s load and save scenarios, g plays a random lifecycle, ? lists
    every key, ctrl+p finds any action by name, q quits.

    Example:

        rulebridge tui --scenario simulator/scenarios/documented-path.yaml
    """
    if scenario_path is not None and seed is not None:
        raise click.UsageError("give --scenario or --seed, not both")
    from tui.app import make_app  # Textual loads only for this command

    with failing_cleanly():
        app = make_app(ruleset_path, scenario=scenario_path, seed=seed)
    app.run()
